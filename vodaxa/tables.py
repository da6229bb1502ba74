"""Observation tables and manifests as astropy Tables, and back, without loss: times as ``Time`` (UTC),
durations and angles as Quantities, identifiers as text, and the VO's UCDs on the columns it defines, so a
table goes on to astropy, pyvo and VOTable files as astronomers expect; pandas stays vodaxa's working form."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import AdjustedInputWarning, InputError
from .quiet import quiet

if TYPE_CHECKING:
    import pandas as pd
    from astropy.table import Table
    from pyvo.dal import DALResults

__all__ = ["UCDS", "UNITS", "from_table", "to_table"]

#: The VO's words (UCD1+) for the observation table's own columns.
UCDS: Mapping[str, str] = {
    "mission": "meta.id;instr.obsty", "obs_id": "meta.id;meta.main", "ra": "pos.eq.ra;meta.main",
    "dec": "pos.eq.dec;meta.main", "start": "time.start;obs.exposure", "end": "time.end;obs.exposure",
    "duration": "time.duration;obs.exposure", "separation": "pos.angDistance", "instrument": "meta.id;instr",
    "proprietary_end": "time.release", "science_usable": "meta.code.qual", "proprietary_usable": "meta.code",
    "target_category": "meta.code.class;src", "url": "meta.ref.url", "local_path": "meta.file",
    "size": "phys.size;meta.file", "checksum": "meta.checksum", "content_type": "meta.code.mime",
    "semantics": "meta.code",
}  # fmt: skip
#: Units of the observation table's own numeric columns (durations are seconds).
UNITS: Mapping[str, str] = {"ra": "deg", "dec": "deg", "separation": "deg", "duration": "s", "size": "byte"}


def to_table(frame: pd.DataFrame, *, votable: bool = False) -> Table:
    """An observation table, a search result or a manifest's rows as an astropy Table, without loss.

    Times become ``astropy.time.Time`` in UTC (masked where unknown), durations seconds and angles degrees as
    Quantities (:data:`UNITS`), flags some rows lack masked booleans, text stays text (``"0057"`` is not 57) and
    missing text is masked; the VO's UCDs (:data:`UCDS`) go on the columns it defines, and ``frame.attrs`` to
    ``meta["vodaxa"]``.  :func:`from_table` gives the same frame back.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table: ``vodaxa.search``'s result, ``Mission.filtered_obs_info``, ``Manifest.frame``, ...
    votable : bool, optional
        Write times as ISO 8601 text marked ``xtype="timestamp"``, which a VOTable can hold (``Time`` it
        cannot); :func:`from_table` reads them back as times.  Default False.

    Returns
    -------
    astropy.table.Table
        One column per column of ``frame``, in order.

    Raises
    ------
    vodaxa.errors.InputError
        If ``frame`` is not a pandas DataFrame.

    See Also
    --------
    from_table : The way back.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.tables import from_table, to_table
    >>> found = vodaxa.search(["3C 105"], missions=["nustar_pointed", "chandra"])
    >>> table = to_table(found)
    >>> len(table), table.colnames[:5]
    (7, ['mission', 'obs_id', 'targets', 'separation', 'in_fov'])
    >>> table["start"].scale, table["ra"].unit, table["duration"].unit
    ('utc', Unit("deg"), Unit("s"))
    >>> table["obs_id"].info.meta["ucd"]
    'meta.id;meta.main'

    Through a VOTable file and back:

    >>> from astropy.table import Table
    >>> to_table(found, votable=True).write("found.xml", format="votable")
    >>> back = from_table(Table.read("found.xml"))
    >>> back["obs_id"].tolist() == found["obs_id"].tolist(), back["start"].equals(found["start"])
    (True, True)
    """
    import numpy as np
    import pandas as pd
    from astropy import units as u
    from astropy.table import MaskedColumn, Table
    from astropy.time import Time

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"to_table takes a pandas DataFrame (an observation table or manifest), not "
                         f"{type(frame).__name__}")  # fmt: skip
    duplicated = sorted({str(n) for n in frame.columns[frame.columns.duplicated()]})
    if duplicated:
        raise InputError(f"the frame has more than one column named {', '.join(map(repr, duplicated))}; a table "
                         "needs unique column names: rename or drop the copies first")  # fmt: skip
    table = Table(meta={"vodaxa": dict(frame.attrs)} if frame.attrs else {})
    for name in frame.columns:
        column, key = frame[name], str(name)
        if pd.api.types.is_datetime64_any_dtype(column):
            known = column.notna().to_numpy()
            utc = column.dt.tz_convert("UTC").dt.tz_localize(None) if column.dt.tz is not None else column
            if votable:  # ISO text to the nanosecond, as pandas holds it
                iso = [t.isoformat() if ok else "" for t, ok in zip(utc, known)]
                table[key] = MaskedColumn(np.array(iso, dtype=str), mask=~known)
            else:
                stamps = utc.fillna(pd.Timestamp("2000-01-01")).to_numpy(dtype="datetime64[ns]")
                with quiet():  # ERFA's "dubious year" for dates past its leap-second table (proprietary ends)
                    values = Time(stamps, format="datetime64", scale="utc")
                if not known.all():
                    values[~known] = np.ma.masked
                table[key] = values
        elif pd.api.types.is_timedelta64_dtype(column):
            seconds = column.dt.total_seconds().to_numpy(dtype=float)
            table[key] = MaskedColumn(seconds, mask=np.isnan(seconds), unit=u.s)
        elif column.dtype == object and column.notna().any() and all(
            isinstance(v, (bool, np.bool_)) for v in column[column.notna()]
        ):  # flags some rows lack (True, False or unknown)
            table[key] = MaskedColumn(column.fillna(False).astype(bool).to_numpy(), mask=column.isna().to_numpy())
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            data = column.to_numpy()
            mask = column.isna().to_numpy()
            table[key] = MaskedColumn(data, mask=mask, unit=UNITS.get(key)) if mask.any() else data
            if key in UNITS and not mask.any():
                table[key].unit = UNITS[key]
        else:
            cells = [None if pd.api.types.is_scalar(v) and pd.isna(v) else str(v) for v in column]  # None, NaN, NA
            mask = np.array([c is None for c in cells], dtype=bool)
            table[key] = MaskedColumn(np.array([c or "" for c in cells], dtype=object).astype(str), mask=mask)
        meta = {"ucd": UCDS[key]} if key in UCDS else {}
        if votable and pd.api.types.is_datetime64_any_dtype(column):
            meta["xtype"] = "timestamp"
        if meta:
            table[key].info.meta = meta
    return table


def from_table(table: Table | DALResults) -> pd.DataFrame:
    """An astropy Table (or a pyvo result) as vodaxa's pandas frame, the way back from :func:`to_table`.

    The observation table's own columns are typed as vodaxa types them (text IDs, UTC times, durations, also
    from a VOTable's text), Quantities are read in the units of :data:`UNITS`, masked cells (and empty text)
    are missing, and ``meta["vodaxa"]`` goes back to ``attrs``.

    Parameters
    ----------
    table : astropy.table.Table or pyvo.dal.DALResults
        The table, or anything else with ``to_table()`` (a pyvo result).

    Returns
    -------
    pandas.DataFrame
        One column per column of the table, in order.

    Raises
    ------
    vodaxa.errors.InputError
        If ``table`` is neither a table nor has ``to_table()``.

    See Also
    --------
    to_table : The way there.
    """
    import numpy as np
    import pandas as pd
    from astropy import units as u
    from astropy.time import Time

    from .specs.registry import OBS_TYPES

    if hasattr(table, "to_table") and not hasattr(table, "colnames"):
        table = table.to_table()
    if not hasattr(table, "colnames"):
        raise InputError(f"from_table takes an astropy Table or a pyvo result, not {type(table).__name__}")
    columns: dict[str, Any] = {}
    for name in table.colnames:
        column = table[name]
        if isinstance(column, Time):
            masked = getattr(column, "masked", False)
            mask = np.asarray(column.mask, dtype=bool) if masked else np.zeros(len(column), bool)
            utc = column.utc
            if mask.any():
                utc = utc.copy()
                utc[mask] = Time("2000-01-01", scale="utc")
            with quiet():
                stamps = pd.to_datetime(np.asarray(utc.datetime64, dtype="datetime64[ns]"), utc=True)
            columns[name] = pd.Series(stamps).where(~mask).astype("datetime64[ns, UTC]")
            continue
        mask = np.ma.getmaskarray(column) if hasattr(column, "mask") else np.zeros(len(column), bool)
        unit = getattr(column, "unit", None)
        data = np.asarray(np.ma.getdata(column))
        if data.ndim != 1:
            advice = (" (astropy writes a time to FITS as two numbers: read the file with Table.read(path, "
                      "astropy_native=True), or keep tables in VOTable or ECSV)" if OBS_TYPES.get(name) == "time"
                      else "")  # fmt: skip
            raise InputError(f"column {name!r} holds {data.shape[1:]} values per row; an observation table has one "
                             f"value per cell{advice}")  # fmt: skip
        if data.dtype.kind == "S":  # bytes (FITS text): as text
            data = np.char.decode(data, "utf-8", errors="replace")
        if unit is not None and name in UNITS:
            try:
                data = u.Quantity(data, unit).to_value(u.Unit(UNITS[name]))
            except u.UnitsError:
                raise InputError(f"column {name!r} is in {unit}, which is not a unit of {UNITS[name]}; give it in "
                                 f"{UNITS[name]} (or a unit that converts to it)") from None  # fmt: skip
        if data.dtype.kind in "US":  # an empty cell is a missing one, as every vodaxa reader has it (VOTable cannot
            series = pd.Series([None if m or not str(v) else str(v) for v, m in zip(data, mask)], dtype=object)  # tell)
        elif data.dtype.kind == "O":
            series = pd.Series([None if m else v for v, m in zip(data, mask)], dtype=object)
        elif mask.any() and data.dtype.kind == "b":  # flags some rows lack: True, False or None
            series = pd.Series([None if m else bool(v) for v, m in zip(data, mask)], dtype=object)
        elif mask.any() and data.dtype.kind in "iu":  # integers some rows lack stay integers
            series = pd.Series(pd.array(np.where(mask, 0, data), dtype="Int64")).mask(mask)
        else:
            series = pd.Series(data)
            if mask.any():
                series = series.astype(float).where(~mask)
        columns[name] = series
    frame = pd.DataFrame(columns)
    for name, kind in OBS_TYPES.items():  # durations come back as seconds, and times from a VOTable as text
        if kind == "duration" and name in frame and not pd.api.types.is_timedelta64_dtype(frame[name]):
            frame[name] = pd.to_timedelta(pd.to_numeric(frame[name], errors="coerce"), unit="s")
        elif kind == "time" and name in frame and not pd.api.types.is_datetime64_any_dtype(frame[name]):
            text = frame[name].map(lambda v: None if v is None or v == "" else v)
            stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
            frame[name] = stamps.astype("datetime64[ns, UTC]")
    saved = table.meta.get("vodaxa", {})
    if isinstance(saved, Mapping):
        frame.attrs.update(dict(saved))
    else:  # a hand-edited file: the table is still read, without what vodaxa noted about it
        warnings.warn(f"meta['vodaxa'] is a {type(saved).__name__}, not the mapping to_table writes; the "
                      "table is read without it", AdjustedInputWarning, stacklevel=2)  # fmt: skip
    return frame
