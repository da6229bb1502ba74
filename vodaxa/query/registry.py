"""Service discovery through the VO registry (RegTAP, queried with pyvo): a mission's ivoid -> its TAP,
cone-search and DataLink URLs, and an endpoint layer built from them that ``vodaxa config show`` labels
``registry``.  The registry used is vodaxa's ``registry.tap`` endpoint (pyvo's default, GAVO's RegTAP,
unless configured); pyvo's own global registry choice is left alone unless :func:`pyvo_registry` is used.
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
    """What the registry says about one mission's resource: its services' access URLs (None: not offered)."""

    mission: str
    ivoid: str
    title: str
    tap: str | None
    scs: str | None
    datalink: str | None


def registry_url() -> str:
    """The RegTAP service vodaxa asks (its ``registry.tap`` endpoint)."""
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
    """The services of each mission as the registry lists them, ``{mission: Discovered}``.

    Raises :class:`InputError` for a mission without an ivoid, :class:`ServiceError` when the registry
    cannot be asked or does not know a mission's ivoid.
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


def endpoints_from_registry(missions: str | Iterable[str] | None = None, *, url: str | None = None) -> dict:
    """vodaxa endpoints ``{archive: {service: url}}`` found in the registry for ``missions`` (default: all
    with an ivoid), in the form :meth:`vodaxa.config.Endpoints.override` takes."""
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
def use_registry(missions: str | Iterable[str] | None = None, *, url: str | None = None) -> Iterator[Mapping]:
    """Use the URLs the registry gives inside the ``with`` block (``config show`` labels them ``registry``)."""
    layer = endpoints_from_registry(missions, url=url)
    with endpoints.override(layer, origin=REGISTRY_ORIGIN):
        yield layer


@contextlib.contextmanager
def pyvo_registry(url: str | None = None) -> Iterator[str]:
    """Point pyvo's own ``regsearch`` at ``url`` (default: vodaxa's ``registry.tap``) inside the block."""
    target = url or registry_url()
    before = regtap.get_RegTAP_service_url()
    regtap.choose_RegTAP_service(target)
    try:
        yield target
    finally:
        regtap.choose_RegTAP_service(before)
