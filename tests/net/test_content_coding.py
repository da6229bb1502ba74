"""Documents come gzipped from DaCHS (GAVO and many VO services): the core asks only for codings it reads,
undoes them within the body cap, and refuses what it cannot read; downloads keep the bytes as sent."""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator

import pytest
from aiohttp import web

from vodaxa.errors import ServiceError
from vodaxa.net import HttpClient, HttpConfig, run_sync
from vodaxa.net.policy import BodyTooLarge

DOCUMENT = b"<VOTABLE>" + b"<TR><TD>x</TD></TR>" * 200 + b"</VOTABLE>"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    asked: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(request.headers.get("Accept-Encoding", ""))
        kind = request.match_info["kind"]
        body, coding = {
            "gzip": (gzip.compress(DOCUMENT), "gzip"),
            "zlib": (zlib.compress(DOCUMENT), "deflate"),
            "raw-deflate": (zlib.compress(DOCUMENT)[2:-4], "deflate"),
            "identity": (DOCUMENT, "identity"),
            "bomb": (gzip.compress(b"\0" * (4 << 20)), "gzip"),
            "br": (b"\x0b\x02\x80hello\x03", "br"),
            "lie": (b"not gzip at all", "gzip"),
        }[kind]
        return web.Response(body=body, headers={"Content-Encoding": coding, "Content-Type": "text/xml"})

    async def start():
        app = web.Application()
        app.router.add_get("/{kind}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]

    loop = asyncio.new_event_loop()  # the server runs on a loop of its own, in a thread of its own
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    yield f"http://127.0.0.1:{port}", asked
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def _get(url: str, config: HttpConfig | None = None, headers: dict | None = None) -> bytes:
    async def go() -> bytes:
        async with HttpClient(config) as http:
            return (await http.get(url, headers=headers)).body

    return run_sync(go())


@pytest.mark.parametrize("kind", ["gzip", "zlib", "raw-deflate", "identity"])
def test_documents_are_decoded_whatever_coding_was_asked_for(server, kind):
    base, asked = server
    assert _get(f"{base}/{kind}") == DOCUMENT
    assert asked[-1] == "gzip, deflate"  # never br or zstd, which it could not read


def test_a_small_answer_inflating_past_the_cap_is_refused(server):
    base, _ = server
    with pytest.raises(BodyTooLarge, match="over the 1,048,576 vodaxa reads into memory"):
        _get(f"{base}/bomb", HttpConfig(max_body=1 << 20))


def test_codings_not_asked_for_and_false_labels_are_named(server):
    base, _ = server
    with pytest.raises(ServiceError, match="content coding 'br', which vodaxa did not ask for"):
        _get(f"{base}/br", HttpConfig(retries=0))
    with pytest.raises(ServiceError, match="labelled Content-Encoding: gzip that is not"):
        _get(f"{base}/lie", HttpConfig(retries=0))


def test_asking_for_identity_keeps_the_bytes_as_sent(server):
    base, asked = server
    assert _get(f"{base}/gzip", headers={"Accept-Encoding": "identity"}) == gzip.compress(DOCUMENT)
    assert asked[-1] == "identity"
