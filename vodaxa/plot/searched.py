"""What a sky plot draws besides the observations: the positions searched and the distances searched per mission,
read from a search result's ``attrs``, its ``targets`` column or a Mission, or given; and the observations'
coordinates.  Positions off the sky are never drawn: given ones are refused, recorded ones left out with a
warning saying so."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from ..errors import AdjustedInputWarning, InputError

if TYPE_CHECKING:
    import pandas as pd

    from ..query.mission import Mission
    from ..typing import DistanceLike, ObservationSource, PositionsLike

__all__ = ["coordinates", "observation_frame", "radius_by_mission", "sky_positions"]

#: A position as the ``targets`` column labels one searched by coordinates (``vodaxa.search``): "ra,dec" in degrees.
_LABEL = re.compile(r"^\s*(-?\d+(?:\.\d*)?),([+-]?\d+(?:\.\d*)?)\s*$")
_HOW = "give a SkyCoord, object names, or [ra, dec] pairs in degrees (finite, |ra| <= 360, |dec| <= 90)"


def observation_frame(observations: ObservationSource) -> tuple[pd.DataFrame, np.ndarray, dict[str, object]]:
    """The observations as a frame, the positions searched ((n, 2) degrees, RA in [0, 360)) and the distances
    searched per mission (degrees, ``"*"`` for every mission); what ``attrs`` hold that cannot be read is left
    out with an AdjustedInputWarning."""
    import pandas as pd

    from ..query.mission import Mission

    if isinstance(observations, Mission):
        return _from_mission(observations)
    if not isinstance(observations, pd.DataFrame):
        if not (hasattr(observations, "colnames") or hasattr(observations, "to_table")):
            raise InputError(f"sky_plot takes observations (a vodaxa.search result, an observation table as a "
                             f"DataFrame, astropy Table or pyvo result, or a Mission), not "
                             f"{type(observations).__name__}")  # fmt: skip
        from ..tables import from_table

        observations = from_table(observations)
    attrs = observations.attrs
    values = _recorded_positions(attrs.get("positions"))
    if not len(values):  # not recorded (too many, or a table read from a file): the targets column's "ra,dec"
        values = _labelled_positions(observations)
    return observations, values, _recorded_radii(attrs.get("radius"))


def _on_sky(values: np.ndarray) -> np.ndarray:
    """Which [ra, dec] rows are on the sky: finite, |ra| <= 360 and |dec| <= 90."""
    return np.isfinite(values).all(axis=1) & (np.abs(values[:, 0]) <= 360) & (np.abs(values[:, 1]) <= 90)


def _adjusted(what: str, why: str) -> None:
    warnings.warn(f"{what} {why}", AdjustedInputWarning, stacklevel=4)


def _recorded_positions(value: object) -> np.ndarray:
    """``attrs["positions"]`` as (n, 2) degrees; empty, with a warning, when they are not [ra, dec] pairs on the
    sky."""
    empty = np.empty((0, 2))
    if value is None:
        return empty
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    why = (f"= {shown} could not be read as [ra, dec] pairs on the sky (degrees, |ra| <= 360, |dec| <= 90); no "
           "position is drawn from it: give positions= to draw them")  # fmt: skip
    try:
        values = np.asarray(value, dtype=float) if not isinstance(value, (str, bytes)) else None
    except (TypeError, ValueError):
        values = None
    if values is not None and values.size == 0:
        return empty
    if values is not None and values.ndim == 1 and values.size == 2:
        values = values[None, :]
    if values is None or values.ndim != 2 or values.shape[1] != 2 or not _on_sky(values).all():
        _adjusted("attrs['positions']", why)
        return empty
    return np.column_stack([values[:, 0] % 360, values[:, 1]])


def _recorded_radii(value: object) -> dict[str, object]:
    """``attrs["radius"]`` as {mission: degrees, or a list per position, or a dict per instrument}; one number is
    every mission's (``"*"``).  A distance that cannot be read is left out, with a warning."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        try:
            return {"*": _one_radius(value, "attrs['radius']", nested=False)}
        except InputError as err:
            _adjusted("attrs['radius']", f"could not be read ({err}); no circle is drawn: give radius= to draw them")
            return {}
    radii: dict[str, object] = {}
    for name, distance in value.items():
        where = f"attrs['radius'][{str(name)!r}]"
        try:
            radii[str(name)] = _one_radius(distance, where, nested=True)
        except InputError as err:
            _adjusted(where, f"could not be read ({err}); its circles are not drawn: give radius= to draw them")
    return radii


def _one_radius(value: object, where: str, nested: bool) -> object:
    """One recorded distance as degrees: a number, or (``nested``) a list per position or a dict per instrument
    of numbers; InputError otherwise."""
    from ..query.arguments import degrees

    if nested and isinstance(value, Mapping):
        per_instrument = {}
        for instrument, distance in value.items():
            number = degrees(cast("DistanceLike", distance), f"{where}[{str(instrument)!r}]")
            if not isinstance(number, float):
                raise InputError(f"{where}[{str(instrument)!r}]={distance!r}: one distance per instrument")
            per_instrument[str(instrument)] = number
        return per_instrument
    if isinstance(value, Mapping):
        raise InputError(f"{where}={value!r}: a distance, or a {{mission: distance}} dict")
    number = degrees(cast("DistanceLike", value), where)
    if isinstance(number, list) and (not nested or any(not isinstance(v, float) for v in number)):
        raise InputError(f"{where}={value!r}: {'one distance per position' if nested else 'one distance'}")
    return number


def _labelled_positions(frame: pd.DataFrame) -> np.ndarray:
    """The positions named "ra,dec" in the ``targets`` column (those near which something was found)."""
    if "targets" not in frame.columns:
        return np.empty((0, 2))
    found = {}
    for cell in frame["targets"].dropna().astype(str).unique():
        for label in cell.split(";"):
            match = _LABEL.match(label)
            if match and abs(float(match.group(1))) <= 360 and abs(float(match.group(2))) <= 90:
                found[label.strip()] = (float(match.group(1)) % 360, float(match.group(2)))
    return np.asarray(list(found.values()), dtype=float).reshape(-1, 2)


def _from_mission(mission: Mission) -> tuple[pd.DataFrame, np.ndarray, dict[str, object]]:
    """A Mission's selection, the positions its positional filters hold, and its search distance."""
    from ..query.filters import Positions, PositionsAtTime

    pairs: list[tuple[float, float]] = []
    distance: object = None
    for step in mission._history:
        if isinstance(step, (Positions, PositionsAtTime)):
            pairs += list(zip(step.ra, step.dec))
            distance = step.distance
    if pairs and distance is None:  # the mission's default, as the filter used it
        distance = mission.spec.search_radius(mission.chosen_instruments, explicit=mission._explicit)
    values = np.asarray(pairs, dtype=float).reshape(-1, 2)
    values = values[_on_sky(values)]
    return mission.filtered_obs_info, np.column_stack([values[:, 0] % 360, values[:, 1]]), (
        {mission.name: distance} if pairs else {})  # fmt: skip


def sky_positions(positions: PositionsLike) -> np.ndarray:
    """Positions as an (n, 2) array of ICRS degrees, RA in [0, 360); names are resolved with Sesame.  InputError
    for anything off the sky, or an empty name (before any request)."""
    from astropy.coordinates import SkyCoord

    from ..query.names import resolve_names

    names = [positions] if isinstance(positions, str) else positions
    if isinstance(names, Sequence) and len(names) and all(isinstance(p, str) for p in names):
        if any(not str(name).strip() for name in names):
            raise InputError(f"positions={positions!r}: an empty object name; {_HOW}")
        positions = resolve_names(cast("str | Sequence[str]", positions))  # names, as checked above
    if isinstance(positions, SkyCoord):
        flat = positions.icrs.reshape(1) if positions.isscalar else positions.icrs.reshape(-1)
        return np.column_stack([flat.ra.deg % 360, flat.dec.deg])
    try:
        values = np.asarray(positions, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"positions are not positions; {_HOW}") from None
    if values.ndim == 1 and values.size == 2:
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != 2 or not len(values) or not _on_sky(values).all():
        raise InputError(f"positions must be one or more [ra, dec] pairs on the sky; {_HOW}")
    return np.column_stack([values[:, 0] % 360, values[:, 1]])


def radius_by_mission(radius: DistanceLike | Mapping[str, DistanceLike]) -> dict[str, object]:
    """``radius`` as {mission: degrees}; ``"*"`` stands for every mission.  InputError for a distance that is not
    an angle, a list of them (one per position) or a dict of them per instrument."""
    if isinstance(radius, Mapping):
        return {str(k): _one_radius(v, f"radius[{str(k)!r}]", nested=True) for k, v in radius.items()}
    return {"*": _one_radius(radius, "radius", nested=True)}


def coordinates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RA in [0, 360) and Dec in degrees (NaN where unknown or off the sky: not finite, |ra| > 360, |dec| > 90)
    and the mission of every row; InputError for a table with two columns of one of those names."""
    import pandas as pd

    def column(*names: str) -> pd.Series | None:
        for name in names:
            count = int((frame.columns == name).sum())
            if count > 1:
                raise InputError(f"the observations have {count} columns named {name!r}; keep one, e.g. "
                                 "table.loc[:, ~table.columns.duplicated()]")  # fmt: skip
            if count:
                return frame[name]
        return None

    def numbers(values: pd.Series | None) -> np.ndarray:
        if values is None:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, copy=True)

    ra, dec = numbers(column("ra", "s_ra")), numbers(column("dec", "s_dec"))
    off = ~np.isfinite(ra) | ~np.isfinite(dec) | (np.abs(dec) > 90) | (np.abs(ra) > 360)
    ra[off], dec[off] = np.nan, np.nan
    names = column("mission", "obs_collection", "facility_name")
    if names is None:
        missions = np.array(["observations"] * len(frame), dtype=object)
    else:
        missions = names.astype(str).to_numpy(dtype=object, copy=True)
        missions[names.isna().to_numpy()] = "unknown"
    return ra % 360, dec, missions
