"""The downloader against a server that misbehaves on purpose: ignored Range, changed ETag, HTML, traversal."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

import vodaxa
from vodaxa import lzw
from vodaxa.downloader.fetch import FileTask, fetch_file
from vodaxa.downloader.mirrors import candidates, normalise
from vodaxa.errors import DownloadError
from vodaxa.http import HttpClient, run_sync

from ..servers import fits_file

FITS = fits_file(bytes(range(256)) * 4000)  # ~1 MB of valid FITS


class Server:
    """An aiohttp app in a thread whose behaviour tests switch: ``ignore_range``, ``etag``, ``cut_at``."""

    def __init__(self) -> None:
        self.body = FITS
        self.etag = '"v1"'
        self.ignore_range = False
        self.cut_at: int | None = None  # send only this many bytes of the next full answer, then drop
        self.requests: list[dict[str, str]] = []
        app = web.Application()
        app.router.add_get("/data/{name:.*}", self.file)
        app.router.add_get("/login/{name}", self.login)
        app.router.add_get("/slow/{name}", self.slow)
        app.router.add_get("/packed/{name}", self.packed)
        app.router.add_get("/busy/{name}", self.busy)
        self.busy_left = 2
        self.active = self.peak = 0
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = self.runner.addresses[0][1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def file(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.headers))
        start = 0
        wanted = request.headers.get("Range")
        if wanted and not self.ignore_range and request.headers.get("If-Range") == self.etag:
            start = int(wanted.split("=")[1].split("-")[0])
        body = self.body[start:]
        status = 206 if start else 200
        headers = {"ETag": self.etag, "Content-Length": str(len(body)), "Content-Type": "application/fits"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(self.body) - 1}/{len(self.body)}"
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        if self.cut_at is not None:
            await response.write(body[: self.cut_at])
            self.cut_at = None
            request.transport.close()  # the connection dies mid-body
            return response
        await response.write(body)
        return response

    async def slow(self, request: web.Request) -> web.StreamResponse:
        """A 1 MiB file per name, honouring Range, sent in 64 KiB pieces 30 ms apart (a slow link)."""
        body = hashlib.sha256(request.match_info["name"].encode()).digest() * (1 << 15)
        start = 0
        if request.headers.get("Range") and request.headers.get("If-Range") == '"slow"':
            start = int(request.headers["Range"].split("=")[1].split("-")[0])
        headers = {"ETag": '"slow"', "Content-Length": str(len(body) - start)}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        response = web.StreamResponse(status=206 if start else 200, headers=headers)
        await response.prepare(request)
        for offset in range(start, len(body), 1 << 16):
            await response.write(body[offset : offset + (1 << 16)])
            await asyncio.sleep(0.03)
        return response

    async def packed(self, request: web.Request) -> web.Response:
        """FITS compressed as the name says (.gz or .Z)."""
        name = request.match_info["name"]
        body = gzip.compress(FITS) if name.endswith(".gz") else lzw.compress(FITS)
        return web.Response(body=body, headers={"ETag": '"p"'}, content_type="application/octet-stream")

    async def busy(self, request: web.Request) -> web.Response:
        """503 with Retry-After for the first ``busy_left`` requests, then the file; tracks peak concurrency."""
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.05)
            if self.busy_left > 0:
                self.busy_left -= 1
                return web.Response(status=503, headers={"Retry-After": "0"}, text="busy")
            return web.Response(body=FITS, headers={"ETag": '"b"'})
        finally:
            self.active -= 1

    async def login(self, request: web.Request) -> web.Response:
        return web.Response(text="<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html")

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


async def _fetch(task: FileTask, retries: int = 0) -> int:
    async with HttpClient() as http:
        return await fetch_file(http, task, retries=retries)


def test_a_dropped_body_leaves_only_a_part_file_then_resumes(server, tmp_path):
    target = tmp_path / "evt.fits"
    server.cut_at = 300_000
    with pytest.raises(DownloadError, match="connection lost"):
        run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target)))
    assert not target.exists() and (tmp_path / "evt.fits.part").stat().st_size == 300_000
    got = run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target, size=len(FITS))))
    assert target.read_bytes() == FITS and got == len(FITS) - 300_000
    assert server.requests[-1]["Range"] == "bytes=300000-" and server.requests[-1]["If-Range"] == '"v1"'
    assert not list(tmp_path.glob("*.part*"))


def test_a_server_that_ignores_range_restarts_the_file(server, tmp_path):
    target = tmp_path / "evt.fits"
    server.cut_at = 200_000
    with pytest.raises(DownloadError):
        run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target)))
    server.ignore_range = True
    got = run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target)))
    assert got == len(FITS) and target.read_bytes() == FITS  # not the first 200 kB twice


def test_a_changed_etag_restarts_instead_of_splicing(server, tmp_path):
    target = tmp_path / "evt.fits"
    server.cut_at = 200_000
    with pytest.raises(DownloadError):
        run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target)))
    server.body, server.etag = b"SIMPLE  =  " + b"x" * 500_000, '"v2"'
    run_sync(_fetch(FileTask(server.url("/data/evt.fits"), target)))
    assert target.read_bytes() == server.body


def test_html_instead_of_fits_is_an_error_and_leaves_nothing(server, tmp_path):
    report = vodaxa.download([server.url("/login/evt.fits")], tmp_path, retries=0)
    assert len(report.failed) == 1 and "HTML page" in report.failed["reason"][0]
    assert not list(tmp_path.rglob("*.fits*"))


def test_manifest_paths_cannot_leave_the_destination(server, tmp_path):
    rows = [
        {"url": server.url("/data/a.fits"), "local_path": "ok/a.fits"},
        {"url": server.url("/data/b.fits"), "local_path": "x", "mission": ".."},
    ]
    report = vodaxa.download(rows, tmp_path / "dest", template="{mission}/../{local_path}")
    assert len(report.failed) == 2 and all("refusing" in r for r in report.failed["reason"])
    report = vodaxa.download(rows[:1], tmp_path / "dest")
    assert [p.relative_to(tmp_path / "dest").as_posix() for p in report.ok] == ["ok/a.fits"]
    (tmp_path / "outside").mkdir()
    (tmp_path / "dest" / "link").symlink_to(tmp_path / "outside")
    report = vodaxa.download([{"url": server.url("/data/c.fits"), "local_path": "link/c.fits"}], tmp_path / "dest")
    assert "outside" in report.failed["reason"][0] and not list((tmp_path / "outside").iterdir())


def test_complete_files_are_skipped_without_network_and_checksums_verified(server, tmp_path):
    sha = "sha256:" + hashlib.sha256(FITS).hexdigest()
    rows = [{"url": server.url("/data/a.fits"), "local_path": "a.fits", "size": len(FITS), "checksum": sha}]
    first = vodaxa.download(rows, tmp_path)
    assert len(first.ok) == 1 and first.bytes == len(FITS)
    count = len(server.requests)
    second = vodaxa.download(rows, tmp_path)
    assert len(second.skipped) == 1 and second.bytes == 0 and len(server.requests) == count
    bad = [{**rows[0], "local_path": "b.fits", "checksum": "sha256:" + "0" * 64}]
    report = vodaxa.download(bad, tmp_path, retries=1)
    assert "checksum mismatch" in report.failed["reason"][0] and not (tmp_path / "b.fits").exists()


def test_a_size_mismatch_with_the_manifest_fails_clearly(server, tmp_path):
    rows = [{"url": server.url("/data/a.fits"), "local_path": "a.fits", "size": 10}]
    report = vodaxa.download(rows, tmp_path, retries=0)
    assert "manifest expects 10" in report.failed["reason"][0]
    assert not Path(tmp_path / "a.fits").exists()


@pytest.mark.parametrize("suffix", [".gz", ".Z"])
def test_decompression_replaces_or_keeps_the_original(server, tmp_path, suffix):
    url = server.url(f"/packed/evt.fits{suffix}")
    report = vodaxa.download([url], tmp_path, decompress=True, progress=False)
    assert report.ok == [tmp_path / "evt.fits"] and (tmp_path / "evt.fits").read_bytes() == FITS
    assert not (tmp_path / f"evt.fits{suffix}").exists()
    again = vodaxa.download([url], tmp_path, decompress=True, progress=False)
    assert again.skipped == [tmp_path / "evt.fits"] and again.bytes == 0
    kept = vodaxa.download([url], tmp_path / "k", decompress=True, keep_compressed=True, progress=False)
    assert kept.ok == [tmp_path / "k" / "evt.fits"] and (tmp_path / "k" / f"evt.fits{suffix}").exists()


def test_a_corrupt_compressed_file_is_kept_and_reported(server, tmp_path):
    server.body = b"\x1f\x8b" + b"not really gzip" * 100
    report = vodaxa.download([server.url("/data/evt.fits.gz")], tmp_path, decompress=True, progress=False)
    assert "could not be decompressed" in report.failed["reason"][0]
    assert (tmp_path / "evt.fits.gz").read_bytes() == server.body and not (tmp_path / "evt.fits").exists()


def test_retry_after_is_honoured_and_per_host_limits_hold(server, tmp_path):
    urls = [server.url(f"/busy/f{i}.fits") for i in range(12)]
    report = vodaxa.download(urls, tmp_path, max_per_host=3, progress=False)
    assert len(report.ok) == 12 and server.peak <= 3 and server.busy_left == 0


def test_progress_bars_and_quiet_mode(server, tmp_path, capsys):
    vodaxa.download([server.url("/data/a.fits")], tmp_path / "loud")
    assert "files" in capsys.readouterr().err
    vodaxa.download([server.url("/data/a.fits")], tmp_path / "quiet", progress=False)
    assert capsys.readouterr().err == ""


def test_archive_ceilings_come_from_the_endpoints():
    from vodaxa.config import endpoints
    from vodaxa.downloader import host_limits

    limits = host_limits(max_per_host=50)
    assert limits["nxsa.esac.esa.int"] == 10  # the XSA's ceiling holds even when asked for more
    assert host_limits(max_per_host=2)["nxsa.esac.esa.int"] == 2
    with endpoints.override({"xsa": {"aio": "http://127.0.0.1:5999/aio"}}):
        assert host_limits()["127.0.0.1:5999"] == 10


def _dead_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_http_mirror_is_used_first_and_the_archive_is_the_fallback(server, tmp_path):
    dead = f"http://127.0.0.1:{_dead_port()}/data/"
    report = vodaxa.download([dead + "a.fits"], tmp_path, mirrors={dead: server.url("/data/")}, progress=False)
    assert report.ok == [tmp_path / "a.fits"] and (tmp_path / "a.fits").read_bytes() == FITS
    missing_mirror = {server.url("/data/"): server.url("/nowhere/")}  # answers 404: fall back to the archive
    report = vodaxa.download([server.url("/data/b.fits")], tmp_path, mirrors=missing_mirror, progress=False)
    assert report.ok == [tmp_path / "b.fits"]


def test_a_local_mirror_is_copied_verified_and_never_escaped(server, tmp_path):
    from vodaxa.config import endpoints

    mirror = tmp_path / "mirror"
    (mirror / "obs").mkdir(parents=True)
    (mirror / "obs" / "a.fits").write_bytes(FITS)
    (mirror / "obs" / "b.fits").write_bytes(FITS[:1000])  # a truncated copy: the manifest size exposes it
    (tmp_path / "secret.fits").write_bytes(FITS)
    rows = [
        {"url": server.url("/data/obs/a.fits"), "local_path": "a.fits", "size": len(FITS)},
        {"url": server.url("/data/obs/b.fits"), "local_path": "b.fits", "size": len(FITS)},
        {"url": server.url("/data/%2E%2E/%2E%2E/secret.fits"), "local_path": "s.fits"},
    ]
    before = len(server.requests)
    with endpoints.override({"heasarc": {"ftp": server.url("/data/")}}):
        report = vodaxa.download(rows, tmp_path / "out", mirrors={"heasarc": str(mirror)}, progress=False)
    assert len(report.ok) == 2 and report.bytes == len(FITS)  # a.fits came from the mirror, no network
    assert len(server.requests) - before == 1  # b.fits (a bad copy in the mirror) came from the archive
    assert all((tmp_path / "out" / n).read_bytes() == FITS for n in ("a.fits", "b.fits"))
    assert not (tmp_path / "out" / "s.fits").exists()  # the escaping path never read the secret file
    with endpoints.override({"heasarc": {"ftp": server.url("/data/")}}):
        assert candidates(rows[2]["url"], normalise({"heasarc": str(mirror)})) == [rows[2]["url"]]


def test_an_unknown_mirror_key_is_a_config_error(tmp_path):
    from vodaxa.errors import ConfigError

    with pytest.raises(ConfigError, match="neither an archive"):
        vodaxa.download(["http://127.0.0.1:1/x.fits"], tmp_path, mirrors={"nasa": "https://example.org/"})


def test_a_fits_file_failing_its_checksums_is_refused(server, tmp_path):
    server.body = fits_file(bytes(range(256)) * 40, extra=("CHECKSUM= 'AAAAAAAAAAAAAAAA'", "DATASUM = '1'"))
    report = vodaxa.download([server.url("/data/a.fits")], tmp_path, verify="fits", retries=1, progress=False)
    assert "FITS" in report.failed["reason"][0] and not (tmp_path / "a.fits").exists()
    assert vodaxa.download([server.url("/data/a.fits")], tmp_path, progress=False).ok  # only checked when asked


def test_retry_redoes_only_the_failures_and_the_sync_call_works_inside_a_running_loop(server, tmp_path):
    server.busy_left = 10**6  # the busy route answers 503 until told otherwise
    urls = [server.url("/busy/x.fits"), server.url("/data/y.fits")]

    async def notebook_cell() -> vodaxa.DownloadReport:  # a Jupyter cell runs inside a live event loop
        return vodaxa.download(urls, tmp_path, retries=1, progress=False)

    first = asyncio.run(notebook_cell())
    assert first.ok == [tmp_path / "y.fits"] and "503" in first.failed["reason"][0]
    server.busy_left = 0
    again = first.retry()
    assert again.ok == [tmp_path / "x.fits"] and not len(again.failed) and len(again.results) == 1


def test_the_retry_budget_ends_retries_with_a_clear_reason(server, tmp_path):
    server.busy_left = 10**6
    started = time.monotonic()
    report = vodaxa.download([server.url("/busy/x.fits")], tmp_path, retries=50, budget=0.5, progress=False)
    assert time.monotonic() - started < 5 and "retry budget is spent" in report.failed["reason"][0]


def test_a_slow_host_does_not_hold_another_hosts_files(server, tmp_path):
    fast = Server()
    try:
        slow_rows = [{"url": server.url(f"/slow/s{i:02d}.dat"), "local_path": f"slow/s{i:02d}.dat"} for i in range(8)]
        fast_rows = [{"url": fast.url(f"/data/f{i}.fits"), "local_path": f"fast/f{i}.fits"} for i in range(4)]
        report = vodaxa.download(slow_rows + fast_rows, tmp_path, max_per_host=2, max_total=4, progress=False)
    finally:
        fast.close()
    assert len(report.ok) == 12, report.errors
    order = [r.path.parent.name for r in report.results]  # results arrive in the order files finish
    assert order[:4] == ["fast"] * 4, order  # listed last, done first: the slow host's queue did not hold them
    assert all((tmp_path / r["local_path"]).read_bytes() == FITS for r in fast_rows)


def test_a_rerun_with_other_options_keeps_what_an_earlier_run_unpacked(tmp_path):
    """Issue 15 item 3: download(decompress=True) then a plain download() of the same files fetches nothing:
    what is on disk, in either form, counts as done (and nothing is left in both forms)."""
    import gzip

    from aiohttp import web

    from ..servers import AppThread

    bodies = {f"f{i}.fits.gz": gzip.compress(bytes([i]) * 5000, mtime=0) for i in range(3)}
    hits: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        hits.append(request.match_info["name"])
        return web.Response(body=bodies[request.match_info["name"]])

    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = AppThread(app)
    try:
        urls = [f"{server.base}/{name}" for name in bodies]
        first = vodaxa.download(urls, tmp_path, decompress=True, progress=False)
        assert len(first.ok) == 3 and len(hits) == 3
        plain = vodaxa.download(urls, tmp_path, progress=False)
        assert len(plain.skipped) == 3 and len(hits) == 3
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
            "f0.fits", "f1.fits", "f2.fits"
        ]  # fmt: skip
        again = vodaxa.download(urls, tmp_path, decompress=True, progress=False)
        assert len(again.skipped) == 3 and len(hits) == 3
    finally:
        server.close()
