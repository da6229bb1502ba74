"""Large files in parallel byte ranges: identical bytes, faults survived, fallbacks, resume after SIGKILL."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

import vodaxa
from vodaxa.downloader import segments
from vodaxa.sandbox.protocols.faults import FaultInjector, Faults, make_app
from vodaxa.sandbox.protocols.files import serve_file

MiB = 1 << 20
_NAME = web.RequestKey("vodaxa_test_name", str)


class RangeServer:
    """vodaxa.sandbox's file handler (Range, If-Range, faults) in a thread, plus two misbehaving routes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.injector = FaultInjector(Faults())
        self.ranges: list[str | None] = []
        self.version = 0
        app = make_app(self.injector)
        app.router.add_get("/files/{name}", self.files)
        app.router.add_get("/whole/{name}", self.whole)
        app.router.add_get("/changing/{name}", self.changing)
        app.router.add_get("/named/{name}", self.named)
        app.on_response_prepare.append(self.disposition)
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", 0).start())
        self.port = self.runner.addresses[0][1]
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def files(self, request: web.Request) -> web.StreamResponse:
        self.ranges.append(request.headers.get("Range"))
        return await serve_file(request, self.root / request.match_info["name"], self.injector)

    async def named(self, request: web.Request) -> web.StreamResponse:
        """As /files/, named by Content-Disposition ``<name>.bin`` (as ESO's dataportal names its files)."""
        request[_NAME] = request.match_info["name"] + ".bin"
        return await self.files(request)

    @staticmethod
    async def disposition(request: web.Request, response: web.StreamResponse) -> None:
        if request.get(_NAME):
            response.headers["Content-Disposition"] = f'attachment; filename="{request[_NAME]}"'

    async def whole(self, request: web.Request) -> web.StreamResponse:
        """Ignores Range: always 200 with the whole file."""
        self.ranges.append(request.headers.get("Range"))
        body = (self.root / request.match_info["name"]).read_bytes()
        return web.Response(body=body, headers={"ETag": '"w"'}, content_type="application/octet-stream")

    async def changing(self, request: web.Request) -> web.StreamResponse:
        """Honours Range, but every answer comes from a new version of the file (a new ETag)."""
        self.version += 1
        body = (self.root / request.match_info["name"]).read_bytes()
        if "Range" not in request.headers:
            return web.Response(body=body, headers={"ETag": f'"v{self.version}"'})
        first, _, last = request.headers.get("Range", "bytes=0-").removeprefix("bytes=").partition("-")
        lo, hi = int(first), int(last) if last else len(body) - 1
        headers = {"ETag": f'"v{self.version}"', "Content-Range": f"bytes {lo}-{hi}/{len(body)}"}
        return web.Response(status=206, body=body[lo : hi + 1], headers=headers)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[RangeServer, dict[str, bytes]]]:
    root = tmp_path_factory.mktemp("ranges")
    bodies = {
        "big.dat": os.urandom(8 * MiB),
        "big.fits": b"SIMPLE  =" + os.urandom(4 * MiB - 9),
        "huge.dat": os.urandom(16 * MiB),
    }
    for name, body in bodies.items():
        (root / name).write_bytes(body)
    server = RangeServer(root)
    yield server, bodies
    server.close()


@pytest.fixture(autouse=True)
def small_segments(monkeypatch):
    """Split files from 2 MiB in segments of at least 1 MiB, so tests stay small."""
    monkeypatch.setattr(segments, "SPLIT_MIN", 2 * MiB)
    monkeypatch.setattr(segments, "SEGMENT_MIN", MiB)
    monkeypatch.setattr(segments, "CHECKPOINT_MIN", 32 * 1024)


def _row(server: RangeServer, route: str, name: str, body: bytes) -> dict[str, object]:
    return {"url": server.url(f"/{route}/{name}"), "local_path": name, "size": len(body)}


def test_plan_covers_the_file_without_gaps():
    parts = segments.plan(10 * MiB + 7, 4)
    assert parts[0][0] == 0 and parts[-1][1] == 10 * MiB + 7 and len(parts) == 4
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert len(segments.plan(3 * MiB, 8)) == 3  # never below SEGMENT_MIN
    assert not segments.splittable(None, 4) and not segments.splittable(8 * MiB, 1)


def test_large_file_arrives_in_ranges_byte_identical(served, tmp_path):
    server, bodies = served
    server.ranges.clear()
    report = vodaxa.download([_row(server, "files", "big.dat", bodies["big.dat"])], tmp_path, splits=4,
                             progress=False)  # fmt: skip
    assert len(report.ok) == 1 and report.bytes == 8 * MiB
    assert (tmp_path / "big.dat").read_bytes() == bodies["big.dat"]
    assert sorted(server.ranges) == [f"bytes={i * 2 * MiB}-{(i + 1) * 2 * MiB - 1}" for i in range(4)]
    assert not list(tmp_path.glob("*.part*"))


def test_a_file_fetched_in_ranges_takes_the_servers_name(served, tmp_path):
    server, bodies = served
    server.ranges.clear()
    row = {"url": server.url("/named/big.dat"), "size": len(bodies["big.dat"])}  # no local_path: the URL names it
    report = vodaxa.download([row], tmp_path, splits=4, progress=False)
    assert report.ok == [tmp_path / "big.dat.bin"] and len(server.ranges) == 4 and all(server.ranges)
    assert (tmp_path / "big.dat.bin").read_bytes() == bodies["big.dat"] and not list(tmp_path.glob("big*.part*"))
    again = vodaxa.download([row], tmp_path, splits=4, progress=False)
    assert again.skipped == [tmp_path / "big.dat.bin"] and len(server.ranges) == 4


def test_splits_one_fetches_whole(served, tmp_path):
    server, bodies = served
    server.ranges.clear()
    vodaxa.download([_row(server, "files", "big.dat", bodies["big.dat"])], tmp_path, splits=1, progress=False)
    assert server.ranges == [None] and (tmp_path / "big.dat").read_bytes() == bodies["big.dat"]


def test_ranges_survive_drops_truncations_and_errors(served, tmp_path):
    server, bodies = served
    server.injector.faults = Faults(error_503=0.2, drop=0.2, truncate=0.2, retry_after=0, seed=11, paths=("/files",))
    try:
        report = vodaxa.download([_row(server, "files", "big.dat", bodies["big.dat"])], tmp_path, splits=4,
                                 retries=12, progress=False)  # fmt: skip
        injected = dict(server.injector.injected)
    finally:
        server.injector.faults = Faults()
    assert injected, "no fault was injected"
    assert len(report.ok) == 1, report.errors
    assert hashlib.sha256((tmp_path / "big.dat").read_bytes()).digest() == hashlib.sha256(bodies["big.dat"]).digest()


def test_server_ignoring_range_falls_back_to_one_stream(served, tmp_path):
    server, bodies = served
    report = vodaxa.download([_row(server, "whole", "big.dat", bodies["big.dat"])], tmp_path, progress=False)
    assert len(report.ok) == 1, report.errors
    assert (tmp_path / "big.dat").read_bytes() == bodies["big.dat"]


def test_file_changing_between_ranges_is_not_stitched(served, tmp_path):
    server, bodies = served
    row = _row(server, "changing", "big.dat", bodies["big.dat"])
    report = vodaxa.download([row], tmp_path, progress=False, retries=1)
    # every answer claims a new version: the split is abandoned, the whole-file fetch gets one version
    assert len(report.ok) == 1, report.errors
    assert (tmp_path / "big.dat").read_bytes() == bodies["big.dat"]


def test_html_instead_of_fits_in_the_first_range(served, tmp_path):
    server, _ = served
    (server.root / "page.fits").write_bytes(b"<!DOCTYPE html><html>" + b"x" * (3 * MiB))
    row = {"url": server.url("/files/page.fits"), "local_path": "page.fits", "size": 3 * MiB + 21}
    report = vodaxa.download([row], tmp_path, progress=False)
    assert len(report.failed) == 1 and "HTML" in report.errors[0]
    assert not list(tmp_path.iterdir())


def test_fits_checksum_failure_after_ranges_is_refetched_or_failed(served, tmp_path):
    server, bodies = served
    row = {**_row(server, "files", "big.fits", bodies["big.fits"]), "checksum": "sha256:" + "0" * 64}
    report = vodaxa.download([row], tmp_path, progress=False, retries=1)
    assert len(report.failed) == 1 and "checksum" in report.errors[0]
    assert not (tmp_path / "big.fits").exists()


def _done(dest: Path) -> int:
    try:
        saved = json.loads((dest / "huge.dat.part.json").read_text())
    except (FileNotFoundError, ValueError):
        return 0
    return sum(n - s for s, _, n in saved["segments"])


def test_sigkill_mid_split_then_resume(served, tmp_path, monkeypatch):
    server, bodies = served
    sent = [0]
    write = web.StreamResponse.write

    async def counted(self, data):  # bytes the server handed to a live connection
        await write(self, data)
        sent[0] += len(data)

    monkeypatch.setattr(web.StreamResponse, "write", counted)
    server.injector.faults = Faults(bandwidth=4 * MiB, paths=("/files",))  # ~1 s per 4 MiB segment
    dest = tmp_path / "dest"
    size = 16 * MiB
    row = _row(server, "files", "huge.dat", bodies["huge.dat"])
    script = (
        "import vodaxa; from vodaxa.downloader import segments as s; "
        f"s.SPLIT_MIN, s.SEGMENT_MIN, s.CHECKPOINT_MIN = {2 * MiB}, {MiB}, {32 * 1024}; "
        f"vodaxa.download([{row!r}], {str(dest)!r}, splits=4, progress=False)"
    )
    try:
        child = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 60
        while _done(dest) < size // 3:
            assert time.monotonic() < deadline and child.poll() is None, "the child finished or stalled first"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert not (dest / "huge.dat").exists(), "a final name holds an incomplete file"
        report = vodaxa.download([row], dest, splits=4, progress=False)
    finally:
        server.injector.faults = Faults()
    assert len(report.ok) == 1, report.errors
    assert (dest / "huge.dat").read_bytes() == bodies["huge.dat"]
    refetched = sent[0] - size
    print(f"the server sent {sent[0]} bytes for a {size}-byte file; {refetched} were sent twice")
    assert 0 <= refetched <= 0.10 * size and not list(dest.glob("*.part*"))


def test_ranged_writes_checkpoints_and_fsync_never_happen_on_the_event_loop_thread(served, tmp_path, monkeypatch):
    server, bodies = served
    seen: dict[str, set[str]] = {"pwrite": set(), "fsync": set(), "open": set(), "close": set()}

    def spy(name, real):
        def call(*args, **kwargs):
            seen[name].add(threading.current_thread().name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(segments.os, "pwrite", spy("pwrite", os.pwrite))
    monkeypatch.setattr(segments.os, "fsync", spy("fsync", os.fsync))
    monkeypatch.setattr(segments.os, "open", spy("open", os.open))
    monkeypatch.setattr(segments.os, "close", spy("close", os.close))
    row = _row(server, "files", "huge.dat", bodies["huge.dat"])
    report = vodaxa.download([row], tmp_path, splits=4, progress=False)
    assert (tmp_path / "huge.dat").read_bytes() == bodies["huge.dat"] and not report.errors
    for name, threads in seen.items():
        assert threads and threading.current_thread().name not in threads, (name, threads)
