"""Mission: a spec plus a cumulative filter history, evaluated as one ADQL query on the archive's server.

The normalised observation table has the columns ``mission, obs_id, ra, dec, start, end, duration,
science_usable, proprietary_end, proprietary_usable, instrument, target_category`` followed by the
mission's own columns; times are UTC timestamps and durations timedeltas.  Filters follow DAXA's
semantics and record themselves in :attr:`Mission.filtering_operations`; each call re-evaluates the
whole history (many positions go up as one TAP upload joined on the server) and a filter that would
leave nothing raises :class:`~vodaxa.errors.NoObservationsError` and leaves the selection as it was.

The Mission is the user's handle; the work is elsewhere: the filters are values (:mod:`.filters`), a history
becomes one query (:mod:`.compile_adql`) or is applied to a table fetched whole (:mod:`.compile_pandas`), queries
go to the service :mod:`.source` names, column filters are checked by :mod:`.columns`, and :mod:`.state` saves.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd
from astropy.coordinates import SkyCoord
from astropy.table import Table

from .. import specs as registry
from ..errors import (
    AdjustedInputWarning,
    FallbackWarning,
    NoObservationsError,
    PartialResultWarning,
    QueryError,
    ServiceError,
    VodaxaError,
)
from ..specs.registry import MissionSpec, clean_text
from . import arguments, columns, compile_adql, compile_pandas, source, state
from .arguments import MAX_SEARCH_DISTANCE
from .filters import Compare, Filter, ObsIds
from .names import Resolver, resolve_names
from .scope import Scope, pairs_table
from .state import STATE_VERSION
from .tap import TapRunner

if TYPE_CHECKING:
    import numpy as np
    from astropy.coordinates import BaseCoordinateFrame

    from ..typing import CoordinatesLike, DistanceLike, PathLike, TimeLike
    from .filters import Scalar

__all__ = ["MAX_SEARCH_DISTANCE", "STATE_VERSION", "Mission"]


class Mission:
    """Observations of one mission, narrowed by DAXA-style cumulative filters run on the server.

    Each ``filter_on_*`` call adds a step to :attr:`filtering_operations` and re-evaluates the whole history as
    one query on the archive's server (many positions go up as one TAP upload); a filter that would leave no
    observations raises :class:`~vodaxa.errors.NoObservationsError` and leaves the selection as it was.  The
    selection is read from :attr:`filtered_obs_info` (the normalised observation table, science-usable rows)
    and :attr:`filtered_obs_ids`; :meth:`save` and :meth:`load` keep a mission's state in a JSON file.

    Parameters
    ----------
    name : str or MissionSpec
        The mission's registry name (``vodaxa.missions()`` lists them; short names such as ``"nustar"`` and
        ``"xmm"`` work too), or a :class:`~vodaxa.specs.registry.MissionSpec`.
    insts : str or iterable of str, optional
        The instruments whose data are wanted, in any case or by alias.  None (the default) chooses the
        mission's default instruments; instruments chosen by name also have a wide field searched (Swift's BAT).
    source : str, optional
        Another source of the same observations, by name (a key of the spec's ``alternatives``), or the
        mission's own archive.  None (the default) asks the mission's own service.
    runner : TapRunner, optional
        Where queries go.  None (the default) uses the TAP service of the answering source from vodaxa's
        endpoints; a runner given is never replaced by the fallback source.
    resolver : callable, optional
        Turns an object name into a SkyCoord for :meth:`filter_on_name`.  None (the default) asks CDS Sesame at
        the configured endpoint.
    now : datetime.datetime, optional
        The time at which proprietary periods are judged.  None (the default) means the current time.

    Attributes
    ----------
    spec : MissionSpec
        The mission's spec (that of ``source`` when one was given).
    resolver : callable or None
        The name resolver given.
    now : datetime.datetime or None
        The time given for proprietary periods.

    Raises
    ------
    vodaxa.errors.UnknownMissionError
        If ``name`` is not a registered mission.
    vodaxa.errors.VodaxaError
        If ``source`` is not a source of the mission, or an instrument is not one of the mission's.

    See Also
    --------
    vodaxa.search : Several missions at once, one table back.
    vodaxa.missions : The missions known, as a table.

    Examples
    --------
    >>> import vodaxa
    >>> nustar = vodaxa.Mission("nustar_pointed")
    >>> nustar
    <Mission nustar_pointed: 0 filters, instruments FPMA, FPMB>
    >>> nustar.filter_on_name("3C 105")
    >>> nustar.filter_on_time("2010-01-01", "2030-01-01")
    >>> nustar.filtered_obs_ids
    ['40765085200']
    >>> [step["name"] for step in nustar.filtering_operations]
    ['filter_on_name', 'filter_on_time']

    The state saved to a file replays later, against the archive as it is then:

    >>> print(nustar.save("nustar.json"))
    nustar.json
    >>> again = vodaxa.Mission.load("nustar.json")
    >>> again.update()["new_obs_ids"]
    []
    """

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
        self._source = spec  # the spec whose service answers: ``spec``, or its fallback once that one failed
        self._explicit_runner = runner
        self._runner = runner
        self.resolver = resolver
        self.now = now
        self._chosen = spec.canonical_instruments(insts)
        self._explicit = insts is not None  # instruments chosen by name: a wide field is then searched too
        self._history: list[Filter] = []
        self._selection: pd.DataFrame | None = None
        self._all: pd.DataFrame | None = None
        self._saved: dict[str, Any] | None = None  # the state loaded, until update() compares with it
        self._columns: dict[str, columns.TableColumns] = {}

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
    def answered_by(self) -> str:
        """The registry name of the source whose answers the selection holds.

        That is the mission's own, or its fallback after the mission's service failed (the rows' ``mission``
        column says the same).
        """
        return self._source.name

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
    def filtering_operations(self) -> list[dict[str, object]]:
        """The filter history, ``[{"name": method, "arguments": {...}}]``, JSON-ready."""
        return [json.loads(json.dumps(step.to_json(), default=str)) for step in self._history]

    def __repr__(self) -> str:
        source = "" if self._source is self.spec else f"; answered by {self.answered_by} ({self._source.archive})"
        return f"<Mission {self.name}: {len(self._history)} filters, instruments {', '.join(self._chosen)}{source}>"

    @property
    def runner(self) -> TapRunner:
        """Where queries go (the answering source's TAP service from vodaxa's endpoints, unless given)."""
        if self._explicit_runner is not None:
            return self._explicit_runner
        self._runner = source.runner_for(self._source, self._runner)
        return self._runner

    @property
    def table_columns(self) -> dict[str, str]:
        """The columns :meth:`filter_on_column` accepts, each with what it holds.

        What a column holds is ``number``, ``text``, ``time``, ``boolean``, or ``""`` when the service does not
        say.  The columns are those the service lists for the table, else those the spec knows.
        """
        return dict(self._table_columns().kinds)

    def _table_columns(self) -> columns.TableColumns:
        if self.spec.loader is not None:
            frame = self._local_table()
            kinds = {c: compile_pandas.kind_of(frame[c]) for c in frame.columns}
            return columns.from_frame_kinds(self.spec.table, kinds)
        if self._source.name not in self._columns:
            self._columns[self._source.name] = columns.from_service(self.runner, self._source)
        return self._columns[self._source.name]

    # ------------------------------------------------------------------------------ tables
    @property
    def all_obs_info(self) -> pd.DataFrame:
        """Every observation that passes the mission's row cuts (fetched when first asked, then kept)."""
        if self.spec.loader is not None:
            self._local_table()
        if self._all is None:
            self._all = self._fetch(compile_adql.whole_table)[0]
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
    def filter_on_obs_ids(self, allowed_obs_ids: str | int | Iterable[str | int], invert: bool = False) -> None:
        """Keep (or with ``invert`` drop) the given ObsIDs.

        Parameters
        ----------
        allowed_obs_ids : str, int or iterable of str or int
            One ObsID or a list of them (text or numbers); each must match the mission's ObsID regex.
        invert : bool, optional
            Drop these ObsIDs instead of keeping them (default False).

        Raises
        ------
        vodaxa.errors.InputError
            If an ObsID does not match the mission's format, or ``allowed_obs_ids`` is not one or a list.
        vodaxa.errors.NoObservationsError
            If no observation of the selection has any of the ObsIDs (or dropping them leaves none); the
            selection is unchanged.

        Warns
        -----
        vodaxa.errors.PartialResultWarning
            When this is the first filter and some of the ObsIDs asked for are not in the selection (unknown to
            the archive, or removed by the mission's cuts or instrument choice).
        """
        ids = arguments.obs_ids(self.spec, allowed_obs_ids)
        try:
            self._apply(ObsIds(ids, bool(invert)))
        except NoObservationsError:
            if invert:
                raise
            where = "in the selection left by the earlier filters" if self._history else "known to the archive"
            plural = "s" if len(ids) > 1 else ""
            raise NoObservationsError(
                f"{self.name}: filter_on_obs_ids: no observation {where} has the ObsID{plural} {_listed(ids)} (or the "
                "mission's cuts and instrument choice remove them); check the IDs, e.g. with 'vodaxa search' or "
                f"vodaxa.mission('{self.name}').all_obs_info; the selection is unchanged"
            ) from None
        first = len(self._history) == 1  # after other filters, an absent ObsID may simply have been filtered out
        missing = sorted(set(ids) - set(self.filtered_obs_ids)) if first and not invert else []
        if missing:
            warnings.warn(
                f"{self.name}: {len(missing)} of the {len(set(ids))} ObsIDs asked for are not in the selection "
                f"(unknown to the archive, or removed by the mission's cuts or instrument choice): {_listed(missing)}",
                category=PartialResultWarning, stacklevel=2,
            )

    def filter_on_rect_region(
        self, lower_left: SkyCoord | Sequence[float] | np.ndarray, upper_right: SkyCoord | Sequence[float] | np.ndarray
    ) -> None:
        """Keep observations whose centre lies in an RA/Dec rectangle (wrapping through RA 0 if needed).

        Parameters
        ----------
        lower_left : SkyCoord or sequence of float
            The box's lower-left corner: one SkyCoord, or ``[ra, dec]`` in degrees in the mission's frame
            (RA 0 to 360, kept as given).
        upper_right : SkyCoord or sequence of float
            The box's upper-right corner, likewise.  An RA lower than ``lower_left``'s by less than 180 degrees
            is taken as swapped corners (with an :class:`~vodaxa.errors.AdjustedInputWarning`); by more, as a
            box through RA 0.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If a corner is not one position on the sky, or the lower-left Dec is above the upper-right one.
        vodaxa.errors.NoObservationsError
            If no observation of the selection lies in the box; the selection is unchanged.
        """
        self._apply(arguments.rect_region(self.spec, lower_left, upper_right))

    @overload
    def filter_on_positions(
        self, positions: CoordinatesLike, search_distance: DistanceLike | None = ...,
        return_pos_obs_info: Literal[False] = ...,
    ) -> None: ...  # fmt: skip
    @overload
    def filter_on_positions(
        self, positions: CoordinatesLike, search_distance: DistanceLike | None = ..., *,
        return_pos_obs_info: Literal[True],
    ) -> pd.DataFrame: ...  # fmt: skip
    @overload
    def filter_on_positions(
        self, positions: CoordinatesLike, search_distance: DistanceLike | None = ...,
        return_pos_obs_info: bool = ...,
    ) -> pd.DataFrame | None: ...  # fmt: skip
    def filter_on_positions(
        self, positions: CoordinatesLike, search_distance: DistanceLike | None = None,
        return_pos_obs_info: bool = False,
    ) -> pd.DataFrame | None:  # fmt: skip
        """Keep observations centred within ``search_distance`` of any position.

        Parameters
        ----------
        positions : SkyCoord or array_like of float
            A SkyCoord (one or many), or ``[ra, dec]`` pairs in degrees in the mission's frame.  Many positions
            go up to the server as one TAP upload.
        search_distance : float, Quantity, sequence, dict or ndarray, optional
            Degrees or an angle: one for every position, one per position, or a ``{instrument: distance}``
            dict.  None (the default) is DAXA's 1.2 x the field of view of the chosen instruments.
        return_pos_obs_info : bool, optional
            Return which observations each position matched (default False).

        Returns
        -------
        pandas.DataFrame or None
            With ``return_pos_obs_info``, DAXA's table of ``pos_ind, pos_ra, pos_dec, obs_ids`` (the matching
            ObsIDs of each position, comma-joined); else None.

        Raises
        ------
        vodaxa.errors.InputError
            If ``search_distance`` is not a positive, finite angle of at most 180 degrees.
        vodaxa.errors.VodaxaError
            If ``positions`` are not positions on the sky.
        vodaxa.errors.NoObservationsError
            If no observation of the selection is near any position; the selection is unchanged.
        """
        step = arguments.positions(self.spec, positions, search_distance)
        return self._apply(step, want_pairs=return_pos_obs_info)

    def filter_on_name(
        self, object_name: str | Sequence[str], search_distance: DistanceLike | None = None, parse_name: bool = False
    ) -> None:
        """Resolve object names to positions and keep the observations near them, as :meth:`filter_on_positions`.

        Parameters
        ----------
        object_name : str or sequence of str
            One object name or a list of them, resolved by the mission's resolver (CDS Sesame by default).
        search_distance : float, Quantity, sequence, dict or ndarray, optional
            As for :meth:`filter_on_positions`; None (the default) is 1.2 x the field of view.
        parse_name : bool, optional
            Read the coordinates of J-names (``CRTS SSS100805 J194428-420209``) from the name itself before
            asking the resolver (default False).

        Raises
        ------
        vodaxa.errors.NameResolutionError
            If a name cannot be resolved (never silently skipped).
        vodaxa.errors.InputError
            If ``search_distance`` is not a positive, finite angle of at most 180 degrees.
        vodaxa.errors.NoObservationsError
            If no observation of the selection is near any of the objects; the selection is unchanged.
        """
        found = resolve_names(object_name, resolver=self.resolver, parse_name=parse_name)
        self._apply(arguments.positions(self.spec, found, search_distance, object_name, parse_name))

    def filter_on_time(self, start_datetime: TimeLike, end_datetime: TimeLike, over_run: bool = True) -> None:
        """Keep observations overlapping a time window, or wholly inside it.

        Parameters
        ----------
        start_datetime : TimeLike
            The window's start: an astropy Time, a datetime or date (naive means UTC), ISO 8601 text or a
            pandas Timestamp.
        end_datetime : TimeLike
            The window's end, likewise.
        over_run : bool, optional
            Keep observations that overlap the window (True, the default), or only those wholly inside it.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If a time cannot be read, or the window starts after it ends.
        vodaxa.errors.NoObservationsError
            If no observation of the selection falls in the window; the selection is unchanged.
        """
        self._apply(arguments.time_window(start_datetime, end_datetime, over_run))

    def filter_on_target_type(self, target_type: str | Iterable[str]) -> None:
        """Keep observations whose target category is one of DAXA's taxonomy codes given.

        Parameters
        ----------
        target_type : str or iterable of str
            One code of DAXA's taxonomy (``vodaxa.specs.registry.TAXONOMY``: ``AGN``, ``GCL``, ``SNR``, ...) or
            a list of them, in any case.

        Raises
        ------
        vodaxa.errors.InputError
            If ``target_type`` is not a code or a list of codes.
        vodaxa.errors.VodaxaError
            If a code is not in the taxonomy.
        vodaxa.errors.NoObservationsError
            If no observation of the selection has one of the categories; the selection is unchanged.
        """
        self._apply(arguments.target_types(target_type))

    @overload
    def filter_on_positions_at_time(
        self, positions: CoordinatesLike, start_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        end_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        search_distance: DistanceLike | None = ..., return_obs_info: Literal[False] = ..., over_run: bool = ...,
    ) -> None: ...  # fmt: skip
    @overload
    def filter_on_positions_at_time(
        self, positions: CoordinatesLike, start_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        end_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        search_distance: DistanceLike | None = ..., *, return_obs_info: Literal[True], over_run: bool = ...,
    ) -> pd.DataFrame: ...  # fmt: skip
    @overload
    def filter_on_positions_at_time(
        self, positions: CoordinatesLike, start_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        end_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        search_distance: DistanceLike | None = ..., return_obs_info: bool = ..., over_run: bool = ...,
    ) -> pd.DataFrame | None: ...  # fmt: skip
    def filter_on_positions_at_time(
        self,
        positions: CoordinatesLike,
        start_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        end_datetimes: TimeLike | Sequence[TimeLike] | np.ndarray | pd.Series,
        search_distance: DistanceLike | None = None,
        return_obs_info: bool = False,
        over_run: bool = True,
    ) -> pd.DataFrame | None:
        """Keep observations near each position and within that position's own time window.

        Parameters
        ----------
        positions : SkyCoord or array_like of float
            As for :meth:`filter_on_positions`.
        start_datetimes : TimeLike or sequence of TimeLike
            The start of each position's window (times as :meth:`filter_on_time` reads them); one time is
            every position's.
        end_datetimes : TimeLike or sequence of TimeLike
            The end of each position's window, likewise.
        search_distance : float, Quantity, sequence, dict or ndarray, optional
            As for :meth:`filter_on_positions`; None (the default) is 1.2 x the field of view.
        return_obs_info : bool, optional
            Return which observations each position matched (default False).
        over_run : bool, optional
            Keep observations that overlap their window (True, the default), or only those wholly inside it.

        Returns
        -------
        pandas.DataFrame or None
            With ``return_obs_info``, the table of ``pos_ind, pos_ra, pos_dec, obs_ids`` as
            :meth:`filter_on_positions` gives it; else None.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If the number of windows is not one or one per position, a time cannot be read, or ``positions``
            are not on the sky.
        vodaxa.errors.InputError
            If ``search_distance`` is not a positive, finite angle of at most 180 degrees.
        vodaxa.errors.NoObservationsError
            If no observation matches; the selection is unchanged.
        """
        step = arguments.positions_at_time(self.spec, positions, start_datetimes, end_datetimes, search_distance,
                                           over_run)  # fmt: skip
        return self._apply(step, want_pairs=return_obs_info)

    def filter_on_column(
        self, column: str, op: str, value: Scalar | date | Collection[Scalar | date] | np.ndarray | None = None
    ) -> None:
        """Keep observations whose ``column`` of the mission's table compares ``op`` to ``value``.

        The column is checked against :attr:`table_columns` (an unknown one is refused naming close matches, a
        value of another kind than the column's is refused); the comparison runs on the server.

        Parameters
        ----------
        column : str
            A column of the mission's table (:attr:`table_columns`), e.g. ``"exposure"``.
        op : str
            The comparison: ``==, !=, <, <=, >, >=, in, not in, like, not like, between, is null, is not null``.
        value : str, float, bool, date, collection of them, or None, optional
            What the column is compared to: one value (dates and times as ISO text); a list for ``in`` and
            ``not in``; ``[low, high]`` for ``between``; a text pattern for ``like``; None (the default) for
            ``is null`` and ``is not null``.

        Raises
        ------
        vodaxa.errors.UnknownColumnError
            If the mission's table has no such column (the message names close matches).
        vodaxa.errors.InputError
            If ``op`` is not a comparison, or ``value`` is not of the shape ``op`` takes or of the column's kind.
        vodaxa.errors.NoObservationsError
            If no observation of the selection meets the condition; the selection is unchanged.

        Examples
        --------
        >>> import vodaxa
        >>> chandra = vodaxa.mission("chandra")
        >>> chandra.filter_on_column("exposure", ">", 10000)
        >>> bool((chandra.filtered_obs_info["exposure"] > 10000).all())
        True
        """
        condition = Compare(column, op, value)  # type: ignore[arg-type]  # __post_init__ reads lists and dates
        self._apply(self.checked(condition))

    def checked(self, condition: Compare) -> Compare:
        """Check a column condition against the mission's table, as :meth:`filter_on_column` does.

        Parameters
        ----------
        condition : Compare
            The condition to check.

        Returns
        -------
        Compare
            ``condition`` with its column spelt as the mission's table spells it.

        Raises
        ------
        vodaxa.errors.UnknownColumnError
            If the table has no such column.
        vodaxa.errors.InputError
            If the value is not of the column's kind (the message says what to change).
        """
        return columns.check(condition, self._table_columns(), self.name)

    def position_table(self, positions: CoordinatesLike, search_distance: DistanceLike | None = None) -> Table:
        """The table of positions and radii a positional filter matches; the cone search uses it too.

        Parameters
        ----------
        positions : SkyCoord or array_like of float
            As for :meth:`filter_on_positions`.
        search_distance : float, Quantity, sequence, dict or ndarray, optional
            As for :meth:`filter_on_positions`; None (the default) is 1.2 x the field of view.

        Returns
        -------
        astropy.table.Table
            ``vx_pos, vx_ra, vx_dec, vx_radius`` (degrees, the mission's frame), plus ``vx_value`` per
            instrument value when radii differ by instrument.

        Raises
        ------
        vodaxa.errors.InputError
            If ``search_distance`` is not a positive, finite angle of at most 180 degrees.
        vodaxa.errors.VodaxaError
            If ``positions`` are not positions on the sky.
        """
        return self._scope().position_table(arguments.positions(self.spec, positions, search_distance))

    # ------------------------------------------------------------------------------ evaluation
    def _scope(self) -> Scope:
        return Scope(self._source, self._chosen, self._explicit)

    def _apply(self, step: Filter, *, want_pairs: bool = False) -> pd.DataFrame | None:
        history = [*self._history, step]
        selection, pairs = self._evaluate(history, pairs_for=len(history) - 1 if want_pairs else None)
        if selection.empty:
            raise NoObservationsError(
                f"{self.name}: {step.name} would leave no observations; the selection is unchanged "
                f"({len(self._history)} earlier filters)"
            )
        self._history.append(step)
        self._selection = selection
        return pairs if want_pairs else None

    def _evaluate(
        self, history: Sequence[Filter], pairs_for: int | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        if self.spec.loader is not None:
            frame = self._local_table()
            return compile_pandas.evaluate(history, frame[frame["science_usable"]], self._scope(), pairs_for)
        frame, compiled = self._fetch(lambda scope: compile_adql.compile_history(history, scope, pairs_for))
        scope = self._scope()
        frame = compile_pandas.refine(compiled.refine, frame[frame["science_usable"]], scope)
        frame = frame.drop_duplicates("obs_id").reset_index(drop=True)
        pairs = None
        if compiled.pairs_adql is not None:
            raw = source.to_frame(self.runner.run(compiled.pairs_adql, uploads=compiled.uploads))
            found = pd.DataFrame({"_vx_pos": raw["vx_pos"], "obs_id": raw[scope.spec.id_column].map(clean_text)})
            pairs = pairs_table(found[found["obs_id"].isin(frame["obs_id"])], compiled.uploads["vx_positions"])
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

    def _fetch(self, build: Callable[[Scope], compile_adql.Compiled]) -> tuple[pd.DataFrame, compile_adql.Compiled]:
        """Run the compiled query; if the mission's service cannot be reached, ask its fallback source from then on
        (said in a warning and kept in :attr:`answered_by`; the mission stays the same)."""
        compiled = build(self._scope())
        try:
            return self._run(compiled), compiled
        except QueryError:
            raise
        except ServiceError as err:
            fallback = self.spec.fallback
            if not fallback or self._explicit_runner is not None or self._source is not self.spec:
                raise
            spare = registry.get(fallback)
            warnings.warn(
                f"{self.name}: {self._source.archive} failed ({err}); using {spare.archive} instead (its rows say "
                f"mission '{spare.name}'; Mission.answered_by and save() record it)",
                category=FallbackWarning, stacklevel=4,
            )
            self._source, self._runner, self._all = spare, None, None
            compiled = build(self._scope())
            return self._run(compiled), compiled

    def _run(self, compiled: compile_adql.Compiled) -> pd.DataFrame:
        """The normalised rows of one query."""
        return source.run(self._source, self.runner, compiled, now=self.now)

    # ------------------------------------------------------------------------------ helpers
    def _frame(self) -> BaseCoordinateFrame | str:
        return arguments.frame(self.spec)

    def _coords(self, positions: CoordinatesLike) -> SkyCoord:
        """Positions as SkyCoord in the mission's frame (lists and arrays are degrees in that frame)."""
        return arguments.coords(self.spec, positions)

    # ------------------------------------------------------------------------------ state
    def save(self, path: PathLike) -> Path:
        """Write the mission's state to a JSON file, for :meth:`load` to replay.

        The state holds the spec's name and version, the answering source, the instruments (and whether they
        were chosen by name), the filter history and the selection; never credentials.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        return state.write(path, mission=self.name, answered_by=self.answered_by, spec_version=self.spec.version,
                           instruments=self._chosen, explicit=self._explicit, steps=self._history,
                           selection=self.filtered_obs_info)  # fmt: skip

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        source: str | None = None,
        runner: TapRunner | None = None,
        resolver: Resolver | None = None,
        now: datetime | None = None,
    ) -> Mission:
        """Rebuild a mission saved by :meth:`save`, to replay its filters against the archive.

        The filters are replayed when the selection is first asked for, by the source that answered when the
        mission was saved; :meth:`update` says what changed since.

        Parameters
        ----------
        path : str or os.PathLike
            The file :meth:`save` wrote.
        source, runner, resolver, now : optional
            As for :class:`Mission`.

        Returns
        -------
        Mission
            The mission, with its instruments and filter history.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If the file is not a readable mission state, or was edited into one a load would misread.

        Warns
        -----
        vodaxa.errors.AdjustedInputWarning
            When the spec's version has changed since the save (the replay may differ).
        """
        saved = state.read(path)
        history = state.history(path, saved)
        chosen = saved.get("instruments") if saved.get("instruments_chosen", True) else None
        mission = cls(saved["mission"], chosen, source=source, runner=runner, resolver=resolver, now=now)
        if saved.get("spec_version") != mission.spec.version:
            warnings.warn(
                f"{path} was saved with spec version {saved.get('spec_version')}, "
                f"now {mission.spec.version}; the replay may differ",
                category=AdjustedInputWarning, stacklevel=2,
            )
        answered = saved.get("answered_by", saved["mission"])
        if answered != saved["mission"]:
            if answered != mission.spec.fallback:
                raise VodaxaError(f"{path}: 'answered_by' {answered!r} is not a source of {mission.name}; save the "
                                  "mission again (Mission.save) rather than edit the file")  # fmt: skip
            mission._source = registry.get(answered)
        mission._history = history
        mission._saved = saved
        return mission

    def update(self) -> state.Changes:
        """Replay the filter history now and report what changed since the last evaluation (or the load).

        Returns
        -------
        vodaxa.query.state.Changes
            A dict: ``new_obs_ids`` and ``removed_obs_ids`` (lists of ObsIDs), ``any_obs_add`` and ``any_obs_removed``
            (booleans), and ``which_changed_proprietary_usable`` and ``which_changed_science_usable`` (ObsIDs
            whose usability flags changed).
        """
        before = self._saved
        if before is None and self._selection is not None:
            before = state.snapshot(self._selection)
        self._selection = None
        self._all = None
        report = state.changes(before, self.filtered_obs_info)
        self._saved = None
        return report


def _listed(ids: Sequence[str]) -> str:
    """The first ten ObsIDs, and how many more, for a message."""
    return ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
