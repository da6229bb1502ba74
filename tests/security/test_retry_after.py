"""Issue 14 item 11: a ``Retry-After`` that is not a sane wait (``nan``, ``inf``, negative, garbage, a date far
away) never makes vodaxa hang: the client's own bounded backoff applies.  No timing asserts; pytest-timeout
is the backstop for a hang."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiohttp import web

import vodaxa
from vodaxa.http import HttpClient, HttpConfig, retry_after_seconds

from ..servers import AppThread

pytestmark = pytest.mark.timeout(20)  # the backstop: each case takes about a second when nothing hangs
ODD = ["nan", "NaN", "inf", "-inf", "-5", "soon", "1e400", "Wed, 21 Oct 2999 07:28:00 GMT", "  ", "0x10"]


@pytest.mark.parametrize("value", ODD)
def test_odd_values_are_no_instruction(value):
    seconds = retry_after_seconds(value)
    assert seconds is None or (seconds >= 0 and seconds == seconds)
    assert HttpClient(HttpConfig(max_backoff=2.0)).pause(0, value) <= 2.0


def test_seconds_and_dates_are_read():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=0.0) == 10.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:10 GMT", now=100.0) == 0.0  # already past


@pytest.fixture
def busy() -> Iterator[tuple[AppThread, dict]]:
    """Answers 503 with an odd Retry-After twice per path, then the data."""
    state: dict[str, int] = {}

    async def handler(request: web.Request) -> web.Response:
        key = request.match_info["value"]
        state[key] = state.get(key, 0) + 1
        if state[key] <= 2:
            return web.Response(status=503, headers={"Retry-After": key.replace("_", " ")})
        return web.Response(body=b"SIMPLE  =                    T" + b" " * 50, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/busy/{value}", handler)
    server = AppThread(app)
    yield server, state
    server.close()


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "garbage"])
def test_the_core_and_the_downloader_go_on_after_an_odd_retry_after(busy, value, tmp_path):
    server, state = busy

    async def get() -> int:
        async with HttpClient(HttpConfig(backoff=0.01, max_backoff=0.05)) as http:
            return (await http.get(f"{server.base}/busy/{value}")).status

    assert asyncio.run(get()) == 200
    report = vodaxa.download([f"{server.base}/busy/{value}-file"], tmp_path, progress=False)
    assert len(report.ok) == 1 and state[f"{value}-file"] == 3
