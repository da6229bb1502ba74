"""The sync half of the network core (what pyvo, Sesame, the registry and the ESO login use) applies the same
policy as the async client: credentials re-decided per redirect hop, no credential body replayed to another
origin, idempotent requests retried with a sane Retry-After, bodies capped in size and time."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests
from aiohttp import web

from vodaxa import net
from vodaxa.auth.scoped import Realm, ScopedAuth
from vodaxa.errors import ServiceError
from vodaxa.net import BodyTooLarge, HttpConfig, Session

from ..servers import AppThread

pytestmark = pytest.mark.timeout(60)
FAST = HttpConfig(retries=2, backoff=0.01, max_backoff=0.05)


def _echoer(seen: list):
    async def echo(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "auth": request.headers.get("Authorization"),
                     "query": dict(request.query), "body": await request.read()})  # fmt: skip
        return web.json_response({"ok": True})

    return echo


@pytest.fixture()
def two_hosts():
    """Two origins (ports) recording what reaches them; the first also redirects (``/redirect/<status>?to=``)."""
    seen_a: list = []
    seen_b: list = []

    async def redirect(request: web.Request) -> web.Response:
        await _echoer(seen_a)(request)
        status = int(request.match_info["status"])
        raise _redirect(status, request.query["to"])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    app_a = web.Application()
    app_a.router.add_route("*", "/redirect/{status}", redirect)
    app_a.router.add_get("/loop", loop)
    app_a.router.add_route("*", "/{tail:.*}", _echoer(seen_a))
    app_b = web.Application()
    app_b.router.add_route("*", "/{tail:.*}", _echoer(seen_b))
    a, b = AppThread(app_a), AppThread(app_b)
    yield a, seen_a, b, seen_b
    a.close()
    b.close()


def _redirect(status: int, target: str) -> web.HTTPException:
    kinds = {301: web.HTTPMovedPermanently, 302: web.HTTPFound, 303: web.HTTPSeeOther, 307: web.HTTPTemporaryRedirect,
             308: web.HTTPPermanentRedirect}  # fmt: skip
    return kinds[status](target)


def _scoped(base: str) -> ScopedAuth:
    auth = ScopedAuth()
    realm = Realm("test", (base + "/",), allow_http_loopback=True)
    auth.add(realm, lambda: {"Authorization": "Bearer marker-token-1234"})
    auth.add_params(realm, lambda url: {"AIOUSER": "astro", "AIOPWD": "marker-password-5678"})
    return auth


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_credentials_stay_with_their_origin_across_redirects(two_hosts, status):
    a, seen_a, b, seen_b = two_hosts
    auth = _scoped(a.base)
    session = Session(FAST, headers_for=auth.headers_for, params_for=auth.params_for)
    answer = session.get(f"{a.base}/redirect/{status}", params={"to": f"{b.base}/landing?x=1"})
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert seen_a[0]["auth"] == "Bearer marker-token-1234" and seen_a[0]["query"]["AIOPWD"] == "marker-password-5678"
    (landing,) = seen_b
    assert landing["auth"] is None
    assert "AIOPWD" not in landing["query"] and "AIOUSER" not in landing["query"] and landing["query"]["x"] == "1"


def test_a_location_echoing_the_password_loses_it(two_hosts):
    a, _, b, seen_b = two_hosts
    auth = _scoped(a.base)
    session = Session(FAST, headers_for=auth.headers_for, params_for=auth.params_for)
    echoed = f"{b.base}/landing?AIOUSER=astro&AIOPWD=marker-password-5678&obsno=1"
    session.get(f"{a.base}/redirect/302", params={"to": echoed})
    assert seen_b[0]["query"] == {"obsno": "1"}


def test_an_explicit_authorization_header_is_dropped_at_another_origin(two_hosts):
    a, seen_a, b, seen_b = two_hosts
    session = Session(FAST)
    session.get(f"{a.base}/redirect/302", params={"to": f"{b.base}/x"}, headers={"Authorization": "Basic c2VjcmV0"})
    assert seen_a[0]["auth"] == "Basic c2VjcmV0" and seen_b[0]["auth"] is None


@pytest.mark.parametrize("status", [307, 308])
def test_a_login_body_is_never_replayed_to_another_origin(two_hosts, status):
    a, _, b, seen_b = two_hosts
    session = Session(FAST)
    with pytest.raises(ServiceError, match="credentials") as caught:
        session.post(f"{a.base}/redirect/{status}?to={b.base}/token", data={"password": "marker-password-5678"},
                     secret_body=True)  # fmt: skip
    assert seen_b == [] and "marker-password-5678" not in str(caught.value)


def test_a_same_origin_307_replays_the_body_and_a_303_drops_it(two_hosts):
    a, seen_a, b, seen_b = two_hosts
    session = Session(FAST)
    session.post(f"{a.base}/redirect/307?to={a.base}/again", data={"q": "1"}, secret_body=True)
    assert seen_a[-1]["path"] == "/again" and seen_a[-1]["body"] == b"q=1"
    session.post(f"{a.base}/redirect/303?to={b.base}/seen", data={"q": "2"})
    assert seen_b[-1]["body"] == b""


def test_a_redirect_loop_ends(two_hosts):
    a, *_ = two_hosts
    answer = Session(FAST).get(f"{a.base}/loop")
    assert answer.status_code == 302  # handed back after MAX_REDIRECTS hops, not followed forever


@pytest.fixture(scope="module")
def odd():
    calls = {"flaky": 0, "post": 0}

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            return web.Response(status=503, headers={"Retry-After": request.query.get("after", "nan")})
        return web.Response(text="fine")

    async def post(request: web.Request) -> web.Response:
        calls["post"] += 1
        return web.Response(status=503)

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-votable+xml"})
        await response.prepare(request)
        await response.write(b"<?xml version='1.0'?><VOTABLE>")
        for _ in range(200):
            await response.write(b"<!--" + b"x" * 8192 + b"-->")
        return response

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 50_000)

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b".")
            await asyncio.sleep(0.2)
        return response

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_post("/post", post)
    app.router.add_route("*", "/big", big)
    app.router.add_route("*", "/big/sync", big)
    app.router.add_get("/declared", declared)
    app.router.add_get("/trickle", trickle)
    server = AppThread(app)
    server.calls = calls
    yield server
    server.close()


@pytest.mark.parametrize("after", ["nan", "inf", "-5", "garbage", "1e308"])
def test_get_is_retried_whatever_retry_after_says(odd, after):
    odd.calls["flaky"] = 0
    answer = Session(FAST).get(f"{odd.base}/flaky", params={"after": after})
    assert answer.status_code == 200 and answer.text == "fine" and odd.calls["flaky"] == 3


def test_a_post_is_not_retried_by_the_session(odd):
    odd.calls["post"] = 0
    assert Session(FAST).post(f"{odd.base}/post", data={"a": 1}).status_code == 503
    assert odd.calls["post"] == 1


@pytest.mark.parametrize("path", ["/big", "/declared"])
def test_a_body_past_the_cap_is_refused_read_whole(odd, path):
    with pytest.raises(BodyTooLarge, match="max_body"):
        Session(HttpConfig(max_body=40_000)).get(odd.base + path)


def test_a_streamed_body_past_the_cap_is_refused_where_pyvo_reads_it(odd):
    answer = Session(HttpConfig(max_body=40_000)).get(odd.base + "/big", stream=True)
    with pytest.raises(BodyTooLarge):
        while answer.raw.read(4096, decode_content=True):
            pass


def test_a_trickling_body_is_cut_off(odd):
    with pytest.raises(ServiceError, match="body_timeout"):
        Session(HttpConfig(body_timeout=1.0)).get(odd.base + "/trickle")


def test_a_silent_server_is_cut_off_by_the_read_timeout():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts (the kernel does), never answers
    try:
        with pytest.raises(requests.Timeout):
            Session(HttpConfig(read_timeout=0.5, retries=0)).get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
    finally:
        listener.close()


def test_pyvo_reads_a_votable_through_the_capped_session(odd):
    import pyvo

    from vodaxa.query.tap import TapRunner

    service = pyvo.dal.TAPService(odd.base + "/big", session=Session(HttpConfig(max_body=40_000)))
    with pytest.raises(pyvo.dal.DALFormatError, match="max_body"):  # pyvo wraps what the core raised ...
        service.run_sync("SELECT 1")
    runner = TapRunner(odd.base + "/big", session=Session(HttpConfig(max_body=40_000)), mode="sync", maxrec=10)
    with pytest.raises(BodyTooLarge, match="max_body"):  # ... and vodaxa unwraps it, typed and clear
        runner.run("SELECT 1")


def test_the_default_session_carries_the_process_credentials_only_to_their_realm(two_hosts, monkeypatch):
    a, seen_a, b, seen_b = two_hosts
    from vodaxa import auth

    scoped = _scoped(a.base)
    monkeypatch.setattr(auth, "_SCOPE", scoped)
    net.session().get(f"{b.base}/elsewhere")
    net.session().get(f"{a.base}/home")
    assert seen_b[-1]["auth"] is None and seen_a[-1]["auth"] == "Bearer marker-token-1234"
    net.session(credentials=False).get(f"{a.base}/public")
    assert seen_a[-1]["auth"] is None
    assert json.dumps(seen_b, default=str).count("marker") == 0


@pytest.mark.parametrize(
    "bad", [{"read_timeout": float("nan")}, {"connect_timeout": -1}, {"max_body": 0}, {"retries": -1},
            {"per_host": 0}, {"body_timeout": float("inf")}],
)
def test_a_nonsense_config_is_refused(bad):
    with pytest.raises(ValueError, match="HttpConfig"):
        HttpConfig(**bad)


@pytest.fixture()
def silent():
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # the kernel accepts; nobody ever answers
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def test_a_silent_server_costs_one_call_its_deadline_not_retries_times_the_read_timeout(silent):
    """read_timeout 30 s and 4 retries would be minutes; the call's deadline (body_timeout) ends it."""
    with pytest.raises(ServiceError, match="body_timeout"):
        Session(HttpConfig(read_timeout=30, retries=4, body_timeout=1.5)).get(silent)


def test_a_trickle_read_by_pyvo_in_big_blocks_is_cut_off(odd):
    """pyvo reads ``raw.read(amt)``, which waits for ``amt`` bytes: the watchdog wakes it at the deadline."""
    answer = Session(HttpConfig(body_timeout=1.5, read_timeout=30)).get(odd.base + "/trickle", stream=True)
    with pytest.raises(ServiceError, match="body_timeout"):
        answer.raw.read(1 << 20, decode_content=True)


def test_a_body_read_to_its_end_stands_the_watchdog_down(odd):
    session = Session(HttpConfig(body_timeout=1.0))
    for _ in range(3):  # the pooled connection is reused after each: a late watchdog must not cut it
        answer = session.get(odd.base + "/declared", stream=True)
        assert len(answer.raw.read()) == 50_000
    import time

    time.sleep(1.2)
    assert session.get(odd.base + "/declared").content == b"x" * 50_000
