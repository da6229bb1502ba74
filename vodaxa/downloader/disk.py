"""The downloader's disk worker: creating, writing, fsyncing and renaming files happens on dedicated threads, so
the event loop never waits on the disk (a busy or network disk would otherwise stall every connection at once).

Each file's bytes are gathered in memory up to :data:`FLUSH` and handed to the worker; the next batch is received
while the previous one is written (at most one write in flight per file, so memory stays bounded and the order
of the writes is kept).  A small file is therefore written, fsynced and closed in one job, after its body has
arrived, and installed in a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from .partial import open_part

__all__ = ["FLUSH", "PartWriter", "after", "run"]

T = TypeVar("T")

log = logging.getLogger(__name__)

FLUSH = 1 << 20  # bytes gathered before they are handed to the worker
WRITEBACK = 16 << 20  # every this many bytes, the disk starts writing what came (so the final fsync is short)

class _Worker:
    """One thread that runs disk jobs in order, in batches: the loop's side of a job is an append to a queue,
    and the results of all the jobs done meanwhile come back to each loop in one callback (a thread pool's
    per-job handoffs cost more CPU than the small jobs themselves)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="vodaxa-disk", daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> None:
        self._jobs.put(job)

    def _serve(self) -> None:
        while True:
            batch = [self._jobs.get()]
            with contextlib.suppress(queue.Empty):
                while len(batch) < 256:
                    batch.append(self._jobs.get_nowait())
            done: dict[asyncio.AbstractEventLoop, list[tuple[_Job, object, BaseException | None]]] = {}
            for job in batch:
                try:
                    outcome, error = job.function(*job.args), None
                except BaseException as err:  # handed to the awaiting coroutine
                    outcome, error = None, err
                if job.loop is None:
                    if error is not None:
                        log.warning("a background disk job failed: %s", error)
                else:
                    done.setdefault(job.loop, []).append((job, outcome, error))
            for loop, settled in done.items():
                with contextlib.suppress(RuntimeError):  # that loop was closed meanwhile: nobody waits
                    loop.call_soon_threadsafe(_settle, settled)


class _Job:
    __slots__ = ("args", "function", "future", "loop")

    def __init__(self, function: Callable[..., object], args: tuple[object, ...],
                 loop: asyncio.AbstractEventLoop | None) -> None:  # fmt: skip
        self.function, self.args, self.loop = function, args, loop
        self.future: asyncio.Future[object] | None = loop.create_future() if loop is not None else None


def _settle(settled: list[tuple[_Job, object, BaseException | None]]) -> None:
    for job, outcome, error in settled:
        future = job.future
        if future is None or future.done():  # its coroutine was cancelled: the job ran all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _the_worker() -> _Worker:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = _Worker()
        return _worker


def _forget_worker() -> None:  # a forked child has none of its parent's threads: it starts its own worker
    global _worker, _worker_lock
    _worker, _worker_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


async def run(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` on the disk worker, after the jobs queued before it; the loop serves the network
    meanwhile.  If the awaiting coroutine is cancelled the job still runs (it may already be writing)."""
    job = _Job(function, args, asyncio.get_running_loop())
    _the_worker().submit(job)
    assert job.future is not None
    return await job.future  # type: ignore[return-value]  # the job's function returns T


def after(function: Callable[[], object]) -> None:
    """Queue ``function()`` on the disk worker without waiting for it (it runs after the jobs already queued)."""
    _the_worker().submit(_Job(function, (), None))


class PartWriter:
    """The bytes of one ``.part`` file, written on the disk worker in the order they came.

    ``await add(block)`` keeps the block and, past :data:`FLUSH`, hands what was gathered to the worker (first
    waiting for the previous write, which also reports its error); ``await finish()`` writes the rest, fsyncs and
    closes; ``await abandon()`` writes what came and closes without the fsync (after a lost connection: the
    ``.part`` stays to resume from).  The file is opened by the first write (``mode`` as
    :func:`~.partial.open_part`), after ``prepare()``, so the body is read from its first byte without waiting
    for the disk.
    """

    def __init__(self, path: Path, mode: str, prepare: Callable[[], None] | None = None) -> None:
        self.path, self.mode = path, mode
        self._prepare = prepare  # run on the worker just before the file is opened (the .part's validator file)
        self._file: IO[bytes] | None = None
        self._opened = False  # once closed (after an error, or at the end), the file is never opened again
        self._blocks: list[bytes] = []
        self._gathered = 0
        self._written = 0
        self._last: asyncio.Future[object] | None = None
        self.size: int | None = None  # the file's size once finish() returned

    async def add(self, block: bytes) -> None:
        """Keep ``block``; write what was gathered once it reaches :data:`FLUSH`."""
        self._blocks.append(block)
        self._gathered += len(block)
        if self._gathered >= FLUSH:
            if self._last is not None:
                await self._last
            self._last = self._submit(final=False)

    async def finish(self) -> None:
        """Write what is left, fsync and close: the bytes are on disk when this returns."""
        if self._last is not None:
            await self._last
        self._last = None
        large = self._written + self._gathered > WRITEBACK
        await self._submit(final=not large)
        if large:  # a long fsync runs on its own thread: the worker goes on with other files' small jobs
            assert self._file is not None
            try:
                await asyncio.to_thread(os.fsync, self._file.fileno())
            finally:
                await asyncio.shield(run(self._finalise))  # closed whatever happened

    async def abandon(self) -> None:
        """Write what was gathered and close (no fsync), after the write in flight; errors are not raised (the
        caller is already handling one)."""
        if self._last is not None:
            self._last.add_done_callback(_retrieved)
        blocks, self._blocks, self._gathered = self._blocks, [], 0

        def close() -> None:
            with contextlib.suppress(OSError):
                self._write(blocks, final=False, sync=False)
            self._close()

        with contextlib.suppress(OSError):
            await asyncio.shield(run(close))

    def _submit(self, final: bool) -> asyncio.Future[object]:
        blocks, self._blocks, self._gathered = self._blocks, [], 0
        return asyncio.ensure_future(run(self._write, blocks, final, final))

    def _write(self, blocks: list[bytes], final: bool, sync: bool = True) -> None:  # on the worker
        try:
            if self._file is None:
                if self._opened:
                    return  # closed after a failed write: nothing more goes into it (it would land at the wrong place)
                if not blocks and not final and self.mode != "wb":
                    return  # nothing came: an older .part stays as it was (a fresh start truncates it, below)
                if self._prepare is not None:
                    self._prepare()
                    self._prepare = None
                self._opened = True
                self._file = open_part(self.path, self.mode)
            before = self._written
            for block in blocks:
                self._file.write(block)
                self._written += len(block)
            self._file.flush()
            if final:
                if sync:
                    os.fsync(self._file.fileno())
                self._finalise()
            elif self._written // WRITEBACK != before // WRITEBACK:
                start_writeback(self._file.fileno())
        except BaseException:
            self._close()
            raise

    def _finalise(self) -> None:  # on the worker
        if self._file is not None:
            self.size = os.fstat(self._file.fileno()).st_size
        self._close()

    def _close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


def _retrieved(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()  # read, so asyncio does not log it as never retrieved: the caller reports another


def start_writeback(fd: int) -> None:
    """Ask the kernel to start writing the file's dirty pages now, without waiting (Linux: fadvise
    DONTNEED starts writeback and frees clean pages), so data reach the disk while more arrive."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):  # advice only
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
