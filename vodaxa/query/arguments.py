"""The user's arguments as the filters of :mod:`.filters`: times as aware UTC datetimes, distances as degrees,
positions in a mission's frame.  Each helper refuses a value it cannot read with a message saying what to give.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, TypeAlias

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import FK5, SkyCoord
from astropy.time import Time

from ..errors import AdjustedInputWarning, InputError
from ..specs.registry import TAXONOMY, MissionSpec
from .filters import Positions, PositionsAtTime, RectRegion, TargetType, TimeWindow, freeze_distance

if TYPE_CHECKING:
    from astropy.coordinates import BaseCoordinateFrame

    from ..typing import CoordinatesLike, DistanceLike, TimeLike

    #: One time, or one per position.
    Times: TypeAlias = "TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series"
    #: One box corner.
    Corner: TypeAlias = "SkyCoord | Sequence[float] | np.ndarray"

__all__ = [
    "MAX_SEARCH_DISTANCE", "coords", "degrees", "frame", "obs_ids", "positions", "positions_at_time", "rect_region",
    "target_types", "time_window", "utc", "utc_list",
]  # fmt: skip

MAX_SEARCH_DISTANCE = 180.0  # degrees: a cone this wide is the whole sky, a wider one is a mistake


def utc(value: TimeLike) -> datetime:
    """A datetime, date, ISO string or astropy Time as an aware UTC datetime."""
    if isinstance(value, Time):
        value = value.to_datetime(timezone=timezone.utc)
    elif isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"'{value}' is not an ISO date or time") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    elif isinstance(value, (pd.Timestamp, np.datetime64)):
        value = pd.Timestamp(value).to_pydatetime()
    if not isinstance(value, datetime):
        raise InputError(f"expected a date or time, got {type(value).__name__} {value!r}: give an ISO string "
                         "('2015-06-01'), a datetime or date, or an astropy Time")  # fmt: skip
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utc_list(values: Times, count: int) -> list[datetime]:
    """One UTC time per position (a single time is repeated for every position)."""
    items = [values] if not isinstance(values, (list, tuple, np.ndarray, pd.Series)) else list(values)
    if len(items) == 1 and count > 1:
        items = items * count
    if len(items) != count:
        raise InputError(f"{len(items)} time windows were given for {count} positions")
    return [utc(v) for v in items]


def degrees(distance: DistanceLike | None, name: str = "search_distance") -> Any:
    """Search distances as degrees (floats, lists or instrument dicts) for the history; InputError (naming the
    argument ``name``) for one that is not a number, not positive, not finite, or over 180 degrees."""
    if distance is None:
        return None
    if isinstance(distance, Mapping):
        return {str(k): degrees(v, name) for k, v in distance.items()}
    how = "give degrees (0.1), an astropy Quantity (6 * u.arcmin), a list per position or a dict per instrument"
    items = list(distance) if isinstance(distance, (list, tuple)) else [distance]
    if any(isinstance(d, (bool, np.bool_, str, bytes)) for d in items):  # True is 1 to numpy, "0.5" text: mistakes
        raise InputError(f"{name}={distance!r} is not a number or an angle: {how}")
    try:
        value = np.asarray(distance.to_value(u.deg) if isinstance(distance, u.Quantity) else distance, dtype=float)
    except (TypeError, ValueError):  # astropy's UnitConversionError is a ValueError
        raise InputError(f"{name}={distance!r} is not a number or an angle: {how}") from None
    if np.any(~np.isfinite(value)) or np.any(value <= 0) or np.any(value > MAX_SEARCH_DISTANCE):
        raise InputError(f"{name}={distance!r}: it must be positive, finite and at most {MAX_SEARCH_DISTANCE:g} "
                         "degrees (the whole sky)")  # fmt: skip
    return value.tolist() if value.ndim else float(value)


def frame(spec: MissionSpec) -> BaseCoordinateFrame | str:
    """The frame of the mission's RA and Dec columns (FK5 J2000 or ICRS)."""
    return FK5(equinox="J2000") if spec.frame == "fk5" else "icrs"


def coords(spec: MissionSpec, positions: CoordinatesLike) -> SkyCoord:
    """Positions as a flat SkyCoord in the mission's frame (lists and arrays are degrees in that frame)."""
    if isinstance(positions, SkyCoord):
        found = positions.transform_to(frame(spec))
    else:
        try:
            values = np.asarray(positions, dtype=float)
        except (TypeError, ValueError):
            how = "a SkyCoord or [ra, dec] pairs in degrees"
            raise InputError(f"positions must be {how}, not {positions!r}") from None
        if values.ndim == 1 and values.size == 2:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] != 2 or values.shape[0] == 0:
            raise InputError("positions must be [ra, dec] or [[ra1, dec1], [ra2, dec2], ...] in degrees")
        if np.any(~np.isfinite(values)) or np.any(np.abs(values[:, 1]) > 90):
            raise InputError("positions hold a non-finite value or a Dec outside [-90, 90]")
        found = SkyCoord(values[:, 0] * u.deg, values[:, 1] * u.deg, frame=frame(spec))
    return found.reshape(1) if found.isscalar else found.reshape(-1)


def lon_lat(found: SkyCoord) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(ra, dec) tuples in degrees of a SkyCoord, as positional filters hold them."""
    flat = found.reshape(-1)
    return tuple(float(v) for v in flat.spherical.lon.deg), tuple(float(v) for v in flat.spherical.lat.deg)


def corner(spec: MissionSpec, value: Corner) -> tuple[float, float]:
    """One box corner in degrees; plain numbers are kept as given, so RA 360 stays 360."""
    if isinstance(value, SkyCoord):
        found = coords(spec, value)
        if found.size != 1:
            raise InputError("filter_on_rect_region takes one lower-left and one upper-right coordinate")
        return float(found.spherical.lon.deg[0]), float(found.spherical.lat.deg[0])
    values = np.asarray(value, dtype=float).reshape(-1) if np.ndim(value) else np.array([np.nan])
    if values.size != 2 or not np.all(np.isfinite(values)) or not 0 <= values[0] <= 360 or abs(values[1]) > 90:
        raise InputError(f"a box corner must be [ra, dec] in degrees (0-360, -90-90), not {value!r}")
    return float(values[0]), float(values[1])


def obs_ids(spec: MissionSpec, allowed: str | int | Iterable[str | int]) -> tuple[str, ...]:
    """One ObsID or a list of them (strings or numbers), each checked against the mission's ObsID format."""
    if isinstance(allowed, str | int) and not isinstance(allowed, bool):
        return tuple(spec.check_ids([allowed]))
    if not isinstance(allowed, Iterable) or isinstance(allowed, (bytes, Mapping)):
        raise InputError(f"allowed_obs_ids={allowed!r}: give one ObsID or a list of them (strings or numbers)")
    return tuple(spec.check_ids(allowed))


def rect_region(spec: MissionSpec, lower_left: Corner, upper_right: Corner) -> RectRegion:
    """The box between two corners; RA decreasing by less than 180 degrees is taken as swapped corners (warned)."""
    (ra0, dec0), (ra1, dec1) = corner(spec, lower_left), corner(spec, upper_right)
    if dec0 > dec1:
        raise InputError(f"lower_left Dec ({dec0}) is above upper_right Dec ({dec1})")
    if ra0 > ra1 and ra0 - ra1 < 180.0:
        warnings.warn("RA decreases from lower_left to upper_right; the corners were swapped", AdjustedInputWarning,
                      stacklevel=3)  # fmt: skip
        ra0, ra1 = ra1, ra0
    return RectRegion((ra0, dec0), (ra1, dec1))


def positions(
    spec: MissionSpec, where: CoordinatesLike, distance: DistanceLike | None, names: str | Sequence[str] | None = None,
    parse_name: bool = False,
) -> Positions:  # fmt: skip
    """Positions (a SkyCoord, or degrees in the mission's frame) with their search distance; ``names`` when they
    were resolved from object names."""
    ra, dec = lon_lat(coords(spec, where))
    named = None if names is None else tuple([names] if isinstance(names, str) else names)
    return Positions(ra, dec, freeze_distance(degrees(distance)), named, bool(parse_name))


def positions_at_time(
    spec: MissionSpec, where: CoordinatesLike, starts: Times, ends: Times, distance: DistanceLike | None, over_run: bool
) -> PositionsAtTime:
    """Positions, each with its own time window (one window given is every position's)."""
    near = positions(spec, where, distance)
    first, last = utc_list(starts, len(near.ra)), utc_list(ends, len(near.ra))
    return PositionsAtTime(near.ra, near.dec, tuple(first), tuple(last), near.search_distance, bool(over_run))


def time_window(start: TimeLike, end: TimeLike, over_run: bool) -> TimeWindow:
    """The window between two times (dates, ISO text, datetimes, astropy Times), start first."""
    lo, hi = utc(start), utc(end)
    if lo > hi:
        raise InputError(f"the time window starts ({lo}) after it ends ({hi})")
    return TimeWindow(lo, hi, bool(over_run))


def target_types(target_type: str | Iterable[str]) -> TargetType:
    """One DAXA taxonomy code or a list of them, any case."""
    many = isinstance(target_type, Iterable) and not isinstance(target_type, (str, bytes, Mapping))
    types = [target_type] if isinstance(target_type, str) else list(target_type) if many else []
    if not types or not all(isinstance(t, str) for t in types):
        raise InputError(f"target_type={target_type!r}: give a target type code or a list of them, from "
                         f"{', '.join(TAXONOMY)}")  # fmt: skip
    wanted = tuple(t.upper() for t in types)
    bad = [t for t in wanted if t not in TAXONOMY]
    if bad:
        raise InputError(f"unknown target type(s) {bad}; valid: {', '.join(TAXONOMY)}")
    return TargetType(wanted)
