"""ESO: raw frames through DataLink (``#this``, night logs, calSelector links) and, on request, their
calibration cascades through calSelector (batched, 100 datasets per call as astroquery does); Phase 3
products through their ObsCore DataLink URLs.

Cascade summaries land in the manifest (``cascade_*`` columns on the science frames' rows) and any
incomplete, uncertified or fallen-back cascade is also warned about.  Frames still proprietary are
kept and marked for the ESO realm (the token belongs to the credentials stage), never dropped.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from ...config import endpoints
from ...errors import InputError, PartialResultWarning, ResolveError, ServiceError
from ...manifest import Manifest, unavailable_row
from ...net import HttpClient
from ...resolvers.datalink import DataLinkEngine, LinkRow, parse_links
from ...resolvers.request import ResolveRequest
from ...specs.registry import MissionSpec
from ..obscore.resolver import resolve_rows
from .calselector import parse_cascade, parse_trees, tree_links

__all__ = ["CALSELECTOR_BATCH", "resolve_eso"]

IVO = "ivo://eso.org/ID?"
CALSELECTOR_BATCH = 100
_ESO = "http://archive.eso.org/rdf/datalink/eso#"


async def resolve_eso(
    spec: MissionSpec,
    frame: pd.DataFrame,
    http: HttpClient,
    engine: DataLinkEngine,
    *,
    calibrations: str | None = None,
) -> Manifest:
    """Manifest rows for ESO raw frames (``eso``) or Phase 3 products (``eso_products``)."""
    if spec.name == "eso_products":  # Phase 3 products are ESO's ObsCore table: resolved as any ObsCore's
        return await resolve_rows(ResolveRequest(spec, frame, (), True, http, engine))
    if "proprietary_usable" not in frame.columns:
        raise InputError(
            "an ESO observation table needs its 'proprietary_usable' column (vodaxa.search and Mission give it): "
            "it says which frames need an ESO token"
        )
    realm = {str(d): ("eso" if not bool(u) else None) for d, u in zip(frame["obs_id"], frame["proprietary_usable"])}
    rows = await engine.links(endpoints.get("eso", "datalink"), [IVO + d for d in realm])
    records = [r for row in rows if (r := _frame_record(spec, row, realm))]
    if calibrations:
        science = [
            d
            for d, c in zip(frame["obs_id"], frame.get("dp_cat", pd.Series("SCIENCE", frame.index)))
            if str(c).upper() == "SCIENCE"
        ]
        records += await _cascades(spec, science, calibrations, http, records)
    return Manifest(records)


def _dp_id(ident: str) -> str:
    return ident[len(IVO) :] if ident.startswith(IVO) else ident


def _file_name(dp_id: str, row: LinkRow) -> str:
    """Where ESO's file lands: the file name ESO gives (``eso_origfile``), else the bare ``<dp_id>`` of the
    dataportal URL, which the dataportal's Content-Disposition (``<dp_id>.fits.Z``, ``<dp_id>.fits``) then
    replaces at download time (vodaxa.downloader.naming): no guessing of the compression here."""
    original = row.extra.get("eso_origfile")
    if original:
        return str(original).replace("/", "_").replace("\\", "_")
    return dp_id


def _frame_record(spec: MissionSpec, row: LinkRow, realm: dict[str, str | None]) -> dict | None:
    dp_id = _dp_id(row.id)
    base = {
        "mission": spec.name,
        "obs_id": dp_id,
        "source_id": row.id,
        "semantics": row.semantics,
        "auth_realm": realm.get(dp_id),
    }
    if row.error_message:
        return unavailable_row(base.pop("obs_id"), row.error_message, **base)
    if row.semantics == "#this" and row.access_url:
        return {
            **base,
            "url": row.access_url,
            "local_path": f"eso/{_file_name(dp_id, row)}",
            "content_type": row.content_type,
            "size": row.content_length,
            "category": "raw",
            "note": "needs an ESO token (proprietary)" if base["auth_realm"] else None,
        }
    if row.semantics == _ESO + "night_log" and row.access_url:
        return {
            **base,
            "url": row.access_url,
            "local_path": f"eso/{_file_name(dp_id, row)}",
            "content_type": row.content_type,
            "category": "night_log",
        }
    return None  # calSelector links are followed on request (calibrations=...)


async def _cascades(
    spec: MissionSpec, science: list[str], calibrations: str, http: HttpClient, records: list[dict]
) -> list[dict]:
    """calSelector in batches; files of each cascade, with its summary on the science frame's rows."""
    mode = {"raw2raw": "Raw2Raw", "raw2master": "Raw2Master"}[calibrations.lower()]
    service = endpoints.get("eso", "calselector")
    found: list[LinkRow] = []

    async def ask(batch: list[str]) -> list[LinkRow]:
        """One calSelector call; a refused batch is asked again frame by frame (one proprietary frame must not
        cost the others their calibrations), and what still fails becomes an error row per frame."""
        form = [("dp_id", d) for d in batch] + [("mode", mode), ("responseformat", "votable")]
        try:
            response = await http.post(service, data=form)
            if response.status >= 400:
                raise ResolveError(
                    f"calSelector answered HTTP {response.status} for {len(batch)} datasets",
                    url=service,
                    status=response.status,
                )
            return _calselector_rows(response.body, response.content_type, service, batch)
        except ServiceError as err:
            if len(batch) > 1 and err.status in (401, 403):
                return [row for d in batch for row in await ask([d])]
            why = f"the calibration cascade could not be resolved: {err}"
            return [LinkRow(IVO + d, error_message=why, semantics="#calibration") for d in batch]

    for start in range(0, len(science), CALSELECTOR_BATCH):
        found += await ask(science[start : start + CALSELECTOR_BATCH])
    by_frame: dict[str, list[LinkRow]] = defaultdict(list)
    for row in found:
        by_frame[_dp_id(row.id)].append(row)
    summaries = {}
    out: list[dict] = []
    for dp_id, rows in by_frame.items():
        this = next((r for r in rows if r.semantics == "#this"), None)
        cascade = parse_cascade(this.description if this else None)
        summaries[dp_id] = cascade
        for message in cascade.warnings(mode):
            warnings.warn(f"{dp_id}: {message}", PartialResultWarning, stacklevel=4)
        for row in rows:
            record = _cascade_record(spec, dp_id, row, mode)
            if record:
                out.append(record)
    for record in records + out:  # the summary goes on every row of the frame it belongs to
        summary = (
            summaries.get(record.get("obs_id", "")) if record.get("category") in ("raw", "association_tree") else None
        )
        if summary is not None:
            record.update(
                {
                    "cascade_category": summary.category,
                    "cascade_complete": summary.complete,
                    "cascade_certified": summary.certified,
                    "cascade_mode": summary.mode,
                    "cascade_messages": summary.messages,
                }
            )
    return out


def _calselector_rows(body: bytes, content_type: str, service: str, batch: list[str]) -> list[LinkRow]:
    """calSelector's rows from its VOTable, or from association trees when it answers those instead (ESO's
    XML tree, or a multipart answer of several), so the manifest is the same either way."""
    trees = parse_trees(body, content_type, service)
    if trees is None:
        return parse_links(body, service, content_type).rows
    files = endpoints.get("eso", "datalink")
    rows: list[LinkRow] = []
    for part, tree in trees.items():
        rows += tree_links(tree, IVO + _tree_frame(part, [n for _, n in tree.files], batch, service), files, service)
    return rows


def _tree_frame(part: str, names: list[str], batch: list[str], service: str) -> str:
    """The requested frame an association tree is about: the first of its main files that was asked for
    (else the ``<dp_id>_<mode>.xml`` name of its multipart part)."""
    found = next((n for n in names if n in batch), None) or part.rpartition("_")[0]
    if found not in batch:
        raise ResolveError(
            f"calSelector answered an association tree for {names[0] if names else part!r}, not one of the "
            f"datasets asked for ({', '.join(batch[:3])}{', ...' if len(batch) > 3 else ''}): try again, or ask "
            "ESO support",
            url=service,
        )
    return found


def _cascade_record(spec: MissionSpec, frame_id: str, row: LinkRow, mode: str) -> dict | None:
    if row.error_message or not row.access_url:
        return (
            None
            if not row.error_message
            else unavailable_row(frame_id, f"calSelector: {row.error_message}", mission=spec.name,
                                 semantics=row.semantics, source_id=row.id)
        )
    category = str(row.extra.get("eso_category") or "")
    if row.semantics == "#this":
        return None  # the frame itself is already in the manifest
    if category == "ASSOCIATION_TREE":
        return {
            "mission": spec.name,
            "obs_id": frame_id,
            "url": row.access_url,
            "semantics": row.semantics,
            "local_path": f"eso/{frame_id}_{mode.lower()}.xml",
            "category": "association_tree",
            "content_type": row.content_type,
            "source_id": row.id,
        }
    target = _target_id(row.access_url)
    kind = "calibration" if row.semantics in ("#calibration", "#bias", "#dark", "#flat") else "sibling_raw"
    # the dataportal's URL for the same file: a frame that is also a sibling or a shared calibration is fetched once
    url = endpoints.get("eso", "dataportal") + target if target else row.access_url
    target = target or frame_id
    return {
        "mission": spec.name,
        "obs_id": frame_id,
        "url": url,
        "semantics": row.semantics,
        "local_path": f"eso/{_file_name(target, row)}",
        "category": category or kind,
        "source_id": row.id,
        "note": kind,
    }


def _target_id(url: str) -> str | None:
    """The dataset a calSelector file link points at (its ``ID=ivo://eso.org/ID?<dp_id>`` parameter)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key.upper() == "ID":
            return _dp_id(value)
    return None


async def resolve(request: ResolveRequest) -> Manifest:
    """ESO's part of :func:`vodaxa.resolve`: frames through DataLink, with calSelector cascades if asked."""
    return await resolve_eso(request.spec, request.frame, request.http, request.engine,
                             calibrations=request.option("calibrations"))  # fmt: skip
