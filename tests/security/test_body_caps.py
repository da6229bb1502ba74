"""Issue 14 items 12 and 13 (in part): an answer read into memory is capped in size (a 1.5 GB DataLink body
no longer fills memory) and in time (a server trickling bytes cannot hold a read forever)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from astropy.table import Table

import vodaxa
from vodaxa.errors import ServiceError
from vodaxa.http import HttpClient, HttpConfig

from ..servers import AppThread

pytestmark = pytest.mark.timeout(30)
DATALINK = "application/x-votable+xml;content=datalink"


@pytest.fixture(scope="module")
def server():
    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": DATALINK})  # no length: chunked, endless-ish
        await response.prepare(request)
        for _ in range(64):
            await response.write(b"<VOTABLE>" + b" " * (1 << 16))
        return response

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (3 << 20), content_type="text/xml")

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(40):
            await response.write(b".")
            await asyncio.sleep(0.25)
        return response

    app = web.Application()
    app.router.add_route("*", "/big", big)
    app.router.add_get("/declared", declared)
    app.router.add_get("/trickle", trickle)
    s = AppThread(app)
    yield s
    s.close()


def _get(url: str, config: HttpConfig):
    async def run():
        async with HttpClient(config) as http:
            return await http.get(url)

    return asyncio.run(run())


def test_a_body_past_the_cap_is_an_error_naming_the_limit(server):
    for path in ("/big", "/declared"):
        with pytest.raises(ServiceError, match="over the 1,048,576 vodaxa reads into memory"):
            _get(server.base + path, HttpConfig(max_body=1 << 20))


def test_a_resolve_meeting_a_bomb_lists_the_ids_unavailable(server):
    table = Table({"datalink_url": [f"{server.base}/big?ID=a", f"{server.base}/big?ID=b"]})
    manifest = vodaxa.resolve(table, http_config=HttpConfig(max_body=1 << 20, retries=0))
    assert manifest.files.empty and sorted(manifest.unavailable["source_id"]) == ["a", "b"]
    assert all("vodaxa reads into memory" in n for n in manifest.unavailable["note"])


def test_a_trickling_server_is_cut_off(server):
    with pytest.raises(ServiceError, match="failed after 1 attempts"):
        _get(server.base + "/trickle", HttpConfig(body_timeout=2.0, retries=0, read_timeout=5.0))


@pytest.fixture(scope="module")
def slowloris():
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000", "Content-Type": "application/fits"})
        await response.prepare(request)
        for _ in range(200):  # one byte every half second: never a read timeout, never done
            await response.write(b" ")
            await asyncio.sleep(0.5)
        return response

    app = web.Application()
    app.router.add_get("/{name}", handler)
    s = AppThread(app)
    yield s
    s.close()


def test_a_slowloris_download_stops_at_the_budget(slowloris, tmp_path):
    report = vodaxa.download([f"{slowloris.base}/slow.dat"], tmp_path, budget=2.0, retries=5, progress=False)
    assert not report.ok and "budget" in " ".join(report.errors)


@pytest.fixture(scope="module")
def ranged_slowloris():
    size = 80 << 20  # large enough to be fetched in ranges

    async def handler(request: web.Request) -> web.StreamResponse:
        first, _, last = request.headers.get("Range", "bytes=0-").removeprefix("bytes=").partition("-")
        start, end = int(first), int(last or size - 1)
        headers = {"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1),
                   "ETag": '"v1"', "Accept-Ranges": "bytes"}  # fmt: skip
        response = web.StreamResponse(status=206, headers=headers)
        await response.prepare(request)
        for _ in range(200):
            await response.write(b" ")
            await asyncio.sleep(0.5)
        return response

    app = web.Application()
    app.router.add_get("/{name}", handler)
    s = AppThread(app)
    s.size = size
    yield s
    s.close()


def test_a_slowloris_serving_ranges_stops_at_the_budget_and_keeps_the_segment_map(ranged_slowloris, tmp_path):
    row = {"url": f"{ranged_slowloris.base}/big.dat", "size": ranged_slowloris.size, "local_path": "big.dat"}
    report = vodaxa.download([row], tmp_path, budget=2.0, splits=4, retries=5, progress=False)
    assert not report.ok and "budget ran out during the transfer" in " ".join(report.errors)
    assert not (tmp_path / "big.dat").exists()
    assert (tmp_path / "big.dat.part").exists() and (tmp_path / "big.dat.part.json").exists()  # resumable


def test_a_silent_datalink_service_is_cut_off_by_the_resolve_budget():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel accepts; nobody ever answers
    port = listener.getsockname()[1]
    try:
        table = Table({"datalink_url": [f"http://127.0.0.1:{port}/links?ID=a"]})
        with pytest.raises(vodaxa.errors.ResolveError, match="budget"):
            vodaxa.resolve(table, budget=1.5)
    finally:
        listener.close()


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf"), "10"])
def test_a_nonsense_resolve_budget_is_refused(budget):
    with pytest.raises(vodaxa.errors.InputError, match="budget"):
        vodaxa.resolve(Table({"datalink_url": ["http://127.0.0.1:9/x?ID=a"]}), budget=budget)
