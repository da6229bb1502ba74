"""What a partial download leaves beside its final name, shared by whole-file and ranged fetches:
``<name>.part`` (the bytes) and ``<name>.part.json`` (the URL, the server's validator, and for
ranged fetches the segment map), plus how to read a validator and a Content-Range.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from ..errors import DownloadError

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - not on POSIX
    _fcntl = None  # type: ignore[assignment]  # the module is absent: None says so to the code below

__all__ = [
    "CONTENT_RANGE", "open_part", "open_part_fd", "part_path", "state_path", "validator", "write_private",
    "write_state",
]  # fmt: skip

_MODES = {"wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
          "r+b": os.O_RDWR | os.O_CREAT}  # fmt: skip

#: ``Content-Range: bytes first-last/total`` (total may be ``*``).
CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def part_path(path: Path) -> Path:
    """Where the bytes of ``path`` accumulate until verified."""
    return path.with_name(path.name + ".part")


def open_regular(path: Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` for vodaxa's own files beside the data: never through a symbolic link, and never blocking on
    something that is not a regular file (a FIFO planted there would hang the whole run): :class:`NotRegular`."""
    fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), mode)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(errno.EINVAL, "not a regular file", str(path))
        if _fcntl is not None:  # a regular file after all: ordinary blocking I/O from here on
            now = _fcntl.fcntl(fd, _fcntl.F_GETFL)
            _fcntl.fcntl(fd, _fcntl.F_SETFL, now & ~getattr(os, "O_NONBLOCK", 0))
    except BaseException:
        os.close(fd)
        raise
    return fd


class NotRegular(OSError):
    """A name vodaxa keeps its own file under holds something else (a FIFO, a device, a folder)."""


def read_private(path: Path) -> str | None:
    """The text of one of vodaxa's small files, or None when it is absent, unreadable or not a regular file."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def open_part_fd(path: Path, mode: str = "r+b") -> int:
    """A descriptor on ``path`` (a ``.part`` file) opened without following a symbolic link found in its place:
    a link planted there (by another user, or left by another tool) must not make vodaxa write elsewhere, and a
    FIFO or device there must not hang it."""
    try:
        return open_regular(path, _MODES[mode])
    except OSError as err:
        if err.errno == errno.ELOOP or path.is_symlink():
            raise DownloadError(
                f"{path} is a symbolic link; vodaxa does not write through links: remove it and run again"
            ) from None
        if isinstance(err, NotRegular) or err.errno in (errno.ENXIO, errno.EISDIR):
            raise DownloadError(f"{path} is not a regular file (a FIFO, device or folder?): remove it and run again",
                                ) from None  # fmt: skip
        raise


def open_part(path: Path, mode: str) -> IO[bytes]:
    """:func:`open_part_fd` as a file object (``wb``, ``ab`` or ``r+b``)."""
    return os.fdopen(open_part_fd(path, mode), mode)


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, never writing through a symbolic link: a scratch file is
    created without following links, then renamed over ``path`` (a rename replaces a link, it does not follow it).
    For vodaxa's own small files beside the data (validators, segment maps, the names index, ledgers)."""
    scratch = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident() % 100000}.tmp")
    fd = open_part_fd(scratch, "wb")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def state_path(path: Path) -> Path:
    """Where the validator (and segment map) of ``path``'s partial file is kept."""
    return path.with_name(path.name + ".part.json")


def write_state(path: Path, meta: Mapping[str, object]) -> None:
    """Write a ``.part.json`` state file, never through a symbolic link found in its place."""
    write_private(path, json.dumps(meta))


def validator(headers: Mapping[str, str]) -> dict[str, str]:
    """The strong validator for If-Range: a strong ETag, else Last-Modified (empty if neither)."""
    etag = headers.get("ETag", "")
    if etag and not etag.startswith("W/"):
        return {"etag": etag}
    modified = headers.get("Last-Modified")
    return {"last_modified": modified} if modified else {}
