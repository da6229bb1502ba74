"""Which files of a folder vodaxa installed with their length confirmed, so a rerun skips them without the network.

A file that a manifest size or checksum describes is judged on disk by those.  One that nothing describes
(HEASARC's and the CDA's listings give no sizes) cannot be judged from its bytes alone: a FITS file cut
exactly between two HDUs, or a gzip stream cut between members, looks whole.  So when vodaxa installs such a
file (its length confirmed by the server, or proven by its own bytes: see fetch.py), it appends a line to the
folder's :data:`INDEX`, ``{"name", "url", "size", "mtime_ns"}``; the last line for a name wins.  A rerun skips the
file without the network only when a line names it, for the same URL, with its size and modification time as
they are now (a file changed or replaced since, by anyone, no longer matches).  A file with no line (left by
another tool, or by a vodaxa before this index) is confirmed with one range probe instead (fetch.py).

The index is trusted no more than the files beside it, and is written only through ``O_NOFOLLOW``: a
symbolic link planted in its place is never written through (the line is then not recorded, and the next run
probes the file).  Appends of one line are atomic enough for two processes sharing a folder; a torn or
foreign line is ignored.  When stale lines outnumber live ones the index is rewritten (a scratch file renamed
over it).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from .partial import open_regular

__all__ = ["INDEX", "record", "recorded"]

log = logging.getLogger(__name__)

INDEX = ".vodaxa-verified.jsonl"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_LOCK = threading.Lock()  # installs come from the event loop and from local-mirror copy threads
#: folder -> (the index's inode, mtime and size; its entries by name; its number of lines)
_CACHE: dict[Path, tuple[tuple[int, int, int], dict[str, dict[str, Any]], int]] = {}


def recorded(path: Path, url: str) -> bool:
    """Whether the file at ``path`` is the one vodaxa installed from ``url`` with its length confirmed."""
    entry = _load(path.parent)[0].get(path.name)
    if entry is None or entry.get("url") != url:
        return False
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns


def record(path: Path, url: str) -> None:
    """Note that the file just installed at ``path`` from ``url`` is whole (never fails the download: the file
    is installed; without its line a rerun only asks the server once more)."""
    try:
        _record(path, url)
    except OSError as err:
        log.warning("%s: could not record that %s is whole (%s); a rerun will ask the server", path.parent,
                    path.name, err)  # fmt: skip


def _record(path: Path, url: str) -> None:
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return
    entry = {"name": path.name, "url": url, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    folder = path.parent
    with _LOCK:
        entries, lines = _load(folder)
        if entries.get(path.name) == entry:
            return
        try:
            fd = open_regular(folder / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except OSError as err:
            _refused(folder, err)
            return
        try:
            os.write(fd, line)
            stamp = _stamp(os.fstat(fd))
        except OSError as err:
            log.warning("%s: could not record that %s is whole (%s); a rerun will ask the server",
                        folder, path.name, err)  # fmt: skip
            return
        finally:
            os.close(fd)
        entries[path.name] = entry
        _CACHE[folder] = (stamp, entries, lines + 1)  # what was just written (another process: the stamp differs)
        if lines + 1 > 2 * len(entries) + 64:
            _compact(folder, entries)


def _load(folder: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The folder's entries (a copy) and its number of lines, read once per change of the index."""
    try:
        fd = open_regular(folder / INDEX, os.O_RDONLY)  # not a FIFO (it would hang), not through a link
    except OSError:
        _CACHE.pop(folder, None)
        return {}, 0
    try:
        stamp = _stamp(os.fstat(fd))
        cached = _CACHE.get(folder)
        if cached is not None and cached[0] == stamp:
            return dict(cached[1]), cached[2]
        with os.fdopen(os.dup(fd), "rb") as handle:
            text = handle.read()
    except OSError:
        return {}, 0
    finally:
        os.close(fd)
    entries: dict[str, dict[str, Any]] = {}
    lines = 0
    for raw in text.splitlines():
        lines += 1
        with contextlib.suppress(ValueError):
            entry = json.loads(raw)
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                entries[entry["name"]] = entry
    _CACHE[folder] = (stamp, entries, lines)
    return dict(entries), lines


def _compact(folder: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Rewrite the index with one line per file (a line another process appends meanwhile may be lost: that
    file is then probed once more on a rerun)."""
    scratch = folder / (INDEX + ".tmp")
    with contextlib.suppress(OSError):  # a folder or anything else there: the O_EXCL open below says so
        scratch.unlink()
    try:
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
    except OSError as err:
        _refused(folder, err)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join((json.dumps(e, sort_keys=True) + "\n").encode() for e in entries.values()))
        os.replace(scratch, folder / INDEX)
    except OSError as err:
        log.info("%s: could not compact %s (%s)", folder, INDEX, err)
        scratch.unlink(missing_ok=True)
        return
    _CACHE.pop(folder, None)


def _refused(folder: Path, err: OSError) -> None:
    if err.errno == errno.ELOOP or (folder / INDEX).is_symlink():
        log.warning("%s/%s is a symbolic link; vodaxa does not write through links, so which files are whole is "
                    "not recorded (a rerun asks the server): remove it", folder, INDEX)  # fmt: skip
    else:
        log.warning("%s: could not record which files are whole (%s); a rerun will ask the server", folder, err)


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_mtime_ns, stat.st_size
