"""A RegTAP 1.1 TAP service (the ``rr`` schema) holding :class:`Resource` records, as pyvo's ``regsearch`` reads it.

Access URLs are stored with a placeholder host per archive and served with the running archives' URLs
(:meth:`RegistryArchive.bind`).  Every query is logged (``vodaxa.sandbox.registry``) and kept in
:attr:`RegistryTap.queries`, which is how one sees the ADQL pyvo sends.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from aiohttp import web
from astropy.table import Table

from .archive import TapArchive
from .tap import Access, TapService
from .tapdb import TapDatabase, TapTable
from .vo import FieldMeta

if TYPE_CHECKING:
    from ..settings import ShapeContext

__all__ = ["CONE", "DATALINK", "TAP", "TAP_AUX", "RegistryArchive", "RegistryTap", "Resource", "database",
           "placeholder"]

log = logging.getLogger("vodaxa.sandbox.registry")  # the name the docs give

CONE = "ivo://ivoa.net/std/conesearch"
TAP = "ivo://ivoa.net/std/tap"
TAP_AUX = "ivo://ivoa.net/std/tap#aux"
DATALINK = "ivo://ivoa.net/std/datalink#links-1.1"
_CAP_TYPES = {CONE: "cs:conesearch", TAP: "tr:tableaccess", TAP_AUX: "tr:tableaccess", DATALINK: ""}
#: What the capabilities document adds to the TAP language: UNION (pyvo then sends keyword searches as
#: ``ivoid IN (... UNION ALL ...)``) and the RegTAP functions.
_FEATURES = (
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-sets"><feature><form>UNION</form>'
    "</feature></languageFeatures>"
    '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-udf">'
    + "".join(
        f"<feature><form>{form}</form></feature>"
        for form in (
            "ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
            "ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER",
            "ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
            "ivo_string_agg(expr TEXT, delim TEXT) -> TEXT",
        )
    )
    + "</languageFeatures>"
)


def placeholder(archive: str) -> str:
    """The stored base URL standing for ``archive``'s running address."""
    return f"http://{archive}.sandbox.invalid"


@dataclass(frozen=True)
class Resource:
    """One registry record: identity, texts, capabilities ``(standard id, path, description)``, tables."""

    ivoid: str
    archive: str
    short_name: str
    title: str
    description: str
    subjects: tuple[str, ...]
    waveband: str
    publisher: str
    capabilities: tuple[tuple[str, str, str], ...]
    tables: tuple[tuple[str, str, Sequence[FieldMeta]], ...] = ()  # (name, description, columns)
    reference_url: str = ""
    details: tuple[tuple[int, str, str], ...] = field(default=())  # (capability index, xpath, value)


def _columns(*names: str) -> list[FieldMeta]:
    """RegTAP columns: text unless named in ``_INTS`` or ``_DOUBLES``."""
    return [FieldMeta(n, "int" if n in _INTS else "double" if n in _DOUBLES else "char") for n in names]


_INTS = {"cap_index", "intf_index", "authenticated_only", "role_index", "table_index", "schema_index", "std"}
_DOUBLES = {"region_of_regard"}
#: The rr schema of RegTAP 1.1 (the tables and columns pyvo and common RegTAP queries use).
_SCHEMA: dict[str, list[FieldMeta]] = {
    "resource": _columns(
        "ivoid", "res_type", "created", "short_name", "res_title", "updated", "content_level", "res_description",
        "reference_url", "creator_seq", "content_type", "source_format", "source_value", "res_version",
        "region_of_regard", "waveband", "rights", "rights_uri", "harvested_from",
    ),
    "capability": _columns("ivoid", "cap_index", "cap_name", "cap_type", "cap_description", "standard_id"),
    "interface": _columns(
        "ivoid", "cap_index", "intf_index", "intf_type", "intf_role", "std_version", "query_type", "result_type",
        "wsdl_url", "url_use", "access_url", "mirror_url", "authenticated_only", "security_method_id",
    ),
    "res_subject": _columns("ivoid", "res_subject"),
    "res_role": _columns(
        "ivoid", "role_name", "role_ivoid", "street_address", "email", "telephone", "logo", "base_role", "role_index"
    ),
    "res_detail": _columns("ivoid", "cap_index", "detail_xpath", "detail_value"),
    "res_schema": _columns("ivoid", "schema_index", "schema_description", "schema_name", "schema_title",
                           "schema_utype"),
    "res_table": _columns("ivoid", "schema_index", "table_description", "table_name", "table_index", "table_title",
                          "table_type", "table_utype"),
    "table_column": _columns(
        "ivoid", "table_index", "name", "ucd", "unit", "utype", "std", "datatype", "extended_type", "arraysize",
        "delim", "type_system", "flag", "column_description",
    ),
}  # fmt: skip


def _rows(records: Sequence[Resource]) -> dict[str, list[dict[str, object]]]:
    """The rr tables' rows for ``records`` (identifiers and standard ids lower-cased, as RegTAP requires)."""
    rows: dict[str, list[dict[str, object]]] = {name: [] for name in _SCHEMA}
    for r in records:
        ivoid = r.ivoid.lower()
        rows["resource"].append(
            {
                "ivoid": ivoid, "res_type": "vs:catalogservice", "created": "2020-01-01T00:00:00",
                "short_name": r.short_name, "res_title": r.title, "updated": "2025-01-01T00:00:00",
                "content_level": "research", "res_description": r.description, "reference_url": r.reference_url,
                "creator_seq": r.publisher, "content_type": "catalog", "waveband": r.waveband,
                "rights": "public", "harvested_from": "ivo://vodaxa.sandbox/registry",
            }
        )  # fmt: skip
        rows["res_subject"] += [{"ivoid": ivoid, "res_subject": s} for s in r.subjects]
        rows["res_role"].append({"ivoid": ivoid, "role_name": r.publisher, "base_role": "publisher", "role_index": 1})
        rows["res_role"].append({"ivoid": ivoid, "role_name": r.publisher, "base_role": "creator", "role_index": 1})
        for index, (std, path, text) in enumerate(r.capabilities):
            rows["capability"].append(
                {"ivoid": ivoid, "cap_index": index, "cap_type": _CAP_TYPES[std] or None,
                 "cap_description": text, "standard_id": std.lower()}
            )  # fmt: skip
            rows["interface"].append(
                {"ivoid": ivoid, "cap_index": index, "intf_index": 1, "intf_type": "vs:paramhttp", "intf_role": "std",
                 "query_type": "get" if std == CONE else "get#post", "result_type": "application/x-votable+xml",
                 "url_use": "base", "access_url": placeholder(r.archive) + path, "authenticated_only": 0}
            )  # fmt: skip
        rows["res_detail"] += [
            {"ivoid": ivoid, "cap_index": i, "detail_xpath": x, "detail_value": v} for i, x, v in r.details
        ]
        if r.tables:
            rows["res_schema"].append({"ivoid": ivoid, "schema_index": 0, "schema_name": "default"})
        for t_index, (name, text, columns) in enumerate(r.tables):
            rows["res_table"].append(
                {"ivoid": ivoid, "schema_index": 0, "table_name": name, "table_index": t_index, "table_title": text,
                 "table_description": text, "table_type": "table"}
            )  # fmt: skip
            rows["table_column"] += [
                {"ivoid": ivoid, "table_index": t_index, "name": c.name, "ucd": c.ucd or None, "unit": c.unit or None,
                 "std": 0, "datatype": "char" if c.datatype == "timestamp" else c.datatype,
                 "extended_type": "timestamp" if c.datatype == "timestamp" else None,
                 "arraysize": "*" if c.datatype in ("char", "timestamp") else None, "type_system": "vs:votabletype",
                 "column_description": c.description or None}
                for c in columns
            ]  # fmt: skip
    return rows


def database(records: Sequence[Resource]) -> TapDatabase:
    """The rr schema holding ``records``, in a DuckDB of its own."""
    rows = _rows(records)
    tables = []
    for name, columns in _SCHEMA.items():
        data = {}
        for col in columns:
            values = [row.get(col.name) for row in rows[name]]
            if col.datatype == "double":
                data[col.name] = np.array([np.nan if v is None else v for v in values], dtype=float)
            else:
                data[col.name] = np.array(values, dtype=object)
        tables.append(TapTable(name, f"RegTAP 1.1 rr.{name}", columns, data, "rr"))
    db = TapDatabase(tables)
    # one thread: the aggregates of a group then see its rows in one order, so pyvo's parallel
    # ivo_string_agg lists (URLs, standard ids, roles) stay aligned element by element
    db._con.execute("SET threads TO 1")
    return db


class RegistryTap(TapService):
    """A TAP service whose stored placeholder hosts are answered as the running archives' URLs."""

    def __init__(self, db: TapDatabase, **options: Any) -> None:  # TapService's keyword options, passed on
        super().__init__(db, **options)
        self.bases: dict[str, str] = {}  # archive -> its running base URL
        self.queries: list[str] = []  # every query received, in order

    def _swaps(self) -> list[tuple[str, str]]:
        pairs = [(placeholder(a), url.rstrip("/")) for a, url in self.bases.items()]
        return sorted(pairs, key=lambda p: -len(p[1]))  # a port that prefixes another goes last

    def _run(self, query: str, maxrec: int | None, uploads: Mapping[str, Table], base: str, access: Access) -> bytes:
        log.info("RegTAP query:\n%s", query)
        self.queries.append(query)
        swaps = self._swaps()
        for stored, real in swaps:
            query = query.replace(real, stored)  # literals then match the stored URLs
        body = super()._run(query, maxrec, uploads, base, access)
        for stored, real in swaps:
            body = body.replace(stored.encode(), real.encode())
        return body

    async def capabilities(self, request: web.Request) -> web.Response:
        """VOSI capabilities with the UNION and RegTAP function features added to the ADQL language."""
        answer = await super().capabilities(request)
        text = (answer.text or "").replace("</language>", _FEATURES + "</language>", 1)
        return web.Response(text=text, content_type="text/xml")


class RegistryArchive(TapArchive):
    """The sandbox's RegTAP service at ``/tap`` (as at reg.g-vo.org)."""

    path = "/tap"
    tap: RegistryTap  # made in __init__: the TAP flavour that answers placeholders as running URLs

    def __init__(self, context: ShapeContext, records: Sequence[Resource]) -> None:
        self.records = list(records)
        super().__init__(database(self.records), context)
        cfg = context.config
        self.tap = RegistryTap(self.db, default_maxrec=cfg.default_maxrec, queue_delay=cfg.queue_delay)

    def bind(self, urls: Mapping[str, str]) -> None:
        """Answer with these running base URLs (``{archive: base}``), called once the sandbox serves."""
        self.tap.bases = {a: u for a, u in urls.items() if a != "registry"}
