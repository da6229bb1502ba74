"""DataLink 1.1 as other archives answer it (shapes written here after CASDA, ALMA, DaCHS and CADC answers):
error rows, service descriptors leading to more DataLink, nested links of other semantics, unreachable
hosts, IDs with no rows, services that cap silently, and ``resolve(semantics=...)``."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape, quoteattr

import pytest
from aiohttp import web
from astropy.table import Table

from vodaxa.errors import ResolveError
from vodaxa.http import HttpClient, HttpConfig
from vodaxa.resolvers import resolve
from vodaxa.resolvers.datalink import DATALINK_MIME, DataLinkEngine, parse_links, semantics_filter

from ..servers import AppThread

COLUMNS = ("ID", "access_url", "service_def", "error_message", "description", "semantics", "content_type",
           "content_length")  # fmt: skip


def links_doc(rows: list[tuple], services: str = "", status: str = "OK") -> bytes:
    """A links document: rows are (ID, access_url, service_def, error_message, semantics, content_type, length)."""
    fields = "".join(f'<FIELD name="{c}" datatype="char" arraysize="*"/>' for c in COLUMNS)
    body = ""
    for ident, url, sdef, err, sem, ctype, length in rows:
        cells = (ident, url, sdef, err, "", sem, ctype, length)
        body += "<TR>" + "".join(f"<TD>{escape(str(c)) if c else ''}</TD>" for c in cells) + "</TR>"
    return (
        '<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        f'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="{status}"/><TABLE>{fields}'
        f"<DATA><TABLEDATA>{body}</TABLEDATA></DATA></TABLE></RESOURCE>{services}</VOTABLE>"
    ).encode()


def descriptor(ident: str, url: str, standard: str = "ivo://ivoa.net/std/DataLink#links-1.0") -> str:
    return (
        f'<RESOURCE type="meta" utype="adhoc:service" ID={quoteattr(ident)}>'
        f'<PARAM name="standardID" datatype="char" arraysize="*" value={quoteattr(standard)}/>'
        f'<PARAM name="accessURL" datatype="char" arraysize="*" value={quoteattr(url)}/>'
        '<GROUP name="inputParams"/></RESOURCE>'
    )


class LinksServer:
    """A links endpoint in a thread; ``answer(ids, base)`` makes each document, ``calls`` counts requests."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[[list[str], str], bytes]] = {}
        self.calls: dict[str, int] = {}
        app = web.Application()
        app.router.add_route("*", "/{name}", self.handle)
        app.router.add_get("/files/{path:.*}", self.file)
        self.server = AppThread(app)
        self.base = self.server.base

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.calls[name] = self.calls.get(name, 0) + 1
        ids = [v for k, v in request.query.items() if k.upper() == "ID"]
        if request.method == "POST":
            ids += [str(v) for k, v in (await request.post()).items() if k.upper() == "ID"]
        if name not in self.answers:
            raise web.HTTPNotFound()
        return web.Response(body=self.answers[name](ids, self.base), content_type="application/x-votable+xml")

    async def file(self, request: web.Request) -> web.Response:
        return web.Response(body=b"data", content_type="application/octet-stream")

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LinksServer]:
    s = LinksServer()
    yield s
    s.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _table(server: LinksServer, name: str, ids: list[str]) -> Table:
    """A result whose rows carry their own DataLink URL (access_url with the DataLink access_format)."""
    return Table(
        {"access_url": [f"{server.base}/{name}?ID={i}" for i in ids], "access_format": [DATALINK_MIME] * len(ids)}
    )


def _quick() -> HttpConfig:
    return HttpConfig(retries=0, backoff=0.01)


def test_error_row_with_error_semantics_is_an_unavailable_observation(server):
    # CASDA's no-access answer: one row, semantics #error, the service's message in error_message
    server.answers["casda"] = lambda ids, base: links_doc(
        [(i, "", "", "DefaultFault: you do not have permission to access this data product", "#error", "", "")
         for i in ids]
    )  # fmt: skip
    manifest = resolve(_table(server, "casda", ["3242"]))
    assert manifest.files.empty
    assert list(manifest.unavailable["obs_id"]) == ["3242"]
    assert "do not have permission" in manifest.unavailable["note"].iloc[0]


def test_service_def_rows_leading_to_datalink_are_followed_only_for_the_semantics_asked(server):
    # ALMA's answer: a #this file, and #this / #auxiliary rows pointing through service descriptors at more DataLink
    def top(ids, base):
        rows, services = [], ""
        for i in ids:
            rows += [
                (i, f"{base}/files/{i}.README.txt", "", "", "#documentation", "text/plain", "12"),
                (i, f"{base}/files/{i}.tar", "", "", "#this", "application/x-tar", "556278784"),
                (i, "", f"DL.{i}.this", "", "#this", DATALINK_MIME, ""),
                (i, "", f"DL.{i}.aux", "", "#auxiliary", DATALINK_MIME, ""),
            ]
            services += descriptor(f"DL.{i}.this", f"{base}/alma_sync?ID={i}.this")
            services += descriptor(f"DL.{i}.aux", f"{base}/alma_sync?ID={i}.aux")
        return links_doc(rows, services)

    def nested(ids, base):
        return links_doc([(i, f"{base}/files/{i}.fits", "", "", "#this", "application/fits", "1359360") for i in ids])

    server.answers["alma"], server.answers["alma_sync"] = top, nested
    before = server.calls.get("alma_sync", 0)
    manifest = resolve(_table(server, "alma", ["uid_A", "uid_B"]))
    files = manifest.files
    assert set(files["url"].str.rsplit("/", n=1).str[-1]) == {"uid_A.tar", "uid_B.tar", "uid_A.this.fits",
                                                              "uid_B.this.fits"}  # fmt: skip
    assert set(files["obs_id"]) == {"uid_A", "uid_B"}  # rows of nested documents belong to the ID first asked
    assert server.calls["alma_sync"] - before <= 2  # batched like the first call (the cap probe may split it)
    assert not files["url"].str.contains("aux").any()  # the #auxiliary descriptor was not followed
    everything = resolve(_table(server, "alma", ["uid_A"]), semantics="*").files
    assert {"uid_A.aux.fits", "uid_A.README.txt"} <= set(everything["url"].str.rsplit("/", n=1).str[-1])


def test_a_nested_link_of_other_semantics_is_not_followed_and_an_unreachable_one_is_one_unavailable_row(server):
    # a DaCHS links document: #this, #preview, a #progenitor nested DataLink (here on a host that is down)
    dead = f"http://127.0.0.1:{_closed_port()}/links?ID=raw1"

    def answer(ids, base):
        return links_doc(
            [row for i in ids for row in (
                (i, f"{base}/files/{i}.fits", "", "", "#this", "application/fits", "5760"),
                (i, f"{base}/files/{i}.png", "", "", "#preview", "image/png", "100"),
                (i, dead, "", "", "#progenitor", DATALINK_MIME, ""),
            )]
        )  # fmt: skip

    server.answers["dachs"] = answer
    manifest = resolve(_table(server, "dachs", ["spec1", "spec2"]), http_config=_quick())
    assert len(manifest.files) == 2 and manifest.unavailable.empty
    wider = resolve(_table(server, "dachs", ["spec1", "spec2"]), semantics=["#this", "#progenitor"],
                    http_config=_quick())  # fmt: skip
    assert len(wider.files) == 2  # the rest still resolved
    notes = list(wider.unavailable["note"])
    assert len(notes) == 2 and all("Cannot connect" in n and "failed" in n for n in notes)


def test_ids_without_rows_and_failing_batches_never_abort_the_rest(server):
    # HEASARC's way of saying "not public": no rows at all for that ID
    server.answers["empty"] = lambda ids, base: links_doc(
        [(i, f"{base}/files/{i}.fits", "", "", "#this", "application/fits", "") for i in ids if not i.startswith("p")]
    )
    manifest = resolve(_table(server, "empty", ["a", "priv1", "b"]))
    assert set(manifest.files["obs_id"]) == {"a", "b"}
    assert list(manifest.unavailable["obs_id"]) == ["priv1"]
    assert "answered no links" in manifest.unavailable["note"].iloc[0]
    only = resolve(_table(server, "empty", ["priv2"]))  # one ID, no rows: once raised "answered none of 1 IDs"
    assert only.files.empty and list(only.unavailable["obs_id"]) == ["priv2"]
    mixed = Table(
        {"access_url": [f"{server.base}/empty?ID=c", f"{server.base}/missing?ID=d"],
         "access_format": [DATALINK_MIME] * 2}
    )  # fmt: skip
    broken = resolve(mixed, http_config=_quick())
    assert list(broken.files["obs_id"]) == ["c"]
    assert list(broken.unavailable["obs_id"]) == ["d"] and "HTTP 404" in broken.unavailable["note"].iloc[0]


def test_a_service_that_caps_silently_still_answers_every_id(server):
    # CADC-like: answers the first 7 IDs of each request, QUERY_STATUS OK, no OVERFLOW
    server.answers["capped"] = lambda ids, base: links_doc(
        [(i, f"{base}/files/{i}.fits", "", "", "#this", "application/fits", "") for i in ids[:7]]
    )
    ids = [f"x{n}" for n in range(60)]

    async def run():
        async with HttpClient() as http:
            engine = DataLinkEngine(http, batch=25, concurrency=2)
            return await engine.links(f"{server.base}/capped", ids), engine

    DataLinkEngine.learned_caps.pop(f"{server.base}/capped", None)
    rows, _ = asyncio.run(run())
    assert {r.id for r in rows if not r.error_message} == set(ids)
    assert DataLinkEngine.learned_caps[f"{server.base}/capped"] == 7


def test_loops_and_depth_are_bounded(server):
    # A -> B -> A ... : the loop is cut; a chain deeper than max_depth is reported, not followed
    server.answers["loop"] = lambda ids, base: links_doc(
        [(i, f"{base}/loop?ID={'B' if i == 'A' else 'A'}", "", "", "#this", DATALINK_MIME, "") for i in ids]
        + [(i, f"{base}/files/{i}.fits", "", "", "#this", "application/fits", "") for i in ids]
    )
    server.answers["chain"] = lambda ids, base: links_doc(
        [(i, f"{base}/chain?ID={i}x", "", "", "#this", DATALINK_MIME, "") for i in ids]
    )

    async def run(name: str, ident: str):
        async with HttpClient() as http:
            return await DataLinkEngine(http, max_depth=3).links(f"{server.base}/{name}", [ident])

    rows = asyncio.run(run("loop", "A"))
    names = {r.access_url.rsplit("/", 1)[-1] for r in rows if r.access_url and not r.error_message}
    assert names >= {"A.fits", "B.fits"}
    deep = asyncio.run(run("chain", "c"))
    assert len(deep) == 1 and "deeper than max_depth=3" in deep[0].error_message and deep[0].key == "c"


def test_odd_content_lengths_mean_unknown_and_semantics_are_checked():
    odd = ("12abc", "inf", "nan", "-5", "１２", "7")
    page = parse_links(links_doc([("a", "http://h/f", "", "", "#this", "", v) for v in odd]), "u")
    assert [r.content_length for r in page.rows] == [None, None, None, None, None, 7]
    accept = semantics_filter(["#calibration", "http://www.ivoa.net/rdf/datalink/core#this"])
    assert accept("#dark") and accept("#this") and not accept("#preview") and not accept(None)
    assert semantics_filter("*")("anything")
    with pytest.raises(ResolveError, match="semantics must be"):
        semantics_filter([])


# ------------------------------------------------------------------- found by a hostile review, one test each
def test_links_of_one_name_get_distinct_paths_instead_of_aborting(server):
    server.answers["samename"] = lambda ids, base: links_doc(
        [row for i in ids for row in (
            (i, f"{base}/files/get?file={i}1", "", "", "#this", "application/fits", ""),
            (i, f"{base}/files/get?file={i}2", "", "", "#this", "application/fits", ""),
        )]
    )  # fmt: skip
    files = resolve(_table(server, "samename", ["OK", "Q"])).files
    assert len(files) == 4 and files["local_path"].is_unique and set(files["obs_id"]) == {"OK", "Q"}


def test_ids_sharing_their_last_part_are_each_accounted_for(server):
    server.answers["tails"] = lambda ids, base: links_doc(
        [(i, f"{base}/files/x{n}.fits", "", "", "#this" if i.startswith("ivo://x") else "#preview", "", "")
         for n, i in enumerate(ids)]
    )  # fmt: skip
    manifest = resolve(_table(server, "tails", ["ivo://x/t?1", "ivo://y/t?1"]))
    assert len(manifest.files) == 1
    assert list(manifest.unavailable["source_id"]) == ["ivo://y/t?1"]  # only #preview: said, not lost


def test_rows_without_a_usable_datalink_url_and_direct_files_are_not_lost(server):
    server.answers["one"] = lambda ids, base: links_doc(
        [(i, f"{base}/files/{i}.fits", "", "", "#this", "", "") for i in ids]
    )
    table = Table(
        {"access_url": [f"{server.base}/one?ID=A", f"{server.base}/files/B.fits", "", f"{server.base}/one"],
         "access_format": [DATALINK_MIME, "application/fits", DATALINK_MIME, DATALINK_MIME]}
    )  # fmt: skip
    manifest = resolve(table)
    assert sorted(manifest.files["url"].str.rsplit("/", n=1).str[-1]) == ["A.fits", "B.fits"]
    notes = list(manifest.unavailable["note"])
    assert len(notes) == 2 and "no DataLink URL" in notes[0] and "0 ID parameters" in notes[1]


def test_stray_rows_huge_lengths_and_server_ordered_caps(server):
    server.answers["liar"] = lambda ids, base: links_doc(
        [("NEVER-ASKED", f"{base}/files/evil.fits", "", "", "#this", "", "")]
        + [(i, f"{base}/files/{i}.fits", "", "", "#this", "", "99999999999999999999999") for i in ids]
    )
    manifest = resolve(_table(server, "liar", ["LIAR"]))
    assert list(manifest.files["obs_id"]) == ["LIAR"] and manifest.files["size"].isna().all()

    def sorted_cap(ids, base):  # answers the alphabetically first 3 of what it is asked, flagging OVERFLOW
        return links_doc([(i, f"{base}/files/{i}.fits", "", "", "#this", "", "") for i in sorted(ids)[:3]],
                         status="OVERFLOW" if len(ids) > 3 else "OK")  # fmt: skip

    server.answers["sortedcap"] = sorted_cap
    ids = [f"OBS{n:02d}" for n in range(39, -1, -1)]
    got = resolve(_table(server, "sortedcap", ids))
    assert set(got.files["obs_id"]) == set(ids) and got.unavailable.empty


@pytest.mark.parametrize("bad", [None, 5, "", [], ["#this", None]])
def test_bad_semantics_are_typed_errors(server, bad):
    with pytest.raises(ResolveError, match="semantics must be"):
        resolve(_table(server, "one", ["A"]), semantics=bad)


def test_core_terms_ignore_case_and_a_generator_is_read_once(server):
    assert len(resolve(_table(server, "one", ["A"]), semantics="#THIS").files) == 1
    assert len(resolve(_table(server, "one", ["A"]), semantics=(t for t in ["#this"])).files) == 1


def test_an_id_whose_links_the_service_cut_short_is_said(server):
    # a service capping rows (not IDs) at 5 and flagging OVERFLOW: 'big' has 8 links
    def answer(ids, base):
        rows = [(i, f"{base}/files/{i}-{k}.fits", "", "", "#this", "", "")
                for i in ids for k in range(8 if i == "big" else 1)]  # fmt: skip
        return links_doc(rows[:5], status="OVERFLOW" if len(rows) > 5 else "OK")

    server.answers["rowcap"] = answer
    manifest = resolve(_table(server, "rowcap", ["big", "s1", "s2"]))
    assert set(manifest.files["obs_id"]) == {"big", "s1", "s2"}
    cut = manifest.unavailable
    assert list(cut["obs_id"]) == ["big"] and "cut short" in cut["note"].iloc[0]
    assert DataLinkEngine.learned_caps.get(f"{server.base}/rowcap", 2) > 1  # not imposed on later resolves


def test_ids_with_spaces_of_their_own_are_tied_back(server):
    server.answers["echo"] = lambda ids, base: links_doc(
        [(i, f"{base}/files/{i.strip()}.fits", "", "", "#this", "", "") for i in ids]
    )
    table = Table({"datalink_url": [f"{server.base}/echo?ID=abc%20", f"{server.base}/echo?ID=%20def",
                                    f"{server.base}/echo?ID=ghi"]})  # fmt: skip
    manifest = resolve(table)
    assert len(manifest.files) == 3 and manifest.unavailable.empty


def test_rows_without_an_id_for_the_descriptor_are_said(server):
    from io import BytesIO

    import pyvo
    from astropy.io.votable import parse

    from vodaxa.sandbox.protocols.vo import FieldMeta, ServiceDescriptor, result_document

    doc = result_document([FieldMeta("pid", "char")], [["a1", "", "a4"]],
                          descriptors=[ServiceDescriptor(f"{server.base}/one", "pid")])  # fmt: skip
    manifest = resolve(pyvo.dal.DALResults(parse(BytesIO(doc))))
    assert sorted(manifest.files["obs_id"]) == ["a1", "a4"]
    assert list(manifest.unavailable["obs_id"]) == ["row1"] and "no pid value" in manifest.unavailable["note"].iloc[0]
