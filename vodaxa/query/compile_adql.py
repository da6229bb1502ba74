"""A filter history as one ADQL query on the mission's table: one function per filter kind.

Conditions go in the WHERE clause; positions go up as TAP upload tables, the last positional filter joined (a
join repeats an observation per matching position, so the query is DISTINCT) and the others as ``IN`` sub-queries.
A filter the table cannot express exactly (a target category derived from several columns, a time window on a
table without an end time) is written as a superset and listed in :attr:`Compiled.refine`, for the pandas
compiler to finish on the (small) answer.  Every value is written with :mod:`vodaxa.query.adql`'s quoting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import singledispatch

import numpy as np
from astropy.table import Table

from ..errors import VodaxaError
from . import adql
from .conditions import AllOf, AnyOf, Condition, Constant, Negation
from .filters import Compare, Filter, ObsIds, Positions, PositionsAtTime, RectRegion, TargetType, TimeWindow
from .scope import Scope

__all__ = ["Compiled", "compile_history", "expression", "whole_table"]

IN_LIST_LIMIT = 1000  # more ObsIDs than this go up as a table


@dataclass(frozen=True)
class Compiled:
    """One evaluation: the query text, the tables to upload with it, and what the answer still needs."""

    adql: str
    uploads: dict[str, Table]
    pairs_adql: str | None = None  # (position index, ObsID) pairs of the joined positional filter
    refine: tuple[Filter, ...] = ()  # filters written as a superset: apply them again to the normalised answer


@dataclass
class _Query:
    """The query being built."""

    scope: Scope
    joined: int | None  # the index of the positional filter that is joined (the others are sub-queries)
    where: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    uploads: dict[str, Table] = field(default_factory=dict)
    refine: list[Filter] = field(default_factory=list)


def select(scope: Scope, alias: str = "m") -> list[str]:
    """The columns every query fetches."""
    return [adql.column(c, alias) for c in scope.spec.select_columns]


def whole_table(scope: Scope) -> Compiled:
    """Every row passing the mission's cuts (before the instrument choice)."""
    return Compiled(adql.Query(scope.spec.table, select(scope), where=[*scope.spec.cuts]).adql(), {})


def compile_history(history: Sequence[Filter], scope: Scope, pairs_for: int | None = None) -> Compiled:
    """The query selecting what ``history`` keeps; with ``pairs_for`` (the index of a positional filter), also the
    query of its (position, ObsID) pairs."""
    spec = scope.spec
    positional = [i for i, f in enumerate(history) if isinstance(f, (Positions, PositionsAtTime))]
    joined = pairs_for if pairs_for in positional else (positional[-1] if positional else None)
    query = _Query(scope, joined, where=[*spec.cuts, *spec.instrument_where(scope.chosen)])
    for index, step in enumerate(history):
        condition(step, query, index)
    # a join repeats an observation once per matching position: DISTINCT keeps the answer small,
    # and the pairs (only when asked for) come from a second, two-column query
    text = adql.Query(spec.table, select(scope), where=query.where, joins=query.joins, distinct=bool(query.joins))
    pairs = None
    if joined is not None and joined == pairs_for:
        columns = ["p.vx_pos", adql.column(spec.id_column, "m")]
        pairs = adql.Query(spec.table, columns, where=query.where, joins=query.joins, distinct=True).adql()
    return Compiled(text.adql(), query.uploads, pairs, tuple(query.refine))


@singledispatch
def condition(step: Filter, query: _Query, index: int) -> None:
    """Add ``step`` to the query."""
    raise TypeError(f"no ADQL for {type(step).__name__}")


@condition.register
def _obs_ids(step: ObsIds, query: _Query, index: int) -> None:
    column = f"m.{adql.ident(query.scope.spec.id_column)}"
    values = query.scope.spec.id_values(step.ids)
    if len(values) <= IN_LIST_LIMIT:
        text = adql.in_list(column, values)
    else:
        name = f"vx_ids{len(query.uploads) or ''}"
        query.uploads[name] = Table({"vx_id": np.asarray(values)})
        text = f"{column} IN (SELECT i.vx_id FROM TAP_UPLOAD.{name} AS i)"
    query.where.append(f"NOT ({text})" if step.invert else text)


@condition.register
def _rect(step: RectRegion, query: _Query, index: int) -> None:
    (ra0, dec0), (ra1, dec1) = step.lower_left, step.upper_right
    spec = query.scope.spec
    query.where.append(adql.box(adql.ident(spec.ra), adql.ident(spec.dec), ra0, ra1, dec0, dec1))


@condition.register
def _time(step: TimeWindow, query: _Query, index: int) -> None:
    """The window; where the end is not in the table, a superset refined on the answer."""
    spec = query.scope.spec
    lo, hi = spec.time_value(step.start), spec.time_value(step.end)
    if spec.end_in_adql:
        query.where.append(adql.time_window(spec.start_expr(), spec.end_expr(), lo, hi, over_run=step.over_run))
        return
    earliest = spec.time_value(step.start - timedelta(days=spec.max_duration_days)) if step.over_run else lo
    query.where.append(f"{spec.start_expr()} >= {adql.literal(earliest)} AND {spec.start_expr()} <= {adql.literal(hi)}")
    query.refine.append(step)


@condition.register
def _target(step: TargetType, query: _Query, index: int) -> None:
    """Raw category values mapped to the codes; a category derived from several columns is left to the answer."""
    spec = query.scope.spec
    query.refine.append(step)  # the normalised category decides, whatever the server matched
    if spec.target_function is not None:
        return
    types = step.types
    if not spec.target_column:
        if spec.target_default not in types:
            query.where.append("1 = 0")
        return
    raw = [k for k, v in spec.target_map.items() if v in types]
    column = adql.ident(spec.target_column)
    parts = [adql.in_list(column, raw)] if raw else []
    if spec.target_default in types:
        parts.append(f"NOT ({adql.in_list(column, list(spec.target_map))})")
        parts.append(f"{column} IS NULL")
    query.where.append("(" + " OR ".join(parts) + ")" if parts else "1 = 0")


@condition.register(Positions)
@condition.register(PositionsAtTime)
def _positions(step: Positions | PositionsAtTime, query: _Query, index: int) -> None:
    spec = query.scope.spec
    is_joined = index == query.joined
    name = "vx_positions" if is_joined else f"vx_positions{len(query.uploads) + 1}"  # never the joined one's name
    query.uploads[name] = query.scope.position_table(step)
    if is_joined:
        query.joins.append(f"JOIN TAP_UPLOAD.{name} AS p ON {_match(query.scope, 'm', 'p', step)}")
        return
    inner = (
        f"SELECT s.{adql.ident(spec.id_column)} FROM {adql.table_name(spec.table)} AS s "
        f"JOIN TAP_UPLOAD.{name} AS q ON {_match(query.scope, 's', 'q', step)}"
    )
    query.where.append(f"m.{adql.ident(spec.id_column)} IN ({inner})")


@condition.register
def _compare(step: Compare, query: _Query, index: int) -> None:
    query.where.append(expression(step))


def _match(scope: Scope, table: str, pos: str, step: Positions | PositionsAtTime) -> str:
    """A row of ``table`` within a position of upload ``pos`` (and its time window, its instrument's radius)."""
    spec = scope.spec
    ra, dec = adql.column(spec.ra, table), adql.column(spec.dec, table)
    parts = [adql.circle(ra, dec, f"{pos}.vx_ra", f"{pos}.vx_dec", f"{pos}.vx_radius")]
    if scope.per_instrument(step.distance):
        assert spec.instrument_column is not None  # radii per instrument need a column naming it
        parts.append(f"{adql.column(spec.instrument_column, table)} = {pos}.vx_value")
    if isinstance(step, PositionsAtTime):
        if not spec.end_in_adql:
            raise VodaxaError(f"{spec.name}: its table has no end time usable in ADQL; filter on positions, then on "
                              "time")  # fmt: skip
        start, end = spec.start_expr(table), spec.end_expr(table)
        parts.append(adql.time_between(start, end, f"{pos}.vx_t0", f"{pos}.vx_t1", over_run=step.over_run))
    return " AND ".join(parts)


@singledispatch
def expression(item: Condition, alias: str | None = "m") -> str:
    """A condition as ADQL (columns qualified with ``alias``), every value quoted as a literal."""
    raise TypeError(f"no ADQL for {type(item).__name__}")


_SYMBOLS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@expression.register
def _compare_text(item: Compare, alias: str | None = "m") -> str:
    column = adql.column(item.column, alias)
    if item.op in _SYMBOLS:
        return f"{column} {_SYMBOLS[item.op]} {adql.literal(item.value)}"
    if item.op in ("in", "not in"):
        assert isinstance(item.value, tuple)  # Compare holds a tuple for these operators
        text = ", ".join(adql.literal(v) for v in item.value)
        return f"{column} {item.op.upper()} ({text})"
    if item.op in ("like", "not like"):
        return f"{column} {item.op.upper()} {adql.literal(item.value)}"
    if item.op == "between":
        assert isinstance(item.value, tuple)  # (low, high), as Compare checks
        low, high = item.value
        return f"{column} BETWEEN {adql.literal(low)} AND {adql.literal(high)}"
    return f"{column} {item.op.upper()}"  # is null, is not null


@expression.register
def _all(item: AllOf, alias: str | None = "m") -> str:
    return "(" + " AND ".join(expression(p, alias) for p in item.parts) + ")"


@expression.register
def _any(item: AnyOf, alias: str | None = "m") -> str:
    return "(" + " OR ".join(expression(p, alias) for p in item.parts) + ")"


@expression.register
def _not(item: Negation, alias: str | None = "m") -> str:
    return f"NOT ({expression(item.part, alias)})"


@expression.register
def _constant(item: Constant, alias: str | None = "m") -> str:
    return "1 = 1" if item.value else "1 = 0"
