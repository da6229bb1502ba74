"""Any ObsCore TAP service as a source of missions: ``ivoa.ObsCore`` rows, with DataLink (or the file itself)
in ``access_url``.  The built-in archive is GAVO's data centre; :func:`service` adds any other (CADC, ESO, a
DaCHS of your own) as an archive and a mission of that name, searched and resolved like the others."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .. import Archive, register

if TYPE_CHECKING:
    from ...specs.registry import MissionSpec

__all__ = ["ARCHIVE", "service"]

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

    ``collection`` keeps one ``obs_collection`` (e.g. ``"MUSE"``); ``fov`` is the half-width in degrees the
    default search distance is made from (1.2 x, as for every mission).  The URL is the archive's ``tap``
    endpoint, so endpoint files and overrides apply to it as to any archive.
    """
    from ...errors import InputError
    from .missions import obscore_spec

    if not name.isidentifier() or name != name.lower():
        raise InputError(f"an ObsCore service name must be a lower-case Python identifier, not {name!r}")
    register(replace(ARCHIVE, name=name, title=title or f"ObsCore at {tap_url}", endpoints={"tap": tap_url},
                     missions=(), max_connections=max_connections))  # fmt: skip
    return obscore_spec(name, archive=name, collection=collection, fov=fov, listed=listed, replace=True)
