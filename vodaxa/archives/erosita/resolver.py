"""eROSITA from MPE: Cal-PV field tarballs (EDR) and eRASS1-DE sky-tile directories (DR1).

* Cal-PV: MPE publishes one tarball per field, ``<calpv>/<Field>.tar.gz``, holding every ObsID of the
  field.  The manifest gets one row per tarball the selected ObsIDs need (``obs_id`` lists them);
  choosing telescope modules cannot narrow a download, so the chosen TMs are recorded in the row's note
  for the processing step that filters events on TM_NR.
* DR1: tile RRRDDD lives at ``<dr1>/<DDD>/<RRR>/``.  Its listing is walked one level deep; of the
  ``EXP_<ver>/`` directories the highest pipeline version is used (or the one asked for), giving the
  ``_EventList_`` (raw) and, with products, ``EXP_<ver>/..._Image_`` and ``DET_<ver>/..._ExposureMap_``
  and ``..._BackgrImage_``.  Event lists hold all seven TMs; the note says which ones to keep.

Where the files live comes from vodaxa.config (``erosita.calpv`` and ``erosita.dr1``), not from the
observation table: the table only names a field's tarball, so a changed or mirrored address is one
endpoint override away.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlsplit

import pandas as pd

from ...config import endpoints
from ...errors import ResolveError
from ...manifest import Manifest, unavailable_row
from ...net import HttpClient
from ...resolvers.datalink import DataLinkEngine
from ...resolvers.listing import walk
from ...resolvers.request import ResolveRequest
from ...specs.registry import MissionSpec

__all__ = ["pick_version", "resolve_erosita", "tile_url"]

#: Tile walks in flight at once (each walk is itself concurrent over the tile's sub-directories).
WALKS = 8
_ALL_TMS = tuple(f"TM{k}" for k in range(1, 8))
#: (directory kind, name token, category, is a product) of the DR1 files taken from a tile.
_DR1_FILES = (
    ("EXP", "_EventList_", "events", False),
    ("EXP", "_Image_", "image", True),
    ("DET", "_ExposureMap_", "exposure_map", True),
    ("DET", "_BackgrImage_", "background_map", True),
)


async def resolve_erosita(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
    *,
    pipeline_version: str | int | None = None,
) -> Manifest:
    """Manifest rows for ``frame``'s Cal-PV observations or DR1 sky tiles (``engine`` is unused: no DataLink)."""
    if spec.service == "calpv_table":
        return await _resolve_calpv(spec, frame, chosen, http)
    if spec.service == "dr1_tiles":
        version = _normalise_version(pipeline_version)
        return await _resolve_dr1(spec, frame, chosen, products, http, version)
    raise ResolveError(f"{spec.name}: no eROSITA file layout known for the '{spec.service}' table")


def _tm_note(chosen: Iterable[str]) -> str:
    """What the processing step must do about telescope modules, for a file that holds all of them."""
    tms = sorted({str(t).upper() for t in chosen}, key=lambda t: int(t[2:]) if t[2:].isdigit() else 99)
    if set(tms) >= set(_ALL_TMS):
        return "all seven telescope modules kept"
    return f"keep {', '.join(tms)} (TM_NR {', '.join(t[2:] for t in tms)}) when processing"


# ------------------------------------------------------------------------------------------- Cal-PV
def _tarball_name(link: object) -> str | None:
    """The tarball's file name from a table's download link (``.../CalPvObs/Crab.tar.gz`` -> ``Crab.tar.gz``)."""
    if not isinstance(link, str) or not link.strip():
        return None
    name = PurePosixPath(unquote(urlsplit(link.strip()).path)).name
    return name if name.endswith((".tar.gz", ".tgz", ".tar")) else None


async def _resolve_calpv(spec: MissionSpec, frame: pd.DataFrame, chosen: tuple[str, ...], http: HttpClient) -> Manifest:
    """One row per field tarball needed; ObsIDs without a tarball link are listed as unavailable."""
    base = endpoints.get("erosita", "calpv").rstrip("/") + "/"
    links = frame["download"] if "download" in frame.columns else pd.Series(None, index=frame.index)
    fields = frame["field_name"] if "field_name" in frame.columns else pd.Series(None, index=frame.index)
    groups: dict[str, list[str]] = {}
    sources: dict[str, tuple[str, str]] = {}
    records: list[dict] = []
    for obs_id, link, field in zip(frame["obs_id"].astype(str), links, fields):
        name = _tarball_name(link)
        if name is None:
            records.append(_unavailable(spec, obs_id, None, "the observation table names no field tarball"))
            continue
        groups.setdefault(name, []).append(obs_id)
        sources.setdefault(name, (str(link), str(field) if field is not None else name))
    heads = await asyncio.gather(*(_head(http, base + quote(name)) for name in groups))
    for (name, ids), (status, size, ctype) in zip(groups.items(), heads):
        url = base + quote(name)
        if status == 404:
            records += [_unavailable(spec, o, url, f"{url} does not exist (404)") for o in ids]
            continue
        field = sources[name][1]
        records.append(
            {
                "mission": spec.name,
                "obs_id": ",".join(sorted(ids)),
                "url": url,
                "local_path": f"{spec.name}/{name}",
                "size": size,
                "content_type": ctype,
                "semantics": "#this",
                "category": "field_tarball",
                "source_id": sources[name][0],
                "note": f"tarball of Cal-PV field {field} (every ObsID of the field), needed for ObsIDs "
                f"{', '.join(sorted(ids))}; {_tm_note(chosen)}",
            }
        )
    return Manifest(records)


async def _head(http: HttpClient, url: str) -> tuple[int, int | None, str | None]:
    """(status, size, content type) of a HEAD of ``url``; an error other than 404 is a ResolveError."""
    response = await http.request("HEAD", url)
    if response.status >= 400 and response.status != 404:
        raise ResolveError(f"{url} answered HTTP {response.status}", url=url, status=response.status)
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() and response.status == 200 else None
    return response.status, size, response.headers.get("Content-Type") or None


# ------------------------------------------------------------------------------------------- DR1
def tile_url(tile: str, base: str | None = None) -> str:
    """A DR1 tile's directory: ``<dr1>/<DDD>/<RRR>/`` for tile RRRDDD."""
    if not re.fullmatch(r"\d{6}", tile):
        raise ResolveError(f"'{tile}' is not an eRASS1 sky tile id (six digits, RRRDDD)")
    root = (base if base is not None else endpoints.get("erosita", "dr1")).rstrip("/") + "/"
    return f"{root}{tile[3:]}/{tile[:3]}/"


def _normalise_version(version: str | int | None) -> str | None:
    """A pipeline version as the directory names write it (10, "10" and "010" -> "010")."""
    if version is None:
        return None
    text = str(version).strip().upper().removeprefix("EXP_").removeprefix("C")
    if not text.isdigit():
        raise ResolveError(f"pipeline_version must be a number such as 10 or '010', not {version!r}")
    return f"{int(text):03d}"


def pick_version(paths: Iterable[str], wanted: str | None = None) -> tuple[str | None, list[str]]:
    """(the EXP_ version to use or None, the versions available) from paths below a tile directory."""
    found = sorted({m.group(1) for p in paths if (m := re.match(r"EXP_(\d+)/", p))}, key=int)
    if wanted is not None:
        return (wanted if wanted in found else None), found
    return (found[-1] if found else None), found


async def _resolve_dr1(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    version: str | None,
) -> Manifest:
    """Walk every tile concurrently (at most WALKS at once) and take the files of the chosen version."""
    gate = asyncio.Semaphore(WALKS)
    base = endpoints.get("erosita", "dr1")

    async def one(tile: str) -> list[dict]:
        async with gate:
            return await _tile_records(spec, tile, tile_url(tile, base), chosen, products, http, version)

    groups = await asyncio.gather(*(one(t) for t in dict.fromkeys(frame["obs_id"].astype(str))))
    return Manifest([r for group in groups for r in group])


async def _tile_records(
    spec: MissionSpec,
    tile: str,
    url: str,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    version: str | None,
) -> list[dict]:
    """The manifest rows of one tile, or one unavailable row saying why there are none."""
    try:
        paths = await walk(http, url, max_depth=1)
    except ResolveError as err:
        if err.status == 404 and (err.url or "").rstrip("/") == url.rstrip("/"):
            return [_unavailable(spec, tile, url, f"tile {tile} is not in the DR1 download area ({url}: 404)")]
        raise
    picked, found = pick_version(paths, version)
    if picked is None:
        why = f"pipeline version {version} is not published" if version else "no EXP_<version>/ directory"
        return [_unavailable(spec, tile, url, f"tile {tile}: {why} (versions found: {', '.join(found) or 'none'})")]
    records = [
        _dr1_file(spec, tile, url, path, category, picked, chosen)
        for path in paths
        for kind, token, category, product in _DR1_FILES
        if (products or not product) and path.startswith(f"{kind}_{picked}/") and token in path.rsplit("/", 1)[-1]
    ]
    if not any(r["category"] == "events" for r in records):
        records.append(_unavailable(spec, tile, url, f"tile {tile}: no event list in EXP_{picked}/"))
    if products and not any(p.startswith(f"DET_{picked}/") for p in paths):
        records.append(_unavailable(spec, tile, url, f"tile {tile}: no DET_{picked}/ (exposure, background maps)"))
    return records


def _dr1_file(
    spec: MissionSpec, tile: str, url: str, path: str, category: str, version: str, chosen: tuple[str, ...]
) -> dict:
    """A manifest row for one file of a tile (``path`` relative to the tile directory)."""
    note = f"pipeline version {version}"
    if category == "events":
        note += f"; {_tm_note(chosen)}"
    return {
        "mission": spec.name,
        "obs_id": tile,
        "url": url + quote(path),
        "local_path": f"{spec.name}/{tile}/{path}",
        "semantics": "#this" if category == "events" else "#derivation",
        "category": category,
        "source_id": tile,
        "note": note,
    }


def _unavailable(spec: MissionSpec, obs_id: str, url: str | None, why: str) -> dict:
    """A row for an observation whose files cannot be had, with the reason."""
    return unavailable_row(obs_id, why, mission=spec.name, source_id=url)


async def resolve(request: ResolveRequest) -> Manifest:
    """eROSITA's part of :func:`vodaxa.resolve`: Cal-PV tarballs or DR1 sky-tile files, from directory listings."""
    return await resolve_erosita(request.spec, request.frame, request.chosen, request.products, request.http,
                                 request.engine)  # fmt: skip
