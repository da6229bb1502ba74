"""Service discovery through the VO registry (RegTAP, queried with pyvo): a mission's ivoid -> its TAP,
cone-search and DataLink URLs (`discover`), and an endpoint layer built from them (`endpoints_from_registry`,
`use_registry`) that ``vodaxa config show`` labels ``registry``.  The registry used is vodaxa's
``registry.tap`` endpoint (pyvo's default, GAVO's RegTAP, unless configured); pyvo's own global registry
choice is left alone unless :func:`pyvo_registry` is used.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyvo
import requests
from pyvo.dal.exceptions import DALFormatError, DALQueryError, DALServiceError
from pyvo.registry import regtap, rtcons

from .. import net
from ..config import DEFAULT_ENDPOINTS, REGISTRY_ORIGIN, endpoints
from ..errors import InputError, QueryError, RegistryWarning, ServiceError
from ..specs import registry

__all__ = ["Discovered", "discover", "endpoints_from_registry", "pyvo_registry", "registry_url", "use_registry"]

_TAP, _SCS, _DATALINK = "ivo://ivoa.net/std/tap", "ivo://ivoa.net/std/conesearch", "ivo://ivoa.net/std/datalink"


@dataclass(frozen=True)
class Discovered:
    """What the registry says about one mission's resource: its services' access URLs (None: not offered).

    Parameters
    ----------
    mission : str
        The mission's registry name in vodaxa (``"nustar_pointed"``).
    ivoid : str
        The resource's IVOA identifier, as the registry spells it (``ivo://nasa.heasarc/numaster``).
    title : str
        The resource's title (empty when the registry gives none).
    tap : str or None
        The access URL of its TAP service.
    scs : str or None
        The access URL of its Simple Cone Search (with the table's query string, for HEASARC).
    datalink : str or None
        The access URL of its DataLink service.
    """

    mission: str
    ivoid: str
    title: str
    tap: str | None
    scs: str | None
    datalink: str | None


def registry_url() -> str:
    """Say which RegTAP service vodaxa asks: its ``registry.tap`` endpoint, after overrides.

    Returns
    -------
    str
        The registry's TAP URL (GAVO's, ``http://reg.g-vo.org/tap``, unless configured).
    """
    return endpoints.get("registry", "tap")


def _records(ivoids: list[str], url: str) -> dict[str, regtap.RegistryResource]:
    """The registry records of ``ivoids`` (lower-cased keys), in one RegTAP query."""
    session = net.session(credentials=False)  # a registry is public: no credential goes there
    service = pyvo.dal.TAPService(url, session=session)
    try:
        query = regtap.get_RegTAP_query(rtcons.Ivoid(*ivoids), service=service)
        results = regtap.RegistryQuery(url, query, session=session).execute()
    except DALQueryError as err:
        raise QueryError(f"the registry {url} refused the query: {err}", url=url) from None
    except (DALServiceError, DALFormatError, requests.RequestException) as err:
        raise ServiceError(
            f"the registry {url} failed ({err}); check the 'registry.tap' endpoint (vodaxa config show)", url=url
        ) from None
    out: dict[str, regtap.RegistryResource] = {}
    for record in results:
        key = record.ivoid.lower()
        if key in out:
            warnings.warn(f"the registry {url} lists {record.ivoid} more than once; the first record is used",
                          category=RegistryWarning, stacklevel=3)  # fmt: skip
            continue
        out[key] = record
    return out


def _access_url(record: regtap.RegistryResource, standard: str) -> str | None:
    """The access URL of the first standard interface implementing ``standard`` (TAP also as tap#aux);
    an interface whose URL is not http(s) with a host (``javascript:``, ``file://``) is skipped, with a warning."""
    for interface in record.interfaces:
        std = (interface.standard_id or "").lower()
        if interface.is_standard and std.split("#")[0] == standard:
            url = str(interface.access_url or "")
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                return url
            warnings.warn(f"the registry lists {record.ivoid} at {url!r}, not an http(s) URL; ignored", RegistryWarning,
                          stacklevel=3)  # fmt: skip
    return None


def discover(missions: str | Iterable[str], *, url: str | None = None) -> dict[str, Discovered]:
    """Ask the VO registry for each mission's services, by the mission's ivoid, in one RegTAP query.

    No credential is sent to the registry.  An interface whose URL is not http(s) with a host is skipped, with
    a `~vodaxa.errors.RegistryWarning`, as is a record listed twice (the first is used).

    Parameters
    ----------
    missions : str or iterable of str
        Mission registry names (or short names), each with an ivoid (``MissionSpec.ivoid``).
    url : str, optional
        The RegTAP service to ask (default: :func:`registry_url`).

    Returns
    -------
    dict of str to Discovered
        ``{mission: Discovered}``, by the missions' registry names.

    Raises
    ------
    vodaxa.errors.InputError
        If a mission has no ivoid (the message lists those that have one).
    vodaxa.errors.UnknownMissionError
        If a name is not a known mission.
    vodaxa.errors.QueryError
        If the registry refuses the query.
    vodaxa.errors.ServiceError
        If the registry cannot be asked, or does not know a mission's ivoid.

    Examples
    --------
    The sandbox serves a registry describing its own services:

    >>> from vodaxa.query import registry
    >>> found = registry.discover(["nustar_pointed", "chandra"])
    >>> found["nustar_pointed"].ivoid, found["nustar_pointed"].title
    ('ivo://nasa.heasarc/numaster', 'NuSTAR Master Catalog')
    >>> found["nustar_pointed"].scs
    'http://127.0.0.1:.../cgi-bin/vo/cone/coneGet.pl?table=numaster&'
    """
    names = [missions] if isinstance(missions, str) else list(missions)
    specs = [registry.get(n) for n in names]
    without = [s.name for s in specs if not s.ivoid]
    if without:
        known = ", ".join(s.name for s in registry.specs() if s.ivoid)
        raise InputError(f"{', '.join(without)}: no registry identifier (ivoid); missions with one: {known}")
    url = url or registry_url()
    records = _records(sorted({s.ivoid.lower() for s in specs if s.ivoid}), url)
    out = {}
    for spec in specs:
        record = records.get(str(spec.ivoid).lower())
        if record is None:
            raise ServiceError(f"the registry {url} does not know {spec.ivoid} ({spec.name})", url=url)
        out[spec.name] = Discovered(
            spec.name,
            record.ivoid,
            str(record.res_title or ""),
            _access_url(record, _TAP),
            _access_url(record, _SCS),
            _access_url(record, _DATALINK),
        )
    return out


def endpoints_from_registry(
    missions: str | Iterable[str] | None = None, *, url: str | None = None
) -> dict[str, dict[str, str]]:
    """Build vodaxa endpoints from what the registry says about missions' services.

    Each mission's TAP, cone-search and DataLink URLs become its archive's endpoints (the cone search without
    the table's query string, HEASARC's DataLink as the folder above its tables).  When two missions of one
    archive give different URLs for the same endpoint, the first is kept, with a
    `~vodaxa.errors.RegistryWarning`.

    Parameters
    ----------
    missions : str or iterable of str, optional
        Mission registry names (default: every mission with an ivoid).
    url : str, optional
        The RegTAP service to ask (default: :func:`registry_url`).

    Returns
    -------
    dict of str to dict of str to str
        ``{archive: {service: url}}``, in the form :meth:`vodaxa.config.Endpoints.override` takes.

    Raises
    ------
    vodaxa.errors.InputError
        If a mission has no ivoid.
    vodaxa.errors.ServiceError
        If the registry cannot be asked, or does not know a mission's ivoid.

    Examples
    --------
    >>> from vodaxa.query import registry
    >>> registry.endpoints_from_registry("nustar_pointed")
    {'heasarc': {'tap': 'http://127.0.0.1:.../xamin/vo/tap', 'scs': 'http://127.0.0.1:.../cgi-bin/vo/cone/coneGet.pl',
                 'datalink': 'http://127.0.0.1:.../xamin/vo/datalink'}}
    """
    names = [s.name for s in registry.specs() if s.ivoid] if missions is None else missions
    layer: dict[str, dict[str, str]] = {}
    for name, found in discover(names, url=url).items():
        spec = registry.get(name)
        services = DEFAULT_ENDPOINTS[spec.archive]
        table = spec.table.rsplit(".", 1)[-1]
        candidates = {
            spec.service: found.tap,
            # the archive's cone-search endpoint is the URL without the table's query string
            "scs": found.scs.split("?", 1)[0] if found.scs and spec.scs else found.scs,
            # HEASARC lists a DataLink URL per table; vodaxa's endpoint is the folder above them
            "datalink": found.datalink[: -len(table) - 1]
            if found.datalink and found.datalink.endswith("/" + table)
            else found.datalink,
        }
        for service, value in candidates.items():
            if value and service in services:
                known = layer.setdefault(spec.archive, {}).get(service)
                if known is not None and known != value:
                    warnings.warn(
                        f"the registry gives {spec.archive}.{service} as {known} and, for {name}, as {value}; "
                        "vodaxa has one such endpoint, so the first is kept",
                        category=RegistryWarning, stacklevel=3,
                    )
                    continue
                layer[spec.archive][service] = value
    return layer


@contextlib.contextmanager
def use_registry(
    missions: str | Iterable[str] | None = None, *, url: str | None = None
) -> Iterator[Mapping[str, Mapping[str, str]]]:
    """Use the URLs the registry gives inside the ``with`` block (``config show`` labels them ``registry``).

    Credentials never follow hosts found in the registry.

    Parameters
    ----------
    missions : str or iterable of str, optional
        Mission registry names (default: every mission with an ivoid).
    url : str, optional
        The RegTAP service to ask (default: :func:`registry_url`).

    Yields
    ------
    dict of str to dict of str to str
        The endpoints applied, ``{archive: {service: url}}`` (:func:`endpoints_from_registry`).

    Raises
    ------
    vodaxa.errors.InputError
        If a mission has no ivoid.
    vodaxa.errors.ServiceError
        If the registry cannot be asked, or does not know a mission's ivoid.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.query import registry
    >>> with registry.use_registry("nustar_pointed"):
    ...     vodaxa.config.endpoints.get("heasarc", "scs")
    'http://127.0.0.1:.../cgi-bin/vo/cone/coneGet.pl'
    """
    layer = endpoints_from_registry(missions, url=url)
    with endpoints.override(layer, origin=REGISTRY_ORIGIN):
        yield layer


@contextlib.contextmanager
def pyvo_registry(url: str | None = None) -> Iterator[str]:
    """Point pyvo's own ``regsearch`` at a RegTAP service inside the ``with`` block; pyvo's choice is restored
    after it.

    Parameters
    ----------
    url : str, optional
        The RegTAP service (default: vodaxa's ``registry.tap``, :func:`registry_url`).

    Yields
    ------
    str
        The URL pyvo asks inside the block.

    Examples
    --------
    >>> import pyvo
    >>> from vodaxa.query import registry
    >>> with registry.pyvo_registry():
    ...     len(pyvo.regsearch(ivoid="ivo://nasa.heasarc/numaster"))
    1
    """
    target = url or registry_url()
    before = regtap.get_RegTAP_service_url()
    regtap.choose_RegTAP_service(target)
    try:
        yield target
    finally:
        regtap.choose_RegTAP_service(before)
