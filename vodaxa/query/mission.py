"""Mission: a spec plus a cumulative filter history, evaluated as one ADQL query on the archive's server.

The normalised observation table has the columns ``mission, obs_id, ra, dec, start, end, duration,
science_usable, proprietary_end, proprietary_usable, instrument, target_category`` followed by the
mission's own columns; times are UTC timestamps and durations timedeltas.  Filters follow DAXA's
semantics and record themselves in :attr:`Mission.filtering_operations`; each call re-evaluates the
whole history (many positions go up as one TAP upload joined on the server) and a filter that would
leave nothing raises :class:`~vodaxa.errors.NoObservationsError` and leaves the selection as it was.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import FK5, SkyCoord
from astropy.table import Table
from astropy.time import Time

from .. import specs as registry
from ..config import endpoints
from ..errors import InputError, NoObservationsError, QueryError, ServiceError, VodaxaError
from ..net.policy import is_loopback
from ..specs.registry import TAXONOMY, MissionSpec, clean_text
from . import adql
from .cache import default_cache
from .names import Resolver, resolve_names
from .tap import TapRunner

__all__ = ["MAX_SEARCH_DISTANCE", "STATE_VERSION", "Mission"]

log = logging.getLogger(__name__)
STATE_VERSION = 1
MAX_SEARCH_DISTANCE = 180.0  # degrees: a cone this wide is the whole sky, a wider one is a mistake
_IN_LIST_LIMIT = 1000  # more ObsIDs than this go up as a table


@dataclass(frozen=True)
class _Compiled:
    """One evaluation: the query text and the tables to upload with it."""

    adql: str
    uploads: dict[str, Table]
    pairs_adql: str | None = None  # (position index, ObsID) pairs of the joined positional filter


class Mission:
    """Observations of one mission, narrowed by DAXA-style cumulative filters run on the server."""

    def __init__(
        self,
        name: str | MissionSpec,
        insts: str | Iterable[str] | None = None,
        *,
        source: str | None = None,
        runner: TapRunner | None = None,
        resolver: Resolver | None = None,
        now: datetime | None = None,
    ) -> None:
        spec = name if isinstance(name, MissionSpec) else registry.get(name)
        if source is not None:
            if source not in spec.alternatives:
                known = ", ".join([spec.archive, *spec.alternatives]) or spec.archive
                if source != spec.archive:
                    raise VodaxaError(f"{spec.name} has no source '{source}'; sources: {known}")
            else:
                spec = registry.get(spec.alternatives[source])
        self.spec = spec
        self._explicit_runner = runner
        self._runner = runner
        self.resolver = resolver
        self.now = now
        self._chosen = spec.canonical_instruments(insts)
        self._explicit = insts is not None  # instruments chosen by name: a wide field is then searched too
        self._history: list[dict[str, Any]] = []
        self._selection: pd.DataFrame | None = None
        self._all: pd.DataFrame | None = None

    # ------------------------------------------------------------------------------ basics
    @property
    def name(self) -> str:
        """The registry name (DAXA's internal name)."""
        return self.spec.name

    @property
    def pretty_name(self) -> str:
        """The human name."""
        return self.spec.pretty_name

    @property
    def chosen_instruments(self) -> tuple[str, ...]:
        """Instruments whose data are wanted; changing them re-evaluates the selection."""
        return self._chosen

    @chosen_instruments.setter
    def chosen_instruments(self, insts: str | Iterable[str]) -> None:
        self._chosen = self.spec.canonical_instruments(insts)
        self._explicit = True
        self._selection = None

    @property
    def filtering_operations(self) -> list[dict[str, Any]]:
        """The filter history, ``[{"name": method, "arguments": {...}}]``, JSON-ready."""
        return [json.loads(json.dumps(op, default=str)) for op in self._history]

    def __repr__(self) -> str:
        return f"<Mission {self.name}: {len(self._history)} filters, instruments {', '.join(self._chosen)}>"

    @property
    def runner(self) -> TapRunner:
        """Where queries go (the archive's TAP service from vodaxa's endpoints, unless given)."""
        if self._explicit_runner is not None:
            return self._explicit_runner
        from .. import auth

        url = endpoints.get(self.spec.archive, self.spec.service)
        if self._runner is None or self._runner.url != url:
            # a service on this machine (the sandbox, a test server) is quick to ask and may be another one on
            # the same port tomorrow: its answers are not cached on disk, where they would outlive it
            local = is_loopback(urlsplit(url).hostname)
            self._runner = TapRunner(url, session=auth.session(), cache=None if local else default_cache())
        return self._runner

    # ------------------------------------------------------------------------------ tables
    @property
    def all_obs_info(self) -> pd.DataFrame:
        """Every observation that passes the mission's row cuts (fetched when first asked, then kept)."""
        if self.spec.loader is not None:
            self._local_table()
        if self._all is None:
            frame, _ = self._fetch(
                lambda: _Compiled(adql.Query(self.spec.table, self._select(), where=[*self.spec.cuts]).adql(), {})
            )
            self._all = frame
        return self._all

    @property
    def filtered_obs_info(self) -> pd.DataFrame:
        """The observations the current filters and instruments select (science-usable ones)."""
        if self._selection is None:
            self._selection = self._evaluate(self._history)[0]
        return self._selection

    @property
    def filtered_obs_ids(self) -> list[str]:
        """ObsIDs of :attr:`filtered_obs_info`."""
        return list(self.filtered_obs_info["obs_id"])

    def reset_filter(self) -> None:
        """Forget every filter (instruments stay chosen)."""
        self._history.clear()
        self._selection = None

    # ------------------------------------------------------------------------------ filters
    def filter_on_obs_ids(self, allowed_obs_ids: str | Iterable[str], invert: bool = False) -> None:
        """Keep (or with ``invert`` drop) the given ObsIDs; each must match the mission's ObsID regex."""
        single = isinstance(allowed_obs_ids, str | int) and not isinstance(allowed_obs_ids, bool)
        if not single and (not isinstance(allowed_obs_ids, Iterable) or isinstance(allowed_obs_ids, (bytes, Mapping))):
            raise InputError(
                f"allowed_obs_ids={allowed_obs_ids!r}: give one ObsID or a list of them (strings or numbers)"
            )
        ids = self.spec.check_ids([allowed_obs_ids] if single else allowed_obs_ids)
        try:
            self._apply("filter_on_obs_ids", {"allowed_obs_ids": ids, "invert": bool(invert)})
        except NoObservationsError:
            if invert:
                raise
            shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            where = "in the selection left by the earlier filters" if self._history else "known to the archive"
            plural = "s" if len(ids) > 1 else ""
            raise NoObservationsError(
                f"{self.name}: filter_on_obs_ids: no observation {where} has the ObsID{plural} {shown} (or the "
                "mission's cuts and instrument choice remove them); check the IDs, e.g. with 'vodaxa search' or "
                f"vodaxa.mission('{self.name}').all_obs_info; the selection is unchanged"
            ) from None
        first = len(self._history) == 1  # after other filters, an absent ObsID may simply have been filtered out
        missing = sorted(set(ids) - set(self.filtered_obs_ids)) if first and not invert else []
        if missing:
            shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            warnings.warn(
                f"{self.name}: {len(missing)} of the {len(set(ids))} ObsIDs asked for are not in the selection "
                f"(unknown to the archive, or removed by the mission's cuts or instrument choice): {shown}",
                stacklevel=2,
            )

    def filter_on_rect_region(self, lower_left: Any, upper_right: Any) -> None:
        """Keep observations whose centre lies in an RA/Dec rectangle (wrapping through RA 0 if needed)."""
        (ra0, dec0), (ra1, dec1) = self._corner(lower_left), self._corner(upper_right)
        if dec0 > dec1:
            raise VodaxaError(f"lower_left Dec ({dec0}) is above upper_right Dec ({dec1})")
        if ra0 > ra1 and ra0 - ra1 < 180.0:
            warnings.warn("RA decreases from lower_left to upper_right; the corners were swapped", stacklevel=2)
            ra0, ra1 = ra1, ra0
        self._apply("filter_on_rect_region", {"lower_left": [ra0, dec0], "upper_right": [ra1, dec1]})

    def _corner(self, value: Any) -> tuple[float, float]:
        """One box corner in degrees; plain numbers are kept as given, so RA 360 stays 360."""
        if isinstance(value, SkyCoord):
            coords = self._coords(value)
            if coords.size != 1:
                raise VodaxaError("filter_on_rect_region takes one lower-left and one upper-right coordinate")
            return float(coords.spherical.lon.deg[0]), float(coords.spherical.lat.deg[0])
        values = np.asarray(value, dtype=float).reshape(-1) if np.ndim(value) else np.array([np.nan])
        if values.size != 2 or not np.all(np.isfinite(values)) or not 0 <= values[0] <= 360 or abs(values[1]) > 90:
            raise VodaxaError(f"a box corner must be [ra, dec] in degrees (0-360, -90-90), not {value!r}")
        return float(values[0]), float(values[1])

    def filter_on_positions(
        self, positions: Any, search_distance: Any = None, return_pos_obs_info: bool = False
    ) -> pd.DataFrame | None:
        """Keep observations centred within ``search_distance`` of any position (default 1.2 x FoV)."""
        coords = self._coords(positions)
        args = {"positions": _coords_json(coords), "search_distance": _distance_json(search_distance)}
        return self._apply("filter_on_positions", args, want_pairs=return_pos_obs_info)

    def filter_on_name(
        self, object_name: str | Sequence[str], search_distance: Any = None, parse_name: bool = False
    ) -> pd.DataFrame | None:
        """Resolve names (Sesame, or J-names with ``parse_name``) and filter on those positions."""
        coords = resolve_names(object_name, resolver=self.resolver, parse_name=parse_name)
        names = [object_name] if isinstance(object_name, str) else list(object_name)
        args = {
            "object_name": names,
            "search_distance": _distance_json(search_distance),
            "parse_name": bool(parse_name),
            "positions": _coords_json(coords.transform_to(self._frame())),
        }
        return self._apply("filter_on_name", args)

    def filter_on_time(self, start_datetime: Any, end_datetime: Any, over_run: bool = True) -> None:
        """Keep observations overlapping the window (``over_run``), or wholly inside it."""
        lo, hi = _utc(start_datetime), _utc(end_datetime)
        if lo > hi:
            raise VodaxaError(f"the time window starts ({lo}) after it ends ({hi})")
        self._apply(
            "filter_on_time",
            {"start_datetime": lo.isoformat(), "end_datetime": hi.isoformat(), "over_run": bool(over_run)},
        )

    def filter_on_target_type(self, target_type: str | Iterable[str]) -> None:
        """Keep observations whose target category is one of DAXA's taxonomy codes given."""
        many = isinstance(target_type, Iterable) and not isinstance(target_type, (str, bytes, Mapping))
        types = [target_type] if isinstance(target_type, str) else list(target_type) if many else []
        if not types or not all(isinstance(t, str) for t in types):
            raise InputError(f"target_type={target_type!r}: give a target type code or a list of them, from "
                             f"{', '.join(TAXONOMY)}")  # fmt: skip
        wanted = [t.upper() for t in types]
        bad = [t for t in wanted if t not in TAXONOMY]
        if bad:
            raise VodaxaError(f"unknown target type(s) {bad}; valid: {', '.join(TAXONOMY)}")
        self._apply("filter_on_target_type", {"target_type": wanted})

    def filter_on_positions_at_time(
        self,
        positions: Any,
        start_datetimes: Any,
        end_datetimes: Any,
        search_distance: Any = None,
        return_obs_info: bool = False,
        over_run: bool = True,
    ) -> pd.DataFrame | None:
        """Keep observations near each position and within that position's own time window."""
        coords = self._coords(positions)
        starts, ends = _utc_list(start_datetimes, coords.size), _utc_list(end_datetimes, coords.size)
        args = {
            "positions": _coords_json(coords),
            "start_datetimes": [s.isoformat() for s in starts],
            "end_datetimes": [e.isoformat() for e in ends],
            "search_distance": _distance_json(search_distance),
            "over_run": bool(over_run),
        }
        return self._apply("filter_on_positions_at_time", args, want_pairs=return_obs_info)

    def position_table(self, positions: Any, search_distance: Any = None) -> Table:
        """What a positional filter matches: ``vx_pos, vx_ra, vx_dec, vx_radius`` (degrees, the mission's frame),
        plus ``vx_value`` per instrument value when radii differ by instrument; the cone search uses it too."""
        coords = self._coords(positions)
        args = {"positions": _coords_json(coords), "search_distance": _distance_json(search_distance)}
        return self._position_table(args)

    # ------------------------------------------------------------------------------ evaluation
    def _apply(self, name: str, arguments: dict[str, Any], *, want_pairs: bool = False) -> pd.DataFrame | None:
        op = {"name": name, "arguments": arguments}
        selection, pairs = self._evaluate([*self._history, op], pairs_for=op if want_pairs else None)
        if selection.empty:
            raise NoObservationsError(
                f"{self.name}: {name} would leave no observations; the selection is unchanged "
                f"({len(self._history)} earlier filters)"
            )
        self._history.append(op)
        self._selection = selection
        return pairs if want_pairs else None

    def _evaluate(
        self, history: Sequence[dict[str, Any]], pairs_for: dict[str, Any] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        if self.spec.loader is not None:
            return self._evaluate_local(history, pairs_for)
        frame, compiled = self._fetch(lambda: self._compile(history, pairs_for))
        frame = frame[frame["science_usable"]]
        for op in history:
            if op["name"] == "filter_on_target_type":
                frame = frame[frame["target_category"].isin(op["arguments"]["target_type"])]
            elif op["name"] == "filter_on_time" and not self.spec.end_in_adql:
                frame = _in_window(frame, op["arguments"])
        frame = frame.drop_duplicates("obs_id").reset_index(drop=True)
        pairs = None
        if compiled.pairs_adql is not None:
            raw = _to_frame(self.runner.run(compiled.pairs_adql, uploads=compiled.uploads))
            found = pd.DataFrame({"_vx_pos": raw["vx_pos"], "obs_id": raw[self.spec.id_column].map(clean_text)})
            pairs = _pairs_table(found[found["obs_id"].isin(frame["obs_id"])], compiled.uploads["vx_positions"])
        return frame, pairs

    def _local_table(self) -> pd.DataFrame:
        """The normalised whole table of a mission without TAP, after its cuts and instrument choice."""
        assert self.spec.loader is not None
        if self._all is None:
            raw = self.spec.loader()
            frame = self.spec.normalise(raw, now=self.now)
            if self.spec.local_mask is not None:
                frame = frame[self.spec.local_mask(raw.reset_index(drop=True), ())].reset_index(drop=True)
            self._all = frame
        frame = self._all
        if self.spec.local_mask is not None:
            frame = frame[self.spec.local_mask(frame, self._chosen).to_numpy()]
        return frame

    def _evaluate_local(
        self, history: Sequence[dict[str, Any]], pairs_for: dict[str, Any] | None
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The same filters, applied in pandas to a table fetched whole (eROSITA has no TAP service)."""
        frame = self._local_table()
        frame = frame[frame["science_usable"]]
        pairs = None
        for op in history:
            name, args = op["name"], op["arguments"]
            if name == "filter_on_obs_ids":
                hit = frame["obs_id"].isin([str(i) for i in args["allowed_obs_ids"]])
                frame = frame[~hit if args["invert"] else hit]
            elif name == "filter_on_rect_region":
                (ra0, dec0), (ra1, dec1) = args["lower_left"], args["upper_right"]
                in_ra = (
                    (frame["ra"] >= ra0) & (frame["ra"] <= ra1)
                    if ra0 <= ra1
                    else ((frame["ra"] >= ra0) | (frame["ra"] <= ra1))
                )
                frame = frame[in_ra & frame["dec"].between(dec0, dec1)]
            elif name == "filter_on_time":
                if frame["start"].isna().all():
                    raise VodaxaError(
                        f"{self.name}: the archive publishes no observation times (they are only in the "
                        "event-list headers), so this mission cannot be filtered on time"
                    )
                frame = _in_window(frame, args)
            elif name == "filter_on_target_type":
                frame = frame[frame["target_category"].isin(args["target_type"])]
            elif name in _POSITIONAL:
                found = self._local_matches(frame, args)
                frame = frame[frame["obs_id"].isin(found["obs_id"])]
                if op is pairs_for:
                    pairs = _pairs_table(found[found["obs_id"].isin(frame["obs_id"])], self._position_table(args))
        return frame.drop_duplicates("obs_id").reset_index(drop=True), pairs

    def _local_matches(self, frame: pd.DataFrame, args: Mapping[str, Any]) -> pd.DataFrame:
        """(position index, ObsID) pairs within each position's radius (and time window, if any)."""
        positions = self._position_table(args)
        if frame.empty:
            return pd.DataFrame({"_vx_pos": [], "obs_id": []})
        i_pos, i_obs = _pairs_within(
            np.asarray(positions["vx_ra"], dtype=float),
            np.asarray(positions["vx_dec"], dtype=float),
            frame["ra"].to_numpy(dtype=float),
            frame["dec"].to_numpy(dtype=float),
            np.asarray(positions["vx_radius"], dtype=float),
        )
        keep = np.ones(i_pos.size, dtype=bool)
        if "vx_value" in positions.colnames:
            keep &= frame["instrument"].to_numpy()[i_obs] == np.asarray(positions["vx_value"])[i_pos]
        if "vx_t0" in positions.colnames:
            t0 = pd.to_datetime(np.asarray(positions["vx_t0"])[i_pos], utc=True)
            t1 = pd.to_datetime(np.asarray(positions["vx_t1"])[i_pos], utc=True)
            start, end = frame["start"].to_numpy()[i_obs], frame["end"].to_numpy()[i_obs]
            keep &= (start <= t1) & (end >= t0) if args["over_run"] else (start >= t0) & (end <= t1)
        return pd.DataFrame(
            {"_vx_pos": np.asarray(positions["vx_pos"])[i_pos][keep], "obs_id": frame["obs_id"].to_numpy()[i_obs][keep]}
        )

    def _select(self, alias: str = "m") -> list[str]:
        return [adql.column(c, alias) for c in self.spec.select_columns]

    def _compile(self, history: Sequence[dict[str, Any]], pairs_for: dict[str, Any] | None = None) -> _Compiled:
        spec = self.spec
        where = [*spec.cuts, *spec.instrument_where(self._chosen)]
        uploads: dict[str, Table] = {}
        joins: list[str] = []
        positional = [op for op in history if op["name"] in _POSITIONAL]
        joined = pairs_for if pairs_for in positional else (positional[-1] if positional else None)
        for op in history:
            name, args = op["name"], op["arguments"]
            if name == "filter_on_obs_ids":
                where.append(self._id_condition(args["allowed_obs_ids"], args["invert"], uploads))
            elif name == "filter_on_rect_region":
                (ra0, dec0), (ra1, dec1) = args["lower_left"], args["upper_right"]
                where.append(adql.box(adql.ident(spec.ra), adql.ident(spec.dec), ra0, ra1, dec0, dec1))
            elif name == "filter_on_time":
                where.append(self._time_condition(args))
            elif name == "filter_on_target_type":
                condition = self._target_condition(args["target_type"])
                if condition:
                    where.append(condition)
            elif name in _POSITIONAL:
                table_name = f"vx_positions{len(uploads) or ''}" if op is not joined else "vx_positions"
                uploads[table_name] = self._position_table(args)
                if op is joined:
                    joins.append(f"JOIN TAP_UPLOAD.{table_name} AS p ON {self._match('m', 'p', args)}")
                else:
                    inner = (
                        f"SELECT s.{adql.ident(spec.id_column)} FROM {adql.table_name(spec.table)} AS s "
                        f"JOIN TAP_UPLOAD.{table_name} AS q ON {self._match('s', 'q', args)}"
                    )
                    where.append(f"m.{adql.ident(spec.id_column)} IN ({inner})")
        # a join repeats an observation once per matching position: DISTINCT keeps the answer small,
        # and the pairs (only when asked for) come from a second, two-column query
        query = adql.Query(spec.table, self._select(), where=where, joins=joins, distinct=bool(joins))
        pairs = None
        if joined is not None and joined is pairs_for:
            id_column = adql.column(spec.id_column, "m")
            pairs = adql.Query(spec.table, ["p.vx_pos", id_column], where=where, joins=joins, distinct=True).adql()
        return _Compiled(query.adql(), uploads, pairs)

    def _time_condition(self, args: Mapping[str, Any]) -> str:
        """ADQL for a time window; where the end is not in the table, a superset refined on the answer."""
        spec = self.spec
        lo_dt, hi_dt = datetime.fromisoformat(args["start_datetime"]), datetime.fromisoformat(args["end_datetime"])
        lo, hi = spec.time_value(lo_dt), spec.time_value(hi_dt)
        if spec.end_in_adql:
            return adql.time_window(spec.start_expr(), spec.end_expr(), lo, hi, over_run=args["over_run"])
        earliest = spec.time_value(lo_dt - timedelta(days=spec.max_duration_days)) if args["over_run"] else lo
        return f"{spec.start_expr()} >= {adql.literal(earliest)} AND {spec.start_expr()} <= {adql.literal(hi)}"

    def _id_condition(self, ids: Sequence[str], invert: bool, uploads: dict[str, Table]) -> str:
        column = f"m.{adql.ident(self.spec.id_column)}"
        values = self.spec.id_values(ids)
        if len(values) <= _IN_LIST_LIMIT:
            condition = adql.in_list(column, values)
        else:
            name = f"vx_ids{len(uploads) or ''}"
            uploads[name] = Table({"vx_id": np.asarray(values)})
            condition = f"{column} IN (SELECT i.vx_id FROM TAP_UPLOAD.{name} AS i)"
        return f"NOT ({condition})" if invert else condition

    def _target_condition(self, types: Sequence[str]) -> str | None:
        spec = self.spec
        if spec.target_function is not None:
            return None  # derived from several columns: applied to the (already small) answer
        if not spec.target_column:
            return None if spec.target_default in types else "1 = 0"
        raw = [k for k, v in spec.target_map.items() if v in types]
        column = adql.ident(spec.target_column)
        parts = [adql.in_list(column, raw)] if raw else []
        if spec.target_default in types:
            parts.append(f"NOT ({adql.in_list(column, list(spec.target_map))})")
            parts.append(f"{column} IS NULL")
        return "(" + " OR ".join(parts) + ")" if parts else "1 = 0"

    def _position_table(self, args: Mapping[str, Any]) -> Table:
        """The upload for a positional filter: a row per position (per instrument value if FoVs differ)."""
        ra = np.asarray(args["positions"]["ra"], dtype=float)
        dec = np.asarray(args["positions"]["dec"], dtype=float)
        radius = self._radii(args.get("search_distance"), ra.size)
        columns: dict[str, Any] = {"vx_pos": np.arange(ra.size)}
        if isinstance(radius, dict):  # per instrument value, one instrument per observation
            rows = [
                (i, r, d, value, rad)
                for inst, rad in radius.items()
                for value in self.spec.instrument_values.get(inst, (inst,))
                for i, (r, d) in enumerate(zip(ra, dec))
            ]
            columns = {
                "vx_pos": np.array([x[0] for x in rows]),
                "vx_ra": np.array([x[1] for x in rows]),
                "vx_dec": np.array([x[2] for x in rows]),
                "vx_value": np.array([x[3] for x in rows]),
                "vx_radius": np.array([x[4] for x in rows], dtype=float),
            }
        else:
            columns.update({"vx_ra": ra, "vx_dec": dec, "vx_radius": np.asarray(radius, dtype=float)})
        if "start_datetimes" in args:
            starts = [self.spec.time_value(datetime.fromisoformat(s)) for s in args["start_datetimes"]]
            ends = [self.spec.time_value(datetime.fromisoformat(s)) for s in args["end_datetimes"]]
            index = columns["vx_pos"]
            columns["vx_t0"] = _time_column([starts[i] for i in index])
            columns["vx_t1"] = _time_column([ends[i] for i in index])
        return Table(columns)

    def _per_instrument(self, distance: Any) -> bool:
        """Whether positions are matched with a radius per instrument (one instrument per observation)."""
        if not self.spec.instrument_column:
            return False
        return isinstance(distance, dict) or (
            distance is None and isinstance(self.spec.search_radius(self._chosen, explicit=self._explicit), dict)
        )

    def _radii(self, distance: Any, count: int) -> np.ndarray | dict[str, float]:
        if distance is None:
            default = self.spec.search_radius(self._chosen, explicit=self._explicit)
            return default if isinstance(default, dict) else np.full(count, default)
        if isinstance(distance, dict):
            unknown = [k for k in distance if k not in self.spec.instruments]
            if unknown:
                raise VodaxaError(f"search_distance names unknown instruments {unknown}")
            chosen = {k: float(v) for k, v in distance.items() if k in self._chosen}
            if self.spec.instrument_column:
                return chosen
            return np.full(count, max(chosen.values()))
        values = np.atleast_1d(np.asarray(distance, dtype=float))
        if values.size == 1:
            return np.full(count, values.item())
        if values.size != count:
            raise VodaxaError(f"search_distance has {values.size} values for {count} positions")
        return values

    def _match(self, table_alias: str, pos_alias: str, args: Mapping[str, Any]) -> str:
        spec = self.spec
        ra, dec = adql.column(spec.ra, table_alias), adql.column(spec.dec, table_alias)
        parts = [adql.circle(ra, dec, f"{pos_alias}.vx_ra", f"{pos_alias}.vx_dec", f"{pos_alias}.vx_radius")]
        if self._per_instrument(args.get("search_distance")):
            parts.append(f"{adql.column(spec.instrument_column, table_alias)} = {pos_alias}.vx_value")
        if "start_datetimes" in args:
            if not spec.end_in_adql:
                raise VodaxaError(
                    f"{spec.name}: its table has no end time usable in ADQL; filter on positions, then on time"
                )
            parts.append(
                adql.time_between(
                    spec.start_expr(table_alias),
                    spec.end_expr(table_alias),
                    f"{pos_alias}.vx_t0",
                    f"{pos_alias}.vx_t1",
                    over_run=args["over_run"],
                )
            )
        return " AND ".join(parts)

    def _fetch(self, build: Callable[[], _Compiled]) -> tuple[pd.DataFrame, _Compiled]:
        """Run the compiled query; if the archive cannot be reached, switch to the fallback source once."""
        compiled = build()
        try:
            return self._run(compiled), compiled
        except QueryError:
            raise
        except ServiceError as err:
            if not self.spec.fallback or self._explicit_runner is not None:
                raise
            fallback = registry.get(self.spec.fallback)
            warnings.warn(
                f"{self.name}: {self.spec.archive} failed ({err}); using {fallback.archive} instead",
                stacklevel=4,
            )
            self.spec, self._runner = fallback, None
            compiled = build()
            return self._run(compiled), compiled

    def _run(self, compiled: _Compiled) -> pd.DataFrame:
        """The normalised rows of one query."""
        log.debug("%s ADQL:\n%s", self.name, compiled.adql)
        from .. import auth

        signed_in = auth.scope().realm_of(self.runner.url + "/sync") is not None
        table = self.runner.run(compiled.adql, uploads=compiled.uploads or None, authenticated=signed_in)
        raw = _to_frame(table)
        return self.spec.normalise(raw, now=self.now)

    # ------------------------------------------------------------------------------ helpers
    def _frame(self):
        return FK5(equinox="J2000") if self.spec.frame == "fk5" else "icrs"

    def _coords(self, positions: Any) -> SkyCoord:
        """Positions as SkyCoord in the mission's frame (lists and arrays are degrees in that frame)."""
        if isinstance(positions, SkyCoord):
            coords = positions.transform_to(self._frame())
        else:
            try:
                values = np.asarray(positions, dtype=float)
            except (TypeError, ValueError):
                raise VodaxaError(
                    f"positions must be a SkyCoord or [ra, dec] pairs in degrees, not {positions!r}"
                ) from None
            if values.ndim == 1 and values.size == 2:
                values = values[None, :]
            if values.ndim != 2 or values.shape[1] != 2 or values.shape[0] == 0:
                raise VodaxaError("positions must be [ra, dec] or [[ra1, dec1], [ra2, dec2], ...] in degrees")
            if np.any(~np.isfinite(values)) or np.any(np.abs(values[:, 1]) > 90):
                raise VodaxaError("positions hold a non-finite value or a Dec outside [-90, 90]")
            coords = SkyCoord(values[:, 0] * u.deg, values[:, 1] * u.deg, frame=self._frame())
        return coords.reshape(1) if coords.isscalar else coords.reshape(-1)

    # ------------------------------------------------------------------------------ state
    def save(self, path: str | Path) -> Path:
        """Write the mission's state as JSON (spec, instruments, history, selection); no credentials."""
        selection = self.filtered_obs_info
        state = {
            "vodaxa_state": STATE_VERSION,
            "mission": self.name,
            "spec_version": self.spec.version,
            "instruments": list(self._chosen),
            "instruments_chosen": self._explicit,  # chosen by name (a wide field is then searched too)
            "filtering_operations": self.filtering_operations,
            "selected_obs": list(selection["obs_id"]),
            "science_usable": selection["science_usable"].astype(bool).tolist(),
            "proprietary_usable": selection["proprietary_usable"].astype(bool).tolist(),
            "saved": datetime.now(timezone.utc).isoformat(),
        }
        target = Path(path)
        target.write_text(json.dumps(state, indent=2) + "\n")
        return target

    @classmethod
    def load(cls, path: str | Path, **options: Any) -> Mission:
        """Rebuild a saved mission and replay its filters against the archive."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise VodaxaError(f"{path}: not a readable vodaxa mission state ({err})") from None
        if state.get("vodaxa_state") != STATE_VERSION or "mission" not in state:
            raise VodaxaError(f"{path}: not a vodaxa mission state file (version {state.get('vodaxa_state')})")
        _check_state(path, state)
        chosen = state.get("instruments") if state.get("instruments_chosen", True) else None
        mission = cls(state["mission"], chosen, **options)
        if state.get("spec_version") != mission.spec.version:
            warnings.warn(
                f"{path} was saved with spec version {state.get('spec_version')}, "
                f"now {mission.spec.version}; the replay may differ",
                stacklevel=2,
            )
        mission._history = list(state.get("filtering_operations", []))
        mission._saved = state
        return mission

    def update(self) -> dict[str, Any]:
        """Replay the history now; report ObsIDs added and removed and usability changes since last time."""
        before = getattr(self, "_saved", None)
        if before is None and self._selection is not None:
            before = {
                "selected_obs": list(self._selection["obs_id"]),
                "science_usable": self._selection["science_usable"].tolist(),
                "proprietary_usable": self._selection["proprietary_usable"].tolist(),
            }
        self._selection = None
        self._all = None
        now = self.filtered_obs_info
        old_ids = list(before["selected_obs"]) if before else []
        old_prop = dict(zip(old_ids, before.get("proprietary_usable", []))) if before else {}
        old_sci = dict(zip(old_ids, before.get("science_usable", []))) if before else {}
        new_ids = list(now["obs_id"])
        added = sorted(set(new_ids) - set(old_ids))
        removed = sorted(set(old_ids) - set(new_ids))
        prop_changed = sorted(
            o
            for o, p in zip(now["obs_id"], now["proprietary_usable"])
            if o in old_prop and bool(old_prop[o]) != bool(p)
        )
        sci_changed = sorted(
            o for o, s in zip(now["obs_id"], now["science_usable"]) if o in old_sci and bool(old_sci[o]) != bool(s)
        )
        self._saved = None
        return {
            "new_obs_ids": added,
            "removed_obs_ids": removed,
            "any_obs_add": bool(added),
            "any_obs_removed": bool(removed),
            "which_changed_proprietary_usable": prop_changed,
            "which_changed_science_usable": sci_changed,
        }


_POSITIONAL = {"filter_on_positions", "filter_on_name", "filter_on_positions_at_time"}


def _to_frame(table: Table) -> pd.DataFrame:
    """An astropy Table as a DataFrame: masked numbers NaN, masked text None, bytes decoded."""
    data: dict[str, Any] = {}
    for name in table.colnames:
        col = table[name]
        mask = np.asarray(getattr(col, "mask", np.zeros(len(col), dtype=bool)), dtype=bool)
        values = np.asarray(col)
        if values.dtype.kind in "OSU":
            data[name] = [None if m else (v.decode() if isinstance(v, bytes) else v) for v, m in zip(values, mask)]
        elif values.dtype.kind in "iufb" and mask.any():
            data[name] = np.where(mask, np.nan, values.astype(float))
        else:
            data[name] = values
    return pd.DataFrame(data)


def _pairs_table(frame: pd.DataFrame, positions: Table) -> pd.DataFrame:
    """DAXA's return_pos_obs_info: pos_ind, pos_ra, pos_dec and the comma-joined ObsIDs per position."""
    ids = frame.groupby(frame["_vx_pos"].astype(int))["obs_id"].agg(lambda s: ",".join(sorted(set(s))))
    first: dict[int, tuple[float, float]] = {}
    for p, r, d in zip(positions["vx_pos"], positions["vx_ra"], positions["vx_dec"]):
        first.setdefault(int(p), (float(r), float(d)))
    return pd.DataFrame(
        {
            "pos_ind": ids.index.astype(int),
            "pos_ra": [first[p][0] for p in ids.index],
            "pos_dec": [first[p][1] for p in ids.index],
            "obs_ids": ids.to_numpy(),
        }
    )


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    r, d = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=-1)


def _pairs_within(
    pos_ra: np.ndarray, pos_dec: np.ndarray, ra: np.ndarray, dec: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(position index, row index) of every row within its position's radius (deg); chunked, bounded memory."""
    rows = _unit_vectors(ra, dec)
    finite = np.isfinite(rows).all(axis=1)
    rows[~finite] = 0.0
    points = _unit_vectors(pos_ra, pos_dec)
    cos_limit = np.cos(np.radians(radius))
    out_p, out_r = [], []
    step = max(1, 2_000_000 // max(len(rows), 1))
    for first in range(0, len(points), step):
        cosines = points[first : first + step] @ rows.T
        p, r = np.nonzero((cosines >= cos_limit[first : first + step, None]) & finite[None, :])
        out_p.append(p + first)
        out_r.append(r)
    return np.concatenate(out_p) if out_p else np.array([], int), np.concatenate(out_r) if out_r else np.array([], int)


def _in_window(frame: pd.DataFrame, args: Mapping[str, Any]) -> pd.DataFrame:
    """Rows overlapping (over_run) or inside the window, on the normalised start and end."""
    lo, hi = pd.Timestamp(args["start_datetime"]), pd.Timestamp(args["end_datetime"])
    if args["over_run"]:
        return frame[(frame["start"] <= hi) & (frame["end"] >= lo)]
    return frame[(frame["start"] >= lo) & (frame["end"] <= hi)]


def _coords_json(coords: SkyCoord) -> dict[str, Any]:
    flat = coords.reshape(-1)
    return {
        "ra": [float(v) for v in flat.spherical.lon.deg],
        "dec": [float(v) for v in flat.spherical.lat.deg],
    }


def _distance_json(distance: Any, name: str = "search_distance") -> Any:
    """Search distances as degrees (floats, lists or instrument dicts) for the history; InputError (naming the
    argument ``name``) for one that is not a number, not positive, not finite, or over 180 degrees."""
    if distance is None:
        return None
    if isinstance(distance, Mapping):
        return {str(k): _distance_json(v, name) for k, v in distance.items()}
    how = "give degrees (0.1), an astropy Quantity (6 * u.arcmin), a list per position or a dict per instrument"
    if isinstance(distance, (bool, np.bool_, str, bytes)):  # True is 1 to numpy, "0.5" a string: both mistakes
        raise InputError(f"{name}={distance!r} is not a number or an angle: {how}")
    try:
        value = np.asarray(distance.to_value(u.deg) if isinstance(distance, u.Quantity) else distance, dtype=float)
    except (TypeError, ValueError):  # astropy's UnitConversionError is a ValueError
        raise InputError(f"{name}={distance!r} is not a number or an angle: {how}") from None
    if np.any(~np.isfinite(value)) or np.any(value <= 0) or np.any(value > MAX_SEARCH_DISTANCE):
        raise InputError(f"{name}={distance!r}: it must be positive, finite and at most {MAX_SEARCH_DISTANCE:g} "
                         "degrees (the whole sky)")  # fmt: skip
    return value.tolist() if value.ndim else float(value)


def _utc(value: Any) -> datetime:
    """A datetime, date, ISO string or astropy Time as an aware UTC datetime."""
    if isinstance(value, Time):
        value = value.to_datetime(timezone=timezone.utc)
    elif isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise VodaxaError(f"'{value}' is not an ISO date or time") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    elif isinstance(value, (pd.Timestamp, np.datetime64)):
        value = pd.Timestamp(value).to_pydatetime()
    if not isinstance(value, datetime):
        raise VodaxaError(f"expected a date or time, got {type(value).__name__}")
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _utc_list(values: Any, count: int) -> list[datetime]:
    items = [values] if not isinstance(values, (list, tuple, np.ndarray, pd.Series)) else list(values)
    if len(items) == 1 and count > 1:
        items = items * count
    if len(items) != count:
        raise VodaxaError(f"{len(items)} time windows were given for {count} positions")
    return [_utc(v) for v in items]


def _time_column(values: list) -> np.ndarray:
    if values and isinstance(values[0], datetime):
        return np.array([v.replace(tzinfo=None).isoformat() for v in values])
    return np.asarray(values, dtype=float)


#: The filters a saved history may hold (each a method of Mission of the same name).
FILTERS = ("filter_on_obs_ids", "filter_on_rect_region", "filter_on_positions", "filter_on_name", "filter_on_time",
           "filter_on_target_type", "filter_on_positions_at_time")  # fmt: skip


def _check_state(path: str | Path, state: dict[str, Any]) -> None:
    """VodaxaError naming what is wrong when a state file was edited into something :meth:`Mission.load` would
    misread (a choice that is not true/false, an unknown filter, positions that are not on the sky)."""

    def bad(what: str) -> VodaxaError:
        return VodaxaError(f"{path}: {what}; save the mission again (Mission.save) rather than edit the file")

    if not isinstance(state.get("instruments_chosen", True), bool):
        raise bad(f"'instruments_chosen' must be true or false, not {state['instruments_chosen']!r}")
    instruments = state.get("instruments")
    if instruments is not None and not (isinstance(instruments, list) and all(isinstance(i, str) for i in instruments)):
        raise bad(f"'instruments' must be a list of names, not {instruments!r}")
    history = state.get("filtering_operations", [])
    if not isinstance(history, list):
        raise bad("'filtering_operations' must be a list")
    for number, op in enumerate(history, 1):
        if not isinstance(op, dict) or op.get("name") not in FILTERS or not isinstance(op.get("arguments"), dict):
            name = op.get("name") if isinstance(op, dict) else op
            raise bad(f"filter {number} ({name!r}) is not one of {', '.join(FILTERS)} with its arguments")
        where = op["arguments"].get("positions")
        if where is None:
            continue
        try:
            ra = np.asarray(where["ra"], dtype=float)
            dec = np.asarray(where["dec"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise bad(f"filter {number} ({op['name']}): positions must be lists of ra and dec in degrees") from None
        if ra.shape != dec.shape or not ra.size or not (np.isfinite(ra).all() and np.isfinite(dec).all()) or (
                np.abs(dec) > 90).any():  # fmt: skip
            raise bad(f"filter {number} ({op['name']}): positions must be finite, with |dec| <= 90")
