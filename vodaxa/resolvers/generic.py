"""Any VO result into a Manifest: a DataLink service descriptor (batched on its ID column), or per-row
DataLink URLs (``access_url`` with the DataLink ``access_format``, or ESO's ``datalink_url``), grouped
by links endpoint so that each endpoint still gets many IDs per request.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeAlias
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import numpy as np

from ..errors import ResolveError, ServiceError
from ..manifest import NAME_MAX, Manifest, path_component, unavailable_row
from ..net import HttpClient
from ..net.policy import url_problem
from .datalink import (
    DATALINK_MIME,
    DataLinkEngine,
    LinkRow,
    Semantics,
    is_datalink,
    meaning,
    semantics_filter,
    semantics_terms,
)
from .listing import walk

if TYPE_CHECKING:
    from astropy.io.votable.tree import VOTableFile
    from astropy.table import Table
    from pyvo.dal import DALResults

__all__ = ["Columns", "VOSource", "resolve_vo"]


class Columns(Protocol):
    """A table read column by column, by name: astropy's Table has this shape (so has the ObsCore resolver's view
    of a DataFrame)."""

    colnames: list[str]

    def __getitem__(self, name: str, /) -> Iterable[object]: ...


#: What :func:`resolve_vo` reads: a pyvo result (its VOTable's DataLink descriptors are read too), an astropy
#: Table, or any :class:`Columns`.
VOSource: TypeAlias = "DALResults | Table | Columns"


async def resolve_vo(
    source: VOSource, http: HttpClient, engine: DataLinkEngine, semantics: Semantics = "#this"
) -> Manifest:
    """Manifest rows for the ``semantics`` links (narrower terms included; ``"*"`` for all) of every row of
    ``source``.  Every ID ends up with files or with an unavailable row saying why: the service's error
    message, no rows at all, a failed request, or only links of other semantics."""
    semantics = semantics_terms(semantics)
    accept = semantics_filter(semantics)
    table, descriptors = _table_and_descriptors(source)
    groups: dict[str, list[str]] = defaultdict(list)
    records: list[dict] = []
    for service, column in descriptors:  # a result may carry several services, each keyed on its own column
        for n, value in enumerate(_cells(table[column])):
            if _text(value):
                groups[service].append(str(value))
            else:  # a row without an ID cannot be asked about: said, not skipped
                note = f"row {n}: no {column} value to ask DataLink about"
                records.append(unavailable_row(f"row{n}", note, source_id=f"row{n}"))
    if not descriptors:
        links, records = _row_links(table, accept)
        for base, ident in links:
            groups[base].append(ident)
    if not groups and not records:
        raise ResolveError(
            "the source has no DataLink service descriptor and no DataLink URLs (access_url with "
            f"access_format {DATALINK_MIME}, or datalink_url); nothing to resolve"
        )
    directories: list[LinkRow] = []
    seen: dict[str, set[str]] = {}  # ID asked for -> semantics of the rows it got
    names: dict[str, str] = {}  # filled by the first answer's rows: reading them waits for no request
    # each row's manifest records, made as its answer comes in (while later requests are on the way): the row and
    # its records (None for a directory to walk), by id(row) (the rows are kept alive here, so ids are not reused)
    prepared: dict[int, tuple[LinkRow, list[dict] | None]] = {}
    named: set[int] = set()  # id() of the records named already (they are kept alive in ``prepared``)

    def prepare(row: LinkRow) -> tuple[LinkRow, list[dict] | None]:
        if not prepared:
            names.update(_observation_names(table, descriptors))
        wanted = accept(meaning(row))
        made = None if wanted and not row.error_message and _is_directory(row) else _records(row, wanted, names)
        for record in made or ():
            named.add(id(record))
        prepared[id(row)] = entry = (row, made)
        return entry

    def prepare_all(rows: Sequence[LinkRow]) -> None:
        for row in rows:
            prepare(row)

    for service, ids in groups.items():
        for row in await engine.links(service, ids, follow=lambda r: accept(meaning(r)), on_rows=prepare_all):
            seen.setdefault(row.key, set()).add(row.semantics or "")
            entry = prepared.get(id(row))
            _, made = entry if entry is not None and entry[0] is row else prepare(row)
            if made is None:
                directories.append(row)
            else:
                records.extend(made)
        for ident in dict.fromkeys(ids):
            seen.setdefault(ident, set())
    directories = _outermost(directories)
    if directories:
        records = [r for r in records if not _inside(r.get("url"), r["obs_id"], directories)]
    gate = asyncio.Semaphore(8)

    async def expand(row: LinkRow) -> list[dict]:
        try:
            async with gate:
                paths = await walk(http, row.access_url or "")
        except ServiceError as err:
            return [_unavailable(row, f"the directory {row.access_url} could not be listed: {err}")]
        key = _key(row)
        base = _clean(row.access_url or "")
        return [
            {
                "obs_id": _ident(row),
                "url": base + p,
                "local_path": f"{key}/{p}",
                "semantics": row.semantics,
                "category": "file",
                "source_id": row.key,
            }
            for p in paths
        ]

    for group in await asyncio.gather(*(expand(r) for r in directories)):
        records.extend(group)
    covered = {r.get("source_id") for r in records}
    for ident, found in seen.items():
        if ident not in covered:
            others = ", ".join(sorted(s for s in found if s)) or "none"
            note = f"no links with the semantics asked for ({_describe(semantics)}); the service listed: {others}"
            records.append(unavailable_row(_last(ident), note, source_id=ident))
    if not prepared:  # no row came (or none was prepared): the rows made here are named too
        names.update(_observation_names(table, descriptors))
    return Manifest([r if id(r) in named else _named(r, names) for r in records])


#: Columns of a VO result that name the observation a row is (HEASARC's obsid, ObsCore's obs_id).
OBS_ID_COLUMNS = ("obs_id", "obsid", "obs_publisher_did")


def _observation_names(table: Columns, descriptors: list[tuple[str, str]]) -> dict[str, str]:
    """The result's own observation ID (HEASARC's obsid, ObsCore's obs_id) of each DataLink ID it asks about;
    empty when it has no such column or no DataLink descriptor."""
    column = next((c for c in OBS_ID_COLUMNS if c in getattr(table, "colnames", ())), None)
    names: dict[str, str] = {}
    if column is None or not descriptors:
        return names
    for _, id_column in descriptors:
        for asked, obs in zip(_cells(table[id_column]), _cells(table[column])):
            if _text(asked) and (text := _text(obs)):
                names[str(asked)] = text
    return names


def _named(record: dict, names: Mapping[str, str]) -> dict:
    """A record keyed by the result's own observation ID where it has one (``names``), not by the DataLink ID
    (HEASARC's internal row number): ``numaster?198`` becomes ObsID 30001011002, and so does its folder."""
    obs = names.get(str(record.get("source_id"))) if names else None
    if obs is None:
        return record
    old = record["obs_id"]
    record["obs_id"] = obs  # in place: each record is made for one row, and naming it twice changes nothing
    path = record.get("local_path")
    if path and old != obs:
        folder = _folder(str(old))
        if path.startswith(folder) and path[len(folder) : len(folder) + 1] == "/":
            record["local_path"] = f"{_folder(obs)}{path[len(folder):]}"
    return record


@functools.lru_cache(maxsize=4096)
def _folder(ident: str) -> str:
    """:func:`path_component` of an observation's ID, computed once for its several files."""
    return path_component(ident)


def _is_directory(row: LinkRow) -> bool:
    """A directory to walk: labelled ``directory``, or an HTML listing whose URL ends with a slash."""
    url, ctype = row.access_url or "", (row.content_type or "").lower()
    return bool(url) and (ctype == "directory" or (url.endswith("/") and ctype.startswith("text/html")))


def _clean(url: str) -> str:
    """A directory URL without repeated slashes in its path, ending with one slash."""
    parts = urlsplit(url)
    path = "/" + "/".join(p for p in parts.path.split("/") if p) + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _outermost(directories: list[LinkRow]) -> list[LinkRow]:
    """One row per directory, without those inside another directory of the same observation."""
    unique = {(_ident(r), _clean(r.access_url or "")): r for r in reversed(directories)}
    return [
        r
        for (obs, url), r in reversed(unique.items())
        if not any(o == obs and u != url and url.startswith(u) for o, u in unique)
    ]


def _inside(url: str | None, obs: str, directories: list[LinkRow]) -> bool:
    """Whether a file row lies in a directory of its observation that is walked anyway."""
    if not url:
        return False
    return any(_ident(d) == obs and _clean(url).startswith(_clean(d.access_url or "")) for d in directories)


def _describe(semantics: Semantics) -> str:
    return semantics if isinstance(semantics, str) else ", ".join(semantics)


def _last(ident: str) -> str:
    """An ID's last part (``ivo://...?<this>``), which names the observation or dataset."""
    return ident.rsplit("?", 1)[-1] or ident


def _unavailable(row: LinkRow, note: str | None = None) -> dict:
    return unavailable_row(_ident(row), note or row.error_message, semantics=row.semantics, source_id=row.key)


def _ident(row: LinkRow) -> str:
    """The observation or dataset a row belongs to: the last part of the ID first asked for."""
    return _last(row.key)


def _key(row: LinkRow) -> str:
    """A folder name for a row's files: the observation's ID, made safe."""
    return _folder(_ident(row))


def _table_and_descriptors(source: VOSource) -> tuple[Columns, list[tuple[str, str]]]:
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


def _column_for_ref(votable: VOTableFile, ref: str, table: Columns) -> str:
    for resource in votable.resources:
        for element in resource.tables:
            for field in element.fields:
                if ref == field.ID or field.name == ref:
                    return field.name
    if ref in table.colnames:
        return ref
    raise ResolveError(f"the DataLink descriptor refers to a column '{ref}' the result does not have")


def _row_links(table: Columns, accept: Callable[[str | None], bool]) -> tuple[list[tuple[str, str]], list[dict]]:
    """(links endpoint without ID, ID) for rows carrying their own DataLink URL, and manifest rows for the
    others: ObsCore rows whose ``access_url`` is the file itself, and rows with no usable URL (unavailable)."""
    names = set(table.colnames)
    if "datalink_url" in names:
        cells = [(_text(u), True) for u in _cells(table["datalink_url"])]
    elif {"access_url", "access_format"} <= names:
        pairs = zip(_cells(table["access_url"]), _cells(table["access_format"]))
        cells = [(_text(u), is_datalink(_text(f))) for u, f in pairs]
    else:
        return [], []
    out: list[tuple[str, str]] = []
    records: list[dict] = []
    for n, (url, linked) in enumerate(cells):
        broken = url_problem(url) if url else None
        if broken:
            records.append(unavailable_row(f"row{n}", f"row {n}: {broken}", source_id=f"row{n}"))
            continue
        if url and not linked:
            if accept("#this"):  # the row's access_url is the dataset itself (ObsCore without DataLink)
                name = path_component(unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]), "file")
                records.append({"obs_id": f"row{n}", "url": url, "local_path": f"row{n}/{name}", "semantics": "#this",
                                "category": "this", "source_id": url})  # fmt: skip
            continue
        parts = urlsplit(url or "")
        query = parse_qsl(parts.query, keep_blank_values=True)
        ids = [v for k, v in query if k.upper() == "ID"]
        if not url or len(ids) != 1 or parts.scheme not in ("http", "https"):
            why = "no DataLink URL" if not url else f"the DataLink URL {url} has {len(ids)} ID parameters, not one"
            records.append(unavailable_row(f"row{n}", f"row {n}: {why}", source_id=url or f"row{n}"))
            continue
        rest = urlencode([(k, v) for k, v in query if k.upper() != "ID"])
        out.append((urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), ids[0]))
    return out, records


def _cells(column: Iterable[object]) -> list[object]:
    """A column's cells as a list: through ``tolist`` (masked cells as None) where that reads each cell as
    iterating would (numpy scalars as the Python values of the same text), else one by one."""
    dtype = getattr(column, "dtype", None)
    kind, size = getattr(dtype, "kind", ""), getattr(dtype, "itemsize", 0)
    tolist = getattr(column, "tolist", None)
    if getattr(column, "ndim", None) == 1 and callable(tolist) and (kind in "iubUO" or (kind, size) == ("f", 8)):
        return list(tolist())
    return list(column)


#: The path of an http(s) URL without spaces or control characters: after the host, up to the query or fragment.
_HTTP_PATH = re.compile(r"https?://[^/?#\[\]]*(?=[/?#]|\Z)([^?#]*)", re.IGNORECASE)


#: An http(s) URL ending in a file name :func:`~vodaxa.manifest.path_component` keeps as it is: safe characters
#: only, not starting with a dot or an underscore nor ending with an underscore, at most 200 characters.
_PLAIN_NAME = re.compile(
    rf"https?://[^/?#]+/(?:[^?#]*/)?([A-Za-z0-9+-][A-Za-z0-9._+-]{{0,{NAME_MAX - 1}}})(?<!_)", re.IGNORECASE
)


def _url_path(url: str) -> str:
    """``urlsplit(url).path``, without the general parser for the usual http(s) URL."""
    plain = _HTTP_PATH.match(url)
    if plain and url.isascii() and url.isprintable() and " " not in url:
        return plain.group(1)
    return urlsplit(url).path


def _text(value: object) -> str:
    """A table cell as text; masked or empty cells are ''."""
    if value is None or value is np.ma.masked or (isinstance(value, float) and value != value):
        return ""
    text = str(value).strip()
    return "" if text in ("--", "nan", "None") else text


def _records(row: LinkRow, wanted: bool, names: Mapping[str, str] | None = None) -> list[dict]:
    """A manifest row for a link of the wanted semantics (``wanted``: the row's are), or for an error that concerns
    them; named as :func:`_named` names it when ``names`` is given."""
    if row.error_message:
        if wanted or row.semantics in (None, "", "#error"):
            return [_named(_unavailable(row), names or {})]
        return []
    if not wanted or not row.access_url or is_datalink(row.content_type):
        return []
    url = row.access_url
    plain = _PLAIN_NAME.fullmatch(url)
    if plain and url.isascii() and url.isprintable():
        name = plain.group(1)  # what the general line below gives for a plain http(s) file URL, at a third the cost
    else:
        name = path_component(unquote(_url_path(url).rstrip("/").rsplit("/", 1)[-1]), "file")
    if (row.content_type or "").lower().startswith("text/html") and not name.lower().endswith((".html", ".htm")):
        name += ".html"  # a web page (documentation, a landing page) is saved as one
    ident = (names.get(row.key) if names else None) or _ident(row)
    return [
        {
            "obs_id": ident,
            "url": row.access_url,
            "local_path": f"{_folder(ident)}/{name}",
            "size": row.content_length,
            "content_type": row.content_type,
            "semantics": row.semantics,
            "category": str(row.extra.get("eso_category") or row.semantics).lstrip("#"),
            "source_id": row.key,
        }
    ]
