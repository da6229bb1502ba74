"""HEASARC: DataLink on ``__row`` gives each observation's archive directory; its Apache listings are
walked and the mission's file rules pick the raw data, products and instruments wanted.

HEASARC's answer has changed under its users.  The older one labels the directory row
``content_type=directory``; the current one (2026) labels it ``text/html`` with HEASARC's own product
semantics (``https://heasarc.gsfc.nasa.gov/xamin/jsp/products.jsp#nustar.obs``), beside a nested DataLink
row for the same product, bibliography pages and cross-links to other catalogues, and answers an
observation that is not public with no rows at all.  So the observation's data are picked by the
archive's data-path layout (a URL in the ``/FTP/`` tree at or below a directory named after the
observation) and product semantics, never by ``content_type`` or ``#this`` alone; the nested document is
read only for observations whose first answer holds no data directory.  An observation with neither is
listed as unavailable with the service's reason.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

import pandas as pd

from ...config import endpoints
from ...errors import InputError, ResolveError, ServiceError
from ...manifest import Manifest, unavailable_row
from ...net import HttpClient
from ...resolvers.datalink import (
    DataLinkEngine,
    LinkRow,
    Semantics,
    is_datalink,
    semantics_filter,
    semantics_terms,
)
from ...resolvers.listing import walk
from ...resolvers.request import ResolveRequest
from ...specs.registry import MissionSpec, _mjd_times
from ..cxc.resolver import resolve_chandra
from .chandra import CHANDRA
from .terms import is_observation_link, product_key

__all__ = ["is_observation_link", "product_key", "resolve_heasarc"]

#: Directory walks in flight at once (each walk is itself concurrent over sub-directories).
WALKS = 8
_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")




@dataclass
class _Observation:
    """What the DataLink answer says about one observation's data."""

    obs_id: str
    roots: dict[str, LinkRow] = field(default_factory=dict)  # observation directory URL -> the row naming it
    walks: dict[str, tuple[str, str]] = field(default_factory=dict)  # directory URL -> (root, path below root)
    files: dict[str, tuple[str, str, LinkRow]] = field(default_factory=dict)  # file URL -> (root, path, row)
    errors: list[str] = field(default_factory=list)
    nested: list[LinkRow] = field(default_factory=list)
    semantics: set[str] = field(default_factory=set)


async def resolve_heasarc(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...],
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
    semantics: Semantics = "#this",
) -> Manifest:
    """Manifest rows for ``frame``'s observations of a HEASARC mission (every one: files or a reason)."""
    if spec.files is None:
        raise ResolveError(f"{spec.name}: no HEASARC file rules; cannot resolve its files")
    if "datalink_id" not in frame.columns:
        raise InputError(f"{spec.name}: the observation table has no 'datalink_id' column, the key HEASARC's DataLink "
                         "service needs; resolve the table vodaxa.search returns or a Mission: it has one")  # fmt: skip
    semantics = semantics_terms(semantics)
    accept = semantics_filter(semantics)
    data_wanted = accept("#this")
    service = endpoints.get("heasarc", "datalink").rstrip("/") + f"/{spec.table}"
    by_key = {str(k): str(o) for k, o in zip(frame["datalink_id"], frame["obs_id"]) if k is not None}
    rows = await engine.links(service, list(by_key), params={"sizefiles": "false"}, follow=lambda r: False)
    observations = {key: _Observation(obs) for key, obs in by_key.items()}
    private = _private_notes(spec, frame)
    extra: list[dict] = []
    for row in rows:
        obs = observations.get(row.key)
        if obs is not None:
            _sort(obs, row)
            if not row.error_message and row.access_url and _wanted_link(row, accept):
                extra.append(_link_file(spec, obs.obs_id, row))
    if data_wanted:
        lacking = [r for o in observations.values() if not o.roots and not o.files for r in o.nested]
        if lacking:  # the current answer: the data directory may be listed only in the nested document
            for row in await engine.nested(lacking):
                obs = observations.get(row.key)
                if obs is not None:
                    _sort(obs, row)
    gate = asyncio.Semaphore(WALKS)

    async def expand(obs: _Observation) -> list[dict]:
        found: dict[str, tuple[str, str, LinkRow]] = dict(obs.files)
        for url, (root, below) in _outermost(obs.walks).items():
            try:
                async with gate:
                    paths = await walk(http, url)
            except ServiceError as err:
                obs.errors.append(f"the archive directory {url} could not be listed: {err}")
                continue
            for path in paths:
                found.setdefault(root + below + path, (root, below + path, obs.roots.get(root) or _any(obs)))
        by_path = {below: (root, row) for root, below, row in found.values()}
        picked = spec.files.select(list(by_path), obs.obs_id, chosen, products)  # type: ignore[union-attr]
        records = [_file(spec, obs.obs_id, by_path[p][0], p, by_path[p][1]) for p in picked]
        if not found:
            records.append(_unavailable(spec, obs))
        elif not records:
            rules = f"instruments {', '.join(chosen) or 'none'}, {'with' if products else 'without'} products"
            note = f"none of the {len(found)} files in the archive directory match {spec.name}'s file rules ({rules})"
            records.append(_unavailable(spec, obs, note))
        if obs.errors:
            records += [_unavailable(spec, obs, note) for note in obs.errors if "could not be listed" in note]
        return records

    groups = await asyncio.gather(*(expand(o) for o in observations.values() if data_wanted))
    records = [r for group in groups for r in group] + extra
    covered = {r["obs_id"] for r in records}
    for obs in (o for o in observations.values() if o.obs_id not in covered):
        if data_wanted or obs.errors:
            records.append(_unavailable(spec, obs))
        else:
            listed = ", ".join(sorted(s for s in obs.semantics if s)) or "nothing"
            asked = semantics if isinstance(semantics, str) else ", ".join(semantics)
            records.append(_unavailable(spec, obs, f"no links with the semantics asked for ({asked}); HEASARC listed: "
                                                   f"{listed}"))  # fmt: skip
    for record in records:
        if record["category"] == "unavailable" and record["obs_id"] in private:
            record["note"] = f"{private[record['obs_id']]} (HEASARC: {record['note']})"
    return Manifest(records)


def _private_notes(spec: MissionSpec, frame: pd.DataFrame) -> dict[str, str]:
    """Why the observation table already says an observation's data are not public, by ObsID."""
    if "proprietary_usable" not in frame.columns:
        return {}
    out = {}
    dates = frame[spec.proprietary_column] if spec.proprietary_column in frame.columns else None
    for n, (obs_id, usable) in enumerate(zip(frame["obs_id"], frame["proprietary_usable"])):
        if usable is False or usable == False:  # noqa: E712 - numpy and pandas booleans too
            note = "the data are proprietary (not public yet)"
            when = _date(dates.iloc[n], spec) if dates is not None else None
            out[str(obs_id)] = note if when is None else f"the data are proprietary until {when}"
    return out


def _date(value: object, spec: MissionSpec) -> str | None:
    """A public date from the observation table (MJD or timestamp) as YYYY-MM-DD, when it is a real date."""
    try:
        if spec.time_format == "mjd" or isinstance(value, (int, float)):
            mjd = float(value)  # type: ignore[arg-type]
            if mjd != mjd or mjd <= 0:
                return None
            return _mjd_times(pd.Series([mjd])).iloc[0].strftime("%Y-%m-%d")
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
        return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")
    except (TypeError, ValueError, OverflowError):
        return None


def _sort(obs: _Observation, row: LinkRow) -> None:
    """File one DataLink row of an observation under its data, its nested documents or its errors."""
    obs.semantics.add(row.semantics or "")
    if row.error_message:
        obs.errors.append(row.error_message)
        return
    if not row.access_url:
        return
    if is_datalink(row.content_type):
        if is_observation_link(row):
            obs.nested.append(row)
        return
    if row.semantics and not is_observation_link(row):
        return  # bibliography, cross-links to other catalogues, documentation: never the data
    place = _place(row, obs.obs_id)
    if place is None:
        return
    root, below, is_dir = place
    obs.roots.setdefault(root, row)
    if is_dir:
        obs.walks.setdefault(root + below, (root, below))
    else:
        obs.files.setdefault(root + below, (root, below, row))


def _place(row: LinkRow, obs_id: str) -> tuple[str, str, bool] | None:
    """(observation directory URL, path below it, is a directory) for a data row in HEASARC's tree, else None.

    The observation directory is the ``/FTP/`` path segment named after the ObsID (HEASARC's layout:
    ``.../<obsid>/``, ``.../<obsid lower case>/``, INTEGRAL's ``.../<scw>.001/``); a URL naming no such
    segment (another observation's directory, say) is not this observation's data.  Repeated slashes
    (HEASARC writes ``.../00/8//80002092003/``) are dropped; ``.``/``..`` segments are refused.
    """
    url = row.access_url or ""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if any(unquote(s).split(";")[0] in (".", "..") or any(c in unquote(s) for c in "/\\\x00") for s in segments):
        return None  # dot segments, also as '..;' (Tomcat's way), backslashes, NUL: never a data path
    if not _in_tree(parts.scheme, parts.netloc, segments):
        return None
    is_dir = url.endswith("/") or (row.content_type or "").lower() in ("directory", "application/x-directory")
    low = obs_id.lower()
    for n, segment in enumerate(segments):
        name = unquote(segment).lower()
        if name == low or (name.startswith(low + ".") and name[len(low) + 1 :].isdigit()):  # INTEGRAL's <scw>.001
            root = urlunsplit((parts.scheme, parts.netloc, "/" + "/".join(segments[: n + 1]) + "/", "", ""))
            below = "/".join(segments[n + 1 :])
            if not below:
                return root, "", True
            return root, below + ("/" if is_dir else ""), is_dir
    return None


def _in_tree(scheme: str, netloc: str, segments: list[str]) -> bool:
    """Whether a URL lies in HEASARC's data tree: below the configured ``ftp`` root, or in the ``/FTP/`` tree
    of the configured DataLink service's host (never another host's, not even one a nested document named)."""
    ftp = urlsplit(endpoints.get("heasarc", "ftp"))
    root = [s for s in ftp.path.split("/") if s]
    if (scheme, netloc) == (ftp.scheme, ftp.netloc) and segments[: len(root)] == root:
        return True
    service = urlsplit(endpoints.get("heasarc", "datalink"))
    return (scheme, netloc) == (service.scheme, service.netloc) and segments[:1] == ["FTP"]


def _outermost(walks: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The directories to walk, without those inside another one that is walked anyway."""
    ordered = sorted(walks)
    return {u: walks[u] for u in ordered if not any(u != o and u.startswith(o) for o in ordered)}


def _any(obs: _Observation) -> LinkRow:
    return next(iter(obs.roots.values()))


def _wanted_link(row: LinkRow, accept: Callable[[str | None], bool]) -> bool:
    """A non-data row (bibliography, cross-link, ...) whose semantics the caller asked for by name."""
    if is_observation_link(row):
        return False
    key = product_key(row.semantics)
    return (bool(row.semantics) and accept(row.semantics)) or (key is not None and accept("#" + key))


def _link_file(spec: MissionSpec, obs_id: str, row: LinkRow) -> dict:
    name = unquote(urlsplit(row.access_url or "").path.rstrip("/").rsplit("/", 1)[-1]) or "link"
    label = product_key(row.semantics) or (row.semantics or "link").lstrip("#")
    return {
        "mission": spec.name,
        "obs_id": obs_id,
        "url": row.access_url,
        "local_path": f"{spec.name}/{obs_id}/links/{_html(_SAFE.sub('_', label) + '-' + _SAFE.sub('_', name), row)}",
        "content_type": row.content_type,
        "size": row.content_length,
        "semantics": row.semantics,
        "category": "link",
        "source_id": row.id,
    }


def _html(name: str, row: LinkRow) -> str:
    """``name`` ending in ``.html`` when the link is a web page, so the page is saved as what it is."""
    page = (row.content_type or "").lower().startswith("text/html")
    return name + ".html" if page and not name.lower().endswith((".html", ".htm")) else name


def _file(spec: MissionSpec, obs_id: str, root: str, path: str, row: LinkRow) -> dict:
    return {
        "mission": spec.name,
        "obs_id": obs_id,
        "instrument": None,
        "url": root + path,
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


def _unavailable(spec: MissionSpec, obs: _Observation, note: str | None = None) -> dict:
    if note is None:
        listed = ", ".join(sorted(s for s in obs.semantics if s)) or "nothing"
        note = "; ".join(dict.fromkeys(obs.errors)) or (
            f"HEASARC's DataLink answer lists no data directory for this observation (it listed: {listed})"
        )
    return unavailable_row(obs.obs_id, note, mission=spec.name)


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


async def resolve(request: ResolveRequest) -> Manifest:
    """HEASARC's part of :func:`vodaxa.resolve`: DataLink into observation trees; Chandra, when file types are
    chosen, read by CIAO file type from HEASARC's copy of the CDA's ``byobsid/`` tree (or ``mirror``)."""
    spec = request.spec
    if spec.name == CHANDRA.name and ("filetypes" in request.options or "exclude" in request.options):
        request.refuse(["semantics"], "by CIAO file type")
        mirror = request.option("mirror") or endpoints.get("heasarc", "ftp") + "chandra/data"
        return await resolve_chandra(spec, request.frame, request.http, filetypes=request.option("filetypes"),
                                     exclude=request.option("exclude"), mirror=mirror)  # fmt: skip
    request.refuse(["filetypes", "exclude", "mirror"])
    return await resolve_heasarc(spec, request.frame, request.chosen, request.products, request.http, request.engine,
                                 request.option("semantics", "#this"))  # fmt: skip
