"""The downloader's disk worker: the event loop never touches the disk for a file's bytes, the worker keeps the
order of one file's writes, and a lost body leaves its bytes in the ``.part`` to resume from."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import vodaxa
from vodaxa.downloader import disk, fetch, locks

from .test_fetch_edges import (
    FITS,
    server,  # noqa: F401 (the fixture)
)


def test_file_bytes_syncs_and_renames_never_happen_on_the_event_loop_thread(server, tmp_path, monkeypatch):  # noqa: F811
    vodaxa.download([server.url("/data/warm.fits")], tmp_path / "warm", progress=False)  # lazy imports done
    seen: dict[str, set[str]] = {"open_part": set(), "fsync": set(), "replace": set(), "lock": set(), "stat": set()}

    def spy(name, real):
        def call(*args, **kwargs):
            seen[name].add(threading.current_thread().name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(disk, "open_part", spy("open_part", disk.open_part))
    monkeypatch.setattr(disk.os, "fsync", spy("fsync", os.fsync))
    monkeypatch.setattr(fetch.os, "replace", spy("replace", os.replace))
    monkeypatch.setattr(locks.os, "open", spy("lock", os.open))
    monkeypatch.setattr(locks.os, "stat", spy("stat", os.stat))  # planning: what is on disk already
    urls = [server.url(f"/data/f{i}.fits") for i in range(12)]
    report = vodaxa.download(urls, tmp_path / "data", progress=False)
    assert len(report.ok) == 12 and all(p.read_bytes() == FITS for p in report.ok)
    loop_thread = threading.current_thread().name  # download() runs its loop here (no loop was running)
    for name, threads in seen.items():
        assert threads and loop_thread not in threads, (name, threads)


def test_one_files_writes_keep_their_order_and_memory_stays_bounded(tmp_path):
    blocks = [bytes([i]) * (disk.FLUSH // 3 + i) for i in range(40)]  # many hand-overs, odd sizes
    gathered: list[int] = []

    async def main() -> int | None:
        writer = disk.PartWriter(tmp_path / "x.part", "wb")
        for block in blocks:
            await writer.add(block)
            gathered.append(writer._gathered)
        await writer.finish()
        return writer.size

    size = asyncio.run(main())
    assert (tmp_path / "x.part").read_bytes() == b"".join(blocks) and size == sum(map(len, blocks))
    assert max(gathered) < disk.FLUSH + len(blocks[-1])  # never more than one batch waits on the loop's side


def test_abandon_keeps_what_came_and_a_fresh_start_truncates_an_old_part(tmp_path):
    part = tmp_path / "y.part"
    part.write_bytes(b"old bytes of another version")

    async def lose(mode: str, blocks: list[bytes]) -> None:
        writer = disk.PartWriter(part, mode)
        for block in blocks:
            await writer.add(block)
        await writer.abandon()

    asyncio.run(lose("ab", []))  # a resume that got nothing: the .part is as it was
    assert part.read_bytes() == b"old bytes of another version"
    asyncio.run(lose("wb", []))  # a fresh start that got nothing: the old bytes must not be resumed later
    assert part.read_bytes() == b""
    asyncio.run(lose("wb", [b"abc", b"def"]))
    assert part.read_bytes() == b"abcdef"


def test_prepare_runs_before_the_file_is_opened_and_errors_reach_the_caller(tmp_path):
    order: list[str] = []
    part = tmp_path / "z.part"

    async def main() -> None:
        writer = disk.PartWriter(part, "wb", prepare=lambda: order.append(f"prepare {part.exists()}"))
        await writer.add(b"x")
        await writer.finish()
        order.append(f"written {part.read_bytes()!r}")
        (tmp_path / "dir.part").mkdir()
        broken = disk.PartWriter(tmp_path / "dir.part", "wb")
        await broken.add(b"y")
        with pytest.raises(vodaxa.errors.DownloadError, match="not a regular file"):
            await broken.finish()

    asyncio.run(main())
    assert order == ["prepare False", "written b'x'"]


def test_a_cancelled_wait_does_not_cancel_the_job_and_a_closed_loop_is_not_called(tmp_path):
    done = threading.Event()

    def slow() -> None:
        done.wait(5)
        (tmp_path / "ran").write_text("yes")

    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(disk.run(slow), 0.05)

    asyncio.run(main())  # the loop is closed while the job still waits
    done.set()
    marker = asyncio.run(disk.run(lambda: (tmp_path / "ran").read_text()))  # queued after it: it ran first
    assert marker == "yes"


def test_a_forked_child_gets_its_own_worker(tmp_path):
    asyncio.run(disk.run(lambda: None))  # the parent's worker exists
    code = (
        "import asyncio, os, sys; from vodaxa.downloader import disk\n"
        "asyncio.run(disk.run(lambda: None))\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if asyncio.run(disk.run(lambda: 7)) == 7 else 1)\n"
        "_, status = os.waitpid(pid, 0); sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    env = {**os.environ, "PYTHONPATH": str(Path(vodaxa.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code], timeout=60, env=env)
    assert done.returncode == 0


def test_after_a_failed_write_nothing_more_goes_into_the_part(tmp_path, monkeypatch):
    part = tmp_path / "w.part"
    calls = {"n": 0}
    real = disk.open_part

    class Full:  # a file whose second write fails (the disk filled up)
        def __init__(self, inner):
            self.inner = inner

        def write(self, block):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device")
            return self.inner.write(block)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(disk, "open_part", lambda path, mode: Full(real(path, mode)))

    async def main() -> None:
        writer = disk.PartWriter(part, "wb")
        await writer.add(b"a" * disk.FLUSH)  # written
        await writer.add(b"b" * disk.FLUSH)  # handed over: this write fails
        with pytest.raises(OSError, match="No space"):
            await writer.add(b"c" * disk.FLUSH)  # reports the failure
        await writer.abandon()  # must not reopen (and truncate) the .part, nor write "c" at its start

    asyncio.run(main())
    assert part.read_bytes() == b"a" * disk.FLUSH


def test_a_lock_taken_after_its_taker_was_cancelled_is_released(tmp_path):
    target = tmp_path / "f.fits"
    gate = threading.Event()

    async def main() -> None:
        disk_blocked = asyncio.ensure_future(disk.run(gate.wait, 5))  # the worker is busy: the lock is taken late
        waiter = asyncio.ensure_future(locks.claim(target).__aenter__())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        gate.set()
        await disk_blocked
        await asyncio.sleep(0.1)  # the late release runs on the worker
        async with locks.claim(target, poll=0.01) as waited:  # free again: not held by a forgotten descriptor
            assert waited is False

    asyncio.run(asyncio.wait_for(main(), 10))
    assert not locks.lock_path(target).exists()


@pytest.mark.parametrize("value", [None, float("nan"), "numpy-nan32", "numpy-nat"])
def test_a_missing_size_of_any_kind_is_unknown_without_pandas(value, monkeypatch):
    import numpy as np

    from vodaxa import downloader

    value = {"numpy-nan32": np.float32("nan"), "numpy-nat": np.datetime64("NaT")}.get(value, value)
    monkeypatch.setattr(downloader, "loaded", lambda name: False)  # as in a process that never imported pandas
    assert downloader._missing(value) is True
    assert downloader._missing(2880) is False and downloader._missing("x") is False


def test_a_file_another_process_finished_after_planning_is_not_fetched_again(server, tmp_path, monkeypatch):  # noqa: F811
    url = server.url("/data/done.fits")
    real = locks._held

    def finished_meanwhile(lock):  # another process completed the file between planning and this lock
        (tmp_path / "done.fits").write_bytes(FITS)
        return real(lock)

    monkeypatch.setattr(locks, "_held", finished_meanwhile)
    before = len(server.requests)
    report = vodaxa.download([{"url": url, "local_path": "done.fits", "size": len(FITS)}], tmp_path, progress=False)
    assert report.skipped == [tmp_path / "done.fits"] and len(server.requests) == before
