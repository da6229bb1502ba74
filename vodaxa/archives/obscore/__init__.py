"""Any ObsCore TAP service as a source of missions: ``ivoa.ObsCore`` rows, with DataLink (or the file itself)
in ``access_url``.  The built-in archive is GAVO's data centre (`ARCHIVE`); :func:`service` adds any other (CADC,
ESO, a DaCHS of your own) as an archive and a mission of that name, searched and resolved like the others."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .. import Archive, by_name, register

if TYPE_CHECKING:
    from ...specs.registry import MissionSpec

__all__ = ["ARCHIVE", "service"]

#: The built-in ObsCore archive, GAVO's data centre, as registered (its ``tap`` endpoint can be overridden).
ARCHIVE = register(
    Archive(
        name="obscore",
        title="ObsCore at GAVO's data centre (any ObsCore service: vodaxa.archives.obscore.service)",
        package=__name__,
        endpoints={"tap": "https://dc.g-vo.org/tap"},
        missions=(".missions",),
        resolver=".resolver:resolve",
        resolve_options=frozenset({"semantics"}),
    )
)


def service(
    name: str,
    tap_url: str,
    *,
    collection: str | None = None,
    fov: float = 0.25,
    title: str | None = None,
    max_connections: int | None = None,
    listed: bool = False,
) -> MissionSpec:
    """Register the ObsCore service at ``tap_url`` as archive ``name`` and a mission of the same name.

    The URL is the archive's ``tap`` endpoint, so endpoint files and overrides apply to it as to any archive;
    calling it again with the same name re-points the service.  A name already used by another mission or
    archive is refused.  The mission is then searched on its server and resolved through DataLink like any
    built-in one (``vodaxa.mission(name)``).

    Parameters
    ----------
    name : str
        The archive's and the mission's name, a lower-case Python identifier (``"phase3_muse"``).
    tap_url : str
        The TAP service holding ``ivoa.ObsCore`` (http or https).
    collection : str, optional
        Keep one ``obs_collection`` (e.g. ``"MUSE"``); all rows by default.
    fov : float, optional
        The half-width in degrees the default search distance is made from (1.2 x, as for every mission);
        0.25 by default.
    title : str, optional
        The archive's title (``"ObsCore at <tap_url>"`` by default).
    max_connections : int, optional
        The most parallel connections to the service (vodaxa's default by default).
    listed : bool, optional
        List the mission in ``vodaxa.missions()`` (False by default).

    Returns
    -------
    vodaxa.specs.registry.MissionSpec
        The mission's spec, registered.

    Raises
    ------
    vodaxa.errors.InputError
        If the name is not a lower-case identifier or is taken by another mission or archive, the URL is not
        http(s), ``fov`` is not in (0, 180], or ``collection`` is not printable text.
    """
    import math

    from ...config import check_url
    from ...errors import ConfigError, InputError
    from ...specs import registry
    from .missions import obscore_spec

    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise InputError(f"an ObsCore service name must be a lower-case Python identifier, not {name!r}")
    taken = name in registry.ALIASES or (name in registry.names() or name in {s.name for s in registry.specs()})
    if taken and registry.get(name).archive != name:
        raise InputError(f"'{name}' is already a mission ({registry.get(name).pretty_name}); choose another name "
                         "for this ObsCore service")  # fmt: skip
    try:
        check_url(tap_url, f"the ObsCore service '{name}'")
    except ConfigError as err:
        raise InputError(str(err)) from None
    if isinstance(fov, bool) or not isinstance(fov, (int, float)) or not math.isfinite(fov) or not 0 < fov <= 180:
        raise InputError(f"fov is the field's half-width in degrees, a number in (0, 180]; not {fov!r}")
    if collection is not None and (not isinstance(collection, str) or not collection.isprintable() or not collection):
        raise InputError(f"collection must be an obs_collection value (printable text), not {collection!r}")
    described = replace(ARCHIVE, name=name, title=title or f"ObsCore at {tap_url}", endpoints={"tap": tap_url},
                        missions=(), max_connections=max_connections)  # fmt: skip
    known = by_name().get(name)
    if known is not None and known.package != ARCHIVE.package:
        raise InputError(f"'{name}' is already an archive ({known.title}); choose another name for this service")
    register(described, replace=known is not None)  # the same service again, perhaps at a new URL: re-pointed
    return obscore_spec(name, archive=name, collection=collection, fov=fov, listed=listed, replace=True)
