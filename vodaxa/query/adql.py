"""A small, safe ADQL builder: quoted identifiers, escaped literals, portable spatial and time terms.

Everything vodaxa sends to a TAP service is built here, so that an object name or an ObsID can never
change the shape of a query, reserved words are always quoted (DaCHS rejects an unquoted ``time``),
inequality is written ``!=`` (DaCHS's parser refuses ``<>``), and boxes handle the RA wrap at 0/360.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

__all__ = [
    "Query",
    "box",
    "circle",
    "column",
    "ident",
    "in_list",
    "literal",
    "time_between",
    "time_window",
]

#: ADQL 2.1 reserved words plus the SQL-92 words services reject as bare column names.
RESERVED = frozenset(
    """
    ABS ACOS AREA ASIN ATAN ATAN2 BOX CEILING CENTROID CIRCLE CONTAINS COORD1 COORD2 COORDSYS COS COT
    DEGREES DISTANCE EXP FLOOR INTERSECTS LOG LOG10 MOD PI POINT POLYGON POWER RADIANS REGION RAND ROUND
    SIN SQRT TAN TOP TRUNCATE ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT
    AUTHORIZATION AVG BEGIN BETWEEN BIT BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR
    CHARACTER CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT
    CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING COUNT CREATE CROSS CURRENT
    CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DECIMAL DECLARE
    DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT DISTINCT DOMAIN
    DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS EXTERNAL EXTRACT FALSE FETCH
    FIRST FLOAT FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT GROUP HAVING HOUR IDENTITY IMMEDIATE
    IN INDICATOR INITIALLY INNER INPUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS
    ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH
    NAMES NATIONAL NATURAL NCHAR NEXT NO NOT NULL NULLIF NUMERIC OCTET_LENGTH OF OFFSET ON ONLY OPEN
    OPTION OR ORDER OUTER OUTPUT OVERLAPS PAD PARTIAL POSITION PRECISION PREPARE PRESERVE PRIMARY PRIOR
    PRIVILEGES PROCEDURE PUBLIC READ REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT ROLLBACK ROWS SCHEMA
    SCROLL SECOND SECTION SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE SQLERROR
    SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE
    TO TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE USER
    USING VALUE VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE
    """.split()
)
_REGULAR = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """``name`` as an ADQL identifier: bare when regular and not reserved, else double-quoted."""
    if not name:
        raise ValueError("an ADQL identifier cannot be empty")
    if _REGULAR.match(name) and name.upper() not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def column(name: str, alias: str | None = None) -> str:
    """A possibly qualified column reference (``alias.name``), each part quoted as needed."""
    return f"{ident(alias)}.{ident(name)}" if alias else ident(name)


def table_name(name: str) -> str:
    """A possibly schema-qualified table name, each part quoted as needed."""
    return ".".join(ident(part) for part in name.split("."))


def literal(value: object) -> str:
    """An ADQL literal; strings are single-quoted with quotes doubled, so they can never end early."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):  # numpy floats too (their repr is "np.float64(...)")
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written in ADQL")
        return repr(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return "'" + value.isoformat(timespec="milliseconds") + "'"
    if isinstance(value, date):
        return "'" + value.isoformat() + "'"
    if hasattr(value, "item"):  # numpy scalars
        return literal(value.item())
    text = str(value)
    if "\x00" in text:
        raise ValueError("ADQL strings cannot contain NUL characters")
    return "'" + text.replace("'", "''") + "'"


def in_list(expr: str, values: Iterable[object]) -> str:
    """``expr IN (...)`` with every value escaped; an empty list matches nothing."""
    items = [literal(v) for v in values]
    return f"{expr} IN ({', '.join(items)})" if items else "1 = 0"


def circle(ra_expr: str, dec_expr: str, ra: str | float, dec: str | float, radius: str | float) -> str:
    """Points within ``radius`` degrees of (ra, dec): CONTAINS(POINT, CIRCLE) = 1."""
    args = [a if isinstance(a, str) else literal(float(a)) for a in (ra, dec, radius)]
    return f"CONTAINS(POINT('ICRS', {ra_expr}, {dec_expr}), CIRCLE('ICRS', {args[0]}, {args[1]}, {args[2]})) = 1"


def box(ra_expr: str, dec_expr: str, ra_min: float, ra_max: float, dec_min: float, dec_max: float) -> str:
    """Centres inside an RA/Dec range; ``ra_min > ra_max`` means the range wraps through RA 0.

    Written as plain comparisons (not ADQL BOX, whose sides differ between services).
    """
    ra_min, ra_max = ra_min % 360.0, ra_max % 360.0 if ra_max != 360.0 else 360.0
    dec_part = f"{dec_expr} BETWEEN {literal(float(dec_min))} AND {literal(float(dec_max))}"
    if ra_min <= ra_max:
        ra_part = f"{ra_expr} BETWEEN {literal(ra_min)} AND {literal(ra_max)}"
    else:
        ra_part = f"({ra_expr} >= {literal(ra_min)} OR {ra_expr} <= {literal(ra_max)})"
    return f"{dec_part} AND {ra_part}"


def time_window(start_expr: str, end_expr: str, lo: object, hi: object, *, over_run: bool = True) -> str:
    """Observations overlapping [lo, hi] (``over_run``) or lying wholly inside it (not ``over_run``)."""
    return time_between(start_expr, end_expr, literal(lo), literal(hi), over_run=over_run)


def time_between(start_expr: str, end_expr: str, lo_expr: str, hi_expr: str, *, over_run: bool = True) -> str:
    """As :func:`time_window`, with the window's ends given as ADQL expressions (e.g. upload columns)."""
    if over_run:
        return f"{start_expr} <= {hi_expr} AND {end_expr} >= {lo_expr}"
    return f"{start_expr} >= {lo_expr} AND {end_expr} <= {hi_expr}"


@dataclass
class Query:
    """``SELECT [DISTINCT] [TOP n] columns FROM table [JOIN ...] WHERE a AND b ... [ORDER BY]``."""

    table: str
    columns: Sequence[str]
    alias: str = "m"
    where: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    distinct: bool = False
    top: int | None = None
    order_by: str | None = None

    def adql(self) -> str:
        """The query text."""
        head = "SELECT " + ("DISTINCT " if self.distinct else "") + (f"TOP {int(self.top)} " if self.top else "")
        parts = [head + ", ".join(self.columns), f"FROM {table_name(self.table)} AS {ident(self.alias)}"]
        parts += self.joins
        if self.where:
            parts.append("WHERE " + " AND ".join(f"({w})" for w in self.where))
        if self.order_by:
            parts.append(f"ORDER BY {self.order_by}")
        return "\n".join(parts)
