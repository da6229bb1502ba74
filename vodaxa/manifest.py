"""Manifest: one row per file to fetch, the plain-data hand-over from resolve to download.

Columns (see :data:`COLUMNS`): ``mission, obs_id, instrument, url, local_path, size, content_type,
semantics, category, checksum, auth_realm, source_id, note``.  ``local_path`` is always relative and
sanitised (nothing a server says can point outside the destination); ``obs_id`` lists every
observation that shares the file, comma-separated, after :meth:`Manifest.merge_duplicates`.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ._lazy import LazyModule
from .errors import InputError, ResolveError, UnknownColumnError
from .redact import redact

if TYPE_CHECKING:
    import pandas as pd
    from astropy.table import Table
    from pyvo.dal import DALResults

    from .typing import PathLike
else:
    pd = LazyModule("pandas")  # imported when first used (the downloader needs it only for tables)

__all__ = ["COLUMNS", "NAME_MAX", "Manifest", "safe_file_name", "safe_relative_path", "unavailable_row"]

#: The columns every manifest has, in this order (archive-specific extra columns come after them).
COLUMNS: tuple[str, ...] = (
    "mission", "obs_id", "instrument", "url", "local_path", "size", "content_type", "semantics", "category",
    "checksum", "auth_realm", "source_id", "note",
)  # fmt: skip
_TEXT = [c for c in COLUMNS if c != "size"]
_DRIVE = re.compile(r"^[A-Za-z]:")
#: A relative path with nothing to refuse or clean: segments without control characters, backslashes, "." or "..",
#: separated by single slashes, at least one character that is not a space.
_CLEAN_SEGMENT = r"(?!\.\.?(?:/|\Z))[^/\\\x00-\x1f]+"
_CLEAN_PATH = re.compile(rf"(?=.*\S){_CLEAN_SEGMENT}(?:/{_CLEAN_SEGMENT})*", re.DOTALL)
_SUFFIX = re.compile(r"(?:\.[A-Za-z][A-Za-z0-9]{0,7}){1,2}$")  # what a capped name keeps: ".fits.Z", ".tar.gz"
#: Bytes (UTF-8) of a file name: under the usual 255 even with ".part.json" added.
NAME_MAX = 200


def unavailable_row(obs_id: object, note: str | None, **columns: object) -> dict[str, object]:
    """The manifest row for an observation (or one of its files) the archive would not give.

    Parameters
    ----------
    obs_id : object
        The observation's ID (text, as a rule).
    note : str or None
        Why the archive would not give it (proprietary, not found).
    **columns : object
        What else is known, as manifest columns (``mission``, ``source_id``, ...).

    Returns
    -------
    dict
        The row: ``columns``, with ``obs_id``, no ``url`` and no ``local_path``, category ``unavailable`` and
        the reason in ``note``.

    Examples
    --------
    >>> from vodaxa.manifest import Manifest, unavailable_row
    >>> row = unavailable_row("0123", "proprietary until 2031-01-01", mission="xmm_pointed")
    >>> Manifest([row]).unavailable[["obs_id", "category", "note"]].values.tolist()
    [['0123', 'unavailable', 'proprietary until 2031-01-01']]
    """
    return {**columns, "obs_id": obs_id, "url": None, "local_path": None, "category": "unavailable", "note": note}


def safe_relative_path(path: str) -> str:
    """Check that ``path`` stays inside the destination folder, and clean it.

    Refused: absolute paths, ``..`` segments, drive letters, backslashes, NUL and control characters,
    and empty names.  ``.`` segments and repeated slashes are dropped.

    Parameters
    ----------
    path : str
        A relative path (one a server chose, or written in a manifest).

    Returns
    -------
    str
        ``path`` as a clean relative POSIX path.

    Raises
    ------
    vodaxa.errors.ResolveError
        If ``path`` could leave the destination (or is empty, or not text).

    Examples
    --------
    >>> from vodaxa.manifest import safe_relative_path
    >>> safe_relative_path("chandra/./57//primary/evt2.fits")
    'chandra/57/primary/evt2.fits'
    >>> safe_relative_path("../etc/passwd")
    Traceback (most recent call last):
    ...
    vodaxa.errors.ResolveError: refusing local path '../etc/passwd': it would leave the destination folder
    """
    if isinstance(path, str) and _CLEAN_PATH.fullmatch(path) and not _DRIVE.match(path):
        return path  # already clean (the usual case: thousands per manifest): nothing to refuse or drop
    if not isinstance(path, str) or not path.strip():
        raise ResolveError(f"refusing an empty local path {path!r}")
    if "\x00" in path or any(ord(ch) < 32 for ch in path) or "\\" in path:
        raise ResolveError(f"refusing local path {path!r}: control characters or backslashes")
    if path.startswith("/") or _DRIVE.match(path):
        raise ResolveError(f"refusing local path {path!r}: it is absolute")
    parts = [p for p in PurePosixPath(path).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise ResolveError(f"refusing local path {path!r}: it would leave the destination folder")
    return "/".join(parts)


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def path_component(text: str, default: str = "unnamed", *, limit: int = NAME_MAX) -> str:
    """``text`` (an ID or a name a server chose) as one safe folder or file name: other characters become ``_``,
    leading dots go (no hidden names, never ``.`` or ``..``), at most ``limit`` bytes (the type suffix kept);
    ``default`` when nothing is left."""
    clean = _UNSAFE.sub("_", str(text)).strip("_").lstrip(".").strip("_")
    if not clean:
        return default
    if len(clean) <= limit:
        return clean
    suffix = match.group(0) if (match := _SUFFIX.search(clean)) else ""
    return clean[: limit - len(suffix)] + suffix


def safe_file_name(name: str, *, limit: int = NAME_MAX) -> str:
    """Check that ``name`` (one a server chose) is a plain file name, and clean it.

    On top of :func:`safe_relative_path`'s rules: one component only (no ``/``), nothing unprintable
    (newlines, NUL, DEL, unpaired surrogates), no leading dot (hidden files, ``..``); Unicode is NFC.

    Parameters
    ----------
    name : str
        The file name.
    limit : int, optional
        The most UTF-8 bytes the name may take (default :data:`NAME_MAX`); a longer name is shortened, keeping
        its type suffix (``.fits.Z``).

    Returns
    -------
    str
        The name, NFC-normalised, stripped, and shortened if needed.

    Raises
    ------
    vodaxa.errors.ResolveError
        If the name is refused (the message says why).
    """
    if not isinstance(name, str):
        raise ResolveError(f"refusing file name {name!r}: not text")
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        raise ResolveError("refusing an empty file name")
    if "/" in clean or "\\" in clean:
        raise ResolveError(f"refusing file name {clean[:80]!r}: it holds a path separator")
    if not clean.isprintable():
        raise ResolveError(f"refusing file name {clean[:80]!r}: control or unprintable characters")
    if clean.startswith("."):
        raise ResolveError(f"refusing file name {clean[:80]!r}: it starts with a dot (hidden, or a parent folder)")
    clean = safe_relative_path(clean)  # drive letters and whatever else it refuses
    if len(clean.encode()) <= limit:
        return clean
    suffix = match.group(0) if (match := _SUFFIX.search(clean)) else ""
    stem = clean[: len(clean) - len(suffix)]
    room = limit - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore").rstrip() + suffix


def _frame_of(rows: list[Mapping[str, object]]) -> pd.DataFrame:
    """The rows as a frame of Python objects, columns in the order their names first appear: what
    ``pd.DataFrame(rows)`` holds once its text columns are made objects again, without inferring a string
    type for them first (most of the cost of a manifest of thousands of rows)."""
    if not rows or not all(isinstance(row, Mapping) for row in rows):
        return pd.DataFrame(rows)
    names = list(dict.fromkeys(name for row in rows for name in row))
    if "size" in names:
        sizes = _size_column([row.get("size") for row in rows])
    data = {name: [row.get(name) for row in rows] for name in names if name != "size"}
    frame = pd.DataFrame(data, dtype=object, index=range(len(rows)))  # rows without any column are rows too
    if "size" in names:
        frame.insert(names.index("size"), "size", sizes)
    return frame


def _size_column(values: list[Any]) -> pd.Series:
    """Sizes as a column :func:`_sizes` reads: numbers stay numbers, as pandas reads them, but whole byte counts
    are never rounded through float64 (past 2**53)."""
    if {*map(type, values)} <= {int, _NONE} and all(0 <= v < 2**63 for v in values if v is not None):
        return pd.Series(pd.array(values, dtype="Int64"), name="size")
    if any(type(v) is int and not -(2**53) <= v <= 2**53 for v in values):  # beside a float or text:
        return pd.Series(values, dtype=object, name="size")  # each read by _sizes
    return pd.DataFrame({"size": values})["size"]


def _checked_notes(notes: list[Any]) -> list[Any]:
    """Notes without any credential."""
    return [redact(n) if isinstance(n, str) else n for n in notes]


def _checked_paths(urls: list[Any], paths: list[Any]) -> list[Any]:
    """Each file's local path checked and cleaned (:func:`safe_relative_path`, its test of a clean path inlined for
    thousands of rows); None for a row without a URL."""
    clean, drive = _CLEAN_PATH.fullmatch, _DRIVE.match
    return [
        None if u is None else p if type(p) is str and clean(p) and not drive(p) else safe_relative_path(p)
        for u, p in zip(urls, paths)
    ]


def _refuse_unexplained(count: int) -> None:
    if count:
        raise ResolveError(f"{count} manifest rows have neither a URL nor a note saying why")


def _checked_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A manifest's frame from any rows: every column there (missing ones empty) in order, sizes as Int64, missing
    text as None, notes redacted, paths checked; ResolveError for a row with neither a URL nor a note."""
    if frame.columns.has_duplicates:
        raise ResolveError(f"manifest columns {_twice(frame.columns)} are named more than once")
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    extras = [c for c in frame.columns if c not in COLUMNS]  # archive-specific (ESO cascade_*), kept after
    frame = frame[[*COLUMNS, *extras]]
    frame["size"] = _sizes(frame["size"])
    texts = [*_TEXT, *extras]  # every column but size: text (or whatever a row gave), missing as None
    values = frame[texts].astype(object)
    frame[texts] = values.where(values.notna(), None)
    notes = _checked_notes(frame["note"].tolist())
    frame["note"] = pd.Series(notes, index=frame.index, dtype=object)  # objects, as every text column
    _refuse_unexplained(int((frame["url"].isna() & frame["note"].isna()).sum()))
    paths = _checked_paths(frame["url"].tolist(), frame["local_path"].tolist())
    frame["local_path"] = pd.Series(paths, index=frame.index, dtype=object)
    return frame.reset_index(drop=True)


def _twice(columns: Iterable[object]) -> list[object]:
    """The column names given more than once."""
    names = list(columns)
    return list(dict.fromkeys(c for n, c in enumerate(names) if c in names[:n]))


_NONE = type(None)
_PLAIN = {str, _NONE}


def _plain_frame(rows: list) -> pd.DataFrame | None:
    """What :func:`_checked_frame` makes of ``rows`` when they are dicts holding only text and None (and whole
    byte counts as sizes), as resolvers make them: built in one pass over plain lists instead of a dozen passes
    over a frame (which were a quarter of a 1,000-observation resolve).  None for anything else."""
    if not rows or not all(type(row) is dict for row in rows):
        return None
    names = list(COLUMNS)
    known = set(names)
    for row in rows:
        if not known.issuperset(row):
            for name in row:
                if name not in known:
                    known.add(name)
                    names.append(name)
    columns = {name: [row.get(name) for row in rows] for name in names}
    sizes = columns["size"]
    if not all(type(name) is str for name in names) or not {*map(type, sizes)} <= {int, _NONE}:
        return None
    counted = [n for n in sizes if n is not None]
    if counted and not (min(counted) >= 0 and max(counted) < 2**63):
        return None  # the general path says which value is not a byte count
    for name in names:
        if name != "size" and not {*map(type, columns[name])} <= _PLAIN:
            return None
    urls = columns["url"]
    columns["note"] = _checked_notes(columns["note"])
    _refuse_unexplained(sum(1 for u, n in zip(urls, columns["note"]) if u is None and n is None))
    columns["local_path"] = _checked_paths(urls, columns["local_path"])
    frame = pd.DataFrame({name: values for name, values in columns.items() if name != "size"}, dtype=object)
    frame.insert(COLUMNS.index("size"), "size", pd.array(sizes, dtype="Int64"))
    return frame


def _sizes(column: pd.Series) -> pd.api.extensions.ExtensionArray:
    """A size column as Int64 (NA: unknown); ResolveError naming the first value that is not a byte count."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        bad = column.notna() & ~((column >= 0) & (column < 2**63) & (column % 1 == 0))
        if not bad.any():
            return column.astype("Int64").array
    return pd.array([_size(n, value) for n, value in enumerate(column)], dtype="Int64")


def _size(row: int, value: Any) -> int | None:
    """One size as a whole number of bytes (None: unknown; numeric text is read); ResolveError otherwise."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    number = value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            number = int(text) if text.isdigit() else float(text)
        except ValueError:
            number = None
    finite = isinstance(number, numbers.Real) and not isinstance(number, bool) and math.isfinite(number)
    if not (finite and 0 <= number < 2**63 and number == int(number)):
        raise ResolveError(f"manifest row {row}: size {value!r} is not a byte count; give a whole number >= 0, "
                           "or None when it is unknown")  # fmt: skip
    return int(number)


def _manifest_file(source: object) -> Path:
    """``source`` as the path of an existing file; InputError saying what to give instead."""
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"{source!r} is not a manifest file: give its path (a str or Path), or to_json() text")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"manifest {path} does not exist (or is not a file); write one with manifest.to_json(path) "
                         f"or 'vodaxa resolve ... -o {path.name}'")  # fmt: skip
    return path


def _disambiguated(paths: list[object], urls: list[object]) -> dict[int, str]:
    """New paths (by row) for files that would land where another file goes: the same path, the same path
    but for letter case (one file on Windows and macOS), or a path another file uses as a folder.

    Of files sharing a name, the smallest URL keeps it and the others get a digest of their URL before the
    extension, so the names never depend on the order of the rows (a rerun finds each file again).
    """
    rows = [(n, p, u) for n, (p, u) in enumerate(zip(paths, urls)) if isinstance(p, str) and isinstance(u, str)]
    keys = [p.casefold() for _, p, _ in rows]
    folders = set()
    for key in keys:  # every folder a path names, case-folded ("a/b/c" names "a" and "a/b")
        cut = key.rfind("/")
        while cut >= 0 and key[:cut] not in folders:
            folders.add(key[:cut])
            cut = key.rfind("/", 0, cut)
    taken = set(keys)
    if len(taken) == len(keys) and taken.isdisjoint(folders):
        return {}  # every file has a name of its own (the usual case)
    out: dict[int, str] = {}
    groups: dict[str, list[tuple[int, str, str]]] = {}
    for n, path, url in rows:
        groups.setdefault(path.casefold(), []).append((n, path, url))
    for key, members in groups.items():
        keeper = None if key in folders else min(url for _, _, url in members)
        for n, path, url in members:
            if url == keeper:
                continue
            renamed = _renamed(path, url, taken | folders)
            taken.add(renamed.casefold())
            out[n] = renamed
    return out


def _renamed_clashes(paths: list[Any], notes: list[Any], urls: list[Any]) -> tuple[list[Any], list[Any]]:
    """``paths`` with the files that would land on another's path renamed (:func:`_disambiguated`), and ``notes``
    saying so."""
    for n, renamed in _disambiguated(paths, urls).items():
        why = f"renamed from {paths[n]}, the name of another file"
        notes[n] = f"{notes[n]}; {why}" if isinstance(notes[n], str) else why
        paths[n] = renamed
    return paths, notes


def _one_id(value: object) -> str | None:
    """:func:`_joined` of one value: the text of an ID (an observation's, a mission's), None if missing or empty."""
    if type(value) is str:  # the usual case
        return value or None
    return None if _missing(value) else str(value) or None


def _joined(values: Iterable[object]) -> str | None:
    """The distinct values (observations, missions) sharing a file, comma-separated in their order; None if none."""
    return ",".join(dict.fromkeys(str(v) for v in values if not _missing(v))) or None


def _missing(value: object) -> bool:
    """Whether a cell is missing (None, NaN, pd.NA), as ``Series.dropna`` drops it."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _renamed(path: str, url: str, taken: set[str]) -> str:
    """``path`` with a digest of ``url`` before its extension, unused by ``taken`` (case-folded)."""
    return digest_name(path, url, lambda candidate: candidate.casefold() in taken)


def digest_name(path: str, url: str, taken: Callable[[str], bool]) -> str:
    """``path`` with a digest of ``url`` before its extension (12 hex digits; all 40 in the unlikely case that
    is ``taken``): the same name for a URL on every run.  Shared by manifests and plain URL downloads."""
    folder, _, name = path.rpartition("/")
    stem, dot, ext = name.partition(".")
    digest = hashlib.sha1(url.encode()).hexdigest()
    for width in (12, 40):
        candidate = f"{folder + '/' if folder else ''}{stem}~{digest[:width]}{dot}{ext}"
        if not taken(candidate):
            return candidate
    raise ResolveError(f"no free name for {url} beside {path}")  # pragma: no cover - a sha1 collision


class Manifest:
    """A table of files (pandas underneath, in :attr:`frame`) with the operations resolve and download need.

    One row per file to fetch, the plain-data hand-over from :func:`vodaxa.resolve` to
    :func:`vodaxa.download`.  Every column of :data:`COLUMNS` is present (missing ones are added empty, in that
    order, and archive-specific extra columns are kept after them); sizes are whole bytes (``Int64``, NA when
    unknown); ``local_path`` is always relative and sanitised (nothing a server says can point outside the
    destination); notes never hold a credential.  A row without a URL is an observation or file the archive
    would not give (:attr:`unavailable`), with the reason in ``note``.

    Parameters
    ----------
    rows : pandas.DataFrame or iterable of mapping, optional
        The files: a DataFrame, or one mapping of column to value per file.  None (the default) makes an
        empty manifest.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, with a fresh index.

    Raises
    ------
    vodaxa.errors.ResolveError
        If a row has neither a URL nor a note saying why, a size is not a byte count, or a local path could
        leave the destination.

    See Also
    --------
    vodaxa.resolve : Makes a manifest of the files of observations.
    vodaxa.download : Fetches a manifest's files.

    Examples
    --------
    >>> import vodaxa
    >>> found = vodaxa.search(["3C 105"], missions=["nustar_pointed"])
    >>> manifest = vodaxa.resolve(found)
    >>> manifest
    <Manifest: 17 files, sizes unknown, missions nustar_pointed>
    >>> events = manifest.select(category="events")
    >>> events.frame["local_path"].tolist()[:2]
    ['nustar_pointed/40765085200/event_cl/nu40765085200A01_cl.evt.gz',
     'nustar_pointed/40765085200/event_cl/nu40765085200B01_cl.evt.gz']
    >>> _ = manifest.to_json("manifest.json")
    >>> vodaxa.Manifest.from_json("manifest.json") == manifest
    True

    A manifest can also be written by hand, one mapping per file:

    >>> handmade = vodaxa.Manifest([{"mission": "chandra", "obs_id": "57", "url": "https://example.org/evt2.fits",
    ...                             "local_path": "chandra/57/evt2.fits", "size": 2880}])
    >>> handmade
    <Manifest: 1 file, 2880 bytes, missions chandra>
    """

    def __init__(self, rows: pd.DataFrame | Iterable[Mapping[str, object]] | None = None) -> None:
        if not isinstance(rows, pd.DataFrame):
            rows = list(rows or [])
            plain = _plain_frame(rows)
            if plain is not None:  # text, None and byte counts only (what resolvers make): one pass, same frame
                self.frame = plain
                return
        self.frame = _checked_frame(rows.copy() if isinstance(rows, pd.DataFrame) else _frame_of(rows))

    # ------------------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        missions = ", ".join(sorted({str(m) for m in self.frame["mission"].dropna() if str(m).strip()}))
        listed = self.frame["url"].notna()
        count, lacking = int(listed.sum()), int((~listed).sum())  # files to fetch; observations or files withheld
        files = f"{count} file{'s' * (count != 1)}" + (f", {lacking} unavailable" if lacking else "")
        known = int(self.frame.loc[listed, "size"].notna().sum())
        partly = " known" if known < count else ""
        sizes = f"{self.total_bytes()} bytes{partly}" if known else "sizes unknown"
        return f"<Manifest: {files}, {sizes}" + (f", missions {missions}>" if missions else ">")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self.frame.equals(other.frame)

    @property
    def urls(self) -> list[str]:
        """Every file URL, in order (rows without one are :attr:`unavailable`)."""
        return list(self.frame["url"].dropna())

    @property
    def unavailable(self) -> pd.DataFrame:
        """Observations or files the archive would not give (proprietary, not found), with the reason in ``note``."""
        return self.frame[self.frame["url"].isna()].reset_index(drop=True)

    @property
    def files(self) -> pd.DataFrame:
        """The rows that name a file to fetch."""
        return self.frame[self.frame["url"].notna()].reset_index(drop=True)

    def total_bytes(self) -> int:
        """Sum of the known sizes.

        Returns
        -------
        int
            Bytes, counting the files of unknown size as none.
        """
        return int(self.frame["size"].fillna(0).sum())

    # ------------------------------------------------------------------------------ selection
    def select(self, **criteria: object) -> Manifest:
        """The rows whose columns equal the given values.

        Parameters
        ----------
        **criteria : object
            ``column=value``; a list, tuple or set means any of its values.  Every criterion must hold.

        Returns
        -------
        Manifest
            The rows selected, in order.

        Raises
        ------
        vodaxa.errors.UnknownColumnError
            If a criterion names no column of the manifest (the message lists them).

        Examples
        --------
        >>> from vodaxa import Manifest
        >>> manifest = Manifest([
        ...     {"url": "https://example.org/a.evt", "local_path": "a.evt", "category": "events", "instrument": "A"},
        ...     {"url": "https://example.org/b.evt", "local_path": "b.evt", "category": "events", "instrument": "B"},
        ...     {"url": "https://example.org/a.img", "local_path": "a.img", "category": "image", "instrument": "A"},
        ... ])
        >>> manifest.select(category="events", instrument=["A", "C"]).urls
        ['https://example.org/a.evt']
        >>> manifest.exclude(category="events").urls
        ['https://example.org/a.img']
        """
        return Manifest(self.frame[self._matching(criteria)])

    def _matching(self, criteria: Mapping[str, object]) -> pd.Series:
        """True for the rows :meth:`select` returns."""
        mask = pd.Series(True, index=self.frame.index)
        for column, wanted in criteria.items():
            if column not in self.frame.columns:
                known = ", ".join(map(str, self.frame.columns))
                raise UnknownColumnError(f"no manifest column {column!r}; select by one of its columns: {known}")
            values = wanted if isinstance(wanted, (list, set, tuple, frozenset)) else [wanted]
            mask &= self.frame[column].isin(list(values))
        return mask

    def exclude(self, **criteria: object) -> Manifest:
        """The rows :meth:`select` would not return.

        A file is matched by its URL: a row listing the URL of a selected row is left out too (before
        :meth:`merge_duplicates`, a file shared by several observations has a row for each).

        Parameters
        ----------
        **criteria : object
            As for :meth:`select`.

        Returns
        -------
        Manifest
            The other rows, in order.

        Raises
        ------
        vodaxa.errors.UnknownColumnError
            If a criterion names no column of the manifest.
        """
        chosen = self._matching(criteria)
        files = set(self.frame.loc[chosen, "url"].dropna())  # rows without a URL are no file another row lists
        return Manifest(self.frame[~(chosen | self.frame["url"].isin(files))])

    def __add__(self, other: Manifest) -> Manifest:
        if not isinstance(other, Manifest):
            raise InputError(f"only another Manifest adds to a Manifest, not {type(other).__name__}; "
                             "make one with Manifest(rows)")  # fmt: skip
        return Manifest(pd.concat([self.frame, other.frame], ignore_index=True))

    def merge_duplicates(self) -> Manifest:
        """One row per URL: a file shared by several observations (a calibration) is fetched once.

        The row kept lists every observation (and mission) sharing the file in ``obs_id`` (``mission``),
        comma-separated; a reason for an unavailable observation is said once.  Different files that would land
        on the same path (two links named ``get``, two ESO frames with one original file name, or names that
        differ only in letter case) keep the first name; the others get a short digest of their URL before the
        extension (``f~1a2b3c4d.fits.gz``) and a note saying so, rather than one being lost.

        Returns
        -------
        Manifest
            The merged manifest.
        """
        if self.frame.empty:
            return Manifest(self.frame)
        plain = self._merged_plain()
        if plain is not None:
            return plain
        listed = self.frame["url"].notna()
        missing = self.frame[~listed]
        if len(missing) > 1:
            missing = missing.drop_duplicates(subset=["mission", "obs_id", "source_id", "note"])  # a reason said once
        files = self.frame[listed]
        repeated = files["url"].duplicated(keep=False)
        shared = files[repeated]
        # one row per URL, in the order URLs first appear
        first = files[~files["url"].duplicated()].copy() if len(shared) else files.copy()
        for column in ("obs_id", "mission"):  # _joined([v]) of each; objects, as the constructor makes text columns
            joined = [_one_id(v) for v in first[column].tolist()]
            first[column] = pd.Series(joined, index=first.index, dtype=object)
        if not shared.empty:  # only the URLs listed more than once are grouped (a python step per group)
            groups = shared.groupby("url", sort=False)
            merged = groups.first()  # per column, the first value that is not missing
            merged["obs_id"] = groups["obs_id"].agg(_joined)
            merged["mission"] = groups["mission"].agg(_joined)
            where = first["url"].isin(merged.index).to_numpy()
            rows = merged.loc[first.loc[where, "url"]]
            for column in merged.columns:
                first[column] = first[column].astype(object)
                first.loc[where, column] = rows[column].astype(object).to_numpy()
        out = pd.concat([first, missing], ignore_index=True) if len(missing) else first.reset_index(drop=True)
        out = out[list(self.frame.columns)]
        paths, notes = _renamed_clashes(out["local_path"].tolist(), out["note"].tolist(), out["url"].tolist())
        merged_frame = out.assign(local_path=pd.Series(paths, index=out.index, dtype=object),
                                  note=pd.Series(notes, index=out.index, dtype=object))  # fmt: skip
        if shared.empty:  # this manifest's checked rows, with joined IDs and digest-renamed paths: nothing to check
            return Manifest._checked(merged_frame)
        return Manifest(merged_frame)

    def _merged_plain(self) -> Manifest | None:
        """:meth:`merge_duplicates` in the usual case, where no URL is listed twice, over plain lists (the general
        path's dozen frame operations were a tenth of a 1,000-observation resolve); None for any other case."""
        frame = self.frame
        urls = frame["url"].tolist()
        if not {*map(type, urls)} <= _PLAIN:
            return None
        files = [n for n, u in enumerate(urls) if u is not None]
        if len({urls[n] for n in files}) < len(files):
            return None  # shared files: grouped by the general path
        missing = [n for n, u in enumerate(urls) if u is None]
        if len(missing) > 1:  # a reason said once: the first row of each (mission, obs_id, source_id, note)
            keys = [frame[c].tolist() for c in ("mission", "obs_id", "source_id", "note")]
            keys = [[None if _missing(v := column[n]) else v for n in missing] for column in keys]
            if not all({*map(type, column)} <= _PLAIN for column in keys):
                return None
            first: dict[tuple, int] = {}
            for at, key in zip(missing, zip(*keys)):
                first.setdefault(key, at)
            missing = list(first.values())
        out = frame.take(files + missing).reset_index(drop=True)
        for column in ("obs_id", "mission"):  # as _joined([value]) for a file, a missing one's left as it is
            values = frame[column].tolist()
            joined = [_one_id(values[n]) for n in files]
            out[column] = pd.Series(joined + [values[n] for n in missing], dtype=object)
        paths, notes = _renamed_clashes(out["local_path"].tolist(), out["note"].tolist(), out["url"].tolist())
        out["local_path"] = pd.Series(paths, dtype=object)
        out["note"] = pd.Series(notes, dtype=object)
        return Manifest._checked(out)

    @classmethod
    def _checked(cls, frame: pd.DataFrame) -> Manifest:
        """A manifest of ``frame``, whose rows come from manifests already (their columns, paths and notes
        checked): not checked again."""
        manifest = cls.__new__(cls)
        manifest.frame = frame.reset_index(drop=True)
        return manifest

    def summary(self) -> pd.DataFrame:
        """Files, files of known size and their bytes, per mission and category.

        Returns
        -------
        pandas.DataFrame
            Columns ``mission, category, files, sized, bytes``.  Some archives' listings give no exact sizes:
            ``sized`` says how many of ``files`` the ``bytes`` cover.  Unavailable observations are not files.
        """
        files = self.frame[self.frame["url"].notna()]  # unavailable observations are not files
        frame = files.assign(
            mission=files["mission"].fillna("-"),
            category=files["category"].fillna("-"),
            sized=files["size"].notna(),
            size=files["size"].fillna(0),
        )
        table = frame.groupby(["mission", "category"]).agg(
            files=("url", "size"), sized=("sized", "sum"), bytes=("size", "sum")
        )
        return table.reset_index()

    # ------------------------------------------------------------------------------ persistence
    def to_json(self, path: PathLike | None = None) -> str:
        """The manifest as JSON text that :meth:`from_json` reads back exactly.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Also write the text to this file (replaced if it exists).  None (the default) writes nothing.

        Returns
        -------
        str
            The JSON text.
        """
        records = [
            {c: (None if pd.isna(v) else (int(v) if c == "size" else v)) for c, v in row.items()}
            for row in self.frame.to_dict(orient="records")
        ]
        text = json.dumps({"vodaxa_manifest": 1, "columns": list(self.frame.columns), "rows": records}, indent=1)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: PathLike) -> Manifest:
        """A manifest from :meth:`to_json` text or a file holding it.

        Parameters
        ----------
        source : str or os.PathLike
            The JSON text (a str starting with ``{``), or the path of a file holding it.

        Returns
        -------
        Manifest
            The manifest written.

        Raises
        ------
        vodaxa.errors.InputError
            If the file does not exist or cannot be read.
        vodaxa.errors.ResolveError
            If the text is not a vodaxa manifest (not UTF-8, not JSON, or not of version 1's shape).
        """
        if isinstance(source, str) and source.lstrip().startswith("{"):
            text = source
        else:
            path = _manifest_file(source)
            try:
                text = path.read_text()
            except OSError as err:
                raise InputError(f"manifest {path} cannot be read ({err.strerror or err})") from None
            except UnicodeDecodeError:
                raise ResolveError(f"{path}: not a vodaxa manifest (not UTF-8 text)") from None
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ResolveError(f"not a vodaxa manifest (invalid JSON: {err})") from None
        if not isinstance(data, dict) or data.get("vodaxa_manifest") != 1:
            raise ResolveError("not a vodaxa manifest (version 1 expected)")
        rows, columns = data.get("rows"), data.get("columns")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ResolveError("not a vodaxa manifest ('rows' must be a list of objects, one per file)")
        if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
            raise ResolveError("not a vodaxa manifest ('columns' must be a list of column names)")
        if columns is not None and len(set(columns)) < len(columns):
            raise ResolveError(f"not a vodaxa manifest (columns {_twice(columns)} are named more than once)")
        frame = pd.DataFrame(rows, columns=columns)
        if "size" in frame.columns and rows:
            frame["size"] = _size_column([row.get("size") for row in rows]).array  # exact, not through float64
        return cls(frame)

    def to_table(self, *, votable: bool = False) -> Table:
        """The manifest as an astropy Table, which :meth:`from_table` reads back.

        Parameters
        ----------
        votable : bool, optional
            Make the table one a VOTable can hold (default False); see :func:`vodaxa.tables.to_table`.

        Returns
        -------
        astropy.table.Table
            Sizes in bytes, UCDs on URLs and paths.
        """
        from .tables import to_table

        return to_table(self.frame, votable=votable)

    @classmethod
    def from_table(cls, table: Table | DALResults) -> Manifest:
        """A manifest from an astropy Table made by :meth:`to_table` (or read from its VOTable).

        Parameters
        ----------
        table : astropy.table.Table or pyvo.dal.DALResults
            The table, as :func:`vodaxa.tables.from_table` reads it.

        Returns
        -------
        Manifest
            The manifest.

        Raises
        ------
        vodaxa.errors.InputError
            If ``table`` is not a table.
        vodaxa.errors.ResolveError
            If its rows are not a manifest's.
        """
        from .tables import from_table

        return cls(from_table(table))

    def to_parquet(self, path: PathLike) -> Path:
        """Write the manifest as Parquet (pyarrow), which :meth:`from_parquet` reads back exactly.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        target = Path(path)
        self.frame.to_parquet(target, index=False)
        return target

    @classmethod
    def from_parquet(cls, path: PathLike) -> Manifest:
        """A manifest written by :meth:`to_parquet`.

        Parameters
        ----------
        path : str or os.PathLike
            The Parquet file.

        Returns
        -------
        Manifest
            The manifest written.

        Raises
        ------
        vodaxa.errors.InputError
            If the file does not exist.
        vodaxa.errors.ResolveError
            If it is not a readable Parquet file, or its rows are not a manifest's.
        """
        source = _manifest_file(path)
        try:
            frame = pd.read_parquet(source)
        except Exception as err:  # pyarrow raises many types for a file that is not Parquet
            raise ResolveError(f"{source}: not a vodaxa manifest (not a readable Parquet file: {err})") from None
        return cls(frame)
