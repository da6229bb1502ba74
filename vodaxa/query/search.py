"""``vodaxa.search``: one call, several missions at once, one table back with a ``mission`` column."""

from __future__ import annotations

import logging
import reprlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord

from .. import specs as registry
from ..errors import InputError, NoObservationsError, PartialResultWarning, VodaxaError
from . import scs
from .arguments import degrees, utc
from .conditions import parse_where
from .filters import Compare
from .mission import Mission
from .names import Resolver, resolve_names

if TYPE_CHECKING:
    from datetime import datetime

    from ..typing import CoordinatesLike, DistanceLike, PositionsLike, TimeLike

__all__ = ["RECORDED_POSITIONS", "empty_observations", "search", "with_separations"]

log = logging.getLogger(__name__)

#: What ``where=`` takes: condition text, Compare values, a list of them, or those per mission.
Where = str | Compare | Sequence[str | Compare] | Mapping[str, str | Compare | Sequence[str | Compare]] | None



def search(
    targets: PositionsLike | None,
    missions: str | Sequence[str] | None = None,
    radius: DistanceLike | Mapping[str, DistanceLike] | None = None,
    *,
    instruments: Mapping[str, str | Iterable[str]] | None = None,
    resolver: Resolver | None = None,
    parse_name: bool = False,
    max_workers: int = 8,
    via: str = "tap",
    start: TimeLike | None = None,
    end: TimeLike | None = None,
    where: Where = None,
) -> pd.DataFrame:
    """Search several missions at once for observations near ``targets``, and get one table back.

    Missions run concurrently, each as one server-side query (many positions go up as one TAP upload).  The
    answer's ``attrs`` say which missions found nothing (``"no_observations"``) and which failed and why
    (``"errors"``); both are also warned about, so nothing is hidden.

    Parameters
    ----------
    targets : str, sequence of str, SkyCoord, array_like of float, or None
        Object names (resolved with CDS Sesame, or the ``resolver`` given), a SkyCoord, or ``[ra, dec]`` pairs
        in degrees.  None asks for every observation of each mission (its whole table after the other filters).
    missions : str or sequence of str, optional
        The missions to search, by registry name or short name (``nustar``, ``xmm``); a mission named twice is
        searched once.  None (the default) searches every listed mission.
    radius : float, Quantity, sequence, dict or ndarray, optional
        The search distance: degrees or a Quantity (at most 180 degrees), or a ``{mission: distance}`` dict.
        None (the default) is 1.2 x each mission's field of view.
    instruments : mapping of str to str or iterable of str, optional
        The instruments wanted per mission, e.g. ``{"xmm_pointed": ["PN"]}``; missions not named use their
        default instruments.
    resolver : callable, optional
        Turns an object name into a SkyCoord.  None (the default) asks CDS Sesame at the configured endpoint.
    parse_name : bool, optional
        Read the coordinates of J-names from the name itself before asking the resolver (default False).
    max_workers : int, optional
        How many missions are asked at once (default 8).
    via : {"tap", "scs"}, optional
        ``"tap"`` (the default) asks each mission's TAP service.  ``"scs"`` asks each mission's Simple Cone
        Search service instead (one cone per position, concurrently); the cuts, instrument conditions and
        per-instrument radii TAP applies on the server are then applied to the cone answers with the same
        semantics (see :mod:`vodaxa.query.scs`), so the table is the same.  Only missions with a cone search can
        be asked this way (with ``missions=None``, those are the ones searched).
    start, end : TimeLike, optional
        Keep observations that overlap the window between them (dates, ISO text, datetimes or astropy Times;
        either may be left out): on the server through TAP (``filter_on_time``), on the cone answers through
        SCS.
    where : str, Compare, sequence of them, or dict, optional
        Keep observations meeting conditions on the columns of each mission's table: text such as
        ``"exposure > 10000"`` (comparisons joined by AND), a :class:`~vodaxa.query.filters.Compare`, a list of
        them, or a ``{mission: conditions}`` dict where the missions' columns differ.  They run on the server
        (``Mission.filter_on_column``), or on the cone answers through SCS.

    Returns
    -------
    pandas.DataFrame
        The normalised observation table of every mission, with a ``mission`` column, a ``targets`` column
        saying which targets (names, or "ra,dec") each observation lies near, ";"-joined, ``separation``
        (degrees from the nearest position searched) and ``in_fov`` (the chosen instruments whose field holds
        that position).  ``attrs["no_observations"]`` lists the missions that found nothing,
        ``attrs["errors"]`` the missions that failed with the reason, and ``attrs["radius"]`` the distance
        searched per mission (degrees; per instrument where that varies).

    Raises
    ------
    vodaxa.errors.InputError
        Before any search runs: if ``via`` is not ``"tap"`` or ``"scs"``, ``missions`` is empty, a mission has
        no cone search for ``via="scs"`` (or ``targets`` is None with it), ``radius`` is not a positive angle of
        at most 180 degrees, the time window starts after it ends, ``where`` cannot be read or names a column
        some mission's table lacks (naming the missions and their close column names), or ``targets`` are not
        on the sky.
    vodaxa.errors.UnknownMissionError
        If a mission name is not known (the message lists the known ones).
    vodaxa.errors.NameResolutionError
        If a target name cannot be resolved.

    Warns
    -----
    vodaxa.errors.PartialResultWarning
        When some missions found nothing, or failed (the table holds the others' observations).

    See Also
    --------
    vodaxa.Mission : One mission, with DAXA's cumulative filters.
    vodaxa.resolve : The files of the observations found.

    Examples
    --------
    >>> import vodaxa
    >>> table = vodaxa.search(["3C 105"], missions=["nustar_pointed", "chandra"])
    >>> table.groupby("mission").size().to_dict()
    {'chandra': 6, 'nustar_pointed': 1}
    >>> table.attrs["radius"]
    {'nustar_pointed': 0.13, 'chandra': {'ACIS': 0.556, 'HRC': 0.99}}
    >>> table.loc[0, ["mission", "obs_id", "targets", "in_fov"]].tolist()
    ['nustar_pointed', '40765085200', '3C 105', 'FPMA;FPMB']

    Conditions on the missions' columns, and every observation of a mission (no targets):

    >>> long = vodaxa.search(None, missions=["chandra"], where="exposure > 10000")
    >>> bool((long["exposure"] > 10000).all())
    True
    """
    if via not in ("tap", "scs"):
        raise InputError(f"via must be 'tap' or 'scs', not {via!r}")
    names = registry.names() if missions is None else ([missions] if isinstance(missions, str) else list(missions))
    if not names:
        raise InputError("missions is empty: name at least one (vodaxa.missions() lists them), or leave it out for all")
    # unknown names fail before any query, with the list of known ones; short names (nustar, xmm) become the
    # registry's, and a mission named twice is searched once
    names = list(dict.fromkeys(registry.get(name).name for name in names))
    if via == "scs":
        if missions is None:
            names = [n for n in names if registry.get(n).scs is not None]
        without = [n for n in names if registry.get(n).scs is None]
        if without:
            able = ", ".join(s.name for s in registry.specs() if s.scs is not None)
            raise InputError(f"{', '.join(without)}: no cone search service; use via='tap' (cone search: {able})")
    if targets is None and via == "scs":
        raise InputError("a cone search needs targets: give names or positions, or use via='tap' for whole tables")
    for name in names:  # a radius no mission could use fails once, here, not as a warning per mission
        degrees(radius.get(name) if isinstance(radius, Mapping) else radius, "radius")
    window = None
    if start is not None or end is not None:
        window = (utc(start if start is not None else EARLIEST), utc(end if end is not None else LATEST))
        if window[0] > window[1]:
            raise InputError(f"the time window starts ({window[0]}) after it ends ({window[1]})")
    conditions = _conditions(names, where)  # read before any name is resolved: bad text asks nothing
    if isinstance(targets, Iterator):  # a generator of names or pairs is read once, here, not used up by a check
        targets = list(targets)
    positions = None if targets is None else _positions(targets, resolver, parse_name)
    if targets is not None:
        _check_on_the_sky(targets, positions)
    labels = [] if targets is None else _labels(targets, positions)
    frames, empty, errors = [], [], {}
    made: dict[str, Mission] = {}

    def mission_of(name: str) -> Mission:  # one per name, made in the thread that first needs it
        if name not in made:
            made[name] = Mission(name, (instruments or {}).get(name), resolver=resolver)
        return made[name]

    def one(name: str) -> tuple[pd.DataFrame, Mission]:
        mission = mission_of(name)
        distance = radius.get(name) if isinstance(radius, Mapping) else radius
        if targets is None:  # the whole table, after the time window and the column conditions
            radii[name] = None
            if window is not None:
                mission.filter_on_time(*window)
            for condition in conditions[name]:
                mission.filter_on_column(condition.column, condition.op, condition.value)
            return mission.filtered_obs_info.copy(), mission
        radii[name] = _radius_used(mission, distance)
        if via == "scs":
            found = _by_cones(mission, positions, distance, labels, conditions[name])
            if window is not None:
                found = found[_overlapping(found, *window)]
                if found.empty:
                    raise NoObservationsError(f"{name}: no observation overlaps {window[0]} to {window[1]}")
            return found, mission
        pairs = mission.filter_on_positions(positions, search_distance=distance, return_pos_obs_info=True)
        assert pairs is not None  # asked for with return_pos_obs_info
        if window is not None:
            mission.filter_on_time(*window)  # on the server, as every filter
        for condition in conditions[name]:
            mission.filter_on_column(condition.column, condition.op, condition.value)
        found = mission.filtered_obs_info.copy()
        near: dict[str, list[str]] = {}
        for index, ids in zip(pairs["pos_ind"], pairs["obs_ids"], strict=True):
            for obs in str(ids).split(","):
                near.setdefault(obs, []).append(labels[int(index)])
        found.insert(2, "targets", [";".join(near.get(o, [])) for o in found["obs_id"]])
        return found, mission

    radii: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(names)))) as pool:
        if any(conditions.values()):  # every mission's columns checked before any search runs
            checked = {n: pool.submit(_checked, mission_of, n, c) for n, c in conditions.items() if c}
            _refuse_unknown_columns({n: f.result() for n, f in checked.items()})
        futures = {name: pool.submit(one, name) for name in names}
        for name, future in futures.items():
            try:
                found, mission = future.result()
                frames.append(with_separations(found, mission, positions))  # here: astropy off the pool
            except NoObservationsError:
                empty.append(name)
            except VodaxaError as err:
                errors[name] = str(err)
            except (KeyError, ValueError, TypeError) as err:  # an answer in a shape vodaxa cannot read: this
                errors[name] = f"the archive's answer could not be read ({type(err).__name__}: {err})"  # mission only
    if empty:
        warnings.warn(f"no observations found by: {', '.join(empty)}", PartialResultWarning, stacklevel=2)
    if errors:
        failed = "; ".join(f"{k}: {v}" for k, v in errors.items())
        warnings.warn(f"missions that failed: {failed}", PartialResultWarning, stacklevel=2)
    result = pd.concat(frames, ignore_index=True, sort=False) if frames else empty_observations()
    result.attrs["no_observations"] = empty
    result.attrs["errors"] = errors
    result.attrs["radius"] = radii  # degrees searched per mission (per instrument where that varies)
    result.attrs["positions"] = None if positions is None else _searched(positions)  # what vodaxa.plot.sky_plot draws
    return result


#: Most positions a result's ``attrs["positions"]`` lists: pandas deep-copies ``attrs`` at every operation on the
#: table, so a long list would slow each one down (about 1 us a position); beyond it, None.
RECORDED_POSITIONS = 100


def _searched(positions: Any) -> list[list[float]] | None:
    """The positions searched as ``[ra, dec]`` pairs in degrees (ICRS for a SkyCoord), plain lists for ``attrs``;
    None for more than RECORDED_POSITIONS of them."""
    if isinstance(positions, SkyCoord):
        flat = positions.icrs.reshape(1) if positions.isscalar else positions.icrs.reshape(-1)
        values = np.column_stack([flat.ra.deg, flat.dec.deg])
    else:
        values = np.atleast_2d(np.asarray(positions, dtype=float))
    return np.round(values, 7).tolist() if len(values) <= RECORDED_POSITIONS else None


def _conditions(names: Sequence[str], where: Where) -> dict[str, list[Compare]]:
    """The column conditions of each mission, read from ``where`` (InputError for text that is not a condition)."""

    def read(value: Any) -> list[Compare]:
        if value is None:
            return []
        items = [value] if isinstance(value, (str, Compare)) else list(value)
        return [c for item in items for c in parse_where(item)]

    if isinstance(where, Mapping):
        canonical = {}
        for key in where:  # short names (nustar) as the registry's (nustar_pointed), like the missions searched
            try:
                canonical[key] = registry.get(str(key)).name
            except VodaxaError:
                canonical[key] = key
        unknown = [k for k, n in canonical.items() if n not in names]
        if unknown:
            raise InputError(f"where names missions not searched: {', '.join(map(str, unknown))} (searched: "
                             f"{', '.join(names)})")  # fmt: skip
        by_name = {canonical[k]: v for k, v in where.items()}
        return {n: read(by_name.get(n)) for n in names}
    if where is not None and not isinstance(where, (str, Compare, Sequence)):
        raise InputError(f"where={where!r}: give condition text such as \"exposure > 10000\", a list of them, or a "
                         "{mission: conditions} dict")  # fmt: skip
    shared = read(where)
    return {n: list(shared) for n in names}


def _checked(mission_of: Callable[[str], Mission], name: str, conditions: list[Compare]) -> str | None:
    """Why mission ``name`` cannot take ``conditions`` (a column its table lacks, a value of the wrong kind), or None
    (a mission that cannot even be made fails later, in its own search, as before)."""
    try:
        mission = mission_of(name)
    except VodaxaError:
        return None
    try:
        for condition in conditions:
            mission.checked(condition)
    except InputError as err:
        return str(err)
    return None


def _refuse_unknown_columns(problems: Mapping[str, str | None]) -> None:
    """InputError listing every mission whose table cannot take the conditions (each message names its mission)."""
    found = [p for p in problems.values() if p]
    if found:
        raise InputError("where: " + "; ".join(found) + " (give per-mission conditions as where={mission: ...}; "
                         "on the command line, search those missions separately, each with its own --where)")


#: The ends of a time window left open.
EARLIEST, LATEST = "1960-01-01", "2100-01-01"


def _overlapping(found: pd.DataFrame, lo: datetime, hi: datetime) -> np.ndarray:
    """Rows whose [start, end] overlaps [lo, hi] (a row without times is kept only when the window is open)."""
    starts = pd.to_datetime(found["start"], utc=True, errors="coerce")
    ends = pd.to_datetime(found["end"], utc=True, errors="coerce").fillna(starts)
    return ((starts <= pd.Timestamp(hi)) & (ends >= pd.Timestamp(lo))).fillna(False).to_numpy(dtype=bool)


def _radius_used(mission: Mission, distance: DistanceLike | None) -> float | list[float] | dict[str, float] | None:
    """The search distance ``mission`` used, in degrees (its default when none was given; a list when one was given
    per position)."""
    if distance is None:
        default = mission.spec.search_radius(mission.chosen_instruments, explicit=mission._explicit)
        return {k: round(float(v), 6) for k, v in default.items()} if isinstance(default, dict) else round(default, 6)
    return degrees(distance, "radius")


def empty_observations() -> pd.DataFrame:
    """An observation table without rows, as :func:`search` gives when nothing is found.

    Returns
    -------
    pandas.DataFrame
        No rows; the normalised observation columns and those a search adds (``targets``, ``separation``,
        ``in_fov``).
    """
    return pd.DataFrame(columns=[*registry.OBS_COLUMNS, "targets", "separation", "in_fov"])


def with_separations(found: pd.DataFrame, mission: Mission, positions: CoordinatesLike | None) -> pd.DataFrame:
    """Add to each observation its distance from the positions searched and the instruments that saw them.

    A wide field (Swift's BAT, 50 degrees) finds observations whose narrow instruments never saw the target;
    ``in_fov`` tells them apart.

    Parameters
    ----------
    found : pandas.DataFrame
        Observations of ``mission`` (its normalised table, as a search finds them).
    mission : Mission
        The mission searched (its frame, chosen instruments and answering source's fields of view are used).
    positions : SkyCoord, array_like of float, or None
        The positions searched (``[ra, dec]`` in degrees in the mission's frame), or None for a whole table.

    Returns
    -------
    pandas.DataFrame
        A copy of ``found`` with ``separation`` (degrees from the nearest position searched) and ``in_fov``
        (the chosen instruments that took data in the observation and whose field contains that position,
        ";"-joined) after ``targets`` (or last).  Without ``positions``, when ``found`` is empty or already has
        ``separation``, ``found`` itself.
    """
    from astropy import units as u

    if found.empty or positions is None or "separation" in found.columns:
        return found
    targets = mission._coords(positions).reshape(-1)  # the mission's frame, as its table's ra and dec
    def degrees(column: str) -> np.ndarray:
        if column not in found:
            return np.full(len(found), np.nan)
        return pd.to_numeric(found[column], errors="coerce").to_numpy(dtype=float)

    ra, dec = degrees("ra"), degrees("dec")
    usable = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)  # a row a server got wrong: no separation
    separation = np.full(len(found), np.nan)
    if usable.any():
        pointing = SkyCoord(ra[usable] * u.deg, dec[usable] * u.deg, frame=mission._frame())
        nearest = np.full(int(usable.sum()), np.inf)
        for target in targets:  # a running minimum: memory grows with the rows, not rows x positions
            np.minimum(nearest, pointing.separation(target).deg, out=nearest)
        separation[usable] = nearest
    spec, chosen = registry.get(mission.answered_by), mission.chosen_instruments  # the rows' own source
    fov = spec.fov if isinstance(spec.fov, Mapping) else {i: float(spec.fov) for i in chosen}
    columns = spec.exposure_columns

    def observed(row: pd.Series, instrument: str) -> bool:
        if spec.instrument_column:  # one instrument per row
            return str(row.get("instrument")) == instrument
        column = columns.get(instrument)
        if column is None or column not in row:
            return True  # nothing says it did not
        value = pd.to_numeric(row[column], errors="coerce")
        return bool(value > 0) if value == value else False

    inside = []
    for (_, row), sep in zip(found.iterrows(), separation, strict=True):
        names = [i for i in chosen if i in fov and observed(row, i) and sep <= float(fov[i])]
        inside.append(";".join(names))
    out = found.copy()
    at = list(out.columns).index("targets") + 1 if "targets" in out.columns else len(out.columns)
    out.insert(at, "separation", np.round(separation, 6))
    out.insert(at + 1, "in_fov", inside)
    return out


def _by_cones(
    mission: Mission, positions: CoordinatesLike, distance: DistanceLike | None, labels: list[str],
    conditions: Sequence[Compare] = (),
) -> pd.DataFrame:  # fmt: skip
    """One mission's observations near ``positions`` through its cone search, as ``one`` gives through TAP."""
    table = mission.position_table(positions, distance)
    where = [mission.checked(c) for c in conditions]
    found, pairs = scs.search_cones(mission.spec, table, mission.chosen_instruments, now=mission.now, where=where)
    if found.empty:
        raise NoObservationsError(f"{mission.name}: the cone search found no observations")
    near: dict[str, list[str]] = {}
    for index, obs in zip(pairs["_vx_pos"], pairs["obs_id"]):
        near.setdefault(str(obs), []).append(labels[int(index)])
    found.insert(2, "targets", [";".join(near.get(o, [])) for o in found["obs_id"]])
    return found


def _positions(targets: PositionsLike, resolver: Resolver | None, parse_name: bool) -> CoordinatesLike:
    if isinstance(targets, str):
        return resolve_names(targets, resolver=resolver, parse_name=parse_name)
    if isinstance(targets, Iterable) and not isinstance(targets, SkyCoord) and _all_strings(targets):
        return resolve_names([str(t) for t in targets], resolver=resolver, parse_name=parse_name)
    return targets  # not names, so coordinates (checked by _check_on_the_sky)


def _check_on_the_sky(targets: PositionsLike, positions: CoordinatesLike | None) -> None:
    """InputError unless ``positions`` are at least one point on the sky (checked once: every mission would fail)."""
    how = "give object names, a SkyCoord, or [ra, dec] pairs in degrees (finite, |dec| <= 90)"
    if isinstance(positions, SkyCoord):
        flat = positions.reshape(1) if positions.isscalar else positions.reshape(-1)
        positions = np.column_stack([flat.spherical.lon.deg, flat.spherical.lat.deg])
    try:
        values = np.asarray(positions, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"targets={reprlib.repr(targets)} are not positions; {how}") from None
    if values.ndim == 1 and values.size == 2:
        values = values[None, :]
    if values.ndim != 2 or values.shape[1] != 2 or not len(values):
        raise InputError(f"targets={reprlib.repr(targets)} are not one or more [ra, dec] pairs; {how}")
    off = ~np.isfinite(values).all(axis=1) | (np.abs(values[:, 1]) > 90)
    if off.any():
        n = int(np.argmax(off))
        raise InputError(f"targets: position {n}, [{values[n, 0]}, {values[n, 1]}], is not on the sky; {how}")


def _labels(targets: PositionsLike, positions: CoordinatesLike | None) -> list[str]:
    """A label per position: the name it was resolved from, else "ra,dec" in degrees."""
    if isinstance(targets, str):
        return [targets]
    if isinstance(targets, Iterable) and not isinstance(targets, SkyCoord) and _all_strings(targets):
        return [str(t) for t in targets]
    coords = positions if isinstance(positions, SkyCoord) else None
    if coords is None:
        values = np.atleast_2d(np.asarray(positions, dtype=float))
        return [f"{ra:.4f},{dec:+.4f}" for ra, dec in values]
    icrs = coords.icrs.reshape(-1) if not coords.isscalar else coords.icrs.reshape(1)
    return [f"{c.ra.deg:.4f},{c.dec.deg:+.4f}" for c in icrs]


def _all_strings(items: Iterable) -> bool:
    try:
        values = list(items)
    except TypeError:
        return False
    return bool(values) and all(isinstance(v, str) for v in values)
