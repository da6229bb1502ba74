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
from typing import Any

import pandas as pd

from .errors import InputError, ResolveError, UnknownColumnError
from .redact import redact

__all__ = ["COLUMNS", "NAME_MAX", "Manifest", "safe_file_name", "safe_relative_path", "unavailable_row"]

COLUMNS: tuple[str, ...] = (
    "mission", "obs_id", "instrument", "url", "local_path", "size", "content_type", "semantics", "category",
    "checksum", "auth_realm", "source_id", "note",
)  # fmt: skip
_TEXT = [c for c in COLUMNS if c != "size"]
_DRIVE = re.compile(r"^[A-Za-z]:")
_SUFFIX = re.compile(r"(?:\.[A-Za-z][A-Za-z0-9]{0,7}){1,2}$")  # what a capped name keeps: ".fits.Z", ".tar.gz"
NAME_MAX = 200  # bytes (UTF-8) of a file name: under the usual 255 even with ".part.json" added


def unavailable_row(obs_id: Any, note: str | None, **columns: Any) -> dict[str, Any]:
    """The manifest row for an observation (or one of its files) the archive would not give: no URL, no path,
    category ``unavailable`` and the reason in ``note``; ``columns`` add what else is known (mission, source_id)."""
    return {**columns, "obs_id": obs_id, "url": None, "local_path": None, "category": "unavailable", "note": note}


def safe_relative_path(path: str) -> str:
    """``path`` as a clean relative POSIX path, or :class:`ResolveError` if it could leave the destination.

    Refused: absolute paths, ``..`` segments, drive letters, backslashes, NUL and control characters,
    and empty names.  ``.`` segments and repeated slashes are dropped.
    """
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
    """``name`` (one a server chose) as a plain file name, or :class:`ResolveError` saying why it is refused.

    On top of :func:`safe_relative_path`'s rules: one component only (no ``/``), nothing unprintable
    (newlines, NUL, DEL, unpaired surrogates), no leading dot (hidden files, ``..``); Unicode is NFC.
    A name longer than ``limit`` UTF-8 bytes is shortened, keeping its type suffix (``.fits.Z``).
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


def _manifest_file(source: Any) -> Path:
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
    rows = [(n, p, str(u)) for n, (p, u) in enumerate(zip(paths, urls)) if isinstance(p, str) and isinstance(u, str)]
    folders = {"/".join(p.split("/")[:k]).casefold() for _, p, _ in rows for k in range(1, p.count("/") + 1)}
    taken = {p.casefold() for _, p, _ in rows}
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
    """A table of files (pandas underneath, in :attr:`frame`) with the operations resolve and download need."""

    def __init__(self, rows: pd.DataFrame | Iterable[Mapping[str, Any]] | None = None) -> None:
        frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows or []))
        for column in COLUMNS:
            if column not in frame.columns:
                frame[column] = None
        extras = [c for c in frame.columns if c not in COLUMNS]  # archive-specific (ESO cascade_*), kept after
        frame = frame[[*COLUMNS, *extras]]
        for column in extras:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        frame["size"] = _sizes(frame["size"])
        for column in _TEXT:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        frame["note"] = [redact(n) if isinstance(n, str) else n for n in frame["note"]]  # never a credential
        bad = frame["url"].isna() & frame["note"].isna()
        if bad.any():
            raise ResolveError(f"{int(bad.sum())} manifest rows have neither a URL nor a note saying why")
        frame["local_path"] = [
            None if u is None else safe_relative_path(p) for u, p in zip(frame["url"], frame["local_path"])
        ]
        self.frame = frame.reset_index(drop=True)

    # ------------------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        missions = ", ".join(sorted(set(self.frame["mission"].dropna()))) or "-"
        return f"<Manifest: {len(self)} files, {self.total_bytes()} bytes known, missions {missions}>"

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
        """Sum of the known sizes."""
        return int(self.frame["size"].fillna(0).sum())

    # ------------------------------------------------------------------------------ selection
    def select(self, **criteria: Any) -> Manifest:
        """Rows whose columns equal the given values (a list or set means any of them)."""
        mask = pd.Series(True, index=self.frame.index)
        for column, wanted in criteria.items():
            if column not in self.frame.columns:
                known = ", ".join(map(str, self.frame.columns))
                raise UnknownColumnError(f"no manifest column {column!r}; select by one of its columns: {known}")
            values = wanted if isinstance(wanted, (list, set, tuple, frozenset)) else [wanted]
            mask &= self.frame[column].isin(list(values))
        return Manifest(self.frame[mask])

    def exclude(self, **criteria: Any) -> Manifest:
        """The rows :meth:`select` would not return."""
        chosen = set(self.select(**criteria).frame["url"])
        return Manifest(self.frame[~self.frame["url"].isin(chosen)])

    def __add__(self, other: Manifest) -> Manifest:
        if not isinstance(other, Manifest):
            raise InputError(f"only another Manifest adds to a Manifest, not {type(other).__name__}; "
                             "make one with Manifest(rows)")  # fmt: skip
        return Manifest(pd.concat([self.frame, other.frame], ignore_index=True))

    def merge_duplicates(self) -> Manifest:
        """One row per URL: a file shared by several observations (a calibration) is fetched once.

        Different files that would land on the same path (two links named ``get``, two ESO frames with one
        original file name) keep the first name; the others get a short digest of their URL before the
        extension (``f~1a2b3c4d.fits.gz``) and a note saying so, rather than one being lost.
        """
        if self.frame.empty:
            return Manifest(self.frame)
        missing = self.frame[self.frame["url"].isna()]
        missing = missing.drop_duplicates(subset=["mission", "obs_id", "source_id", "note"])  # one reason said once
        groups = self.frame[self.frame["url"].notna()].groupby("url", sort=False)
        first = groups.first()
        first["obs_id"] = groups["obs_id"].agg(lambda s: ",".join(dict.fromkeys(str(v) for v in s.dropna())) or None)
        first["mission"] = groups["mission"].agg(lambda s: ",".join(dict.fromkeys(str(v) for v in s.dropna())) or None)
        out = pd.concat([first.reset_index(), missing], ignore_index=True)[list(self.frame.columns)]
        paths, notes = list(out["local_path"]), list(out["note"])
        for n, renamed in _disambiguated(paths, list(out["url"])).items():
            why = f"renamed from {paths[n]}, the name of another file"
            notes[n] = f"{notes[n]}; {why}" if isinstance(notes[n], str) else why
            paths[n] = renamed
        return Manifest(out.assign(local_path=paths, note=notes))

    def summary(self) -> pd.DataFrame:
        """Files, files of known size and their bytes, per mission and category (some archives' listings
        give no exact sizes: ``sized`` says how many of ``files`` the ``bytes`` cover)."""
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
    def to_json(self, path: str | Path | None = None) -> str:
        """JSON text (and a file when ``path`` is given) that :meth:`from_json` reads back exactly."""
        records = [
            {c: (None if pd.isna(v) else (int(v) if c == "size" else v)) for c, v in row.items()}
            for row in self.frame.to_dict(orient="records")
        ]
        text = json.dumps({"vodaxa_manifest": 1, "columns": list(self.frame.columns), "rows": records}, indent=1)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    @classmethod
    def from_json(cls, source: str | Path) -> Manifest:
        """A manifest from :meth:`to_json` text or a file holding it."""
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
        return cls(pd.DataFrame(rows, columns=columns))

    def to_table(self, *, votable: bool = False) -> Any:
        """The manifest as an astropy Table (sizes in bytes, UCDs on URLs and paths; see
        :func:`vodaxa.tables.to_table`); :meth:`from_table` reads it back."""
        from .tables import to_table

        return to_table(self.frame, votable=votable)

    @classmethod
    def from_table(cls, table: Any) -> Manifest:
        """A manifest from an astropy Table made by :meth:`to_table` (or read from its VOTable)."""
        from .tables import from_table

        return cls(from_table(table))

    def to_parquet(self, path: str | Path) -> Path:
        """Write Parquet (pyarrow); :meth:`from_parquet` reads it back exactly."""
        target = Path(path)
        self.frame.to_parquet(target, index=False)
        return target

    @classmethod
    def from_parquet(cls, path: str | Path) -> Manifest:
        """A manifest written by :meth:`to_parquet`."""
        source = _manifest_file(path)
        try:
            frame = pd.read_parquet(source)
        except Exception as err:  # pyarrow raises many types for a file that is not Parquet
            raise ResolveError(f"{source}: not a vodaxa manifest (not a readable Parquet file: {err})") from None
        return cls(frame)
