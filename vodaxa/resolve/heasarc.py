"""HEASARC: DataLink on ``__row`` gives each observation's directory (``#this``); its Apache listings are
walked and the mission's file rules pick the raw data, products and instruments wanted.
"""

from __future__ import annotations

import asyncio

import pandas as pd

from ..config import endpoints
from ..errors import ResolveError
from ..http import HttpClient
from ..manifest import Manifest
from ..missions.registry import MissionSpec
from .datalink import DataLinkEngine, LinkRow
from .listing import walk

__all__ = ["resolve_heasarc"]

#: Directory walks in flight at once (each walk is itself concurrent over sub-directories).
WALKS = 8
MAX_CONNECTIONS = 16  # polite default for HEASARC file downloads


def _is_directory(row: LinkRow) -> bool:
    """HEASARC labels directories ``directory``; some rows say text/html, so /FTP/ URLs ending in / count too."""
    url = row.access_url or ""
    return row.content_type == "directory" or ("/FTP/" in url and url.endswith("/"))


async def resolve_heasarc(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
) -> Manifest:
    """Manifest rows for ``frame``'s observations of a HEASARC mission."""
    if spec.files is None or "datalink_id" not in frame.columns:
        raise ResolveError(f"{spec.name}: no HEASARC file rules or DataLink key; cannot resolve its files")
    service = endpoints.get("heasarc", "datalink").rstrip("/") + f"/{spec.table}"
    by_key = {str(k): o for k, o in zip(frame["datalink_id"], frame["obs_id"]) if k is not None}
    rows = await engine.links(service, list(by_key), params={"sizefiles": "false"})
    records: list[dict] = []
    directories: list[tuple[str, str, LinkRow]] = []
    for row in rows:
        obs_id = by_key.get(row.id) or by_key.get(row.id.rsplit("?", 1)[-1]) or row.id
        if row.error_message:
            if row.semantics in (None, "#this"):
                records.append(_unavailable(spec, obs_id, row))
        elif row.semantics == "#this" and _is_directory(row):
            directories.append((obs_id, row.access_url or "", row))
    gate = asyncio.Semaphore(WALKS)

    async def expand(obs_id: str, url: str, row: LinkRow) -> list[dict]:
        async with gate:
            paths = await walk(http, url)
        picked = spec.files.select(paths, obs_id, chosen, products)  # type: ignore[union-attr]
        return [_file(spec, obs_id, url, path, row) for path in picked]

    groups = await asyncio.gather(*(expand(*d) for d in directories))
    records += [r for group in groups for r in group]
    return Manifest(records)


def _file(spec: MissionSpec, obs_id: str, directory: str, path: str, row: LinkRow) -> dict:
    return {
        "mission": spec.name,
        "obs_id": obs_id,
        "instrument": None,
        "url": directory.rstrip("/") + "/" + path,
        "local_path": f"{spec.name}/{obs_id}/{path}",
        "size": None,
        "content_type": None,
        "semantics": row.semantics,
        "category": _category(path),
        "checksum": None,
        "auth_realm": None,
        "source_id": row.id,
        "note": None,
    }


def _unavailable(spec: MissionSpec, obs_id: str, row: LinkRow) -> dict:
    return {
        "mission": spec.name,
        "obs_id": obs_id,
        "url": None,
        "local_path": None,
        "semantics": row.semantics,
        "category": "unavailable",
        "source_id": row.id,
        "note": row.error_message,
    }


def _category(path: str) -> str:
    """A coarse file type from the name: events, image, spectrum, lightcurve, housekeeping, auxiliary, other."""
    name = path.rsplit("/", 1)[-1].lower()
    for token, kind in (
        ("evt", "events"),
        ("unf", "events"),
        ("img", "image"),
        ("_im", "image"),
        ("pha", "spectrum"),
        (".pi", "spectrum"),
        (".lc", "lightcurve"),
        ("hk", "housekeeping"),
        ("att", "auxiliary"),
        ("orb", "auxiliary"),
        ("asol", "auxiliary"),
        ("oif", "index"),
        ("cat", "index"),
    ):
        if token in name:
            return kind
    return "other"
