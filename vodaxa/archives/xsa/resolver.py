"""XSA: each observation's data come as AIO servlet tarballs, one per level (ODF, and PPS with products).

When only some instruments are chosen, one tarball per instrument is asked for (``instname=``), so
unwanted instruments' ODFs are never fetched (DAXA downloads them all and deletes, DAXA#15).
Proprietary observations stay in the manifest with ``auth_realm="xsa"`` and a note: the XSA gives
them only with credentials in the query string (AIOUSER/AIOPWD), which the downloader adds later.
Sizes come from HEAD requests (Content-Length), as astroquery also HEADs before it downloads.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pandas as pd

from ...config import endpoints
from ...errors import ServiceError
from ...manifest import Manifest, unavailable_row
from ...net import HttpClient
from ...resolvers.datalink import DataLinkEngine
from ...resolvers.request import ResolveRequest
from ...specs.registry import MissionSpec

__all__ = ["REALM", "aio_url", "resolve_xsa"]

#: The auth realm of proprietary XSA rows (credentials go in the AIO query string).
REALM = "xsa"
_CONTENT_TYPE = "application/x-gzip"
_SEMANTICS = {"ODF": "#this", "PPS": "#derivation"}


def aio_url(base: str, obs_id: str, level: str, instrument: str | None = None) -> str:
    """The AIO URL of one observation's ``level`` tarball, narrowed to ``instrument`` when given."""
    params = {"obsno": obs_id, "level": level}
    if instrument:
        params["instname"] = instrument
    return f"{base}?{urlencode(params)}"


async def resolve_xsa(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
) -> Manifest:
    """Manifest rows for ``frame``'s XSA observations: one tarball per observation, level (and instrument)."""
    base = endpoints.get("xsa", "aio")
    levels = ("ODF", "PPS") if products else ("ODF",)
    instruments: tuple[str | None, ...] = (None,) if set(spec.instruments) <= set(chosen) else tuple(chosen)
    usable = frame["proprietary_usable"] if "proprietary_usable" in frame else pd.Series(True, frame.index)
    ends = frame["proprietary_end"] if "proprietary_end" in frame else pd.Series(pd.NaT, frame.index)
    rows = [
        _row(spec, str(obs_id), level, inst, base, bool(ok), end)
        for obs_id, ok, end in zip(frame["obs_id"], usable, ends)
        for level in levels
        for inst in instruments
    ]
    signed_in = [r for r in rows if r["auth_realm"] and r["url"] and http.params_for and http.params_for(r["url"])]
    for row in signed_in:  # the XSA credentials in use open these; the row keeps its realm for the downloader
        row["note"] = "proprietary: fetched with the XSA credentials in use"
    await asyncio.gather(*(_fill_size(http, r) for r in rows if r["auth_realm"] is None or r in signed_in))
    return Manifest(rows)


def _row(
    spec: MissionSpec, obs_id: str, level: str, inst: str | None, base: str, public: bool, end: pd.Timestamp | None
) -> dict:
    """One tarball's manifest row; a proprietary one carries the realm and a note saying why."""
    suffix = f"_{inst}" if inst else ""
    return {
        "mission": spec.name,
        "obs_id": obs_id,
        "instrument": inst,
        "url": aio_url(base, obs_id, level, inst),
        "local_path": f"{spec.name}/{obs_id}/{obs_id}_{level}{suffix}.tar.gz",
        "size": None,
        "content_type": _CONTENT_TYPE,
        "semantics": _SEMANTICS[level],
        "category": level,
        "checksum": None,
        "auth_realm": None if public else REALM,
        "source_id": obs_id,
        "note": None if public else _proprietary_note(end),
    }


def _proprietary_note(end: pd.Timestamp | None) -> str:
    """Why a proprietary row needs credentials, with the end of its proprietary period when known."""
    when = f" until {pd.Timestamp(end).date().isoformat()}" if pd.notna(end) else ""
    return f"proprietary{when}: the XSA needs credentials (AIOUSER/AIOPWD) for these data"


async def _fill_size(http: HttpClient, row: dict) -> None:
    """HEAD the row's URL: Content-Length on 200, a note (and the realm) on 401, unavailable on 404."""
    try:
        answer = await http.request("HEAD", row["url"])
    except ServiceError as err:
        row["note"] = f"size unknown: {err}"
        return
    if answer.status == 200:
        length = answer.headers.get("Content-Length")
        row["size"] = int(length) if length and length.isdigit() else None
    elif answer.status == 401:
        row["auth_realm"] = REALM
        row["note"] = "the XSA answered 401 (data protected by proprietary rights): credentials are needed"
    elif answer.status == 404:
        what = f"{row['category']} data" + (f" for instrument {row['instrument']}" if row["instrument"] else "")
        row.update(unavailable_row(row["obs_id"], f"the XSA has no {what} of {row['obs_id']}"))
    else:
        row["note"] = f"size unknown: HEAD answered {answer.status}"


async def resolve(request: ResolveRequest) -> Manifest:
    """The XSA's part of :func:`vodaxa.resolve`: one AIO tarball per observation, level and instrument."""
    return await resolve_xsa(request.spec, request.frame, request.chosen, request.products, request.http,
                             request.engine)  # fmt: skip
