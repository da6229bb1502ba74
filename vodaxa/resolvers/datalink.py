"""The DataLink engine (DataLink 1.1): many IDs per request, several requests in flight, the server's
cap learned, nested DataLink followed (``access_url`` rows and DataLink ``service_def`` descriptors,
depth-limited, loops cut, and only for the semantics the caller asks for), and every failure kept as
data rather than raised: error rows, IDs answered with no rows at all, failing batches and unreachable
nested documents all become error rows naming the reason, so one bad link never aborts the rest and
no ID vanishes.

Responses are parsed with a small TABLEDATA reader (C ElementTree), an order of magnitude faster
than a full VOTable parse on thousands of rows; anything else falls back to astropy.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import math
import operator
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import ClassVar
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import numpy as np

from ..errors import ResolveError, ServiceError
from ..net import HttpClient, Response
from ..net.policy import url_problem
from ..quiet import quiet

__all__ = [
    "DATALINK_MIME",
    "DataLinkEngine",
    "LinkRow",
    "Semantics",
    "ServiceDef",
    "is_datalink",
    "meaning",
    "narrower",
    "parse_links",
    "semantics_filter",
    "semantics_terms",
]

log = logging.getLogger(__name__)

DATALINK_MIME = "application/x-votable+xml;content=datalink"
DATALINK_STANDARD = "ivo://ivoa.net/std/datalink"
_CORE = "http://www.ivoa.net/rdf/datalink/core"
#: The DataLink core vocabulary's narrower terms, shipped so that no vocabulary is fetched over the network.
NARROWER: Mapping[str, frozenset[str]] = {
    "#calibration": frozenset({"#bias", "#dark", "#flat"}),
    "#preview": frozenset({"#preview-image", "#preview-plot", "#thumbnail"}),
    "#auxiliary": frozenset({"#weight", "#error", "#noise"}),
    "#proc": frozenset({"#cutout"}),
    "#documentation": frozenset({"#detached-header"}),
}
_STANDARD = ("ID", "access_url", "service_def", "error_message", "description", "semantics", "content_type",
             "content_length")  # fmt: skip
#: What ``semantics=`` may be: one term, several, or ``"*"`` for every row.
Semantics = str | Iterable[str]


def _short(term: str) -> str:
    return term[len(_CORE) :] if term.startswith(_CORE) else term


def narrower(term: str) -> frozenset[str]:
    """``term`` and its narrower core terms (``#calibration`` also means ``#bias``, ``#dark``, ``#flat``)."""
    short = _short(term)
    return frozenset({short}) | NARROWER.get(short, frozenset())


def semantics_filter(semantics: Semantics) -> Callable[[str | None], bool]:
    """A test for row semantics: the terms asked for and their narrower core terms, or everything for ``"*"``.

    Core terms may be written ``#this`` or in full (``http://www.ivoa.net/rdf/datalink/core#this``); other
    vocabularies' terms are compared as written.
    """
    terms = semantics_terms(semantics)
    if "*" in terms:
        return lambda term: True
    wanted = frozenset().union(*(narrower(t) for t in terms))
    folded = frozenset(t.lower() for t in wanted if t.startswith("#"))  # core terms: '#THIS' means '#this'
    return lambda term: term is not None and (
        (term in wanted and not term.startswith(_CORE)) or _short(term) in wanted or _short(term).lower() in folded
    )  # the first test is the usual case, a short term as asked


def semantics_terms(semantics: object) -> tuple[str, ...]:
    """``semantics`` as a tuple of terms, or :class:`ResolveError` saying what is accepted."""
    if isinstance(semantics, str):
        terms: tuple = (semantics,)
    elif isinstance(semantics, Iterable) and not isinstance(semantics, (bytes, Mapping)):
        terms = tuple(semantics)
    else:
        terms = ()
    if not terms or not all(isinstance(t, str) and t.strip() for t in terms):
        raise ResolveError(
            f"semantics must be a term such as '#this', a list of terms, or '*' for every link; got {semantics!r}"
        )
    return tuple(t.strip() for t in terms)


def meaning(row: LinkRow) -> str | None:
    """The semantics a row stands for: an archive's own term read as the core term it means (HEASARC's
    ``products.jsp#nustar.obs`` is ``#this``; see ``Archive.datalink_terms``), else the term itself."""
    for alias in _archives().datalink_terms():
        term = alias(row)
        if term is not None:
            return term
    return row.semantics


@functools.cache
def _archives() -> ModuleType:
    """:mod:`vodaxa.archives`, imported on first use (it imports this module), then kept at hand: :func:`meaning`
    runs for every row."""
    from .. import archives

    return archives


def is_datalink(content_type: str | None) -> bool:
    """Whether a content type announces a DataLink links document (parameters compared loosely)."""
    if not content_type:
        return False
    return _is_datalink(content_type) if len(content_type) < 256 else _is_datalink.__wrapped__(content_type)


@functools.lru_cache(maxsize=256)
def _is_datalink(content_type: str) -> bool:
    """:func:`is_datalink` of a content type (a links document holds few distinct ones, read thousands of times)."""
    parts = [p.strip().lower() for p in content_type.split(";")]
    return parts[0] == "application/x-votable+xml" and "content=datalink" in parts[1:]


@dataclass(frozen=True)
class LinkRow:
    """One DataLink row, with the service's extra columns (ESO's eso_category, ...) in ``extra``.

    A ``service_def`` row whose descriptor is itself a DataLink service gets that service's URL (with its
    input parameters) as ``access_url`` and the DataLink content type, so it is followed like any nested link.
    """

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    semantics: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    depth: int = 0  # 0 for rows of the first document, n for rows reached through n nested documents
    parent: str | None = None  # the ID of the row whose nested document held this one
    service: str | None = None  # the links endpoint that answered this row
    origin: str | None = None  # for rows of nested documents: the ID first asked for, whose links they are

    @property
    def key(self) -> str:
        """The ID first asked for: ``origin`` for rows of nested documents, else ``id``."""
        return self.origin or self.id


@dataclass(frozen=True)
class ServiceDef:
    """A service descriptor (``<RESOURCE type="meta" utype="adhoc:service">``) of a links document."""

    ident: str
    standard_id: str
    access_url: str
    fixed: tuple[tuple[str, str], ...] = ()  # input parameters with a value
    bound: tuple[tuple[str, str], ...] = ()  # input parameters taking a column's value: (name, column)

    @property
    def is_datalink(self) -> bool:
        """Whether this descriptor leads to another DataLink links document."""
        return self.standard_id.lower().startswith(DATALINK_STANDARD)


@dataclass
class _Page:
    rows: list[LinkRow]
    overflow: bool
    services: dict[str, ServiceDef] = field(default_factory=dict)


#: Element nesting a links document may have (a VOTable needs about six levels).
MAX_XML_DEPTH = 64
#: Bodies larger than this are parsed on a worker thread, so the event loop (and budgets) go on meanwhile.
PARSE_OFF_LOOP = 1 << 20


def _outline(root: ET.Element) -> tuple[int, list[ET.Element]]:
    """How deeply ``root``'s elements nest, and its elements in document order but for the rows and cells of
    TABLEDATA (thousands of them, and nothing a links document keeps elsewhere).

    Iterative (no recursion for a hostile document), and stops past :data:`MAX_XML_DEPTH`.  A TABLEDATA whose
    cells hold no elements (every element below it is a row or a cell: counted in C, not walked in Python) adds
    two levels at most; any other is walked like the rest of the document, its elements listed too.
    """
    deepest, stack, elements = 0, [(root, 1)], []
    while stack:
        element, depth = stack.pop()
        elements.append(element)
        deepest = max(deepest, depth)
        if depth > MAX_XML_DEPTH:
            return depth, elements
        if len(element) and _local(element.tag) == "TABLEDATA":
            cells = sum(map(len, element))
            if len(list(element.iter())) == 1 + len(element) + cells:  # no cell has an element inside
                deepest = max(deepest, depth + (2 if cells else 1))
                continue
        stack.extend((child, depth + 1) for child in reversed(element))
    return deepest, elements


async def parse_links_async(body: bytes, url: str, content_type: str = "") -> _Page:
    """:func:`parse_links`, on a worker thread for a large body."""
    if len(body) > PARSE_OFF_LOOP:
        return await asyncio.to_thread(parse_links, body, url, content_type)
    return parse_links(body, url, content_type)


def parse_links(body: bytes, url: str, content_type: str = "") -> _Page:
    """Rows, overflow flag and service descriptors of a links document; :class:`ResolveError` naming the
    URL if it is not one."""
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or "html" in content_type:
        raise ResolveError(
            f"{url} answered an HTML page where a DataLink VOTable was expected: {_snippet(body)}", url=url
        )
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError) as err:  # LookupError, ValueError: an encoding expat cannot read
        raise ResolveError(f"{url} did not answer a readable VOTable ({err}): {_snippet(body)}", url=url) from None
    depth, elements = _outline(root)
    if depth > MAX_XML_DEPTH:  # a VOTable is a handful of levels deep; thousands is an attack
        raise ResolveError(f"{url} answered an XML document nested deeper than {MAX_XML_DEPTH} levels", url=url)
    if _local(root.tag) != "VOTABLE":
        raise ResolveError(f"{url} answered <{_local(root.tag)}>, not a VOTable: {_snippet(body)}", url=url)
    resources = [r for r in elements if _local(r.tag) == "RESOURCE"]
    candidates = [r for r in resources if r.get("type") == "results"] or [
        r for r in resources if r.get("type") != "meta"
    ]
    resource = next((r for r in candidates if any(_local(t.tag) == "TABLE" for t in r.iter())), None)
    resource = resource if resource is not None else next(iter(candidates), None)
    if resource is None:
        raise ResolveError(f"{url} answered a VOTable without a results resource", url=url)
    services = _services(resources)
    status = [i for i in resource if _local(i.tag) == "INFO" and (i.get("name") or "").upper() == "QUERY_STATUS"]
    if status and status[-1].get("value", "").upper() == "ERROR":
        raise ResolveError(f"{url} reported an error: {(status[-1].text or '').strip() or 'no reason given'}", url=url)
    overflow = any(s.get("value", "").upper() == "OVERFLOW" for s in status)
    table = next((t for t in resource.iter() if _local(t.tag) == "TABLE"), None)
    if table is None:
        return _Page([], overflow, services)
    fields = [f for f in table if _local(f.tag) == "FIELD"]
    names = [f.get("name", "") for f in fields]
    if "ID" not in names:
        raise ResolveError(f"{url} answered a table without an ID column: not DataLink", url=url)
    data = next((d for d in table if _local(d.tag) == "DATA"), None)
    encoding = next(iter(data), None) if data is not None else None
    if encoding is None:
        return _Page([], overflow, services)
    if _local(encoding.tag) != "TABLEDATA":
        rows = _astropy_rows(body, url)
    else:
        rows = _tabledata_rows(encoding, names, url)
    if services or any(r.service_def for r in rows):
        columns = {f.get("ID") or f.get("name") or "": f.get("name", "") for f in fields}
        rows = [_via_service(r, services, columns) for r in rows]
    return _Page(rows, overflow, services)


def _services(resources: list[ET.Element]) -> dict[str, ServiceDef]:
    """The document's service descriptors by ID (those without an ID cannot be referenced by rows)."""
    out: dict[str, ServiceDef] = {}
    for res in resources:
        if res.get("type") != "meta" or (res.get("utype") or "").lower() != "adhoc:service" or not res.get("ID"):
            continue
        params = {p.get("name"): p.get("value", "") for p in res if _local(p.tag) == "PARAM"}
        fixed, bound = [], []
        for group in (g for g in res if _local(g.tag) == "GROUP" and g.get("name") == "inputParams"):
            for p in (p for p in group if _local(p.tag) == "PARAM"):
                if p.get("ref"):
                    bound.append((p.get("name", ""), p.get("ref", "")))
                elif p.get("value"):
                    fixed.append((p.get("name", ""), p.get("value", "")))
        out[res.get("ID", "")] = ServiceDef(
            res.get("ID", ""), params.get("standardID") or "", params.get("accessURL") or "", tuple(fixed), tuple(bound)
        )
    return out


def _via_service(row: LinkRow, services: Mapping[str, ServiceDef], columns: Mapping[str, str]) -> LinkRow:
    """A ``service_def`` row leading to a DataLink descriptor, given that descriptor's URL to follow."""
    if not row.service_def or row.access_url or row.error_message:
        return row
    desc = services.get(row.service_def)
    if desc is None:
        return replace(row, error_message=f"the row names a service descriptor '{row.service_def}' the document lacks")
    if not desc.is_datalink or not desc.access_url:
        return row  # a service to call (SODA cutouts, ...), not a document to follow
    cells = {"ID": row.id, **{k: v for k, v in row.extra.items() if v is not None}}
    for name in _STANDARD[1:]:
        value = getattr(row, name, None)
        if value is not None:
            cells[name] = value
    pairs = list(desc.fixed) + [(n, str(cells.get(columns.get(ref, ref), ""))) for n, ref in desc.bound]
    pairs = [(k, v) for k, v in pairs if v]
    url = desc.access_url
    if pairs:
        url += ("&" if "?" in url else "?") + urlencode(pairs)
    return replace(row, access_url=url, content_type=row.content_type or DATALINK_MIME)


def _length(text: str | None) -> int | None:
    """A content_length cell as bytes, or None when it is empty or not a sane number ("12abc", "inf", "nan")."""
    if not text:
        return None
    if not text.isascii():  # float() reads other scripts' digits ("１２"); a byte count is written in ASCII
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value) or value < 0 or value >= 2**63 or value != int(value):
        return None  # not a byte count a file can have
    return int(value)


#: An http(s) URL with a plain host name or address, perhaps a port, and printable ASCII after it: no password, no
#: space or control character, nothing ambiguous about its host, which :func:`url_problem` would refuse.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::([0-9]{1,5}))?(?:[/?#][!-~]*)?")


def _usable(access_url: str | None, error: str | None) -> tuple[str | None, str | None]:
    """A row's access_url and error_message, an unparseable URL turned into an error: one bad row must not sink
    the whole answer, it is reported unavailable with the reason."""
    if not access_url:
        return access_url, error
    plain = _PLAIN_URL.fullmatch(access_url)
    if plain and (plain.group(1) is None or int(plain.group(1)) <= 65535):
        return access_url, error  # nothing url_problem could object to (the usual case: thousands per resolve)
    broken = url_problem(access_url)
    if broken:
        return None, error or f"the service sent an unusable access_url: {broken}"
    return access_url, error


def _tabledata_rows(encoding: ET.Element, names: list[str], url: str) -> list[LinkRow]:
    """LinkRows straight from TABLEDATA cells (hot path: thousands of rows per resolve)."""
    width = len(names)
    # the standard columns' cells, in _STANDARD's order (a column the table lacks reads the padding cell: None)
    pick = operator.itemgetter(*(names.index(n) if n in names else width for n in _STANDARD))
    extras = [(i, n) for i, n in enumerate(names) if n not in _STANDARD]
    pad = [None] * width
    rows = []
    new = object.__new__
    for tr in encoding:
        cells = [td.text.strip() or None if td.text else None for td in tr]
        if len(cells) != width:  # a short row's missing cells are empty; cells past the FIELDs are not read
            cells = (cells + pad)[:width]
        cells.append(None)  # what a standard column the table lacks reads
        ident, access, service, error, description, semantics, ctype, length = pick(cells)
        if access is not None or error is not None:
            access, error = _usable(access, error)
        row = new(LinkRow)  # LinkRow(...) without the frozen dataclass's thirteen setattr calls
        row.__dict__.update(
            id=ident or "", access_url=access, service_def=service, error_message=error, description=description,
            semantics=semantics, content_type=ctype, content_length=_length(length),
            extra={n: cells[i] for i, n in extras} if extras else {}, depth=0, parent=None, service=url, origin=None,
        )  # fmt: skip
        rows.append(row)
    return rows


def _row(cells: Mapping[str, object]) -> LinkRow:
    def value(name: str) -> str | None:
        v = cells.get(name)
        return None if v is None or v == "" else str(v)

    length = value("content_length")
    extra = {k: (None if v == "" else v) for k, v in cells.items() if k not in _STANDARD}
    access_url, error = _usable((value("access_url") or "").strip() or None, value("error_message"))
    return LinkRow(
        id=value("ID") or "",
        access_url=access_url,
        service_def=value("service_def"),
        error_message=error,
        description=value("description"),
        semantics=value("semantics"),
        content_type=value("content_type"),
        content_length=_length(length),
        extra=extra,
    )


def _astropy_rows(body: bytes, url: str) -> list[LinkRow]:
    """Rows of a BINARY/BINARY2/FITS-serialised links document, through astropy."""
    from astropy.io.votable import parse_single_table

    try:
        with quiet():
            table = parse_single_table(io.BytesIO(body)).to_table()
    except Exception as err:  # astropy raises many types for malformed documents
        raise ResolveError(f"{url} answered an unreadable VOTable: {err}", url=url) from None
    out = []
    for record in table:
        cells = {name: record[name] for name in table.colnames}
        out.append(replace(_row({k: ("" if v is None or v is np.ma.masked else str(v)) for k, v in cells.items()}),
                           service=url))  # fmt: skip
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", errors="replace").replace("\n", " ").strip()
    return repr(text + ("..." if len(body) > 200 else ""))


#: Why an ID got no rows at all: HEASARC answers a non-public observation with an empty document.
NO_ROWS = "NotFoundFault: the service answered no links for this ID (not public yet, or unknown to it)"
#: How often an ID left out of capped answers is asked again before it is reported.
_MAX_TRIES = 8
Follow = Callable[[LinkRow], bool]


class DataLinkEngine:
    """Resolves IDs through links endpoints with batching, bounded concurrency and learned caps.

    Every ID asked for comes back with at least one row: its links, or an error row saying why there are
    none (the service's own error row, no rows at all, a failed batch).  ``failures`` lists, one line
    each, the batches and nested documents that failed, for reports.
    """

    #: Caps learned per service URL, shared by every engine in the process.
    learned_caps: ClassVar[dict[str, int]] = {}

    def __init__(
        self,
        http: HttpClient,
        *,
        batch: int = 500,
        concurrency: int = 4,
        max_depth: int = 2,
        params: Mapping[str, str] | None = None,
    ) -> None:
        if batch < 1 or concurrency < 1 or max_depth < 0:
            raise ValueError("batch and concurrency must be >= 1 and max_depth >= 0")
        self.http = http
        self.batch = batch
        self.concurrency = concurrency
        self.max_depth = max_depth
        self.params = dict(params or {})
        self.requests = 0
        self.failures: list[str] = []
        self._caps: dict[str, int] = {}  # caps learned by this engine (see _learn)

    async def links(
        self,
        service: str,
        ids: Sequence[str],
        *,
        params: Mapping[str, str] | None = None,
        follow: Follow | None = None,
        on_rows: Callable[[Sequence[LinkRow]], None] | None = None,
    ) -> list[LinkRow]:
        """Every row for ``ids`` from the links endpoint ``service``, with the nested documents of the rows
        ``follow`` accepts (every nested row when None) read in their place.

        ``on_rows``, if given, sees each answer's rows of ``service`` as soon as they are read, while later
        requests are still on the way (to prepare work on them); the rows returned are what counts, and may
        leave out some of those seen (rows of a nested document in their place, repeats, an answer cut short).
        """
        fetched: set[tuple[str, str]] = set()
        rows = await self._resolve(service, ids, {**self.params, **(params or {})}, fetched, on_rows)
        rows = _unique(await self._follow(rows, 1, fetched, follow))
        # in the order the IDs were asked (answers arrive in any order): the same manifest on every run
        rank = {ident: n for n, ident in enumerate(dict.fromkeys(str(i) for i in ids))}
        return sorted(rows, key=lambda r: rank.get(r.key, len(rank)))

    async def nested(self, rows: Sequence[LinkRow], *, follow: Follow | None = None) -> list[LinkRow]:
        """``rows`` with the nested documents of those ``follow`` accepts read in their place (for resolvers
        that decide per observation whether a nested document is needed)."""
        fetched = {(r.service, r.id) for r in rows if r.service}
        depth = 1 + max((r.depth for r in rows), default=0)
        return _unique(await self._follow(list(rows), depth, fetched, follow))

    async def _resolve(
        self,
        service: str,
        ids: Sequence[str],
        params: Mapping[str, str],
        fetched: set[tuple[str, str]],
        on_rows: Callable[[Sequence[LinkRow]], None] | None = None,
    ) -> list[LinkRow]:
        """The rows of ``ids`` at one endpoint, from ``concurrency`` workers sharing one queue of IDs.

        While the cap is unknown the first chunks hold half of the IDs spread over every worker (the probe
        does useful work and no worker waits while the others' leftovers come back); IDs a capped answer
        left out go back to the front of the queue, and each worker takes the next chunk as soon as its
        answer is in, rather than waiting for a whole round; once the cap is known, that next request goes out
        before the answer is read, so reading answers overlaps the network's wait.  An ID skipped while a later
        one was answered, or asked in a request that answered nothing, has no rows: it gets a :data:`NO_ROWS`
        error row.  A cap is learned from OVERFLOW, or (for services that cap silently) when an ID left out is
        answered later.
        """
        pending = deque(i for i in dict.fromkeys(str(i) for i in ids) if (service, i) not in fetched)
        fetched.update((service, i) for i in pending)
        rows: list[LinkRow] = []
        tries: dict[str, int] = {}
        suspects: dict[str, int] = {}  # ID left out of an answer without OVERFLOW -> the cap that would mean
        first = max(1, min(self.batch, -(-len(pending) // (2 * self.concurrency))))

        def none_for(ident: str, why: str = NO_ROWS) -> LinkRow:
            return LinkRow(ident, error_message=why, service=service, extra={"vodaxa_no_rows": True})

        def take() -> list[str]:
            known = self._caps.get(service, self.learned_caps.get(service))
            size = min(known, self.batch) if known else first
            return [pending.popleft() for _ in range(min(size, len(pending)))]

        async def worker() -> None:
            ahead: tuple[list[str], asyncio.Future[Response]] | None = None
            try:
                while pending or ahead:
                    chunk, sent = ahead if ahead else (take(), None)
                    ahead = None
                    try:
                        response = await (sent if sent is not None else self._send(service, chunk, params))
                        if pending and self._caps.get(service, self.learned_caps.get(service)):
                            # the cap is known: the next chunk's request goes out now and travels while this
                            # answer is read (still one request in flight per worker)
                            upcoming = take()
                            ahead = (upcoming, asyncio.ensure_future(self._send(service, upcoming, params)))
                            await asyncio.sleep(0)  # let other answers in now send their next requests first
                        page_rows, overflow = await self._read(service, response)
                    except ServiceError as err:
                        reason = f"{service} failed for {len(chunk)} IDs: {err}"
                        self.failures.append(reason)
                        log.warning("%s", reason)
                        fault = "FatalFault" if isinstance(err, ResolveError) else "TransientFault"
                        rows.extend(LinkRow(i, error_message=f"{fault}: {reason}", service=service) for i in chunk)
                        continue
                    # settled before anything else runs, so the cap an answer teaches sizes every next request
                    kept = settle(chunk, page_rows, overflow)
                    if ahead is None and pending:  # not sent above (the cap was unknown): it goes out now, sized by
                        upcoming = take()  # what this answer taught, before this answer's rows are prepared
                        ahead = (upcoming, asyncio.ensure_future(self._send(service, upcoming, params)))
                    await asyncio.sleep(0)  # answers in meanwhile send their next requests before the rows are made
                    if on_rows is not None and kept:
                        on_rows(kept)
            except BaseException as exc:
                if ahead:  # cancelled or failed meanwhile: the request sent ahead is not left running
                    ahead[1].cancel()
                    if not isinstance(exc, GeneratorExit):  # (a coroutine closed unfinished may not wait)
                        await asyncio.wait([ahead[1]])  # nor still unwinding when the resolve has ended
                raise

        def settle(chunk: list[str], page_rows: list[LinkRow], overflow: bool) -> list[LinkRow]:
            """Keep an answer's rows; put back (or report) the IDs it left out, and learn the cap from it; returns
            the rows kept."""
            page_rows = _attribute(page_rows, chunk)
            asked = set(chunk)
            strays = [r for r in page_rows if r.key not in asked]
            if strays:  # rows for IDs nobody asked for are not this resolve's to download
                log.warning("%s answered %d rows for IDs not asked (first: %r); ignored", service, len(strays),
                            strays[0].id)  # fmt: skip
                page_rows = [r for r in page_rows if r.key in asked]
            rows.extend(page_rows)
            answered = {r.key for r in page_rows}
            for ident in answered & suspects.keys():
                self._learn(service, suspects.pop(ident))  # left out, then answered: a silent cap
            last = max((n for n, i in enumerate(chunk) if i in answered), default=-1)
            retry: list[str] = []
            for n, ident in enumerate(chunk):
                if ident in answered:
                    continue
                if not overflow and (n < last or last < 0):
                    rows.append(none_for(ident))  # skipped in order, or nothing at all: no rows
                    continue
                tries[ident] = tries.get(ident, 0) + 1
                if tries[ident] >= _MAX_TRIES:
                    rows.append(none_for(ident, f"{NO_ROWS}; asked {tries[ident]} times"))
                else:
                    retry.append(ident)  # the answer was capped (OVERFLOW), or perhaps silently
            tail = len(chunk) - last - 1
            if not overflow and last >= 0 and tail >= max(2, len(chunk) // 10):
                suspects.update((i, last + 1) for i in retry)  # a silent cap, if these come back later
            if retry and overflow and answered:
                # a lower bound of what the service processed: it may answer in its own order, not ours
                self._learn(service, len(answered))
            if overflow and not retry and page_rows:
                cut = page_rows[-1].key  # every ID answered, yet OVERFLOW: the last one's links may be cut short
                if len(chunk) > 1:
                    rows[:] = [r for r in rows if r.key != cut]
                    pending.appendleft(cut)
                else:
                    why = f"FatalFault: {service} flagged OVERFLOW on this ID alone: its links may be cut short"
                    rows.append(LinkRow(cut, error_message=why, service=service))
            pending.extendleft(reversed(retry))
            return page_rows

        while pending:  # a worker may put IDs back after the others have finished
            workers = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(pending)))]
            try:
                await asyncio.gather(*workers)
            except BaseException as exc:  # one failed (gather leaves the others running): they stop, waited for
                if not isinstance(exc, GeneratorExit):  # (not when a coroutine closed unfinished: its loop is gone)
                    for other in workers:
                        other.cancel()
                    await asyncio.wait(workers)
                raise
        return rows

    def _learn(self, service: str, cap: int) -> None:
        """Remember a cap for this engine, and for the process too unless it is 1 (then more likely a cap on
        rows met by one ID with many links than a cap on IDs, and not to be imposed on later resolves)."""
        cap = max(1, cap)
        known = self._caps.get(service, self.learned_caps.get(service))
        if known is None or cap < known:
            log.info("%s answers at most %d IDs per request", service, cap)
            self._caps[service] = cap
            if cap > 1:
                self.learned_caps[service] = cap

    async def _send(self, service: str, ids: list[str], params: Mapping[str, str]) -> Response:
        """The answer to one request for ``ids``; :class:`ResolveError` for an HTTP error status."""
        body = _form_body([("ID", i) for i in ids] + list(params.items()))
        response = await self.http.post(service, data=body, headers=_FORM)
        self.requests += 1
        if response.status >= 400:
            raise ResolveError(
                f"answered HTTP {response.status}: {_snippet(response.body)}",
                url=service,
                status=response.status,
            )
        return response

    async def _read(self, service: str, response: Response) -> tuple[list[LinkRow], bool]:
        """The rows of an answer, and whether the service flagged OVERFLOW."""
        page = await parse_links_async(response.body, service, response.content_type)
        return page.rows, page.overflow

    async def _follow(
        self, rows: list[LinkRow], depth: int, fetched: set[tuple[str, str]], follow: Follow | None
    ) -> list[LinkRow]:
        """Replace the nested-DataLink rows ``follow`` accepts by the rows of the documents they point at.

        Nested links of the form ``<endpoint>?ID=<id>`` are batched per endpoint like the first call; a
        link back to a document already read (same endpoint and ID) is dropped, which cuts loops.  Past
        ``max_depth`` a nested row is kept as an error row saying so; a nested document that fails becomes
        an error row naming it.
        """
        nested = [
            r
            for r in rows
            if r.access_url and is_datalink(r.content_type) and not r.error_message and (follow is None or follow(r))
        ]
        if not nested:
            return rows
        chosen = {id(r) for r in nested}
        if depth > self.max_depth:
            why = f"nested DataLink not followed: it lies deeper than max_depth={self.max_depth}"
            return [replace(r, error_message=why) if id(r) in chosen else r for r in rows]
        kept = [r for r in rows if id(r) not in chosen]
        by_service: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, list[LinkRow]]] = {}
        singles: dict[str, list[LinkRow]] = {}
        for row in nested:
            split = _split_id(row.access_url or "")
            if split is None:
                singles.setdefault(row.access_url or "", []).append(row)
                continue
            base, ident, params = split
            if (base, ident) in fetched and ident not in by_service.get((base, params), {}):
                log.debug("%s links back to a document already read; not followed again", row.access_url)
                continue
            by_service.setdefault((base, params), {}).setdefault(ident, []).append(row)
        children: list[LinkRow] = []
        for (base, params), parents in by_service.items():
            got = await self._resolve(base, list(parents), dict(params), fetched)
            children += [_child(r, p, depth) for r in got for p in parents.get(r.key, ())]
        gate = asyncio.Semaphore(self.concurrency)

        async def fetch(url: str, parents: list[LinkRow]) -> list[LinkRow]:
            try:
                async with gate:
                    response = await self.http.get(url)
                self.requests += 1
                if response.status >= 400:
                    raise ResolveError(f"{url} answered HTTP {response.status}", url=url, status=response.status)
                page = await parse_links_async(response.body, url, response.content_type)
            except ServiceError as err:
                self.failures.append(f"nested DataLink {url}: {err}")
                return [replace(p, access_url=None, error_message=f"nested DataLink failed: {err}") for p in parents]
            return [_child(r, p, depth) for r in page.rows for p in parents]

        for group in await asyncio.gather(*(fetch(u, ps) for u, ps in singles.items())):
            children += group
        return kept + await self._follow(children, depth + 1, fetched, follow)


def _attribute(rows: list[LinkRow], asked: Sequence[str]) -> list[LinkRow]:
    """Rows tied to the ID asked for: services may answer ``ivo://<authority>/<table>?<id>`` for ``<id>``
    (HEASARC does), which then becomes the row's ``origin``."""
    wanted = set(asked)
    stripped = {a.strip(): a for a in asked}  # cells are read stripped; an ID may have spaces of its own
    out = []
    for row in rows:
        if row.id not in wanted:
            tail = row.id.rsplit("?", 1)[-1]
            match = stripped.get(row.id) or (tail if tail in wanted else stripped.get(tail.strip()))
            if match is not None:
                row = replace(row, origin=match)
        out.append(row)
    return out


def _child(row: LinkRow, parent: LinkRow, depth: int) -> LinkRow:
    """A row of a nested document, attributed to the row that led to it and to that row's first ID."""
    return replace(row, depth=depth, parent=parent.id, origin=parent.origin or parent.id)


def _unique(rows: list[LinkRow]) -> list[LinkRow]:
    """Rows without repeats (a nested document may repeat rows already known), in their first order."""
    seen: dict[tuple[str | None, ...], LinkRow] = {}
    for r in rows:
        seen.setdefault((r.origin or r.id, r.id, r.access_url, r.service_def, r.error_message, r.semantics), r)
    return list(seen.values())


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_PLAIN = re.compile(r"[A-Za-z0-9._~-]*\Z")  # \Z, not $: "$" also matches before a final newline


def _form_body(pairs: Sequence[tuple[str, str]]) -> bytes:
    """A urlencoded form, quoting only the values that need it (hundreds of IDs per request)."""
    plain = _PLAIN.match
    return "&".join(f"{k if plain(k) else quote_plus(k)}={v if plain(v) else quote_plus(v)}" for k, v in pairs).encode()


def _split_id(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
    """(endpoint, ID, other parameters) of a links URL with exactly one ID parameter, else None."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    ids = [v for k, v in query if k.upper() == "ID"]
    if len(ids) != 1:
        return None
    rest = tuple((k, v) for k, v in query if k.upper() != "ID")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), ids[0], rest
