"""One writer per file across processes: an exclusive lock per destination file, held for the whole fetch.

Two vodaxa runs downloading the same manifest into the same folder must not interleave their bytes in one
``.part``: the second waits for the first and then finds the file complete.  The lock is an ``flock`` on a
hidden file beside the data (``.vodaxa-<digest>.lock``, so no file pattern of the data matches it), removed
when released; the operating system releases it when a process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from . import disk

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no cross-process claim
    fcntl = None  # type: ignore[assignment]  # the module is absent: None says so to the code below

__all__ = ["claim", "lock_path"]


def lock_path(path: Path) -> Path:
    """The lock file of ``path``."""
    return path.with_name(f".vodaxa-{hashlib.sha1(path.name.encode()).hexdigest()[:16]}.lock")


@contextlib.asynccontextmanager
async def claim(path: Path, *, poll: float = 0.2, then: Callable[[bool], object] | None = None) -> AsyncIterator[bool]:
    """Hold ``path``'s lock inside the block; yields True if another process held it first (and so may have
    fetched the file meanwhile: check before fetching again).  The lock's file operations run on the disk
    worker (:mod:`.disk`), not on the event loop; so does ``then(waited)``, right after the lock is taken
    (to look at the file on disk in the same trip)."""
    if fcntl is None:
        if then is not None:
            await disk.run(then, False)
        yield False
        return
    lock = lock_path(path)
    waited = False
    while True:
        taking = asyncio.ensure_future(disk.run(_take, lock, then, waited))
        try:
            fd = await asyncio.shield(taking)
        except asyncio.CancelledError:  # the lock may be taken all the same: released as soon as it is
            taking.add_done_callback(functools.partial(_release_when_taken, lock))
            raise
        if fd is not None:
            break
        waited = True
        await asyncio.sleep(poll)
    try:
        yield waited
    finally:
        await asyncio.shield(disk.run(_release, lock, fd))  # done even if the download is cancelled meanwhile


def _take(lock: Path, then: Callable[[bool], object] | None = None, waited: bool = False) -> int | None:
    """The lock's descriptor, held (and ``then(waited)`` called); None while another process holds it."""
    fd = _held(lock)
    if fd is not None and then is not None:
        try:
            then(waited)
        except BaseException:
            _release(lock, fd)
            raise
    return fd


def _held(lock: Path) -> int | None:
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            held = os.fstat(fd).st_ino == os.stat(lock).st_ino  # not a file its last holder removed meanwhile
        except FileNotFoundError:
            held = False
        if held:
            return fd
        os.close(fd)


def _release_when_taken(lock: Path, taking: asyncio.Future[int | None]) -> None:
    """Release a lock whose taking finished after its taker was cancelled (else this process would hold it
    until it exits, and a later download of the same file here would wait for ever)."""
    if not taking.cancelled() and taking.exception() is None and (fd := taking.result()) is not None:
        disk.after(functools.partial(_release, lock, fd))


def _release(lock: Path, fd: int) -> None:
    try:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # before releasing: whoever opens the name next makes a new lock
    finally:
        os.close(fd)
