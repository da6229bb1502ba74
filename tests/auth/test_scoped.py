"""Scoped credentials: realms, https only (loopback http by opt-in), and redirects that shed credentials,
for requests (pyvo's sessions) and for the aiohttp core alike.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from vodaxa.auth.scoped import Realm, ScopedAuth, ScopedSession, is_loopback, same_origin
from vodaxa.http import HttpClient

SECRET = {"Authorization": "Bearer s3cr3t-token"}


def test_realm_matching():
    realm = Realm("eso", ("https://archive.eso.org/tap_obs", "https://dataportal.eso.org/dataPortal/"))
    assert realm.covers("https://archive.eso.org/tap_obs/sync")
    assert realm.covers("https://dataportal.eso.org/dataPortal/file/X.fits")
    assert not realm.covers("http://archive.eso.org/tap_obs/sync")  # never over plain http
    assert not realm.covers("https://archive.eso.org:8443/tap_obs/sync")  # another port is another origin
    assert not realm.covers("https://archive.eso.org/other")  # outside the path prefixes
    assert not realm.covers("https://evil.example/tap_obs")
    local = Realm("sb", ("http://127.0.0.1:8000/tap",), allow_http_loopback=True)
    assert local.covers("http://127.0.0.1:8000/tap/sync") and not local.covers("http://10.0.0.1:8000/tap/sync")
    assert not Realm("sb", ("http://127.0.0.1:8000/tap",)).covers("http://127.0.0.1:8000/tap/sync")
    assert is_loopback("localhost") and is_loopback("::1") and not is_loopback("example.org")
    assert same_origin("https://a/x", "https://a:443/y") and not same_origin("http://a/x", "https://a/x")


@pytest.fixture(scope="module")
def two_hosts() -> Iterator[tuple[str, str]]:
    """Two origins on loopback: A redirects to B; both echo the headers they received."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({k: v for k, v in request.headers.items()})

    async def away(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    loop = asyncio.new_event_loop()
    urls: list[str] = []
    runners: list[web.AppRunner] = []
    ready = threading.Event()

    async def start() -> None:
        for _ in range(2):
            app = web.Application()
            app.router.add_get("/realm/echo", echo)
            app.router.add_get("/realm/away", away)
            app.router.add_get("/echo", echo)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            urls.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")  # type: ignore[union-attr]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    yield urls[0], urls[1]

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result()
    loop.call_soon_threadsafe(loop.stop)


def _scope(host_a: str) -> ScopedAuth:
    auth = ScopedAuth()
    auth.add(Realm("a", (host_a + "/realm/",), allow_http_loopback=True), lambda: SECRET)
    return auth


def test_requests_session_scopes_and_redirects(two_hosts):
    a, b = two_hosts
    session = ScopedSession(_scope(a))
    inside = session.get(a + "/realm/echo", timeout=10).json()
    assert inside.get("Authorization") == SECRET["Authorization"]
    assert "Authorization" not in session.get(a + "/echo", timeout=10).json()  # same host, outside the realm
    assert "Authorization" not in session.get(b + "/realm/echo", timeout=10).json()  # another origin
    moved = session.get(a + "/realm/away", params={"to": b + "/echo"}, timeout=10)
    assert moved.url.startswith(b) and "Authorization" not in moved.json()
    back = session.get(a + "/realm/away", params={"to": a + "/realm/echo"}, timeout=10)
    assert back.json().get("Authorization") == SECRET["Authorization"]  # re-decided per hop: still in the realm


def test_aiohttp_core_scopes_and_redirects(two_hosts):
    a, b = two_hosts
    auth = _scope(a)

    async def fetch(url: str, **options) -> tuple[str, dict]:
        async with HttpClient(headers_for=auth.headers_for) as http:
            answer = await http.get(url, **options)
            return answer.url, json.loads(answer.body)

    url, seen = asyncio.run(fetch(a + "/realm/echo"))
    assert seen.get("Authorization") == SECRET["Authorization"]
    url, seen = asyncio.run(fetch(a + "/realm/away", params={"to": b + "/echo"}))
    assert url.startswith(b) and "Authorization" not in seen
    # a header given by the caller is not carried to another origin either
    url, seen = asyncio.run(fetch(a + "/echo", headers=SECRET))
    assert seen.get("Authorization") == SECRET["Authorization"]

    async def explicit_redirect() -> dict:
        async with HttpClient() as http:
            answer = await http.get(a + "/realm/away", params={"to": b + "/echo"}, headers=SECRET)
            return json.loads(answer.body)

    assert "Authorization" not in asyncio.run(explicit_redirect())


@pytest.mark.parametrize("path", ["/dataPortal/file/../../token", "/dataPortal/file/%2e%2e/%2e%2e/token",
                                  "/dataPortal/file/./../token"])  # fmt: skip
def test_dot_segments_cannot_walk_a_credential_out_of_its_path(path):
    realm = Realm("eso", ("https://dataportal.eso.org/dataPortal/file/",))
    assert not realm.covers("https://dataportal.eso.org" + path)
    assert realm.covers("https://dataportal.eso.org/dataPortal/file/a/../b.fits")
