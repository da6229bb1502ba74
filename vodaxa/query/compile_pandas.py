"""A filter history applied in pandas to rows already fetched: one function per filter kind, with the semantics of
the ADQL compiler (:mod:`.compile_adql`), so a mission whose table is fetched whole (eROSITA), a TAP answer that
needs finishing, and cone-search answers all select what the server would.

Conditions on columns (:class:`~.filters.Compare` and the spec cuts read by :mod:`.conditions`) follow SQL's
three-valued logic, as on the server: a comparison with a missing value is unknown, NOT keeps it unknown, and a
row is kept only where the whole condition is true.  Column names match as unquoted ADQL names do (exactly, else
ignoring case).
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce, singledispatch
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError, UnknownColumnError, VodaxaError
from .conditions import AllOf, AnyOf, Condition, Constant, Negation
from .filters import Compare, Filter, ObsIds, Positions, PositionsAtTime, RectRegion, TargetType, TimeWindow
from .scope import Scope, pairs_table, pairs_within

if TYPE_CHECKING:
    from astropy.table import Table

__all__ = ["column", "evaluate", "holds", "kind_of", "refine"]


@dataclass
class _Run:
    """One evaluation: the scope, and the pairs of the positional filter asked for."""

    scope: Scope
    pairs_for: int | None = None
    pairs: pd.DataFrame | None = None


def evaluate(
    history: Sequence[Filter], frame: pd.DataFrame, scope: Scope, pairs_for: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows of a normalised table that ``history`` keeps, one per ObsID, and the (position, ObsIDs) pairs of
    the positional filter at index ``pairs_for``."""
    run = _Run(scope, pairs_for)
    for index, step in enumerate(history):
        frame = narrow(step, frame, run, index)
    return frame.drop_duplicates("obs_id").reset_index(drop=True), run.pairs


def refine(steps: Sequence[Filter], frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """A TAP answer with the filters the query could only approximate applied exactly."""
    run = _Run(scope)
    for step in steps:
        frame = narrow(step, frame, run, -1)
    return frame


@singledispatch
def narrow(step: Filter, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    """The rows of ``frame`` that ``step`` keeps."""
    raise TypeError(f"no pandas evaluation of {type(step).__name__}")


@narrow.register
def _obs_ids(step: ObsIds, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    hit = frame["obs_id"].isin([str(i) for i in step.ids])
    return frame[~hit if step.invert else hit]


@narrow.register
def _rect(step: RectRegion, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    (ra0, dec0), (ra1, dec1) = step.lower_left, step.upper_right
    ra = frame["ra"]
    in_ra = (ra >= ra0) & (ra <= ra1) if ra0 <= ra1 else (ra >= ra0) | (ra <= ra1)
    return frame[in_ra & frame["dec"].between(dec0, dec1)]


@narrow.register
def _time(step: TimeWindow, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    if len(frame) and frame["start"].isna().all():
        raise VodaxaError(f"{run.scope.spec.name}: the archive publishes no observation times (they are only in the "
                          "event-list headers), so this mission cannot be filtered on time")  # fmt: skip
    lo, hi = pd.Timestamp(step.start), pd.Timestamp(step.end)
    if step.over_run:
        return frame[(frame["start"] <= hi) & (frame["end"] >= lo)]
    return frame[(frame["start"] >= lo) & (frame["end"] <= hi)]


@narrow.register
def _target(step: TargetType, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    return frame[frame["target_category"].isin(step.types)]


@narrow.register(Positions)
@narrow.register(PositionsAtTime)
def _positions(step: Positions | PositionsAtTime, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    positions = run.scope.position_table(step)
    found = matches(frame, positions, step, run.scope)
    frame = frame[frame["obs_id"].isin(found["obs_id"])]
    if index == run.pairs_for:
        run.pairs = pairs_table(found, positions)
    return frame


@narrow.register
def _compare(step: Compare, frame: pd.DataFrame, run: _Run, index: int) -> pd.DataFrame:
    return frame[holds(step, frame)]


def matches(frame: pd.DataFrame, positions: Table, step: Positions | PositionsAtTime, scope: Scope) -> pd.DataFrame:
    """(``_vx_pos``, ``obs_id``) of each row within a position's radius (and its window, its instrument's radius)."""
    if frame.empty:
        return pd.DataFrame({"_vx_pos": [], "obs_id": []})
    i_pos, i_obs = pairs_within(
        np.asarray(positions["vx_ra"], dtype=float),
        np.asarray(positions["vx_dec"], dtype=float),
        frame["ra"].to_numpy(dtype=float),
        frame["dec"].to_numpy(dtype=float),
        np.asarray(positions["vx_radius"], dtype=float),
    )
    keep = np.ones(i_pos.size, dtype=bool)
    if "vx_value" in positions.colnames:  # the table's value (ACIS-I), the normalised instrument (ACIS)
        canonical = {raw: inst for inst, raws in scope.spec.instrument_values.items() for raw in raws}
        wanted = np.array([canonical.get(v, v) for v in np.asarray(positions["vx_value"]).tolist()], dtype=object)
        keep &= frame["instrument"].to_numpy()[i_obs] == wanted[i_pos]
    if isinstance(step, PositionsAtTime):
        each = np.asarray(positions["vx_pos"])[i_pos]  # the position of each pair: its own window
        t0 = pd.to_datetime([step.starts[p] for p in each], utc=True)
        t1 = pd.to_datetime([step.ends[p] for p in each], utc=True)
        start, end = frame["start"].to_numpy()[i_obs], frame["end"].to_numpy()[i_obs]
        keep &= (start <= t1) & (end >= t0) if step.over_run else (start >= t0) & (end <= t1)
    ids = frame["obs_id"].to_numpy()[i_obs][keep]
    return pd.DataFrame({"_vx_pos": np.asarray(positions["vx_pos"])[i_pos][keep], "obs_id": ids})


# ---------------------------------------------------------------------------------- conditions on columns
def holds(condition: Condition, frame: pd.DataFrame) -> np.ndarray:
    """Where ``condition`` is true (unknown counts as false, as in a WHERE clause)."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    return truth(condition, frame).fillna(False).to_numpy(dtype=bool)


@singledispatch
def truth(item: Condition, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    """True, false or unknown (NA) per row."""
    raise TypeError(f"no pandas evaluation of {type(item).__name__}")


@truth.register
def _all(item: AllOf, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    return reduce(operator.and_, (truth(p, frame) for p in item.parts))


@truth.register
def _any(item: AnyOf, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    return reduce(operator.or_, (truth(p, frame) for p in item.parts))


@truth.register
def _not(item: Negation, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    return ~truth(item.part, frame)


@truth.register
def _constant(item: Constant, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.full(len(frame), item.value), np.zeros(len(frame), dtype=bool))


@truth.register
def _compare_truth(item: Compare, frame: pd.DataFrame) -> pd.arrays.BooleanArray:
    values = column(frame, item.column).reset_index(drop=True)
    null = values.isna().to_numpy(dtype=bool)
    if item.op in ("is null", "is not null"):
        return pd.arrays.BooleanArray(null if item.op == "is null" else ~null, np.zeros(len(values), dtype=bool))
    data, operand = _comparable(values, item)
    null = null | data.isna().to_numpy(dtype=bool)
    return pd.arrays.BooleanArray(_apply(item.op, data, operand, null), null)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column called ``name`` (ignoring case when no column has exactly that name); UnknownColumnError naming
    close matches otherwise."""
    if name in frame.columns:
        return frame[name]
    folded = [c for c in frame.columns if str(c).lower() == name.lower()]
    if len(folded) == 1:
        return frame[folded[0]]
    close = difflib.get_close_matches(name, [str(c) for c in frame.columns], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UnknownColumnError(f"no column {name!r} in the table{hint} (columns: {', '.join(map(str, frame.columns))})")


def kind_of(values: pd.Series) -> str:
    """What a column holds: ``number``, ``text``, ``time``, ``duration`` or ``boolean``."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "duration"
    present = values.dropna()
    if len(present) and all(isinstance(v, (bool, np.bool_)) for v in present):
        return "boolean"
    if len(present) and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present):
        return "number"
    return "text"


def _comparable(values: pd.Series, item: Compare) -> tuple[pd.Series, Any]:
    """The column (missing where a cell cannot be read as the column's kind) and the operand(s) in one form."""
    kind = kind_of(values)
    if item.op in ("like", "not like") and kind != "text":
        raise InputError(f"{item.text()}: {item.op} matches text, and {item.column} holds {kind} values")
    operands = item.value if isinstance(item.value, tuple) else (item.value,)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in operands)
    if kind in ("number", "duration") or (kind == "text" and numeric and item.op not in ("like", "not like")):
        data = values.dt.total_seconds() if kind == "duration" else pd.to_numeric(values, errors="coerce")
        return data.astype(float), _each(item, operands, lambda v: _number(v, item))
    if kind == "boolean":
        return values.map(lambda v: None if v is None or v != v else bool(v)), _each(
            item, operands, lambda v: _boolean(v, item))  # fmt: skip
    if kind == "time":
        return pd.to_datetime(values, utc=True, errors="coerce"), _each(item, operands, lambda v: _timestamp(v, item))
    if not all(isinstance(v, str) for v in operands):
        raise InputError(f"{item.text()}: {item.column} holds text; quote the value")
    return values.map(lambda v: None if v is None or v != v else str(v)), item.value


def _each(item: Compare, operands: tuple, convert: Any) -> Any:
    converted = tuple(convert(v) for v in operands)
    return converted if isinstance(item.value, tuple) else converted[0]


def _number(value: Any, item: Compare) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{item.text()}: {item.column} holds numbers; give a number, not {value!r}") from None


def _boolean(value: Any, item: Compare) -> bool:
    if isinstance(value, bool) or value in (0, 1):
        return bool(value)
    raise InputError(f"{item.text()}: {item.column} holds true/false; give True or False, not {value!r}")


def _timestamp(value: Any, item: Compare) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value) if isinstance(value, str) else None
    except ValueError:
        stamp = None
    if stamp is None or stamp is pd.NaT:
        raise InputError(f"{item.text()}: {item.column} holds times; give an ISO time such as '2015-01-01'")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}  # fmt: skip


def _apply(op: str, data: pd.Series, operand: Any, null: np.ndarray) -> np.ndarray:
    """The comparison on every row; rows in ``null`` (masked by the caller) are compared as a stand-in value."""
    stand_in = operand[0] if isinstance(operand, tuple) else operand
    filled = data.where(~null, stand_in) if len(data) else data
    if op in _OPERATORS:
        result = _OPERATORS[op](filled, operand)
    elif op in ("in", "not in"):
        result = filled.isin(list(operand))
    elif op in ("like", "not like"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in operand)
        result = filled.astype(str).str.fullmatch(pattern, flags=re.S)
    else:  # between
        low, high = operand
        result = (filled >= low) & (filled <= high)
    out = np.asarray(result, dtype=bool)
    return ~out if op.startswith("not ") else out
