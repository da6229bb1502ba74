"""The filters a :class:`~vodaxa.query.mission.Mission` history holds: small immutable values, one class per kind.

Each is saved as DAXA's ``{"name": "filter_on_...", "arguments": {...}}``, the format state files have always had,
and read back by :func:`from_json`.  Nothing here asks an archive or knows a mission: the Mission builds these from
the user's input (names resolved, distances in degrees, times in UTC, positions in the mission's frame) and the
compilers (:mod:`.compile_adql`, :mod:`.compile_pandas`) give them meaning.  Only the standard library is imported,
so the command line can read ``--where`` before anything heavy loads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, ClassVar

from ..errors import InputError

__all__ = [
    "OPS", "Compare", "Filter", "ObsIds", "Positions", "PositionsAtTime", "RectRegion", "TargetType", "TimeWindow",
    "from_json",
]  # fmt: skip

#: A search distance in degrees: one, one per position, one per instrument (name, degrees), or None (the default).
Distance = float | tuple[float, ...] | tuple[tuple[str, float], ...] | None
#: The same as saved and as the positional filters' ``distance`` gives it: a list per position, a dict per instrument.
SavedDistance = float | list[float] | dict[str, float] | None


class Filter:
    """One step of a filter history; ``name`` is the Mission method it comes from, as saved."""

    kind: ClassVar[str]

    @property
    def name(self) -> str:
        """The saved name (``filter_on_...``)."""
        return self.kind

    def arguments(self) -> dict[str, object]:
        """The saved arguments, JSON-ready."""
        raise NotImplementedError

    def to_json(self) -> dict[str, object]:
        """``{"name": ..., "arguments": {...}}``, as state files hold it."""
        return {"name": self.name, "arguments": self.arguments()}


@dataclass(frozen=True)
class ObsIds(Filter):
    """Keep (``invert``: drop) observations with these ObsIDs (already checked against the mission's format)."""

    ids: tuple[str, ...]
    invert: bool = False
    kind: ClassVar[str] = "filter_on_obs_ids"

    def arguments(self) -> dict[str, object]:
        return {"allowed_obs_ids": list(self.ids), "invert": self.invert}

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> ObsIds:
        """Read saved arguments."""
        ids = args.get("allowed_obs_ids")
        if not isinstance(ids, list) or not ids:
            raise InputError("allowed_obs_ids must be a non-empty list of ObsIDs")
        return cls(tuple(str(i) for i in ids), _flag(args, "invert", False))


@dataclass(frozen=True)
class RectRegion(Filter):
    """Keep observations centred in an RA/Dec box (degrees; ``lower_left`` RA above ``upper_right`` RA wraps
    through RA 0)."""

    lower_left: tuple[float, float]
    upper_right: tuple[float, float]
    kind: ClassVar[str] = "filter_on_rect_region"

    def arguments(self) -> dict[str, object]:
        return {"lower_left": list(self.lower_left), "upper_right": list(self.upper_right)}

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> RectRegion:
        """Read saved arguments."""
        corners = []
        for key in ("lower_left", "upper_right"):
            value = args.get(key)
            if not isinstance(value, list) or len(value) != 2 or not all(_finite(v) for v in value):
                raise InputError(f"{key} must be [ra, dec] in degrees")
            corners.append((float(value[0]), float(value[1])))
        return cls(corners[0], corners[1])


@dataclass(frozen=True)
class Positions(Filter):
    """Keep observations centred within ``search_distance`` of any position (degrees, the mission's frame);
    ``names`` are the object names the positions were resolved from (``filter_on_name``)."""

    ra: tuple[float, ...]
    dec: tuple[float, ...]
    search_distance: Distance = None
    names: tuple[str, ...] | None = None
    parse_name: bool = False
    kind: ClassVar[str] = "filter_on_positions"

    @property
    def name(self) -> str:
        return "filter_on_name" if self.names is not None else self.kind

    @property
    def distance(self) -> SavedDistance:
        """The search distance as saved: degrees, a list per position, a dict per instrument, or None."""
        return _thaw(self.search_distance)

    def arguments(self) -> dict[str, object]:
        positions = {"ra": list(self.ra), "dec": list(self.dec)}
        if self.names is None:
            return {"positions": positions, "search_distance": self.distance}
        return {"object_name": list(self.names), "search_distance": self.distance, "parse_name": self.parse_name,
                "positions": positions}  # fmt: skip

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> Positions:
        """Read saved arguments (of ``filter_on_positions`` or ``filter_on_name``)."""
        ra, dec = _positions(args)
        names = args.get("object_name")
        if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise InputError("object_name must be a list of names")
        return cls(ra, dec, freeze_distance(args.get("search_distance")),
                   None if names is None else tuple(names), _flag(args, "parse_name", False))  # fmt: skip


@dataclass(frozen=True)
class PositionsAtTime(Filter):
    """Keep observations near each position and overlapping (``over_run``) or inside that position's own window."""

    ra: tuple[float, ...]
    dec: tuple[float, ...]
    starts: tuple[datetime, ...]
    ends: tuple[datetime, ...]
    search_distance: Distance = None
    over_run: bool = True
    kind: ClassVar[str] = "filter_on_positions_at_time"

    @property
    def distance(self) -> SavedDistance:
        """The search distance as saved."""
        return _thaw(self.search_distance)

    def arguments(self) -> dict[str, object]:
        return {
            "positions": {"ra": list(self.ra), "dec": list(self.dec)},
            "start_datetimes": [s.isoformat() for s in self.starts],
            "end_datetimes": [e.isoformat() for e in self.ends],
            "search_distance": self.distance,
            "over_run": self.over_run,
        }

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> PositionsAtTime:
        """Read saved arguments."""
        ra, dec = _positions(args)
        starts, ends = _times(args, "start_datetimes"), _times(args, "end_datetimes")
        if not len(starts) == len(ends) == len(ra):
            raise InputError("start_datetimes and end_datetimes must have one time per position")
        return cls(ra, dec, starts, ends, freeze_distance(args.get("search_distance")), _flag(args, "over_run", True))


@dataclass(frozen=True)
class TimeWindow(Filter):
    """Keep observations overlapping [start, end] (``over_run``) or lying wholly inside it; times are UTC."""

    start: datetime
    end: datetime
    over_run: bool = True
    kind: ClassVar[str] = "filter_on_time"

    def arguments(self) -> dict[str, object]:
        return {"start_datetime": self.start.isoformat(), "end_datetime": self.end.isoformat(),
                "over_run": self.over_run}  # fmt: skip

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> TimeWindow:
        """Read saved arguments."""
        return cls(_time(args.get("start_datetime"), "start_datetime"), _time(args.get("end_datetime"), "end_datetime"),
                   _flag(args, "over_run", True))  # fmt: skip


@dataclass(frozen=True)
class TargetType(Filter):
    """Keep observations whose target category is one of these DAXA taxonomy codes (upper case)."""

    types: tuple[str, ...]
    kind: ClassVar[str] = "filter_on_target_type"

    def arguments(self) -> dict[str, object]:
        return {"target_type": list(self.types)}

    @classmethod
    def from_arguments(cls, args: Mapping[str, Any]) -> TargetType:
        """Read saved arguments."""
        types = args.get("target_type")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
            raise InputError("target_type must be a non-empty list of taxonomy codes")
        return cls(tuple(types))


#: The comparisons :class:`Compare` makes, as written in Python (``==``) or in ADQL words (``not in``).
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like", "between", "is null", "is not null")
_SPELLINGS = {"=": "==", "<>": "!=", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Compare(Filter):
    """Keep observations whose ``column`` of the mission's table compares ``op`` to ``value``.

    Values are data, never query text: the compilers quote them.  A comparison is what ``where=`` conditions
    are read into (:func:`vodaxa.query.conditions.parse_where`), and can be given there directly.

    Parameters
    ----------
    column : str
        A column of the mission's table (surrounding spaces are removed).
    op : str
        One of the comparisons ``vodaxa.query.filters.OPS`` (``"=="``, ``"!="``, ``"<"``, ``"<="``, ``">"``,
        ``">="``, ``"in"``, ``"not in"``, ``"like"``, ``"not like"``, ``"between"``, ``"is null"``,
        ``"is not null"``), in any case; ``=``, ``<>`` and ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge`` are read
        as their symbols.
    value : str, int, float, bool, date, datetime, sequence or None, optional
        A literal (dates and times become ISO text, in UTC); for ``in`` and ``not in`` a list of literals of one
        kind, for ``between`` two, ``(low, high)``; None for ``is null`` and ``is not null`` (the default).

    Raises
    ------
    vodaxa.errors.InputError
        If the column is empty, ``op`` is not a comparison, or ``value`` does not have the shape ``op`` takes
        (a list for ``in``, two ordered values for ``between``, text for ``like``, no NaN, no NUL character).

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.query.conditions import Compare
    >>> long = Compare("exposure", ">", 10000)
    >>> long
    Compare(column='exposure', op='>', value=10000)
    >>> observations = vodaxa.search(None, missions=["chandra"], where=long)
    >>> bool((observations["exposure"] > 10000).all())
    True
    """

    column: str
    op: str
    value: Scalar | tuple[Scalar, ...] | None = None
    kind: ClassVar[str] = "filter_on_column"

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column.strip():
            raise InputError(f"column={self.column!r}: name a column of the mission's table")
        op = _SPELLINGS.get(str(self.op).strip().lower(), " ".join(str(self.op).lower().split()))
        if op not in OPS:
            raise InputError(f"op={self.op!r} is not a comparison; use one of {', '.join(OPS)}")
        object.__setattr__(self, "column", self.column.strip())
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", _operand(op, self.value, self.column))

    def arguments(self) -> dict[str, object]:
        """Give the arguments saved in a state file.

        Returns
        -------
        dict of str to object
            ``{"column": ..., "op": ..., "value": ...}``, JSON-ready (a tuple of values as a list).
        """
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"column": self.column, "op": self.op, "value": value}

    def text(self) -> str:
        """Write the comparison as a person would (for messages, never for a query).

        Returns
        -------
        str
            E.g. ``"exposure > 10000"``, ``"status in ('archived', 'processed')"``.
        """
        if self.value is None:
            return f"{self.column} {self.op}"
        if self.op == "between":
            assert isinstance(self.value, tuple)  # (low, high), as __post_init__ made it
            low, high = self.value
            return f"{self.column} between {low!r} and {high!r}"
        if isinstance(self.value, tuple):
            return f"{self.column} {self.op} ({', '.join(repr(v) for v in self.value)})"
        return f"{self.column} {self.op} {self.value!r}"

    @classmethod
    def from_arguments(cls, args: Mapping[str, object]) -> Compare:
        """Read the arguments saved in a state file (as :meth:`arguments` gives them).

        Parameters
        ----------
        args : mapping of str to object
            ``{"column": ..., "op": ..., "value": ...}``.

        Returns
        -------
        Compare
            The comparison.

        Raises
        ------
        vodaxa.errors.InputError
            If the arguments do not make a comparison.
        """
        column, op = args.get("column"), args.get("op")
        return cls(column, op, args.get("value"))  # type: ignore[arg-type]  # __post_init__ refuses non-text


def _operand(op: str, value: Any, column: str) -> Scalar | tuple[Scalar, ...] | None:
    """``value`` in the shape ``op`` takes (dates as ISO text), or InputError saying what that shape is."""
    if op in ("is null", "is not null"):
        if value is not None:
            raise InputError(f"{column} {op} takes no value (got {value!r})")
        return None
    if op in ("in", "not in", "between"):
        if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy arrays, pandas Series
            value = value.tolist()
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, set, frozenset)):
            raise InputError(f"{column} {op}: give a list of values, not {value!r}")
        items = tuple(_scalar(v, column, op) for v in value)
        if op == "between" and len(items) != 2:
            raise InputError(f"{column} between: give two values, [low, high], not {len(items)}")
        if not items:
            raise InputError(f"{column} {op}: the list of values is empty")
        kinds = {_kind(v) for v in items}
        if len(kinds) > 1:
            raise InputError(f"{column} {op}: the values mix text and numbers ({value!r}); use one kind")
        if op == "between" and items[0] > items[1]:  # type: ignore[operator]  # one kind, checked just above
            raise InputError(f"{column} between {items[0]!r} and {items[1]!r}: the low end is above the high end")
        return items
    if value is None:
        raise InputError(f"{column} {op} None: to keep rows without a value use op='is null'")
    scalar = _scalar(value, column, op)
    if op in ("like", "not like") and not isinstance(scalar, str):
        raise InputError(f"{column} {op}: give a text pattern ('%' any text, '_' one character), not {value!r}")
    return scalar


def _scalar(value: Any, column: str, op: str) -> Scalar:
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (bool, str)):
        if isinstance(value, str) and "\x00" in value:
            raise InputError(f"{column} {op}: a value cannot contain a NUL character")
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{column} {op} {value}: the value must be finite (use 'is null' for missing values)")
        return float(value)
    raise InputError(f"{column} {op}: {value!r} is not a number, text, date or true/false")


def _kind(value: Scalar) -> str:
    return "text" if isinstance(value, str) else "number"


#: Saved name -> the class that reads it.
KINDS: Mapping[str, Any] = {
    "filter_on_obs_ids": ObsIds, "filter_on_rect_region": RectRegion, "filter_on_positions": Positions,
    "filter_on_name": Positions, "filter_on_time": TimeWindow, "filter_on_target_type": TargetType,
    "filter_on_positions_at_time": PositionsAtTime, "filter_on_column": Compare,
}  # fmt: skip


def from_json(op: Any) -> Filter:
    """The filter saved as ``{"name": ..., "arguments": {...}}``; InputError saying what is wrong otherwise."""
    if not isinstance(op, Mapping) or op.get("name") not in KINDS or not isinstance(op.get("arguments"), Mapping):
        name = op.get("name") if isinstance(op, Mapping) else op
        raise InputError(f"{name!r} is not one of {', '.join(KINDS)} with its arguments")
    try:
        return KINDS[op["name"]].from_arguments(op["arguments"])
    except (TypeError, ValueError, KeyError) as err:
        if isinstance(err, InputError):
            raise
        raise InputError(f"{op['name']}: unreadable arguments ({err})") from None


def freeze_distance(distance: object) -> Distance:
    """A saved search distance (degrees, list, instrument dict or None) as an immutable value."""
    if distance is None:
        return None
    if isinstance(distance, Mapping):
        return tuple((str(k), _degrees(v)) for k, v in distance.items())
    if isinstance(distance, (list, tuple)):
        return tuple(_degrees(v) for v in distance)
    return _degrees(distance)


def _degrees(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_degrees(v) for v in value)
    if isinstance(value, bool) or not _finite(value) or float(value) <= 0:
        raise InputError(f"search_distance {value!r} must be a positive number of degrees")
    return float(value)


def _thaw(distance: Distance) -> SavedDistance:
    if isinstance(distance, tuple) and distance and isinstance(distance[0], tuple) and isinstance(distance[0][0], str):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in distance}
    return list(distance) if isinstance(distance, tuple) else distance  # type: ignore[arg-type]  # floats here


def _finite(value: Any) -> bool:
    try:
        return not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _flag(args: Mapping[str, Any], key: str, default: bool) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"{key} must be true or false, not {value!r}")
    return value


def _positions(args: Mapping[str, Any]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    where = args.get("positions")
    ra = where.get("ra") if isinstance(where, Mapping) else None
    dec = where.get("dec") if isinstance(where, Mapping) else None
    if not isinstance(ra, list) or not isinstance(dec, list):
        raise InputError("positions must be lists of ra and dec in degrees")
    finite = all(_finite(v) for v in (*ra, *dec))
    if len(ra) != len(dec) or not ra or not finite or any(abs(float(d)) > 90 for d in dec):
        raise InputError("positions must be finite, with |dec| <= 90, one dec per ra")
    return tuple(float(v) for v in ra), tuple(float(v) for v in dec)


def _time(value: Any, key: str) -> datetime:
    if not isinstance(value, str):
        raise InputError(f"{key} must be an ISO time, not {value!r}")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{key} {value!r} is not an ISO time") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when


def _times(args: Mapping[str, Any], key: str) -> tuple[datetime, ...]:
    values = args.get(key)
    if not isinstance(values, list):
        raise InputError(f"{key} must be a list of ISO times")
    return tuple(_time(v, key) for v in values)
