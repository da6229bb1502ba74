"""A documented subset of ADQL 2.1, parsed with sqlglot and translated to DuckDB SQL.

Supported: one ``SELECT`` (``DISTINCT``, ``TOP n``, ``OFFSET``), ``FROM`` with table aliases and
``JOIN ... ON`` (also with ``TAP_UPLOAD.<name>`` tables and sub-queries in ``IN``), ``WHERE`` with
``AND``/``OR``/``NOT``, comparisons, ``IN``, ``BETWEEN``, ``LIKE``, ``IS [NOT] NULL``, arithmetic,
``||``, ``GROUP BY``/``HAVING`` with ``COUNT/SUM/MIN/MAX/AVG``, ``ORDER BY`` (NULLs sort as in
PostgreSQL), quoted identifiers, the ADQL mathematical functions, ``LOWER``/``UPPER``/``CAST``/
``COALESCE``, and the geometry predicates ``CONTAINS(POINT, CIRCLE | BOX | POLYGON)``,
``INTERSECTS`` of a point and a region or of two circles, and ``DISTANCE``.  Integer division
truncates as in PostgreSQL.  BOX is a coordinate-range box (as pgsphere's ``sbox``): RA within
``width/2`` of the centre modulo 360 and Dec within ``height/2``.  The coordinate-system string
is ignored (deprecated in ADQL 2.1).  Anything else raises :class:`ADQLError`, so the service
answers with an error document rather than a wrong answer.

Beyond ADQL, what archives pass through to their database and clients send: ``SPLIT_PART(text,
'delimiter', n)`` with a non-empty literal delimiter and a literal ``n >= 1`` (astroquery's Heasarc
reads ``metainfo`` with it), and ``CAST(x AS DECIMAL)`` as PostgreSQL's unbounded ``numeric``, computed
as DOUBLE (``DECIMAL(p, s)`` keeps its precision). ``INTERSECTS(column, CIRCLE)`` (or the other way
round) takes the column as an STC-S region as ESO's tables hold them (``POSITION``, ``CIRCLE`` or
``POLYGON``, frame ignored) and is exact on the sphere: astroquery's Eso cone searches send it. An
aggregate selected without an alias is named as PostgreSQL names it (``count``, ``sum``, ``min``,
``max``, ``avg``), not as DuckDB does (``count_star()``): astroquery's ``Heasarc.count_rows`` reads the
``count`` column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

__all__ = ["REGTAP_FUNCTIONS", "ADQLError", "TableRef", "point_in_polygon", "region_intersects_circle", "translate"]


class ADQLError(ValueError):
    """The query is not valid ADQL, or uses something outside the sandbox's subset."""


@dataclass(frozen=True)
class TableRef:
    """Where an ADQL table name lives in DuckDB."""

    schema: str | None
    name: str


_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Select,
    exp.From,
    exp.Join,
    exp.Where,
    exp.Group,
    exp.Having,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Offset,
    exp.Distinct,
    exp.Table,
    exp.TableAlias,
    exp.Alias,
    exp.Column,
    exp.Identifier,
    exp.Star,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Tuple,
    exp.Subquery,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Like,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.DPipe,
    exp.Abs,
    exp.Ceil,
    exp.Floor,
    exp.Round,
    exp.Trunc,
    exp.Sqrt,
    exp.Pow,
    exp.Exp,
    exp.Ln,
    exp.Log,
    exp.Pi,
    exp.Radians,
    exp.Degrees,
    exp.Sin,
    exp.Cos,
    exp.Tan,
    exp.Asin,
    exp.Acos,
    exp.Atan,
    exp.Atan2,
    exp.Cot,
    exp.Lower,
    exp.Upper,
    exp.Cast,
    exp.DataType,
    exp.Coalesce,
    exp.Count,
    exp.Sum,
    exp.Min,
    exp.Max,
    exp.Avg,
    exp.Contains,
    exp.Anonymous,
    exp.SplitPart,
)
_GEOMETRY_VALUES = {"POINT", "CIRCLE", "BOX", "POLYGON"}
_ANONYMOUS_OK = _GEOMETRY_VALUES | {"CONTAINS", "INTERSECTS", "DISTANCE"}

#: Name of the DuckDB scalar function that tests a point against a polygon's literal vertices.
POLYGON_UDF = "vx_in_polygon"
#: Name of the DuckDB scalar function that tests an STC-S region held in a column against a circle.
REGION_UDF = "vx_region_intersects_circle"


def translate(adql: str, resolve_table: Callable[[str | None, str], TableRef]) -> exp.Select:
    """Parse ``adql``, check it is inside the subset, and return the DuckDB-ready syntax tree.

    ``resolve_table(schema, name)`` maps an ADQL table name to its DuckDB location, or raises
    :class:`ADQLError` for an unknown table.
    """
    if not adql or not adql.strip():
        raise ADQLError("QUERY is empty: give an ADQL SELECT statement")
    try:
        statements = [s for s in sqlglot.parse(adql, read="tsql") if s is not None]
    except sqlglot.errors.SqlglotError as err:
        raise ADQLError(f"Could not parse the ADQL query: {_first_line(err)}") from None
    if len(statements) != 1:
        raise ADQLError("QUERY must hold exactly one SELECT statement")
    tree = statements[0]
    if not isinstance(tree, exp.Select):
        raise ADQLError(f"only SELECT queries are allowed, not {tree.key.upper()}")
    _check_nodes(tree)
    _check_split_parts(tree)
    _unbounded_decimals(tree)
    _postgres_aggregate_names(tree)
    tree = _rewrite_geometry(tree)
    tree = _rewrite_regtap(tree)
    _drop_schema_qualifiers(tree)
    for table in list(tree.find_all(exp.Table)):
        ref = resolve_table(table.db or None, table.name)
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        new = exp.Table(
            this=exp.to_identifier(ref.name, quoted=True),
            db=exp.to_identifier(ref.schema, quoted=True) if ref.schema else None,
            alias=alias,
        )
        table.replace(new)
    for ordered in tree.find_all(exp.Ordered):  # PostgreSQL (and DaCHS) NULL ordering
        ordered.set("nulls_first", bool(ordered.args.get("desc")))
    return tree


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _check_nodes(tree: exp.Expression) -> None:
    """Refuse any construct outside the documented subset."""
    for node in tree.walk():
        if not isinstance(node, _ALLOWED_NODES):
            raise ADQLError(f"unsupported ADQL construct: {node.key.upper()} in '{node.sql(dialect='tsql')}'")
        if isinstance(node, exp.Anonymous) and node.name.upper() not in _ANONYMOUS_OK:
            raise ADQLError(f"unknown or unsupported ADQL function {node.name.upper()}()")
        if isinstance(node, exp.Join) and node.args.get("using"):
            raise ADQLError("JOIN ... USING is not supported: write JOIN ... ON")


def _check_split_parts(tree: exp.Expression) -> None:
    """SPLIT_PART only where DuckDB's answer is PostgreSQL's: a non-empty literal delimiter, a literal n >= 1."""
    for node in tree.find_all(exp.SplitPart):
        delimiter, index = node.args.get("delimiter"), node.args.get("part_index")
        if not (isinstance(delimiter, exp.Literal) and delimiter.is_string and delimiter.this):
            raise ADQLError("SPLIT_PART needs a non-empty string literal as its delimiter in this service")
        number = index.this if isinstance(index, exp.Literal) and not index.is_string else ""
        if not (number.isdigit() and int(number) >= 1):
            raise ADQLError("SPLIT_PART needs a literal field number of at least 1 in this service")


def _postgres_aggregate_names(tree: exp.Select) -> None:
    """Name unaliased aggregates of the select list as PostgreSQL does: ``COUNT(*)`` is ``count``."""
    for node in list(tree.expressions):
        if isinstance(node, (exp.Count, exp.Sum, exp.Min, exp.Max, exp.Avg)):
            node.replace(exp.alias_(node.copy(), node.key, quoted=True))


def _unbounded_decimals(tree: exp.Expression) -> None:
    """``CAST(x AS DECIMAL)`` is PostgreSQL's unbounded numeric, not DuckDB's DECIMAL(18,3): compute it as DOUBLE."""
    for node in list(tree.find_all(exp.DataType)):
        if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
            node.replace(exp.DataType.build("DOUBLE"))


# ------------------------------------------------------------------------------------ geometry


def _fn_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Contains):
        return "CONTAINS"
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    return ""


def _fn_args(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Contains):
        return [node.this, node.expression]
    return list(node.expressions)


def _sql(node: exp.Expr) -> str:
    return f"({node.sql(dialect='duckdb')})"


def _coords(node: exp.Expr, what: str, count: int) -> list[str]:
    """The numeric arguments of a geometry value, dropping the optional coordinate-system string."""
    if _fn_name(node) != what:
        raise ADQLError(f"expected a {what} here, got '{node.sql(dialect='tsql')}'")
    args = _fn_args(node)
    if args and isinstance(args[0], exp.Literal) and args[0].is_string:
        args = args[1:]
    if what == "CIRCLE" and len(args) == 2 and _fn_name(args[0]) == "POINT":
        return [*_coords(args[0], "POINT", 2), _sql(args[1])]
    if len(args) != count:
        raise ADQLError(f"{what} takes {count} coordinates, got {len(args)}")
    for arg in args:
        if _fn_name(arg) in _GEOMETRY_VALUES:
            raise ADQLError(f"{what} coordinates must be numbers, not {_fn_name(arg)}")
    return [_sql(a) for a in args]


def _arc(a: str, b: str, c: str, d: str) -> str:
    """SQL for the great-circle distance (radians) between (a, b) and (c, d) in degrees (haversine)."""
    hav = (
        f"pow(sin(radians({b} - {d}) / 2), 2) + "
        f"cos(radians({b})) * cos(radians({d})) * pow(sin(radians({a} - {c}) / 2), 2)"
    )
    return f"(2 * asin(least(1.0, sqrt({hav}))))"


def _circle_pred(a: str, b: str, c: str, d: str, r: str) -> str:
    # The Dec band is implied by the distance test; stating it lets DuckDB use a range join.
    return f"({b} BETWEEN {d} - {r} AND {d} + {r} AND {_arc(a, b, c, d)} <= radians({r}))"


def _box_pred(a: str, b: str, c: str, d: str, w: str, h: str) -> str:
    return (
        f"({b} BETWEEN {d} - {h} / 2.0 AND {d} + {h} / 2.0 AND "
        f"((({a} - ({c} - {w} / 2.0)) % 360.0) + 360.0) % 360.0 <= {w})"
    )


def _polygon_pred(a: str, b: str, node: exp.Expr) -> str:
    args = _fn_args(node)
    if args and isinstance(args[0], exp.Literal) and args[0].is_string:
        args = args[1:]
    values: list[float] = []
    for arg in args:
        value = arg.this.this if isinstance(arg, exp.Neg) and isinstance(arg.this, exp.Literal) else arg
        if not isinstance(value, exp.Literal) or value.is_string:
            raise ADQLError("POLYGON vertices must be numeric literals in this service")
        values.append(-float(value.this) if isinstance(arg, exp.Neg) else float(value.this))
    if len(values) < 6 or len(values) % 2:
        raise ADQLError("POLYGON needs at least three (ra, dec) vertex pairs")
    vertices = " ".join(repr(v) for v in values)
    return f"{POLYGON_UDF}({a}, {b}, '{vertices}')"


def _region_pred(point: exp.Expr, region: exp.Expr) -> str:
    a, b = _coords(point, "POINT", 2)
    kind = _fn_name(region)
    if kind == "CIRCLE":
        return _circle_pred(a, b, *_coords(region, "CIRCLE", 3))
    if kind == "BOX":
        return _box_pred(a, b, *_coords(region, "BOX", 4))
    if kind == "POLYGON":
        return _polygon_pred(a, b, region)
    if kind == "POINT":
        c, d = _coords(region, "POINT", 2)
        return f"({a} = {c} AND {b} = {d})"
    raise ADQLError(f"unsupported region '{region.sql(dialect='tsql')}': use CIRCLE, BOX or POLYGON")


def _predicate(node: exp.Expr) -> str:
    """SQL boolean for CONTAINS(...) or INTERSECTS(...)."""
    name = _fn_name(node)
    args = _fn_args(node)
    if len(args) != 2:
        raise ADQLError(f"{name} takes two geometry arguments")
    first, second = args
    if name == "INTERSECTS":
        if _fn_name(first) == "POINT" or _fn_name(second) == "POINT":
            point, region = (first, second) if _fn_name(first) == "POINT" else (second, first)
            return _region_pred(point, region)
        if {_fn_name(first), _fn_name(second)} == {"CIRCLE", ""} and (
            isinstance(first, exp.Column) or isinstance(second, exp.Column)
        ):
            column, circle = (first, second) if isinstance(first, exp.Column) else (second, first)
            return f"{REGION_UDF}({_sql(column)}, {', '.join(_coords(circle, 'CIRCLE', 3))})"
        if _fn_name(first) == _fn_name(second) == "CIRCLE":
            a, b, r1 = _coords(first, "CIRCLE", 3)
            c, d, r2 = _coords(second, "CIRCLE", 3)
            return f"({_arc(a, b, c, d)} <= radians({r1} + {r2}))"
        raise ADQLError(
            "INTERSECTS is supported for a POINT and a region, two CIRCLEs, or a region column and a CIRCLE"
        )
    if _fn_name(first) != "POINT":
        raise ADQLError("CONTAINS is supported with a POINT as its first argument")
    return _region_pred(first, second)


def _distance(node: exp.Expr) -> str:
    args = _fn_args(node)
    if len(args) == 2:
        (a, b), (c, d) = _coords(args[0], "POINT", 2), _coords(args[1], "POINT", 2)
    elif len(args) == 4:
        a, b, c, d = (_sql(x) for x in args)
    else:
        raise ADQLError("DISTANCE takes two POINTs (or four numbers)")
    return f"degrees({_arc(a, b, c, d)})"


def _parse_duckdb(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


def _rewrite_geometry(tree: exp.Select) -> exp.Select:
    """Replace ADQL geometry functions by plain DuckDB arithmetic (or the polygon UDF)."""
    for node in list(tree.walk()):
        name = _fn_name(node)
        if name not in {"CONTAINS", "INTERSECTS"}:
            continue
        pred = _predicate(node)
        parent = node.parent
        if isinstance(parent, (exp.EQ, exp.NEQ)):
            other = parent.expression if parent.this is node else parent.this
            if isinstance(other, exp.Literal) and not other.is_string and other.this in {"0", "1"}:
                truth = (other.this == "1") == isinstance(parent, exp.EQ)
                parent.replace(_parse_duckdb(pred if truth else f"NOT COALESCE({pred}, FALSE)"))
                continue
        node.replace(_parse_duckdb(f"CASE WHEN {pred} THEN 1 ELSE 0 END"))
    for node in list(tree.walk()):
        if _fn_name(node) == "DISTANCE":
            node.replace(_parse_duckdb(_distance(node)))
    for node in tree.walk():
        if _fn_name(node) in _GEOMETRY_VALUES:
            raise ADQLError(f"{_fn_name(node)} can only be used inside CONTAINS, INTERSECTS or DISTANCE here")
    return tree


def point_in_polygon(ra: float | None, dec: float | None, vertices: str) -> bool | None:
    """Whether (ra, dec) lies inside the spherical polygon with great-circle edges.

    Uses a gnomonic projection about the vertices' mean direction, in which great circles are
    straight lines, then an even-odd ray test; points in the far hemisphere are outside.
    """
    if ra is None or dec is None:
        return None
    values = [float(v) for v in vertices.split()]
    verts = [_unit(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    centre = _normalise([sum(v[k] for v in verts) for k in range(3)])
    east = _normalise(_cross((0.0, 0.0, 1.0), centre) if abs(centre[2]) < 0.999 else (1.0, 0.0, 0.0))
    north = _cross(centre, east)
    point = _unit(ra, dec)
    if _dot(point, centre) <= 0:
        return False

    def project(v: tuple[float, float, float]) -> tuple[float, float]:
        z = _dot(v, centre)
        return _dot(v, east) / z, _dot(v, north) / z

    x, y = project(point)
    poly = [project(v) for v in verts]
    inside = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def region_intersects_circle(
    region: str | None, ra: float | None, dec: float | None, radius: float | None
) -> bool | None:
    """Whether the STC-S ``region`` (POSITION, CIRCLE or POLYGON) and the circle share a point of the sky.

    An unknown shape raises ValueError, so the query fails rather than answering wrongly.
    """
    if region is None or ra is None or dec is None or radius is None:
        return None
    words = region.split()
    shape = words[0].upper() if words else ""
    numbers = []
    for word in words[1:]:
        try:
            numbers.append(float(word))
        except ValueError:
            continue  # the frame (ICRS, J2000, ...) and flavours
    centre = _unit(ra, dec)
    limit = math.radians(radius)
    if shape == "POSITION" and len(numbers) == 2:
        return _angle(centre, _unit(*numbers)) <= limit
    if shape == "CIRCLE" and len(numbers) == 3:
        return _angle(centre, _unit(numbers[0], numbers[1])) <= limit + math.radians(numbers[2])
    if shape == "POLYGON" and len(numbers) >= 6 and len(numbers) % 2 == 0:
        if point_in_polygon(ra, dec, " ".join(repr(n) for n in numbers)):
            return True
        verts = [_unit(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)]
        return any(_arc_distance(centre, a, b) <= limit for a, b in zip(verts, verts[1:] + verts[:1]))
    raise ValueError(f"unsupported STC-S region '{region[:60]}': use POSITION, CIRCLE or POLYGON")


#: A vector in 3D (x, y, z): the geometry helpers take any sequence of three floats and return these.
Vector = tuple[float, float, float]


def _angle(a: Sequence[float], b: Sequence[float]) -> float:
    """Angle (radians) between two unit vectors."""
    return math.atan2(math.sqrt(_dot(_cross(a, b), _cross(a, b))), _dot(a, b))


def _arc_distance(p: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    """Angle (radians) from ``p`` to the shorter great-circle arc from ``a`` to ``b``."""
    normal = _cross(a, b)
    if _dot(normal, normal) < 1e-30:  # a degenerate edge: a point
        return _angle(p, a)
    normal = _normalise(normal)
    off = _dot(p, normal)
    foot = _normalise((p[0] - off * normal[0], p[1] - off * normal[1], p[2] - off * normal[2]))
    if _dot(_cross(a, foot), normal) >= 0 and _dot(_cross(foot, b), normal) >= 0:
        return abs(math.asin(max(-1.0, min(1.0, off))))
    return min(_angle(p, a), _angle(p, b))


def _unit(ra: float, dec: float) -> Vector:
    r, d = math.radians(ra), math.radians(dec)
    return (math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d))


def _cross(a: Sequence[float], b: Sequence[float]) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _normalise(v: Sequence[float]) -> Vector:
    n = math.sqrt(_dot(v, v)) or 1.0
    return (v[0] / n, v[1] / n, v[2] / n)


# ------------------------------------------------------------------------------------ RegTAP
# RegTAP 1.1 (section 8.1) user-defined functions, written as plain DuckDB SQL so every service has them,
# plus what pyvo's registry queries need: ILIKE, UNION [ALL] in sub-queries, schema.table.column names.

#: The RegTAP 1.1 functions this subset implements (upper case, as ADQL names are case-insensitive).
REGTAP_FUNCTIONS = frozenset({"IVO_HASWORD", "IVO_NOCASEMATCH", "IVO_HASHLIST_HAS", "IVO_STRING_AGG"})
_ANONYMOUS_OK |= REGTAP_FUNCTIONS
_ALLOWED_NODES = (*_ALLOWED_NODES, exp.ILike, exp.Union)
_WORD_BREAK = r"[^\pL\pN]+"  # anything but letters and digits separates words


def _words(text: str) -> str:
    """SQL for ``text`` case-folded, as its words separated by single spaces."""
    return f"trim(regexp_replace(lower({text}), '{_WORD_BREAK}', ' ', 'g'))"


def _regtap_sql(name: str, args: list[str]) -> str:
    """DuckDB SQL for one RegTAP function call (NULL in, NULL out; otherwise 1 or 0)."""
    if name == "IVO_STRING_AGG":  # an aggregate: NULLs skipped, NULL when the group has no value
        return f"string_agg({args[0]}, {args[1]})"
    a, b = args
    if name == "IVO_HASWORD":  # whole words (or word sequences), case-insensitive, no stemming
        hay, needle = _words(a), _words(b)
        test = f"{needle} <> '' AND (' ' || {hay} || ' ') LIKE ('% ' || {needle} || ' %')"
    elif name == "IVO_NOCASEMATCH":  # a LIKE pattern, matched case-insensitively
        test = f"{a} ILIKE {b}"
    else:  # IVO_HASHLIST_HAS: one of the '#'-separated items, case-insensitively
        test = f"list_contains(string_split(lower({a}), '#'), lower({b}))"
    return f"(CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {test} THEN 1 ELSE 0 END)"


def _rewrite_regtap(tree: exp.Select) -> exp.Select:
    """Replace the RegTAP functions by DuckDB SQL; refuse wrong argument counts."""
    for node in list(tree.walk()):
        name = _fn_name(node)
        if name not in REGTAP_FUNCTIONS:
            continue
        args = _fn_args(node)
        if len(args) != 2:
            raise ADQLError(f"{name.lower()} takes two arguments, got {len(args)}")
        node.replace(_parse_duckdb(_regtap_sql(name, [_sql(a) for a in args])))
    return tree


def _drop_schema_qualifiers(tree: exp.Expression) -> None:
    """``rr.res_subject.res_subject`` -> ``res_subject.res_subject``: tables are aliased by their own names."""
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is not None:
            column.set("db", None)
            column.set("catalog", None)
