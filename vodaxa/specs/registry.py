"""Mission specs and their registry: a mission is data (table, columns, cuts, FoV, instruments), not a class.

Built-in specs live in their archive's folder (``vodaxa/archives/<archive>/``); third-party packages add theirs
through the ``vodaxa.missions`` entry-point group (each entry point names a :class:`MissionSpec` object), or whole
archives through ``vodaxa.archives``.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from ..errors import InputError, UnknownMissionError, VodaxaError
from ..query.adql import ident, in_list

__all__ = [
    "OBS_COLUMNS", "OBS_TYPES", "TAXONOMY", "FileRules", "MissionSpec", "get", "missions_table", "names", "register",
    "specs",
]  # fmt: skip

log = logging.getLogger(__name__)

#: The normalised observation table every mission produces (extra mission columns may follow).
OBS_COLUMNS: tuple[str, ...] = (
    "mission", "obs_id", "ra", "dec", "start", "end", "duration", "science_usable", "proprietary_end",
    "proprietary_usable", "instrument", "target_category",
)  # fmt: skip

#: What each column of the observation table holds, so a table written to any format reads back the same:
#: identifiers are text (``obs_id`` "0057" stays "0057"), never numbers a reader guessed.
OBS_TYPES: Mapping[str, str] = {
    "mission": "text", "obs_id": "text", "datalink_id": "text", "instrument": "text", "target_category": "text",
    "ra": "float", "dec": "float", "separation": "float", "start": "time", "end": "time", "proprietary_end": "time",
    "duration": "duration", "science_usable": "bool", "proprietary_usable": "bool",
}  # fmt: skip

#: DAXA's target-type taxonomy (codes filter_on_target_type accepts).
TAXONOMY: Mapping[str, str] = {
    "AGN": "Active Galactic Nuclei",
    "BLZ": "Blazars",
    "CV": "Cataclysmic Variables",
    "CAL": "Calibration",
    "EGS": "Extragalactic Surveys",
    "GCL": "Galaxy Clusters",
    "GS": "Galactic Survey",
    "ASK": "All-Sky",
    "MAG": "Magnetars",
    "NGS": "Normal Galaxies",
    "NS": "Neutron Stars",
    "STR": "Stars",
    "OAGN": "Other AGN",
    "SNE": "Supernovae",
    "SNR": "Supernova Remnants",
    "SOL": "Solar System",
    "ULX": "Ultra-Luminous X-ray Sources",
    "XRB": "X-ray Binaries",
    "TOO": "Targets of Opportunity",
    "EGE": "Extended Galactic Emission",
    "MISC": "Miscellaneous",
}
_MJD_UNIX = 40587.0


@dataclass(frozen=True)
class FileRules:
    """Which files of an observation directory to fetch, per mission.

    These are the rules DAXA's downloaders apply to each mission's observation directories: which raw files to
    take, which of the archive's processed products, and which files belong to each instrument (so that the
    files of instruments not chosen are left out).

    Patterns are ``fnmatch`` patterns on the path relative to the observation directory, with ``{o}``
    (ObsID) and ``{ol}`` (ObsID in lower case) filled in.  A file is kept when it matches ``raw`` (or
    ``products``, when products are wanted) and no pattern of an instrument that was not chosen.

    Parameters
    ----------
    raw : tuple of str
        Patterns of the raw data files, always wanted.
    products : tuple of str, optional
        Patterns of the archive's processed products, wanted when products are (default none).
    instruments : mapping of str to tuple of str, optional
        Patterns of each instrument's files, left out when the instrument was not chosen (default none).

    Examples
    --------
    >>> from vodaxa.specs.registry import FileRules
    >>> rules = FileRules(raw=("event_uf/nu{o}*_uf.evt.gz",), products=("event_cl/*",),
    ...                   instruments={"FPMA": ("*/nu{o}A*",), "FPMB": ("*/nu{o}B*",)})
    >>> paths = ["event_uf/nu123A_uf.evt.gz", "event_uf/nu123B_uf.evt.gz", "event_cl/nu123A01_cl.evt.gz"]
    >>> rules.select(paths, "123", chosen=["FPMA"])
    ['event_uf/nu123A_uf.evt.gz', 'event_cl/nu123A01_cl.evt.gz']
    """

    raw: tuple[str, ...]
    products: tuple[str, ...] = ()
    instruments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def select(self, paths: Iterable[str], obs_id: str, chosen: Sequence[str], products: bool = True) -> list[str]:
        """The files of one observation directory to fetch.

        Parameters
        ----------
        paths : iterable of str
            The paths in the observation directory, relative to it.
        obs_id : str
            The observation's ID (fills ``{o}`` and ``{ol}`` in the patterns).
        chosen : sequence of str
            The instruments chosen; the patterns of the others exclude files.
        products : bool, optional
            Whether the products' patterns are wanted too (default True).

        Returns
        -------
        list of str
            The relative paths to fetch, in the order given.
        """
        fill = {"o": obs_id, "ol": obs_id.lower()}
        wanted = [p.format(**fill) for p in (*self.raw, *(self.products if products else ()))]
        unwanted = [p.format(**fill) for inst, pats in self.instruments.items() if inst not in chosen for p in pats]
        keep = []
        for path in paths:
            if any(fnmatchcase(path, w) for w in wanted) and not any(fnmatchcase(path, u) for u in unwanted):
                keep.append(path)
        return keep


@dataclass(frozen=True)
class MissionSpec:
    """Everything vodaxa knows about one mission's observation table.

    A mission is data, not a class: a spec is made once, given to :func:`register`, and read by the query,
    resolve and download stages.  Column names are the archive's own.

    Parameters
    ----------
    name : str
        The registry name (DAXA's internal name, e.g. ``nustar_pointed``).
    pretty_name : str
        The human name.
    archive : str
        The name of its :class:`vodaxa.archives.Archive`: ``heasarc``, ``xsa``, ``cxc``, ``eso``, ``erosita``.
    table : str
        The observation table on the archive's service.
    id_column : str
        The column of ObsIDs.
    id_regex : str
        The regular expression every ObsID matches.
    instruments : tuple of str
        The instruments, canonically spelt.
    default_instruments : tuple of str
        Those chosen when none are named.
    fov : float or mapping of str to float
        The field of view's half-width in degrees, one or per instrument.
    start : str
        The column of observation start times.
    service : str, optional
        The archive endpoint queried (default ``"tap"``).
    id_numeric : bool, optional
        Whether the table stores ObsIDs as numbers (default False).
    id_upper : bool, optional
        Whether ObsIDs are upper case, whatever case a user types (default True; not ObsCore's publisher DIDs).
    ra, dec : str, optional
        The columns of the pointing (defaults ``"ra"`` and ``"dec"``).
    frame : str, optional
        Their frame: ``"fk5"`` (J2000, the default) or ``"icrs"``.
    time_format : str, optional
        How the table stores times: ``"mjd"`` (the default) or ``"timestamp"``.
    end : str, optional
        The column of observation end times, if any.
    duration : str, optional
        The column of durations, used for the end when there is no end column.
    duration_unit : float, optional
        Seconds per unit of the duration column (default 1.0; CXC: kiloseconds).
    max_duration_days : float, optional
        Bounds ADQL time windows when the end cannot be written in ADQL (default 3.0).
    columns : tuple of str, optional
        The mission's own columns kept in the observation table.
    cuts : tuple of str, optional
        ADQL conditions always applied on the server (the rows DAXA drops).
    aliases : mapping of str to str, optional
        Other spellings of instruments (``{"ACIS-I": "ACIS"}``).
    exposure_columns : mapping of str to str, optional
        Which column says that an instrument took data in a row: a row is kept when one of the chosen
        instruments has a non-zero value.
    instrument_column : str, optional
        For missions with one instrument per observation: the column naming it.
    instrument_values : mapping of str to tuple of str, optional
        The values of ``instrument_column`` meaning each instrument.
    instrument_condition : callable, optional
        ADQL conditions for the chosen instruments, where neither of the above can say it.
    science_usable : callable, optional
        The rows fit for science, from the archive's rows (default: all).
    proprietary_column : str, optional
        The column of the end of the proprietary period (MJD or timestamp).
    proprietary_sentinels : tuple of float, optional
        Values of that column meaning "unknown" (default ``(0.0,)``).
    proprietary_condition : callable, optional
        A further condition on the archive's rows for the data to be public.
    target_column : str, optional
        The column of the target's category, mapped by ``target_map`` to DAXA's taxonomy (:data:`TAXONOMY`).
    target_map : mapping of str to str, optional
        The table's categories as taxonomy codes.
    target_default : str or None, optional
        The code of a category ``target_map`` lacks (default ``"MISC"``).
    target_function : callable, optional
        The taxonomy codes from the archive's rows, where one column cannot say them.
    normalise_extra : callable, optional
        A last step of :meth:`normalise`, given the normalised table.
    files : FileRules, optional
        How an observation directory maps to files (HEASARC-style trees).
    datalink_id : str, optional
        The column whose values the archive's DataLink service takes as ID.
    ivoid : str, optional
        The table's (or service's) IVOA identifier in the VO registry.
    scs : str, optional
        For a cone search: the query string added to the archive's ``scs`` endpoint (``""``: the endpoint
        itself); None (the default) when the mission has none.
    loader : callable, optional
        For archives without TAP: the whole table, filtered locally.
    local_mask : callable, optional
        For those: the rows that pass the cuts and have data of the chosen instruments.
    alternatives : mapping of str to str, optional
        Other sources of the same observations: source name to spec name (``Mission(..., source=...)``).
    fallback : str, optional
        The spec used when this one's archive cannot be reached.
    listed : bool, optional
        Whether ``vodaxa.missions()`` lists it (default True; False for alternative sources).
    version : int, optional
        Changed when the spec changes what a saved mission replays (default 1).

    See Also
    --------
    register : Add a spec to the registry.
    get : A registered spec by name.
    """

    name: str
    pretty_name: str
    archive: str  # the name of its vodaxa.archives.Archive: heasarc, xsa, cxc, eso, erosita
    table: str
    id_column: str
    id_regex: str
    instruments: tuple[str, ...]
    default_instruments: tuple[str, ...]
    fov: float | Mapping[str, float]  # half-width in degrees, scalar or per instrument
    start: str
    service: str = "tap"
    id_numeric: bool = False
    id_upper: bool = True  # ObsIDs are upper case, whatever case a user types (not ObsCore's publisher DIDs)
    ra: str = "ra"
    dec: str = "dec"
    frame: str = "fk5"
    time_format: str = "mjd"  # mjd or timestamp
    end: str | None = None
    duration: str | None = None  # used for ``end`` when there is no end column
    duration_unit: float = 1.0  # seconds per unit of the duration column (CXC: kiloseconds)
    max_duration_days: float = 3.0  # bounds ADQL time windows when the end cannot be written in ADQL
    columns: tuple[str, ...] = ()  # the mission's own columns kept in the table
    cuts: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    exposure_columns: Mapping[str, str] = field(default_factory=dict)
    instrument_column: str | None = None
    instrument_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    instrument_condition: Callable[[Sequence[str]], list[str]] | None = None
    science_usable: Callable[[pd.DataFrame], pd.Series] | None = None
    proprietary_column: str | None = None
    proprietary_sentinels: tuple[float, ...] = (0.0,)
    proprietary_condition: Callable[[pd.DataFrame], pd.Series] | None = None
    target_column: str | None = None
    target_map: Mapping[str, str] = field(default_factory=dict)
    target_default: str | None = "MISC"
    target_function: Callable[[pd.DataFrame], pd.Series] | None = None
    normalise_extra: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    files: FileRules | None = None  # how an observation directory maps to files (HEASARC-style trees)
    datalink_id: str | None = None  # the column whose values the archive's DataLink service takes as ID
    ivoid: str | None = None  # the table's (or service's) IVOA identifier in the VO registry
    scs: str | None = None  # cone search: query string added to the archive's "scs" endpoint; None: none
    loader: Callable[[], pd.DataFrame] | None = None  # for archives without TAP: the whole table, filtered locally
    local_mask: Callable[[pd.DataFrame, Sequence[str]], pd.Series] | None = None  # cuts + instruments, locally
    alternatives: Mapping[str, str] = field(default_factory=dict)  # source name -> spec name
    fallback: str | None = None  # spec used when this one's archive cannot be reached
    listed: bool = True  # False for alternative sources, reachable through ``source=``
    version: int = 1

    # ------------------------------------------------------------------------------ instruments
    def canonical_instruments(self, insts: str | Iterable[str] | None) -> tuple[str, ...]:
        """Chosen instruments, canonically spelt; any case and aliases work (fixes DAXA's PICsIT bug).

        Parameters
        ----------
        insts : str, iterable of str, or None
            One instrument or several; None chooses the default instruments.

        Returns
        -------
        tuple of str
            The instruments, each once, in the order given.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If an instrument is not the mission's (the message lists them and the aliases), or none is given.
        """
        if insts is None:
            return self.default_instruments
        items = [insts] if isinstance(insts, str) else list(insts)
        lookup = {i.upper(): i for i in self.instruments}
        lookup.update({a.upper(): c for a, c in self.aliases.items()})
        out: list[str] = []
        for item in items:
            canonical = lookup.get(str(item).upper())
            if canonical is None:
                valid = ", ".join(self.instruments)
                alias = f" (aliases: {', '.join(self.aliases)})" if self.aliases else ""
                raise VodaxaError(f"{self.name} has no instrument '{item}'; valid: {valid}{alias}")
            if canonical not in out:
                out.append(canonical)
        if not out:
            raise VodaxaError(f"choose at least one {self.name} instrument from {', '.join(self.instruments)}")
        return tuple(out)

    def instrument_where(self, chosen: Sequence[str]) -> list[str]:
        """ADQL conditions keeping rows in which one of ``chosen`` took data.

        Parameters
        ----------
        chosen : sequence of str
            The instruments chosen, canonically spelt.

        Returns
        -------
        list of str
            The conditions, to be joined by AND (none when every row qualifies).
        """
        if self.instrument_condition is not None:
            return self.instrument_condition(chosen)
        if self.instrument_column:
            values = [v for inst in chosen for v in self.instrument_values.get(inst, (inst,))]
            return [in_list(ident(self.instrument_column), values)]
        columns = list(dict.fromkeys(self.exposure_columns[i] for i in chosen if i in self.exposure_columns))
        return ["(" + " OR ".join(f"{ident(c)} > 0" for c in columns) + ")"] if columns else []

    def search_radius(self, chosen: Sequence[str], *, explicit: bool = False) -> float | dict[str, float]:
        """The default search distance: 1.2 x FoV (DAXA's), per instrument where it varies by observation.

        Where the instruments of one observation share its pointing and their fields differ more than twentyfold
        (Swift: XRT 0.2 deg, BAT's coded mask 50 deg), the default follows the narrow instruments, which is what
        a target name means to most people; the wide one's field is searched when it is asked for by name.

        Parameters
        ----------
        chosen : sequence of str
            The instruments chosen, canonically spelt.
        explicit : bool, optional
            Whether the instruments were chosen by name (default False).

        Returns
        -------
        float or dict of str to float
            Degrees: one distance, or one per instrument for missions with one instrument per observation.
        """
        if not isinstance(self.fov, Mapping):
            return 1.2 * float(self.fov)
        radii = {i: 1.2 * float(self.fov[i]) for i in chosen if i in self.fov}
        if self.instrument_column:  # one instrument per row: each row is matched with its own instrument's field
            return radii
        if not explicit and len(radii) > 1:
            narrow = {i: r for i, r in radii.items() if r <= WIDE_FACTOR * min(radii.values())}
            if len(narrow) < len(radii):
                log.info("%s: searching the narrow instruments' fields (%s); choose %s by name to search its field",
                         self.name, ", ".join(narrow), " or ".join(sorted(set(radii) - set(narrow))))  # fmt: skip
                radii = narrow
        return max(radii.values()) if radii else 1.2 * max(float(v) for v in self.fov.values())

    def scs_url(self, base: str) -> str:
        """The mission's cone-search URL at ``base``, e.g. ``coneGet.pl?table=numaster&``.

        Parameters
        ----------
        base : str
            The archive's ``scs`` endpoint.

        Returns
        -------
        str
            The URL to which a cone's ``RA``, ``DEC`` and ``SR`` are added.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If the mission has no cone search service.
        """
        if self.scs is None:
            raise VodaxaError(f"{self.name} has no cone search service; search it through TAP")
        if not self.scs:
            return base
        return f"{base}{'&' if '?' in base else '?'}{self.scs.rstrip('&')}&"

    # ------------------------------------------------------------------------------ ADQL pieces
    @property
    def select_columns(self) -> tuple[str, ...]:
        """Every column to fetch: the id, position, times and the mission's own."""
        base = [
            self.id_column,
            self.ra,
            self.dec,
            self.start,
            self.end,
            self.duration,
            self.instrument_column,
            self.proprietary_column,
            self.target_column,
            self.datalink_id,
            *self.columns,
        ]
        return tuple(dict.fromkeys(c for c in base if c))

    def start_expr(self, alias: str | None = None) -> str:
        """ADQL for the observation start.

        Parameters
        ----------
        alias : str, optional
            The table's alias in the query, if any.

        Returns
        -------
        str
            The (quoted) column.
        """
        return f"{alias}.{ident(self.start)}" if alias else ident(self.start)

    def end_expr(self, alias: str | None = None) -> str:
        """ADQL for the observation end (start + duration when the table has no end column).

        Parameters
        ----------
        alias : str, optional
            The table's alias in the query, if any.

        Returns
        -------
        str
            The expression.

        Raises
        ------
        vodaxa.errors.VodaxaError
            If the end cannot be written in ADQL (see :attr:`end_in_adql`).
        """
        pre = f"{alias}." if alias else ""
        if self.end:
            return pre + ident(self.end)
        if self.duration and self.time_format == "mjd":
            return f"({pre}{ident(self.start)} + {pre}{ident(self.duration)} * {self.duration_unit!r} / 86400.0)"
        raise VodaxaError(f"{self.name}: no end time can be written in ADQL for this table")

    @property
    def end_in_adql(self) -> bool:
        """Whether the observation end can be written in ADQL (else time windows are refined locally)."""
        return bool(self.end) or bool(self.duration and self.time_format == "mjd")

    def time_value(self, when: datetime) -> float | datetime:
        """A datetime as this table stores times.

        Parameters
        ----------
        when : datetime.datetime
            The time (naive means UTC).

        Returns
        -------
        float or datetime.datetime
            An MJD, or an aware UTC datetime, as :attr:`time_format` says.
        """
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if self.time_format == "mjd":
            return _MJD_UNIX + when.timestamp() / 86400.0
        return when.astimezone(timezone.utc)

    def id_values(self, ids: Iterable[str]) -> list[str | int]:
        """ObsIDs as the table stores them.

        Parameters
        ----------
        ids : iterable of str
            The ObsIDs (checked by :meth:`check_ids`).

        Returns
        -------
        list of str or int
            Numbers for numeric ID columns, else the text.
        """
        return [int(i) for i in ids] if self.id_numeric else list(ids)

    def check_ids(self, ids: Iterable[str | int]) -> list[str]:
        """Check ObsIDs against the mission's regex.

        Parameters
        ----------
        ids : iterable of str or int
            The ObsIDs, as a user typed them.

        Returns
        -------
        list of str
            The ObsIDs stripped, and upper-cased where the mission's are (:attr:`id_upper`).

        Raises
        ------
        vodaxa.errors.InputError
            If an ObsID does not match (the message names the regex).
        """
        out = []
        pattern = re.compile(self.id_regex)
        for raw in ids:
            value = str(raw).strip().upper() if self.id_upper and not self.id_numeric else str(raw).strip()
            if not pattern.match(value) and not pattern.match(str(raw).strip()):
                raise InputError(f"'{raw}' is not a {self.name} ObsID: it must match {self.id_regex}")
            out.append(value if pattern.match(value) else str(raw).strip())
        return out

    # ------------------------------------------------------------------------------ normalising
    def normalise(self, table: pd.DataFrame, *, now: datetime | None = None) -> pd.DataFrame:
        """The archive's rows as vodaxa's normalised observation table (see :mod:`vodaxa.query.mission`).

        Parameters
        ----------
        table : pandas.DataFrame
            The rows, with the archive's columns.
        now : datetime.datetime, optional
            The time at which proprietary periods are judged; None (the default) means the current time.

        Returns
        -------
        pandas.DataFrame
            The columns of :data:`OBS_COLUMNS` (times as UTC timestamps, durations as timedeltas, impossible
            times as unknown), then ``datalink_id`` and the mission's own :attr:`columns`.
        """
        now = now or datetime.now(timezone.utc)
        src = table.copy()
        src.columns = [str(c) for c in src.columns]
        out = pd.DataFrame(index=src.index)
        out["mission"] = self.name
        out["obs_id"] = src[self.id_column].map(clean_text)
        out["ra"] = pd.to_numeric(src[self.ra], errors="coerce").astype(float)
        out["dec"] = pd.to_numeric(src[self.dec], errors="coerce").astype(float)
        out["start"] = self._times(src[self.start])
        if self.end:
            out["end"] = self._times(src[self.end])
        elif self.duration:
            out["end"] = out["start"] + pd.to_timedelta(
                pd.to_numeric(src[self.duration], errors="coerce") * self.duration_unit, unit="s"
            )
        else:
            out["end"] = out["start"]
        out["duration"] = out["end"] - out["start"]
        if self.duration:
            out["duration"] = pd.to_timedelta(
                pd.to_numeric(src[self.duration], errors="coerce") * self.duration_unit, unit="s"
            )
        out["science_usable"] = self.science_usable(src) if self.science_usable else pd.Series(True, src.index)
        out["science_usable"] = out["science_usable"].fillna(False).astype(bool)
        if self.proprietary_column:
            end = src[self.proprietary_column]
            if pd.api.types.is_numeric_dtype(end):  # MJD; anything else is a timestamp
                numeric = pd.to_numeric(end, errors="coerce")
                numeric = numeric.where(~numeric.isin(self.proprietary_sentinels))
                out["proprietary_end"] = _mjd_times(numeric)
            else:  # a timestamp, even where the start times are MJD (ESO: mjd_obs, but release_date)
                out["proprietary_end"] = _timestamps(end)
            usable = out["proprietary_end"].notna() & (out["proprietary_end"] <= pd.Timestamp(now))
        else:
            out["proprietary_end"] = pd.Series(pd.NaT, index=src.index, dtype="datetime64[ns, UTC]")
            usable = pd.Series(True, src.index)
        if self.proprietary_condition is not None:
            usable &= self.proprietary_condition(src).fillna(False).astype(bool)
        out["proprietary_usable"] = usable.astype(bool)
        out["instrument"] = self._instruments(src)
        out["target_category"] = self._targets(src)
        if self.datalink_id and self.datalink_id in src.columns:
            out["datalink_id"] = src[self.datalink_id].map(clean_text)
        for col in self.columns:
            if col in src.columns and col not in out.columns:
                out[col] = src[col].map(clean_text) if src[col].dtype == object else src[col]
        if self.normalise_extra is not None:
            out = self.normalise_extra(out)
        return out.reset_index(drop=True)

    def _times(self, values: pd.Series) -> pd.Series:
        if self.time_format == "mjd":
            return _mjd_times(pd.to_numeric(values, errors="coerce"))
        return _timestamps(values)

    def _instruments(self, src: pd.DataFrame) -> pd.Series:
        if not self.instrument_column:
            return pd.Series([None] * len(src), index=src.index, dtype=object)
        reverse = {raw: inst for inst, raws in self.instrument_values.items() for raw in raws}

        def instrument(value: object) -> str | None:
            text = clean_text(value)
            return None if text is None else reverse.get(text, text)

        return src[self.instrument_column].map(instrument)

    def _targets(self, src: pd.DataFrame) -> pd.Series:
        if self.target_function is not None:
            return self.target_function(src)
        if not self.target_column:
            return pd.Series([self.target_default] * len(src), index=src.index, dtype=object)

        def category(value: object) -> str | None:
            text = clean_text(value)
            return self.target_default if text is None else self.target_map.get(text, self.target_default)

        return src[self.target_column].map(category)


#: Times outside these years are no observation's (a server's 9999-12-31 or MJD 1e6): they are read as unknown,
#: so that no difference of two times can overflow.
_EARLIEST, _LATEST = pd.Timestamp("1800-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC")


def _plausible(times: pd.Series) -> pd.Series:
    return times.where((times >= _EARLIEST) & (times <= _LATEST))


def _timestamps(values: pd.Series) -> pd.Series:
    """ISO timestamps (text or datetimes) as UTC times; blanks, garbage and impossible years become NaT."""
    cells = values.map(lambda v: None if v is None or v == "" else str(v))
    return _plausible(pd.to_datetime(cells, utc=True, errors="coerce"))


def clean_text(value: object) -> str | None:
    """Archive values as clean text (bytes decoded, padding stripped, masked as None)."""
    if value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    return str(value).strip()


def _mjd_times(mjd: pd.Series) -> pd.Series:
    """UTC timestamps of MJD values (NaN -> NaT)."""
    days = mjd.astype(float).where(lambda d: (d > -22000.0) & (d < 96000.0))  # about 1800 to 2200
    return _plausible(pd.to_datetime((days - _MJD_UNIX) * 86400.0, unit="s", utc=True, errors="coerce"))


# ---------------------------------------------------------------------------------- registry
_REGISTRY: dict[str, MissionSpec] = {}
_loaded = False
_LOAD_LOCK = threading.RLock()


def register(spec: MissionSpec, *, replace: bool = False) -> MissionSpec:
    """Add a mission spec to the registry.

    Parameters
    ----------
    spec : MissionSpec
        The spec.
    replace : bool, optional
        Replace a spec of the same name (default False: a name may only be taken once).

    Returns
    -------
    MissionSpec
        ``spec``, so a module can write ``NUSTAR = register(MissionSpec(...))``.

    Raises
    ------
    vodaxa.errors.VodaxaError
        If another spec has the name and ``replace`` is False.
    """
    if spec.name in _REGISTRY and not replace and _REGISTRY[spec.name] is not spec:
        raise VodaxaError(f"a mission called '{spec.name}' is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def _load() -> None:
    """Register every archive's missions (``vodaxa/archives/<name>/``), then the ``vodaxa.missions`` plugins'.

    Done once, by the first thread to ask; the others wait for it (none sees a half-filled registry)."""
    global _loaded
    if _loaded:
        return
    with _LOAD_LOCK:
        if not _loaded:
            _load_all()
            _loaded = True


def _load_all() -> None:
    from .. import archives

    for archive in archives.archives():
        try:
            archive.load_missions()
        except Exception as err:
            if archive.package.startswith("vodaxa.archives."):
                raise
            log.warning("the missions of archive plugin %s could not be loaded: %s", archive.name, err)
    from ..plugins import plugins

    for _, spec in plugins("vodaxa.missions", MissionSpec, "mission", log):
        register(spec, replace=True)


def specs() -> list[MissionSpec]:
    """Every registered mission spec.

    The registry is filled on first use: the built-in archives' missions, then those of the ``vodaxa.missions``
    entry points.

    Returns
    -------
    list of MissionSpec
        Listed and alternative sources alike.
    """
    _load()
    return list(_REGISTRY.values())


def names() -> list[str]:
    """Every listed mission name (alternative sources are reached through ``source=``).

    Returns
    -------
    list of str
        The registry names.

    Examples
    --------
    >>> from vodaxa.specs import registry
    >>> "nustar_pointed" in registry.names()
    True
    """
    return [s.name for s in specs() if s.listed]


#: Short names people type, where they name one mission unambiguously (DAXA's names are the registry's).
ALIASES: Mapping[str, str] = {
    "xmm": "xmm_pointed", "xmm_newton": "xmm_pointed", "nustar": "nustar_pointed", "rosat": "rosat_pointed",
    "erosita": "erosita_all_sky_de_dr1", "erass1": "erosita_all_sky_de_dr1", "xrism": "xrism_pointed",
    "integral": "integral_pointed",
}  # fmt: skip


#: Fields more than this many times wider than the narrowest of the same pointing are left out of the default
#: search radius (Swift BAT: 254 times XRT; XRISM Xtend, 13 times Resolve, stays in).
WIDE_FACTOR = 20.0


def get(name: str) -> MissionSpec:
    """The spec called ``name``.

    Parameters
    ----------
    name : str
        A registry name, in any case, ``-`` for ``_``, or a short name (:data:`ALIASES`: ``nustar``, ``xmm``).

    Returns
    -------
    MissionSpec
        The spec.

    Raises
    ------
    vodaxa.errors.UnknownMissionError
        If no mission has the name (the message lists the known ones, and suggests close names).

    Examples
    --------
    >>> from vodaxa.specs import registry
    >>> spec = registry.get("NuSTAR")
    >>> spec.name, spec.instruments
    ('nustar_pointed', ('FPMA', 'FPMB'))
    """
    _load()
    if name in _REGISTRY:
        return _REGISTRY[name]
    key = str(name).strip().lower().replace("-", "_")
    if key in _REGISTRY:
        return _REGISTRY[key]
    if key in ALIASES:
        return _REGISTRY[ALIASES[key]]
    import difflib

    known = names()
    close = difflib.get_close_matches(key, [*known, *ALIASES], n=3, cutoff=0.6)
    guesses = list(dict.fromkeys(ALIASES.get(c, c) for c in close))
    hint = f"did you mean {' or '.join(repr(g) for g in guesses)}? " if guesses else ""
    raise UnknownMissionError(
        f"unknown mission '{name}'; {hint}known missions: {', '.join(sorted(known))} "
        f"(short names: {', '.join(f'{a}={m}' for a, m in sorted(ALIASES.items()))})"
    ) from None


def missions_table() -> pd.DataFrame:
    """Every listed mission as a table (what ``vodaxa.missions()`` gives).

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``pretty_name``, ``archive``, ``instruments`` and ``default_instruments``
        (comma-joined), and ``fov`` (degrees, or a dict per instrument).
    """
    rows = []
    for spec in specs():
        if not spec.listed:
            continue
        rows.append(
            {
                "name": spec.name,
                "pretty_name": spec.pretty_name,
                "archive": spec.archive,
                "instruments": ", ".join(spec.instruments),
                "default_instruments": ", ".join(spec.default_instruments),
                "fov": dict(spec.fov) if isinstance(spec.fov, Mapping) else spec.fov,
            }
        )
    return pd.DataFrame(rows)
