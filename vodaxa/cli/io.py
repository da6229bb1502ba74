"""Tables in and out of the command line: positions files, observation tables, output formats."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AdjustedInputWarning, InputError

if TYPE_CHECKING:
    import pandas as pd
    from astropy.coordinates import SkyCoord

__all__ = [
    "FORMATS",
    "be_quiet",
    "format_for",
    "human_size",
    "output_format",
    "plural",
    "read_observations",
    "read_positions",
    "say",
    "sizes_of",
    "typed_observations",
    "write_table",
]

FORMATS = ("table", "csv", "votable", "json")
_QUIET = [False]  # the command line's -q: status lines and progress bars are left out (results and errors are not)


def be_quiet(quiet: bool) -> bool:
    """Set whether status lines and progress bars are left out (``-q``); returns the previous setting."""
    before, _QUIET[0] = _QUIET[0], bool(quiet)
    return before


def say(line: str) -> None:
    """Print a status line (what was found, where it was written) on standard error, unless ``-q``."""
    if not _QUIET[0]:
        print(line, file=sys.stderr)
_SUFFIXES = {".csv": "csv", ".xml": "votable", ".vot": "votable", ".votable": "votable", ".json": "json",
             ".txt": "table", "": "table"}  # fmt: skip


def format_for(path: Path | None, requested: str | None) -> str:
    """The output format: as requested, else from the file's suffix, else a text table."""
    if requested:
        return requested
    if path is None:
        return "table"
    return _SUFFIXES.get(path.suffix.lower(), "table")


def output_format(path: Path | None, requested: str | None) -> str:
    """:func:`format_for` an output file, refusing a suffix it does not know (rather than a text table in x.fits)."""
    if not requested and path is not None and path.suffix.lower() not in _SUFFIXES:
        raise InputError(f"{path}: unknown output suffix {path.suffix!r}; use .csv, .xml/.vot/.votable (VOTable), "
                         f".json, or .txt (a text table), or choose with --format {'|'.join(FORMATS)}")  # fmt: skip
    return format_for(path, requested)


def read_positions(path: Path) -> SkyCoord:
    """Sky positions from a file: CSV with ``ra``/``dec`` columns (degrees), or whitespace-separated
    ``ra dec`` lines (``#`` comments allowed).  Names are not accepted here: use ``--name``."""
    import astropy.units as u
    import pandas as pd
    from astropy.coordinates import SkyCoord

    text = _read_text(path, "positions file")
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if "," in first:
        frame = pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        if not {"ra", "dec"} <= set(frame.columns):
            raise InputError(f"{path}: a CSV positions file needs 'ra' and 'dec' columns (degrees); "
                             f"found {', '.join(frame.columns)}")  # fmt: skip
        rows = list(zip(frame["ra"], frame["dec"], strict=True))
        numbers = [(str(ra), str(dec), n + 2) for n, (ra, dec) in enumerate(rows)]
    else:
        numbers = []
        for n, line in enumerate(text.splitlines(), start=1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) != 2:
                raise InputError(f"{path}, line {n}: expected 'ra dec' in degrees, got {line.strip()!r}")
            numbers.append((fields[0], fields[1], n))
    ras, decs = [], []
    for ra_text, dec_text, n in numbers:
        try:
            ra, dec = float(ra_text), float(dec_text)
        except ValueError:
            why = f"{ra_text!r}, {dec_text!r} are not numbers (ra, dec in degrees)"
            raise InputError(f"{path}, line {n}: {why}") from None
        if not (0.0 <= ra < 360.0 and -90.0 <= dec <= 90.0):
            raise InputError(f"{path}, line {n}: ra={ra}, dec={dec} is not on the sky (0 <= ra < 360, |dec| <= 90)")
        ras.append(ra)
        decs.append(dec)
    if not ras:
        raise InputError(f"{path}: no positions found (expected 'ra dec' lines or a CSV with ra, dec columns)")
    return SkyCoord(ras * u.deg, decs * u.deg, frame="icrs")


def read_observations(path: Path) -> pd.DataFrame:
    """An observation table written by ``vodaxa search`` (CSV, VOTable or JSON), read back as it was written:
    identifiers as text (see :func:`typed_observations`)."""
    import json

    import pandas as pd

    kind = format_for(path, None)
    _check(path, "observation table")
    try:
        if kind == "csv":  # every cell as text first: a reader's guesses would turn "0057" into 57.0
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        elif kind == "json":  # JSON says itself what is text and what is a number
            records = json.loads(path.read_text())
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ValueError("not a list of records")
            frame = pd.DataFrame.from_records(records)
        elif kind == "votable":
            from astropy.table import Table

            frame = Table.read(path, format="votable").to_pandas()
        else:
            raise InputError(f"{path}: unknown table format; use .csv, .json or .xml/.vot (VOTable)")
    except InputError:
        raise
    except Exception as err:  # pandas and astropy raise many types for a broken file
        raise InputError(f"{path}: not a readable {kind} table ({type(err).__name__}: {err})") from None
    missing = {"mission", "obs_id"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}: an observation table needs the columns mission and obs_id "
                         f"(as 'vodaxa search' writes); missing {', '.join(sorted(missing))}")  # fmt: skip
    return typed_observations(frame, untyped=kind == "csv")


#: A cell that is unambiguously a number (no leading zeros, no exponent, no sign games), for columns outside
#: :data:`OBS_TYPES` read from CSV, which cannot say what it holds.
_PLAIN_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?")


def typed_observations(frame: pd.DataFrame, *, untyped: bool = False) -> pd.DataFrame:
    """``frame``'s columns as the observation table holds them (:data:`~vodaxa.specs.registry.OBS_TYPES`):
    text with None for missing values, floats, UTC times, durations, booleans.  Other columns (a mission's
    extras) keep what the file says: JSON and VOTable record it; from CSV (``untyped``: every cell read as text)
    a column becomes numeric only when every value is a plain number (``0057``, ``1e5`` or 20-digit IDs stay
    text)."""
    import pandas as pd

    from ..specs.registry import OBS_TYPES

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        kind = OBS_TYPES.get(str(name)) or _inferred(column, untyped)
        if kind == "text":  # as the search builds it: pandas' text dtype where it has one, else objects
            out[name] = column.map(_text)
        elif kind == "float":
            out[name] = pd.to_numeric(column.map(_blank_none), errors="coerce").astype(float)
        elif kind == "time":
            out[name] = pd.to_datetime(column.map(_blank_none), utc=True, errors="coerce", format="ISO8601").astype(
                "datetime64[ns, UTC]"
            )
        elif kind == "duration":
            values = column.map(_blank_none)
            numeric = pd.to_numeric(values, errors="coerce")
            seconds = pd.to_timedelta(numeric, unit="s")
            parsed = pd.to_timedelta(values.where(numeric.isna()), errors="coerce")
            out[name] = seconds.fillna(parsed).astype("timedelta64[ns]")
        elif kind == "bool":
            out[name] = column.map(lambda v: str(v).strip().lower() in ("true", "1", "t", "yes")).astype(bool)
        elif kind == "int":
            out[name] = pd.to_numeric(column.map(_blank_none)).astype("int64")
    return out


def _blank_none(value: object) -> object:
    return None if value is None or (isinstance(value, str) and not value.strip()) else value


def _text(value: object) -> str | None:
    """A cell as text; None, NaN, masked and blank cells are missing (None)."""
    import numpy as np

    if value is None or value is np.ma.masked or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _inferred(column: pd.Series, untyped: bool) -> str:
    """What an extra column holds: numbers and booleans where the file typed them (JSON, VOTable), or where
    every CSV cell is a plain number or true/false; text otherwise."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return "keep"
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return "keep"
    values = [v for v in column if _text(v) is not None]
    if not values:
        return "text"
    if all(isinstance(v, bool) for v in values):
        return "keep"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float" if any(isinstance(v, float) for v in values) or len(values) < len(column) else "int"
    if not untyped:
        return "text"  # the file said these are strings
    if all(isinstance(v, str) for v in values) and all(_PLAIN_NUMBER.fullmatch(v.strip()) for v in values):
        return "float" if any("." in v for v in values) or len(values) < len(column) else "int"
    if all(isinstance(v, str) and v.strip() in ("True", "False") for v in values) and len(values) == len(column):
        return "bool"
    return "text"


def write_table(frame: pd.DataFrame, fmt: str, path: Path | None = None, columns: str | None = None) -> None:
    """Write ``frame`` as a text table, CSV, VOTable or JSON records, to ``path`` or standard output.  Times are
    ISO 8601 (UTC), durations seconds (JSON, VOTable); :func:`read_observations` reads each back unchanged.
    A text table on standard output shows ``columns`` (default: a reader's set) fitted to the terminal; a file
    gets every column (or ``columns``), whole."""
    if fmt == "table":
        from .screen import render

        if path is None:
            render(frame, columns)
        else:
            buffer = io.StringIO()
            render(frame, columns or "all", stream=buffer, notes=io.StringIO(), fit=False)
            _emit(buffer.getvalue(), path)
        return
    if columns is not None:
        from .screen import choose_columns

        frame = frame.reindex(columns=choose_columns(frame, columns))
    if fmt == "csv":
        import json

        nested = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (dict, list))).any()]
        if nested:  # JSON in the cell, which any reader can parse, rather than Python's repr
            frame = frame.assign(**{c: frame[c].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
                                    for c in nested})  # fmt: skip
        _emit(csv_text(frame), path)
    elif fmt == "json":
        import json

        _emit(json.dumps(_records(frame), indent=1, ensure_ascii=False) + "\n", path)
    elif fmt == "votable":

        from ..compat import safe_votable_writer

        safe_votable_writer()

        from ..tables import to_table

        table = to_table(_xml_safe(frame), votable=True)  # units and UCDs on the VO's columns, times as ISO text
        if path is None:
            written = io.BytesIO()
            table.write(written, format="votable")
            sys.stdout.write(written.getvalue().decode())
        else:
            table.write(path, format="votable", overwrite=True)
    else:
        raise InputError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV with RFC 4180's CRLF line ends: a cell holding a bare carriage return (a server's text) is
    then quoted, so it can never split a row in two for the reader (with "\n" line ends, pandas leaves it bare)."""
    return frame.to_csv(index=False, lineterminator="\r\n")


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: text stays text, numbers numbers, times ISO, durations seconds, missing null."""
    import math

    import numpy as np
    import pandas as pd

    def cell(value: object) -> object:
        if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        if isinstance(value, pd.Timedelta):
            return value.total_seconds()
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return None if math.isnan(value) else float(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value if isinstance(value, (str, int, float, bool)) else str(value)

    columns = [str(c) for c in frame.columns]
    return [dict(zip(columns, (cell(v) for v in row))) for row in frame.itertuples(index=False, name=None)]


def _xml_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the characters XML cannot hold, even escaped, shown escaped in its text columns (warned)."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype != object and not pd.api.types.is_string_dtype(column):
            continue
        text = column.map(lambda v: isinstance(v, str) and bool(_NOT_XML.search(v)))
        if text.any():  # XML 1.0 cannot hold them at all
            import warnings

            warnings.warn(f"column {name!r} holds control characters XML cannot carry; the VOTable shows them "
                          "escaped (\\x1b, ...): CSV and JSON keep them as sent",
                          AdjustedInputWarning, stacklevel=3)  # fmt: skip
            out[name] = column.map(lambda v: _NOT_XML.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                                                          v) if isinstance(v, str) else v)  # fmt: skip
    return out


#: Characters XML 1.0 cannot hold, even escaped (C0 controls but tab, newline and carriage return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _emit(text: str, path: Path | None) -> None:
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text)


def _check(path: Path, what: str) -> None:
    """InputError unless ``path`` is an existing file."""
    if not path.exists():
        raise InputError(f"{what} {path} does not exist")
    if not path.is_file():
        raise InputError(f"{what} {path} is not a file")


def _read_text(path: Path, what: str) -> str:
    _check(path, what)
    try:
        return path.read_text()
    except (PermissionError, UnicodeDecodeError) as err:
        raise InputError(f"{what} {path} cannot be read ({type(err).__name__})") from None


def plural(count: int, noun: str) -> str:
    """``1 observation``, ``2 observations``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def sizes_of(files: pd.DataFrame) -> str:
    """The files' total size as far as it is known (archives' listings often give none): never "0 B" for
    sizes nobody told us."""
    import pandas as pd

    sizes = [v for v in files.get("size", []) if not pd.isna(v)]
    known, total = len(sizes), human_size(float(sum(sizes)))
    if known == len(files):
        return total
    if known == 0:
        return "sizes not listed by the archive"
    return f"{total} known for {known} of them"


def human_size(size: float) -> str:
    """A byte count as people read it (``123 B``, ``4.5 MiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _terminal() -> bool:
    """Whether progress bars have a terminal to redraw on (standard error); in a pipe or a log file they are noise."""
    if _QUIET[0]:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
