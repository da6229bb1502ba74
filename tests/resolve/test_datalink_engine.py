"""The DataLink engine on the sandbox: batching, learned caps, concurrency, nested links, errors kept as data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from vodaxa.errors import ResolveError
from vodaxa.http import HttpClient
from vodaxa.resolvers.datalink import DataLinkEngine, is_datalink, narrower, parse_links
from vodaxa.resolvers.datalink import LinkRow as Link
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.protocols.vo import links_document


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    """HEASARC answering in its older DataLink shape (error rows, echoed IDs, a link to itself)."""
    config = SandboxConfig(
        rows=400, archives=("heasarc",), datalink_max_ids=60, heasarc_datalink="legacy",
        cache=tmp_path_factory.mktemp("dl"),
    )  # fmt: skip
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def current(tmp_path_factory) -> Iterator[Sandbox]:
    """HEASARC answering as it does today: no rows for data that are not public, IDs in the ivo form."""
    config = SandboxConfig(rows=400, archives=("heasarc",), datalink_max_ids=60, cache=tmp_path_factory.mktemp("dlc"))
    with Sandbox(config) as sandbox:
        yield sandbox


def _run(coro):
    return asyncio.run(coro)


async def _links(service: str, ids, **options):
    async with HttpClient() as http:
        engine = DataLinkEngine(http, **options)
        rows = await engine.links(service, ids, params={"sizefiles": "false"})
        return rows, engine


def test_many_ids_learn_the_cap_and_answer_every_id(sb):  # the older shape: every ID has rows
    DataLinkEngine.learned_caps.clear()
    service = sb.endpoints["heasarc"]["datalink"] + "/numaster"
    ids = [str(i) for i in range(1, 601)]  # 400 rows and 200 unknown IDs (answered with error rows)
    calls = sb.heasarc.links["numaster"].calls
    rows, engine = _run(_links(service, ids, batch=500, concurrency=4))
    assert {r.id for r in rows} == set(ids)
    assert DataLinkEngine.learned_caps[service] == 60
    # 4 probes of 75 IDs (60 answered each), then the other 360 in chunks of 60: 10 requests at best,
    # one more when a worker takes a short chunk before the others have put their leftovers back
    first = sb.heasarc.links["numaster"].calls - calls
    assert first == engine.requests and 10 <= first <= 11
    rows_again, engine_again = _run(_links(service, ids, batch=500, concurrency=4))
    assert engine_again.requests == 10 and len(rows_again) == len(rows)  # the cap is known: 600 / 60


def test_error_rows_are_data_and_unknown_ids_too(sb):
    service = sb.endpoints["heasarc"]["datalink"] + "/numaster"
    rows, _ = _run(_links(service, ["1", "2", "3", "4", "5", "9999999"]))
    errors = [r for r in rows if r.error_message]
    assert any("is not a row of numaster" in r.error_message for r in errors)
    assert all(r.error_message.startswith("NotFoundFault") for r in errors)
    directories = [r for r in rows if r.semantics == "#this" and not r.error_message]
    assert directories and all(r.content_type == "directory" for r in directories)


def test_nested_datalink_is_followed_and_loops_are_cut(sb):
    service = sb.endpoints["heasarc"]["datalink"] + "/numaster"
    rows, engine = _run(_links(service, ["2"], max_depth=2))
    assert not any(is_datalink(r.content_type) for r in rows)  # the nested document was read, not listed
    assert engine.requests == 1  # the nested document is the one already read: the loop is cut
    flat, _ = _run(_links(service, ["2"], max_depth=0))
    assert any(is_datalink(r.content_type) for r in flat)


def test_html_and_broken_documents_are_resolve_errors(sb):
    with pytest.raises(ResolveError, match="HTML page"):
        parse_links(b"<!DOCTYPE html><html><body>Login</body></html>", "http://x/links")
    with pytest.raises(ResolveError, match="readable VOTable"):
        parse_links(b"<VOTABLE><RESOURCE", "http://x/links")
    with pytest.raises(ResolveError, match="without an ID column"):
        parse_links(b'<VOTABLE><RESOURCE type="results"><TABLE><FIELD name="x"/></TABLE></RESOURCE></VOTABLE>', "u")
    rows, engine = _run(_links(sb.url + "/no/such/links", ["1", "2"]))
    assert [r.id for r in rows] == ["1", "2"] and all("answered HTTP 404" in r.error_message for r in rows)
    assert engine.failures and all("answered HTTP 404" in f for f in engine.failures)


def test_current_heasarc_ids_without_rows_are_reported_and_the_cap_still_learned(current):
    DataLinkEngine.learned_caps.clear()
    service = current.endpoints["heasarc"]["datalink"] + "/numaster"
    ids = [str(i) for i in range(1, 601)]  # 400 rows (some not public: no rows at all) and 200 unknown IDs
    rows, engine = _run(_links(service, ids, batch=500, concurrency=4, max_depth=0))
    assert {r.key for r in rows} == set(ids)  # answered as ivo://nasa.heasarc/numaster?<id>, tied back
    assert all(r.id == f"ivo://nasa.heasarc/numaster?{r.key}" for r in rows if not r.error_message)
    empty = {r.key for r in rows if r.error_message and "answered no links" in r.error_message}
    public = current.heasarc.public_mask("numaster")
    assert empty == {i for i in ids if int(i) > 400 or not public[int(i) - 1]}
    deep = [r for r in rows if r.error_message and "answered no links" not in r.error_message]
    assert deep and all("deeper than max_depth=0" in r.error_message for r in deep)  # nested rows: reported
    # learned from OVERFLOW answers as the IDs answered: a lower bound, since IDs without rows say nothing
    assert 40 <= DataLinkEngine.learned_caps[service] <= 60 and engine.requests <= 20


def test_parse_extra_columns_and_overflow():
    doc = links_document([Link("a", access_url="http://h/f.fits", semantics="#this", content_length=12)], overflow=True)
    page = parse_links(doc, "http://h/links")
    assert page.overflow and page.rows[0].content_length == 12 and page.rows[0].access_url == "http://h/f.fits"


def test_vocabulary_is_shipped():
    assert narrower("#calibration") == {"#calibration", "#bias", "#dark", "#flat"}
    assert narrower("http://www.ivoa.net/rdf/datalink/core#preview") >= {"#thumbnail"}
    assert is_datalink("application/x-votable+xml; content=datalink")
    assert not is_datalink("application/x-votable+xml")
