"""Tables in and out of the command line: positions files, observation tables, output formats."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from astropy.coordinates import SkyCoord

__all__ = [
    "FORMATS",
    "format_for",
    "human_size",
    "output_format",
    "read_observations",
    "read_positions",
    "write_table",
]

FORMATS = ("table", "csv", "votable", "json")
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
    """An observation table written by ``vodaxa search`` (CSV, VOTable or JSON), ObsIDs kept as text."""
    import pandas as pd

    kind = format_for(path, None)
    _check(path, "observation table")
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype={"obs_id": str})
        elif kind == "json":
            frame = pd.read_json(path, orient="records", dtype={"obs_id": str})
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
    frame["obs_id"] = frame["obs_id"].astype(str)
    return frame


def write_table(frame: pd.DataFrame, fmt: str, path: Path | None = None) -> None:
    """Write ``frame`` as a text table, CSV, VOTable or JSON records, to ``path`` or standard output."""
    if fmt == "table":
        import pandas as pd

        with pd.option_context("display.max_rows", 200, "display.width", 160, "display.max_columns", 12):
            text = frame.to_string(index=False) if len(frame) else "(no rows)"
        _emit(text + "\n", path)
    elif fmt == "csv":
        _emit(frame.to_csv(index=False), path)
    elif fmt == "json":
        _emit(frame.to_json(orient="records", date_format="iso", indent=1) + "\n", path)
    elif fmt == "votable":
        from astropy.table import Table

        table = Table.from_pandas(_votable_ready(frame))
        if path is None:
            buffer = io.BytesIO()
            table.write(buffer, format="votable")
            sys.stdout.write(buffer.getvalue().decode())
        else:
            table.write(path, format="votable", overwrite=True)
    else:
        raise InputError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def _votable_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns VOTable can hold: durations in seconds, times as ISO text, objects as text."""
    import pandas as pd

    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_timedelta64_dtype(column):
            out[name] = column.dt.total_seconds()
        elif pd.api.types.is_datetime64_any_dtype(column):
            out[name] = column.map(lambda v: "" if pd.isna(v) else v.isoformat())
        elif not pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            out[name] = column.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v))
    return out


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


def human_size(size: float) -> str:
    """A byte count as people read it (``123 B``, ``4.5 MiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
