"""The resolve path's shortcuts for the usual case give exactly what the general code gives."""

from __future__ import annotations

import dataclasses
import random
from urllib.parse import parse_qsl, unquote

import pytest

from vodaxa.manifest import NAME_MAX, path_component
from vodaxa.net import run_sync
from vodaxa.resolvers import generic
from vodaxa.resolvers.datalink import (
    DATALINK_MIME,
    LinkRow,
    _form_body,
    _short,
    parse_links,
    semantics_filter,
    semantics_terms,
)
from vodaxa.sandbox.protocols.vo import links_document

_SEGMENTS = ["evt2.fits", "nu1_cl.evt.gz", "_x", "x_", ".hidden", "a%20b.fits", "a%2Fb", "A+B-c.FITS", "é.fits",
             "", "tab\tname", "dir/", "q.fits?x=1", "f.fits#frag", "x" * (NAME_MAX - 1), "y" * NAME_MAX,
             "z" * (NAME_MAX + 1), "a b", "-", "+", "..", "get"]  # fmt: skip


def _general_name(url: str) -> str:
    return path_component(unquote(generic._url_path(url).rstrip("/").rsplit("/", 1)[-1]), "file")


@pytest.mark.parametrize("seed", range(4))
def test_the_plain_file_name_is_the_general_one(seed):
    rng = random.Random(seed)
    for _ in range(400):
        scheme = rng.choice(["http", "https", "HTTPS", "ftp"])
        host = rng.choice(["h", "127.0.0.1:8080", "[::1]:80", "user@h", "h.org"])
        path = "/".join(rng.choice(_SEGMENTS) for _ in range(rng.randrange(1, 4)))
        url = f"{scheme}://{host}/{path}"
        row = LinkRow("1", access_url=url, semantics="#this", content_type="application/fits")
        (record,) = generic._records(row, True)
        assert record["local_path"] == f"1/{_general_name(url)}", url


def _reference_filter(semantics):
    """semantics_filter as it was first written: every term shortened before it is compared."""
    from vodaxa.resolvers.datalink import narrower

    wanted = frozenset().union(*(narrower(t) for t in semantics_terms(semantics)))
    folded = frozenset(t.lower() for t in wanted if t.startswith("#"))
    return lambda term: term is not None and (_short(term) in wanted or _short(term).lower() in folded)


@pytest.mark.parametrize("asked", ["#this", ["#calibration", "#preview"], "http://www.ivoa.net/rdf/datalink/core#this",
                                   "other-vocabulary#x"])  # fmt: skip
def test_the_semantics_filter_reads_terms_as_before(asked):
    core = "http://www.ivoa.net/rdf/datalink/core"
    terms = [None, "", "#this", "#THIS", "#bias", "#calibration", "#preview", f"{core}#this", f"{core}#bias",
             f"{core}{core}#this", "other-vocabulary#x", "#x", "this"]  # fmt: skip
    fast, reference = semantics_filter(asked), _reference_filter(asked)
    assert [fast(t) for t in terms] == [reference(t) for t in terms]


def test_tabledata_rows_are_the_rows_the_constructor_makes():
    rows = [LinkRow("1", access_url="http://h/a.fits", semantics="#this", content_type="application/fits",
                    content_length=10, description="d", extra={"eso_category": "SCIENCE"}),
            LinkRow("2", error_message="NotFoundFault: gone", extra={"eso_category": None}),
            LinkRow("3", access_url="https://h/p", description="a page", content_type="text/html",
                    extra={"eso_category": "CALIB"})]  # fmt: skip
    body = links_document(rows)
    parsed = parse_links(body, "http://h/links", DATALINK_MIME).rows
    expected = [dataclasses.replace(r, service="http://h/links") for r in rows]
    assert parsed == expected
    names = {f.name for f in dataclasses.fields(LinkRow)}
    assert all(set(vars(r)) == names for r in parsed)  # every field set: a field added later is not forgotten
    assert [hash(dataclasses.replace(r, extra=())) for r in parsed] == [
        hash(dataclasses.replace(r, extra=())) for r in expected
    ]


def test_form_bodies_quote_what_needs_it():
    pairs = [("ID", "ivo://nasa.heasarc/numaster?12"), ("ID", "plain-1.2_~"), ("ID", "a b&c=d"), ("R E", "é"),
             ("sizefiles", "false")]  # fmt: skip
    assert parse_qsl(_form_body(pairs).decode(), keep_blank_values=True) == pairs


def test_run_sync_hands_back_the_result_without_formatting_it():
    class Loud:
        def __repr__(self) -> str:  # asyncio used to format the task, result included, on its way out
            raise AssertionError("the result was formatted")

    async def make() -> Loud:
        return Loud()

    assert isinstance(run_sync(make()), Loud)

    async def fail() -> None:
        raise KeyError("told")

    with pytest.raises(KeyError, match="told"):
        run_sync(fail())


def test_rows_come_back_in_the_order_the_ids_were_asked_whatever_order_the_answers_come_in():
    import asyncio

    from aiohttp import web

    from tests.servers import AppThread
    from vodaxa.net import HttpClient
    from vodaxa.resolvers.datalink import DataLinkEngine

    async def links(request: web.Request) -> web.Response:
        ids = [v for k, v in (await request.post()).items() if k == "ID"]
        if "1" in ids:
            await asyncio.sleep(0.3)  # the first request's answer comes last
        rows = [LinkRow(i, access_url=f"http://h/{i}.fits", semantics="#this") for i in ids]
        return web.Response(body=links_document(rows), content_type="application/x-votable+xml")

    app = web.Application()
    app.router.add_post("/links", links)
    server = AppThread(app)
    try:

        async def run() -> list[str]:
            async with HttpClient() as http:
                rows = await DataLinkEngine(http, concurrency=3).links(f"{server.base}/links", list("123456"))
                return [r.id for r in rows]

        assert run_sync(run()) == list("123456")
    finally:
        server.close()


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_run_sync_inside_a_running_loop_hands_an_interrupt_back_and_keeps_working(error):
    import asyncio

    async def interrupted() -> None:
        raise error()

    async def answer() -> int:
        return 42

    async def notebook_cell() -> int:  # a running loop, as in Jupyter: run_sync uses its background loop
        with pytest.raises(error):
            run_sync(interrupted())
        return run_sync(answer())  # the background loop still runs

    assert asyncio.run(notebook_cell()) == 42
