"""Any VO result into a Manifest: a DataLink service descriptor (batched on its ID column), or per-row
DataLink URLs (``access_url`` with the DataLink ``access_format``, or ESO's ``datalink_url``), grouped
by links endpoint so that each endpoint still gets many IDs per request.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ResolveError
from ..http import HttpClient
from ..manifest import Manifest
from .datalink import DATALINK_MIME, DataLinkEngine, LinkRow, is_datalink, narrower
from .listing import walk

__all__ = ["resolve_vo"]

_SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


async def resolve_vo(source: Any, http: HttpClient, engine: DataLinkEngine, semantics: str = "#this") -> Manifest:
    """Manifest rows for the ``semantics`` links (``#this`` and narrower) of every row of ``source``."""
    table, descriptors = _table_and_descriptors(source)
    groups: dict[str, list[str]] = defaultdict(list)
    for service, column in descriptors:  # a result may carry several services, each keyed on its own column
        groups[service] += [str(v) for v in table[column] if v is not None and str(v) not in ("", "--")]
    if not descriptors:
        for base, ident in _row_links(table):
            groups[base].append(ident)
    if not groups:
        raise ResolveError(
            "the source has no DataLink service descriptor and no DataLink URLs (access_url with "
            f"access_format {DATALINK_MIME}, or datalink_url); nothing to resolve"
        )
    wanted = narrower(semantics)
    records: list[dict] = []
    directories: list[LinkRow] = []
    for service, ids in groups.items():
        for row in await engine.links(service, ids):
            if row.semantics in wanted and row.access_url and row.content_type == "directory" and not row.error_message:
                directories.append(row)
            else:
                records.extend(_records(row, wanted))
    gate = asyncio.Semaphore(8)

    async def expand(row: LinkRow) -> list[dict]:
        async with gate:
            paths = await walk(http, row.access_url or "")
        key = _key(row)
        base = (row.access_url or "").rstrip("/") + "/"
        return [
            {
                "obs_id": _ident(row),
                "url": base + p,
                "local_path": f"{key}/{p}",
                "semantics": row.semantics,
                "category": "file",
                "source_id": row.id,
            }
            for p in paths
        ]

    for group in await asyncio.gather(*(expand(r) for r in directories)):
        records.extend(group)
    return Manifest(records)


def _ident(row: LinkRow) -> str:
    """The observation or dataset a row belongs to: its ID's last part (``ivo://...?<this>``)."""
    return row.id.rsplit("?", 1)[-1] or row.id


def _key(row: LinkRow) -> str:
    """A folder name for a row's files: its ID's last part, made safe."""
    return _SAFE.sub("_", row.id.rsplit("?", 1)[-1]).strip("_") or "unnamed"


def _table_and_descriptors(source: Any) -> tuple[Any, list[tuple[str, str]]]:
    """The rows as an astropy Table and every DataLink descriptor it carries, as (links endpoint, ID column)."""
    votable = getattr(source, "votable", None)
    table = source.to_table() if hasattr(source, "to_table") else source
    found: list[tuple[str, str]] = []
    for resource in getattr(votable, "resources", []) if votable is not None else []:
        if resource.type != "meta" or (resource.utype or "").lower() != "adhoc:service":
            continue
        params = {p.name: p.value for p in resource.params}
        if not str(params.get("standardID") or "").lower().startswith("ivo://ivoa.net/std/datalink"):
            continue
        for group in (g for g in resource.groups if g.name == "inputParams"):
            for param in group.entries:
                if getattr(param, "name", None) == "ID" and getattr(param, "ref", None):
                    found.append((str(params["accessURL"]), _column_for_ref(votable, param.ref, table)))
    return table, found


def _column_for_ref(votable: Any, ref: str, table: Any) -> str:
    for resource in votable.resources:
        for element in resource.tables:
            for field in element.fields:
                if ref == field.ID or field.name == ref:
                    return field.name
    if ref in table.colnames:
        return ref
    raise ResolveError(f"the DataLink descriptor refers to a column '{ref}' the result does not have")


def _row_links(table: Any) -> list[tuple[str, str]]:
    """(links endpoint without ID, ID) for rows carrying their own DataLink URL."""
    names = set(table.colnames)
    urls: list[str] = []
    if "datalink_url" in names:
        urls = [str(u) for u in table["datalink_url"]]
    elif {"access_url", "access_format"} <= names:
        urls = [str(u) for u, f in zip(table["access_url"], table["access_format"]) if is_datalink(str(f))]
    out = []
    for url in urls:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        ids = [v for k, v in query if k.upper() == "ID"]
        if len(ids) != 1:
            raise ResolveError(f"cannot batch the DataLink URL {url}: it has {len(ids)} ID parameters")
        rest = urlencode([(k, v) for k, v in query if k.upper() != "ID"])
        out.append((urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), ids[0]))
    return out


def _records(row: LinkRow, wanted: frozenset[str]) -> list[dict]:
    key = _key(row)
    if row.error_message:
        if row.semantics in wanted or row.semantics is None:
            return [
                {
                    "obs_id": _ident(row),
                    "url": None,
                    "local_path": None,
                    "semantics": row.semantics,
                    "category": "unavailable",
                    "source_id": row.id,
                    "note": row.error_message,
                }
            ]
        return []
    if row.semantics not in wanted or not row.access_url or is_datalink(row.content_type):
        return []
    name = unquote(urlsplit(row.access_url).path.rstrip("/").rsplit("/", 1)[-1]) or "file"
    name = _SAFE.sub("_", name).strip("_") or "file"
    return [
        {
            "obs_id": _ident(row),
            "url": row.access_url,
            "local_path": f"{key}/{name}",
            "size": row.content_length,
            "content_type": row.content_type,
            "semantics": row.semantics,
            "category": str(row.extra.get("eso_category") or row.semantics).lstrip("#"),
            "source_id": row.id,
        }
    ]
