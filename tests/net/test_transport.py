"""The transport seam: code above the core (DataLink, listings, credentials per hop, retries) tested without a
server, through MockTransport; the policy stays in the client, whatever transport sends the bytes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from vodaxa.errors import ServiceError
from vodaxa.net import HttpClient, HttpConfig, MockTransport, Reply, Request, run_sync
from vodaxa.resolvers.datalink import DataLinkEngine
from vodaxa.resolvers.listing import walk

LINKS = """<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE type="results"><TABLE>
<FIELD name="ID" datatype="char" arraysize="*"/><FIELD name="access_url" datatype="char" arraysize="*"/>
<FIELD name="service_def" datatype="char" arraysize="*"/><FIELD name="error_message" datatype="char" arraysize="*"/>
<FIELD name="semantics" datatype="char" arraysize="*"/><FIELD name="content_type" datatype="char" arraysize="*"/>
<FIELD name="content_length" datatype="long"/>
<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"""
ROW = "<TR><TD>{id}</TD><TD>https://files.example/{id}.fits</TD><TD/><TD/><TD>#this</TD><TD>image/fits</TD>" \
      "<TD>100</TD></TR>"  # fmt: skip


def _run(transport: MockTransport, work, config: HttpConfig | None = None, **client):
    async def go():
        async with HttpClient(config or HttpConfig(retries=2, backoff=0.0), transport=transport, **client) as http:
            return await work(http)

    return run_sync(go())


def test_datalink_batches_through_a_mock_transport():
    def links(request: Request) -> Reply:
        asked = parse_qs(request.body.decode())["ID"] if request.method == "POST" else \
            parse_qs(urlsplit(request.url).query)["ID"]  # fmt: skip
        rows = "".join(ROW.format(id=i) for i in asked)
        kind = {"Content-Type": "application/x-votable+xml;content=datalink"}
        return Reply(200, kind, LINKS.format(rows=rows).encode())

    transport = MockTransport(links)
    ids = [f"obs{n}" for n in range(7)]
    rows = _run(transport, lambda http: DataLinkEngine(http, batch=3).links("https://dl.example/links", ids))
    assert sorted(r.key for r in rows) == sorted(ids) and all(r.semantics == "#this" for r in rows)
    sent = [parse_qs(r.body.decode())["ID"] for r in transport.requests]
    assert all(len(batch) <= 3 for batch in sent) and sorted(i for b in sent for i in b) == sorted(ids)


def test_credentials_are_decided_per_hop_whatever_the_transport():
    def answer(request: Request) -> Reply:
        if request.url.startswith("https://archive.example/"):
            return Reply(302, {"Location": "https://elsewhere.example/file"})
        return Reply(200, {}, b"data")

    transport = MockTransport(answer)
    token = {"Authorization": "Bearer secret"}
    body = _run(transport, lambda http: http.get("https://archive.example/file"),
                headers_for=lambda url: token if url.startswith("https://archive.example/") else {})  # fmt: skip
    assert body.status == 200 and body.body == b"data"
    first, second = transport.requests
    assert first.headers.get("Authorization") == "Bearer secret" and "Authorization" not in second.headers


def test_retries_and_lost_connections_follow_the_one_policy():
    calls = []

    def flaky(request: Request) -> Reply:
        calls.append(request.url)
        if len(calls) == 1:
            raise aiohttp.ClientConnectionError("connection reset")
        if len(calls) == 2:
            return Reply(503, {"Retry-After": "0"})
        return Reply(200, {}, b"ok")

    answer = _run(MockTransport(flaky), lambda http: http.get("https://svc.example/x"))
    assert answer.body == b"ok" and len(calls) == 3
    with pytest.raises(ServiceError, match="failed after 3 attempts"):
        _run(MockTransport(lambda r: (_ for _ in ()).throw(aiohttp.ClientConnectionError("down"))),
             lambda http: http.get("https://svc.example/x"))  # fmt: skip


def test_a_directory_walk_through_a_mock_transport():
    pages = {
        "https://ftp.example/obs/": '<a href="evt/">evt/</a> <a href="README">README</a>',
        "https://ftp.example/obs/evt/": '<a href="a.fits.gz">a.fits.gz</a> <a href="../">Parent Directory</a>',
    }

    async def listing(request: Request) -> Reply:  # an async handler works too
        page = pages.get(request.url)
        return Reply(200, {"Content-Type": "text/html"}, page.encode()) if page else Reply(404)

    assert sorted(_run(MockTransport(listing), lambda http: walk(http, "https://ftp.example/obs/"))) == [
        "README", "evt/a.fits.gz",
    ]  # fmt: skip


def test_the_real_transport_is_the_default_and_a_mock_has_no_aiohttp_session():
    from vodaxa.net import AiohttpTransport

    assert isinstance(HttpClient().transport, AiohttpTransport)
    with pytest.raises(RuntimeError, match="no aiohttp session"):
        _ = HttpClient(transport=MockTransport(lambda r: Reply())).session


def test_a_form_given_as_pairs_reaches_the_handler_url_encoded_as_aiohttp_sends_it():
    transport = MockTransport(lambda request: Reply(200, {}, b""))
    _run(transport, lambda http: http.post("https://svc.example/links", data=[("ID", "a b"), ("ID", "c&d")]))
    assert transport.requests[0].body == b"ID=a+b&ID=c%26d"
