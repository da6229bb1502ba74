"""Simple Cone Search (SCS 1.03): one cone per position, run concurrently through :mod:`vodaxa.http`, the
answers turned into the same normalised observation table as the TAP path (``vodaxa.specs.OBS_COLUMNS``).

For archives where TAP is unavailable or not wanted (``vodaxa.search(..., via="scs")``).  A cone search
can only select by position, so everything else the TAP query does on the server is done here on the
answer, with the same semantics: the mission's row cuts and instrument conditions are the very ADQL
conditions of the TAP path, read into typed conditions (:mod:`.conditions`) and evaluated in pandas with SQL's
NULL logic, as on the server (:mod:`.compile_pandas`), as are the user's column filters; per-instrument search
radii are applied by great-circle distance; the science-usable filter and de-duplication follow.  Each
position is asked for with the largest radius it needs, at VERB=3 (every column).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from astropy.io.votable import parse as parse_votable
from astropy.io.votable.tree import VOTableFile
from astropy.table import Table

from ..config import endpoints
from ..errors import InputError, QueryError, ServiceError
from ..net import HttpClient, HttpConfig, run_sync
from ..quiet import quiet
from ..specs.registry import MissionSpec, clean_text
from .compile_pandas import holds
from .conditions import AllOf, Condition, parse_condition
from .filters import Compare
from .source import to_frame

__all__ = ["cone", "cone_url", "cones", "parse", "search_cones"]


def cone_url(spec: MissionSpec) -> str:
    """The mission's cone-search URL from vodaxa's endpoints (raises if the mission has none)."""
    return spec.scs_url(endpoints.get(spec.archive, "scs") if spec.scs is not None else "")


def _with_params(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added (SCS base URLs may already end in ``?table=x&``)."""
    joiner = "" if url.endswith(("?", "&")) else ("&" if "?" in url else "?")
    return f"{url}{joiner}{urlencode(params)}"


def parse(body: bytes, url: str, *, status: int = 200, content_type: str = "") -> Table:
    """The result table of an SCS answer; an error document, an HTML page or garbage raise, saying why."""
    head = body[:512].lstrip().lower()
    if content_type.startswith("text/html") or head.startswith((b"<!doctype html", b"<html")):
        raise ServiceError(
            f"the cone search {url} answered with an HTML page (HTTP {status}), not a VOTable: "
            "check the 'scs' endpoint in vodaxa's configuration (vodaxa config show)",
            url=url,
            status=status,
        )
    if status >= 400 and b"<votable" not in head:
        raise ServiceError(f"the cone search {url} failed with HTTP {status}", url=url, status=status)
    try:
        with quiet():
            votable = parse_votable(io.BytesIO(body))
    except Exception as err:  # astropy raises many types for what is not a VOTable
        raise ServiceError(f"the cone search {url} did not answer with a VOTable ({err})", url=url) from None
    message = _error(votable)
    if message is not None:
        raise QueryError(f"the cone search {url} refused the request: {message}", url=url, status=status)
    tables = [t for resource in votable.resources for t in resource.tables]
    if not tables:
        raise ServiceError(f"the cone search {url} answered a VOTable without a result table", url=url)
    infos = [i for resource in votable.resources for i in resource.infos]
    if any(i.name == "QUERY_STATUS" and str(i.value).upper() == "OVERFLOW" for i in infos):
        raise QueryError(
            f"the cone search {url} truncated its answer at {len(tables[0].array)} rows; use smaller radii or TAP",
            url=url,
        )
    return tables[0].to_table()


def _error(votable: VOTableFile) -> str | None:
    """The SCS error message (INFO or PARAM named Error, or QUERY_STATUS=ERROR), or None."""
    places = [votable.infos, *[r.infos for r in votable.resources], *[r.params for r in votable.resources]]
    for items in places:
        for item in items:
            if item.name == "Error":
                return str(item.value or getattr(item, "content", "") or "no message").strip()
            if item.name == "QUERY_STATUS" and str(item.value).upper() == "ERROR":
                return str(getattr(item, "content", "") or "QUERY_STATUS=ERROR").strip()
    return None


async def cone(http: HttpClient, url: str, ra: float, dec: float, radius: float, *, verb: int = 3) -> Table:
    """One cone: rows of ``url`` within ``radius`` degrees of (ra, dec), ICRS degrees."""
    full = _with_params(
        url, {"RA": repr(float(ra)), "DEC": repr(float(dec)), "SR": repr(float(radius)), "VERB": str(verb)}
    )
    response = await http.get(full)
    return parse(response.body, full, status=response.status, content_type=response.content_type)


def cones(
    url: str, positions: Sequence[tuple[float, float, float]], *, verb: int = 3, config: HttpConfig | None = None
) -> list[Table]:
    """One table per ``(ra, dec, radius)``, asked for concurrently (vodaxa's per-host limits apply)."""

    async def run() -> list[Table]:
        async with HttpClient(config) as http:
            return list(await asyncio.gather(*(cone(http, url, r, d, s, verb=verb) for r, d, s in positions)))

    return run_sync(run())


def _cuts(frame: pd.DataFrame, spec: MissionSpec, instruments: Sequence[str]) -> np.ndarray:
    """Rows meeting the mission's cuts and instrument conditions (the TAP path's ADQL, read as typed conditions)."""
    try:
        return _where(frame, [parse_condition(c) for c in (*spec.cuts, *spec.instrument_where(instruments))])
    except InputError as err:
        why = f"{spec.name}: the mission's conditions cannot be applied to cone-search rows: {err}"
        raise QueryError(why) from None


def _where(frame: pd.DataFrame, conditions: Sequence[Condition]) -> np.ndarray:
    """Rows of ``frame`` meeting every condition, with SQL's NULL logic (unknown is not kept)."""
    if not conditions or frame.empty:
        return np.ones(len(frame), dtype=bool)
    return holds(AllOf(tuple(conditions)), frame)


def _arc(ra1: np.ndarray, dec1: np.ndarray, ra2: float, dec2: float) -> np.ndarray:
    """Great-circle distance in radians, written as the ADQL circle's haversine is."""
    hav = (
        np.sin(np.radians(dec1 - dec2) / 2) ** 2
        + np.cos(np.radians(dec1)) * np.cos(np.radians(dec2)) * np.sin(np.radians(ra1 - ra2) / 2) ** 2
    )
    return 2 * np.arcsin(np.minimum(1.0, np.sqrt(hav)))


def search_cones(
    spec: MissionSpec,
    positions: Table,
    instruments: Sequence[str],
    *,
    url: str | None = None,
    now: datetime | None = None,
    config: HttpConfig | None = None,
    where: Sequence[Compare] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Science-usable observations of ``spec`` near ``positions``, and the ``(_vx_pos, obs_id)`` pairs.

    ``positions`` is the TAP path's position table (``Mission.position_table``): ``vx_pos, vx_ra, vx_dec,
    vx_radius`` and, for per-instrument radii, ``vx_value`` (the instrument column's value).  The table is
    normalised exactly as the TAP answer is (:meth:`MissionSpec.normalise`).  ``where`` are column filters on the
    cone answers' columns (those of the TAP table), applied as the server would.
    """
    url = url or cone_url(spec)
    table = positions.to_pandas()
    centres = table.groupby("vx_pos").agg(ra=("vx_ra", "first"), dec=("vx_dec", "first"), sr=("vx_radius", "max"))
    answers = cones(url, list(zip(centres["ra"], centres["dec"], centres["sr"])), config=config)
    pieces = [to_frame(t).assign(_vx_pos=int(p)) for p, t in zip(centres.index, answers) if len(t)]
    empty = pd.DataFrame(columns=[*spec.select_columns, "_vx_pos"])
    raw = pd.concat(pieces, ignore_index=True, sort=False) if pieces else empty
    missing = [c for c in spec.select_columns if c not in raw.columns]
    if missing and pieces:
        raise ServiceError(f"the cone search {url} answered without the columns {missing}; VERB=3 should give all")
    raw = raw[_cuts(raw.drop(columns="_vx_pos"), spec, instruments)]
    raw = raw[_where(raw.drop(columns="_vx_pos"), list(where))]
    raw = raw[_matches(raw, table, spec)].reset_index(drop=True)
    frame = spec.normalise(raw.drop(columns="_vx_pos"), now=now)
    usable = frame["science_usable"].to_numpy(dtype=bool)
    pairs = pd.DataFrame({"_vx_pos": raw["_vx_pos"].to_numpy()[usable], "obs_id": frame["obs_id"].to_numpy()[usable]})
    frame = frame[usable].drop_duplicates("obs_id").reset_index(drop=True)
    return frame, pairs.drop_duplicates().sort_values(["_vx_pos", "obs_id"]).reset_index(drop=True)


def _matches(raw: pd.DataFrame, positions: pd.DataFrame, spec: MissionSpec) -> np.ndarray:
    """Rows within their position's radius (for its instrument's value, when radii differ by instrument)."""
    if raw.empty:
        return np.zeros(0, dtype=bool)
    keep = np.zeros(len(raw), dtype=bool)
    ra, dec = raw[spec.ra].to_numpy(dtype=float), raw[spec.dec].to_numpy(dtype=float)
    by_value = "vx_value" in positions.columns and spec.instrument_column is not None
    values = raw[spec.instrument_column].map(clean_text).to_numpy() if by_value else None
    centres = zip(positions["vx_pos"].to_numpy(), positions["vx_ra"].to_numpy(dtype=float),
                  positions["vx_dec"].to_numpy(dtype=float), positions["vx_radius"].to_numpy(dtype=float),
                  positions["vx_value"].to_numpy() if values is not None else [None] * len(positions))  # fmt: skip
    with np.errstate(invalid="ignore"):
        for pos, pos_ra, pos_dec, radius, value in centres:
            mine = raw["_vx_pos"].to_numpy() == pos
            if values is not None:
                mine &= values == value
            keep |= mine & (_arc(ra, dec, float(pos_ra), float(pos_dec)) <= np.radians(float(radius)))
    return keep
