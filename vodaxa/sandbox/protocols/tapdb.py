"""The sandbox's query engine: DuckDB tables plus TAP_SCHEMA, queried through the ADQL subset."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from astropy.table import Table
from sqlglot import exp

from .adql import POLYGON_UDF, REGION_UDF, ADQLError, TableRef, point_in_polygon, region_intersects_circle, translate
from .vo import Column, FieldMeta

_DUCK_TYPES = {
    "char": "VARCHAR",
    "double": "DOUBLE",
    "int": "INTEGER",
    "long": "BIGINT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
}
_VOT_TYPES = {
    "VARCHAR": "char",
    "DOUBLE": "double",
    "FLOAT": "double",
    "INTEGER": "int",
    "SMALLINT": "int",
    "TINYINT": "int",
    "BIGINT": "long",
    "HUGEINT": "long",
    "BOOLEAN": "boolean",
    "DECIMAL": "double",
    "TIMESTAMP": "timestamp",
    "DATE": "timestamp",
}


class UploadError(ValueError):
    """An uploaded table could not be read or used."""


@dataclass
class TapTable:
    """A table the TAP service publishes: ADQL name, metadata and content (None/NaN = NULL)."""

    name: str
    description: str
    columns: Sequence[FieldMeta]
    data: Mapping[str, np.ndarray]
    schema: str | None = None  # None: published unqualified, as HEASARC's tables are
    #: A view instead of a table: DuckDB ``SELECT`` of the columns over tables loaded before it (``data`` unused).
    view: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass
class QueryResult:
    """Rows of one query, column by column, with what the VOTable should say of each column."""

    fields: list[FieldMeta]
    columns: list[Column]
    overflow: bool
    tables: list[str] = field(default_factory=list)  # ADQL names of the tables the query read

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0


class TapDatabase:
    """DuckDB holding the published tables; each query runs on its own cursor (thread-safe)."""

    def __init__(self, tables: Sequence[TapTable], *, hard_limit: int = 10_000_000) -> None:
        self.tables = {t.qualified.lower(): t for t in tables}
        self.hard_limit = hard_limit
        self._con = duckdb.connect(config={"integer_division": True})
        self._con.create_function(POLYGON_UDF, point_in_polygon, ["DOUBLE", "DOUBLE", "VARCHAR"], "BOOLEAN")
        self._con.create_function(
            REGION_UDF, region_intersects_circle, ["VARCHAR", "DOUBLE", "DOUBLE", "DOUBLE"], "BOOLEAN"
        )
        self._lock = threading.Lock()
        self._counter = itertools.count()
        for table in tables:
            self._load(table)
        self._load_tap_schema()

    def close(self) -> None:
        """Release DuckDB."""
        self._con.close()

    # ------------------------------------------------------------------------------- loading
    def _load(self, table: TapTable) -> None:
        if table.schema:
            self._con.execute(f'CREATE SCHEMA IF NOT EXISTS "{table.schema}"')
        if table.view is not None:
            target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
            self._con.execute(f"CREATE VIEW {target} AS {table.view}")
            return
        frame = pd.DataFrame({c.name: table.data[c.name] for c in table.columns})
        select = []
        for col in table.columns:
            ident = f'"{col.name}"'
            duck = _DUCK_TYPES[col.datatype]
            if col.datatype == "double":
                select.append(f"CASE WHEN isnan({ident}) THEN NULL ELSE {ident} END::DOUBLE AS {ident}")
            else:
                select.append(f"{ident}::{duck} AS {ident}")
        target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        self._con.register("_incoming", frame)
        self._con.execute(f"CREATE TABLE {target} AS SELECT {', '.join(select)} FROM _incoming")
        self._con.unregister("_incoming")

    def _load_tap_schema(self) -> None:
        schemas = sorted({t.schema or "" for t in self.tables.values()} | {"TAP_SCHEMA"})
        columns = []
        for t in self.tables.values():
            for i, c in enumerate(t.columns):
                columns.append(
                    (t.qualified, c.name, c.datatype, c.unit, c.ucd, c.description, i, *_tap11_column_facts(c))
                )
        tap_tables = [
            TapTable(
                "schemas",
                "Schemas in this service",
                [FieldMeta("schema_name", "char"), FieldMeta("description", "char")],
                {
                    "schema_name": np.array(schemas, dtype=object),
                    "description": np.array([""] * len(schemas), dtype=object),
                },
                "TAP_SCHEMA",
            ),
            TapTable(
                "tables",
                "Tables in this service",
                [
                    FieldMeta("schema_name", "char"),
                    FieldMeta("table_name", "char"),
                    FieldMeta("table_type", "char"),
                    FieldMeta("description", "char"),
                ],
                {
                    "schema_name": np.array([t.schema or "" for t in self.tables.values()], dtype=object),
                    "table_name": np.array([t.qualified for t in self.tables.values()], dtype=object),
                    "table_type": np.array(["table"] * len(self.tables), dtype=object),
                    "description": np.array([t.description for t in self.tables.values()], dtype=object),
                },
                "TAP_SCHEMA",
            ),
            TapTable(
                "columns",
                "Columns in this service",
                [FieldMeta(n, "char") for n in ("table_name", "column_name", "datatype", "unit", "ucd", "description")]
                + [FieldMeta("column_index", "int")]
                + list(_TAP11_COLUMNS),
                {
                    name: np.array([row[i] for row in columns], dtype=object)
                    for i, name in enumerate(
                        (
                            "table_name",
                            "column_name",
                            "datatype",
                            "unit",
                            "ucd",
                            "description",
                            "column_index",
                            *(c.name for c in _TAP11_COLUMNS),
                        )
                    )
                },
                "TAP_SCHEMA",
            ),
        ]
        for t in tap_tables:
            self._load(t)
            self.tables[t.qualified.lower()] = t

    # ------------------------------------------------------------------------------- queries
    def execute(
        self,
        adql: str,
        *,
        maxrec: int | None,
        uploads: Mapping[str, Table] | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run ``adql``; at most ``maxrec`` rows come back, with ``overflow`` set if more existed.

        ``filters`` maps a qualified table name (lower case, ``dbo.raw``) to a DuckDB condition on its columns:
        the query then sees only the rows meeting it, wherever it reads that table (joins, sub-queries).
        """
        cursor = self._con.cursor()
        try:
            upload_names = self._register_uploads(cursor, uploads or {})
            read: list[str] = []

            def resolve(schema: str | None, name: str) -> TableRef:
                known = len(read)
                ref = self._resolve(schema, name, upload_names, read)  # appends a published table it read
                condition = (filters or {}).get(read[-1].lower()) if len(read) > known else None
                return self._restricted(cursor, ref, condition) if condition else ref

            tree = translate(adql, resolve)
            limit = self.hard_limit if maxrec is None else min(maxrec, self.hard_limit)
            top = _top(tree)
            if top is None or top > limit:  # MAXREC (not TOP) bounds the answer
                capped, cap = True, limit
            else:
                capped, cap = False, top
            tree.set("limit", exp.Limit(expression=exp.Literal.number(cap + 1 if capped else cap)))
            sql = tree.sql(dialect="duckdb")
            try:
                frame = cursor.execute(sql).df()
                description = cursor.description or []
            except duckdb.Error as err:
                raise ADQLError(_duck_message(err)) from None
            overflow = capped and len(frame) > cap
            if overflow:
                frame = frame.iloc[:cap]
            fields = self._fields(description, read)
            columns = [_column_values(frame.iloc[:, i], f.datatype) for i, f in enumerate(fields)]
            return QueryResult(fields, columns, overflow=overflow, tables=read)
        finally:
            cursor.close()

    def _resolve(self, schema: str | None, name: str, uploads: Mapping[str, str], read: list[str]) -> TableRef:
        key = f"{schema}.{name}".lower() if schema else name.lower()
        if schema and schema.lower() == "tap_upload":
            if name.lower() not in uploads:
                raise ADQLError(f"TAP_UPLOAD.{name} was not uploaded (uploaded: {sorted(uploads) or 'none'})")
            return TableRef(None, uploads[name.lower()])
        table = self.tables.get(key)
        if table is None:
            known = ", ".join(sorted(t.qualified for t in self.tables.values() if t.schema != "TAP_SCHEMA"))
            raise ADQLError(f"unknown table '{key}'; this service has: {known}")
        read.append(table.qualified)
        return TableRef(table.schema, table.name)

    def _restricted(self, cursor: duckdb.DuckDBPyConnection, table: TableRef, condition: str) -> TableRef:
        """A view of ``table`` private to this query's cursor holding only the rows meeting ``condition``."""
        view = f"filtered_{next(self._counter)}_{table.name.lower()}"
        source = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        cursor.execute(f'CREATE TEMP VIEW "{view}" AS SELECT * FROM {source} WHERE ({condition})')
        return TableRef(None, view)

    def _register_uploads(self, cursor: duckdb.DuckDBPyConnection, uploads: Mapping[str, Table]) -> dict[str, str]:
        names: dict[str, str] = {}
        for name, table in uploads.items():
            temp = f"upload_{next(self._counter)}_{name.lower()}"
            try:
                frame = table.to_pandas()
            except Exception as err:  # astropy raises several types for odd columns
                raise UploadError(f"uploaded table '{name}' cannot be used: {err}") from None
            cursor.register("_upload", frame)
            cursor.execute(f'CREATE TEMP TABLE "{temp}" AS SELECT * FROM _upload')
            cursor.unregister("_upload")
            names[name.lower()] = temp
        return names

    def _fields(self, description: Sequence[tuple], read: Sequence[str]) -> list[FieldMeta]:
        """Result field metadata: the source column's when a same-named column was read, else the type."""
        known = {}
        for qualified in reversed(read):
            for col in self.tables[qualified.lower()].columns:
                known[col.name.lower()] = col
        fields, seen = [], set()
        for desc in description:
            name, duck_type = desc[0], str(desc[1]).split("(")[0].upper()
            unique = name
            for k in itertools.count(2):
                if unique.lower() not in seen:
                    break
                unique = f"{name}_{k}"
            seen.add(unique.lower())
            source = known.get(name.lower())
            datatype = _VOT_TYPES.get(duck_type, "char")
            if source is not None and source.datatype == datatype:
                fields.append(FieldMeta(unique, datatype, source.unit, source.ucd, source.description))
            else:
                fields.append(FieldMeta(unique, datatype))
        return fields


#: TAP 1.1's further TAP_SCHEMA.columns columns (astroquery's Eso help lists ``xtype``).
_TAP11_COLUMNS = (
    FieldMeta("xtype", "char"),
    FieldMeta("utype", "char"),
    FieldMeta("arraysize", "char"),
    FieldMeta("principal", "int"),
    FieldMeta("indexed", "int"),
    FieldMeta("std", "int"),
)


def _tap11_column_facts(column: FieldMeta) -> tuple[str | None, None, str | None, int, int, int]:
    """xtype, utype, arraysize, principal, indexed, std of a published column."""
    xtype = "timestamp" if column.datatype == "timestamp" else None
    arraysize = "*" if column.datatype in ("char", "timestamp") else None
    principal = int("meta.main" in column.ucd.split(";"))
    return xtype, None, arraysize, principal, 0, 0


def _top(tree: exp.Select) -> int | None:
    limit = tree.args.get("limit")
    if limit is None:
        return None
    value = limit.expression
    if not isinstance(value, exp.Literal) or value.is_string:
        raise ADQLError("TOP must be followed by an integer")
    return int(value.this)


def _duck_message(err: Exception) -> str:
    """DuckDB's complaint, shortened to what a TAP user can act on."""
    text = str(err).split("\n")[0]
    for prefix in (
        "Binder Error: ",
        "Catalog Error: ",
        "Parser Error: ",
        "Conversion Error: ",
        "Invalid Input Error: ",
        "Out of Range Error: ",
    ):
        text = text.replace(prefix, "")
    return f"query failed: {text}"


def _column_values(series: pd.Series, datatype: str) -> Column:
    """One result column as plain values: floats as an array (NaN = NULL), timestamps as datetimes."""
    if datatype == "double":
        return series.to_numpy(dtype=float, na_value=np.nan)
    if datatype == "timestamp":
        return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in series]
    return [None if v is None or (isinstance(v, float) and v != v) or v is pd.NA else v for v in series.tolist()]
