"""Chandra from the CDA's ``byobsid`` tree (or any mirror holding ``byobsid/``), selected by file type as
CIAO's download_chandra_obsid does: ``filetypes`` minus ``exclude``, the most specific type first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pandas as pd

from ...config import endpoints
from ...errors import ResolveError
from ...manifest import Manifest, unavailable_row
from ...net import HttpClient
from ...resolvers.listing import walk
from ...resolvers.request import ResolveRequest
from ...specs.registry import MissionSpec

__all__ = ["KNOWN_FILE_TYPES", "file_type", "resolve_chandra", "select_types"]


#: CIAO's file types, most specific first (``evt1a`` before ``evt1``, ``vvref`` handled before ``vv``).
KNOWN_FILE_TYPES: tuple[str, ...] = (
    "oif", "vv", "bpix", "fov", "evt2", "src2", "cntr_img", "full_img", "src_img", "asol", "eph0", "eph1", "aoff",
    "evt1a", "evt1", "flt", "msk", "mtl", "soff", "stat", "arf", "rmf", "bias", "pbk", "osol", "aqual", "sum",
    "pha2", "dtf", "plt", "adat", "vvref", "readme",
)  # fmt: skip


def file_type(name: str) -> str | None:
    """The CIAO file type of a file name (``acisf01843N003_evt2.fits.gz`` -> ``evt2``), or None."""
    base = name.rsplit("/", 1)[-1]
    if base == "oif.fits":
        return "oif"
    if base.lower() == "00readme":
        return "readme"
    if "vvref2" in base:
        return "vvref"
    if "vv2" in base:
        return "vv"
    return next((t for t in KNOWN_FILE_TYPES if f"_{t}" in base), None)


def select_types(paths: Iterable[str], filetypes: Iterable[str] | None, exclude: Iterable[str] | None) -> list[str]:
    """Paths whose type is in ``filetypes`` minus ``exclude``; untyped files only when no filetypes are given."""
    wanted = _check(filetypes) if filetypes is not None else set(KNOWN_FILE_TYPES)
    wanted -= _check(exclude) if exclude is not None else set()
    out = []
    for path in paths:
        kind = file_type(path)
        if (kind is None and filetypes is None) or kind in wanted:
            out.append(path)
    return out


def _check(types: Iterable[str]) -> set[str]:
    chosen = {str(t).lower() for t in ([types] if isinstance(types, str) else types)}
    unknown = sorted(chosen - set(KNOWN_FILE_TYPES))
    if unknown:
        raise ResolveError(f"unknown Chandra file type(s) {unknown}; valid: {', '.join(KNOWN_FILE_TYPES)}")
    return chosen


async def resolve_chandra(
    spec: MissionSpec,
    frame: pd.DataFrame,
    http: HttpClient,
    *,
    filetypes: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    mirror: str | None = None,
) -> Manifest:
    """Manifest rows for Chandra ObsIDs from ``mirror`` (default: the CDA's cdaftp) by file type."""
    filetypes = list(filetypes) if filetypes is not None else None
    exclude = list(exclude) if exclude is not None else None
    select_types([], filetypes, exclude)  # unknown types fail before any request
    base = (mirror or endpoints.get("cxc", "cdaftp")).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ResolveError(f"a Chandra mirror must be an http(s) URL holding byobsid/, not {base!r}")
    gate = asyncio.Semaphore(8)

    async def one(obs_id: str, public: bool) -> list[dict]:
        if not public:
            return [_missing(spec, obs_id, "the data are still proprietary (not on the public archive)")]
        directory = f"{base}/byobsid/{obs_id[-1]}/{obs_id}/"
        try:
            async with gate:
                paths = await walk(http, directory)
        except ResolveError as err:
            if err.status == 404:
                return [_missing(spec, obs_id, f"{directory} does not exist on {base}")]
            raise
        return [
            {
                "mission": spec.name,
                "obs_id": obs_id,
                "url": directory + path,
                "local_path": f"chandra/{obs_id}/{path}",
                "category": file_type(path) or "other",
                "source_id": obs_id,
            }
            for path in select_types(paths, filetypes, exclude)
        ]

    usable = frame["proprietary_usable"] if "proprietary_usable" in frame else pd.Series(True, frame.index)
    groups = await asyncio.gather(*(one(str(o), bool(u)) for o, u in zip(frame["obs_id"], usable)))
    return Manifest([r for group in groups for r in group])


def _missing(spec: MissionSpec, obs_id: str, why: str) -> dict:
    return unavailable_row(obs_id, why, mission=spec.name, source_id=obs_id)


async def resolve(request: ResolveRequest) -> Manifest:
    """The CXC's part of :func:`vodaxa.resolve`: the CDA's ``byobsid/`` tree (or ``mirror``), by CIAO file type."""
    return await resolve_chandra(request.spec, request.frame, request.http, filetypes=request.option("filetypes"),
                                 exclude=request.option("exclude"), mirror=request.option("mirror"))  # fmt: skip
