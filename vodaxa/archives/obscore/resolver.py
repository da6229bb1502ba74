"""ObsCore rows into files: each row's ``access_url`` is a DataLink document (followed, by semantics) or the
file itself; files are named after the row's ``obs_publisher_did``, the mission's ObsID."""

from __future__ import annotations

import re

import pandas as pd

from ...errors import InputError
from ...manifest import Manifest, path_component
from ...resolvers.datalink import Semantics, _split_id
from ...resolvers.generic import resolve_vo
from ...resolvers.request import ResolveRequest

__all__ = ["resolve", "resolve_rows"]



class _Rows:
    """An astropy-like view of a DataFrame for the generic resolver (column names and values)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.colnames = list(frame.columns)

    def __getitem__(self, name: str) -> list[object]:
        return list(self.frame[name])


async def resolve(request: ResolveRequest) -> Manifest:
    """An ObsCore archive's part of :func:`vodaxa.resolve`."""
    return await resolve_rows(request, request.option("semantics", "#this"))


async def resolve_rows(request: ResolveRequest, semantics: Semantics = "#this") -> Manifest:
    """Files of the observation rows' ``access_url``s, each row's files under its ObsID (``obs_id`` column)."""
    frame = request.frame.reset_index(drop=True)
    missing = [c for c in ("access_url", "access_format") if c not in frame.columns]
    if missing:
        raise InputError(f"{request.spec.name}: the observation table lacks {', '.join(missing)}, which say where "
                         "each row's files are; resolve the table as the search gave it (all its columns)")  # fmt: skip
    table = pd.DataFrame({"access_url": frame["access_url"], "access_format": frame["access_format"]})
    manifest = await resolve_vo(_Rows(table), request.http, request.engine, semantics)
    rows = manifest.frame
    by_url = {str(u): str(o) for u, o in zip(frame["access_url"], frame["obs_id"])}
    by_id = {_last_id(u): o for u, o in by_url.items()}
    for i, source in enumerate(rows.get("source_id", pd.Series(dtype=object))):
        old = str(rows.at[i, "obs_id"])
        row = re.fullmatch(r"row(\d+)", old)  # a row of the table itself (its file, or why it has none)
        obs: str | None
        if row and int(row.group(1)) < len(frame):
            obs = str(frame["obs_id"][int(row.group(1))])
        else:
            obs = by_id.get(str(source)) or by_id.get(_last_id(str(source))) or by_url.get(str(source))
        if obs is None:
            continue
        rows.at[i, "obs_id"] = obs
        path = rows.at[i, "local_path"] if "local_path" in rows else None
        if isinstance(path, str) and "/" in path:
            rows.at[i, "local_path"] = f"{folder(obs)}/{path.split('/', 1)[1]}"
        elif old != obs and isinstance(path, str):
            rows.at[i, "local_path"] = f"{folder(obs)}/{path}"
    rows["mission"] = request.spec.name
    return Manifest(rows)


def folder(obs_id: str) -> str:
    """A folder name for an ObsID (a publisher DID's last part: ``ivo://org/x?path/id`` -> ``path_id``)."""
    return path_component(obs_id.rsplit("?", 1)[-1])


def _last_id(url: str) -> str:
    """The ``ID`` parameter of a DataLink URL, else the URL."""
    split = _split_id(url)
    return split[1] if split else url
