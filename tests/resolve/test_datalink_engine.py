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


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Iterator[Sandbox]:
    """HEASARC's older IDs, but three #this file links per observation (the benchmarks' shape): nothing to walk."""
    config = SandboxConfig(rows=200, archives=("heasarc",), datalink_max_ids=30, heasarc_datalink="files",
                           cache=tmp_path_factory.mktemp("dlf"))  # fmt: skip
    with Sandbox(config) as sandbox:
        yield sandbox


def test_once_the_cap_is_known_requests_go_out_before_answers_are_read_never_more_than_the_slots(files):
    DataLinkEngine.learned_caps.clear()
    service = files.endpoints["heasarc"]["datalink"] + "/numaster"
    ids = [str(i) for i in range(1, 201)]
    seen: list[Link] = []

    async def run():
        async with HttpClient() as http:
            flying, most = 0, 0
            post = http.post

            async def counted(*args, **kwargs):
                nonlocal flying, most
                flying += 1
                most = max(most, flying)
                try:
                    return await post(*args, **kwargs)
                finally:
                    flying -= 1

            http.post = counted  # type: ignore[method-assign]  # a test double counting requests in flight
            engine = DataLinkEngine(http, concurrency=3)
            rows = await engine.links(service, ids, params={"sizefiles": "false"}, on_rows=seen.extend)
            return rows, engine, most

    rows, engine, most = _run(run())
    assert most <= 3 and engine.requests <= 200 // 30 + 4  # three slots; the cap learned on the first answers
    assert {r.key for r in rows} == set(ids) and {id(r) for r in rows} <= {id(r) for r in seen}
    public = files.heasarc.public_mask("numaster")
    for ident in ("1", "2", "3"):
        got = [r for r in rows if r.key == ident]
        if public[int(ident) - 1]:
            assert len(got) == 3 and all(r.semantics == "#this" and not r.error_message for r in got)
            assert all(r.content_type != "directory" and not r.access_url.endswith("/") for r in got)
        else:
            assert len(got) == 1 and got[0].error_message.startswith("NotFoundFault")


def test_the_files_shape_links_files_of_the_observation_tree(files):
    import urllib.request

    service = files.endpoints["heasarc"]["datalink"] + "/numaster"
    public = files.heasarc.public_mask("numaster")
    ident = str(next(i + 1 for i, p in enumerate(public) if p))

    async def sized():  # sizes asked for (HEASARC's default): the files are written, each row sized
        async with HttpClient() as http:
            return await DataLinkEngine(http).links(service, [ident])

    rows = _run(sized())
    assert len(rows) == 3
    for row in rows:
        with urllib.request.urlopen(row.access_url, timeout=30) as response:
            assert len(response.read()) == row.content_length


def test_a_pyvo_result_resolves_to_three_files_per_public_observation_named_by_obsid(files):
    import warnings

    import pyvo

    import vodaxa

    result = pyvo.dal.TAPService(files.endpoints["heasarc"]["tap"]).run_sync("SELECT TOP 90 * FROM numaster")
    table = result.to_table()
    public = files.heasarc.public_mask("numaster")
    obsids = {str(o) for o, r in zip(table["obsid"], table["__row"]) if public[int(r) - 1]}
    manifest = vodaxa.resolve(result)
    files_by_obs = manifest.files.groupby("obs_id")["url"].count().to_dict()
    assert files_by_obs == dict.fromkeys(obsids, 3)
    assert all(p.split("/", 1)[0] == o for o, p in zip(manifest.files["obs_id"], manifest.files["local_path"]))
    assert len(manifest.unavailable) == len(table) - len(obsids)
    with warnings.catch_warnings():  # pyvo asks more IDs than the cap at once, and warns of the OVERFLOW answers
        warnings.simplefilter("ignore", pyvo.dal.DALOverflowWarning)
        linked = sum(len(links) for links in result.iter_datalinks())
    assert linked == 3 * len(obsids) + len(table) - len(obsids)  # pyvo's peer reads the same answers


def test_rows_longer_or_shorter_than_the_fields_and_cells_holding_elements():
    fields = '<FIELD name="ID"/><FIELD name="access_url"/><FIELD name="eso_category"/>'  # no semantics column
    rows = ("<TR><TD>a</TD><TD>http://h/a.fits</TD><TD>SCIENCE</TD><TD>stray cell</TD><TD>another</TD></TR>"
            "<TR><TD>b</TD></TR>"
            "<TR><TD>c</TD><TD>http://h/c.fits<b>bold</b></TD><TD> </TD></TR>")  # fmt: skip
    doc = (f'<VOTABLE><RESOURCE type="results"><TABLE>{fields}<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>'
           "</RESOURCE></VOTABLE>").encode()  # fmt: skip
    got = parse_links(doc, "http://h/links").rows
    assert [(r.id, r.access_url, r.semantics, dict(r.extra)) for r in got] == [
        ("a", "http://h/a.fits", None, {"eso_category": "SCIENCE"}),
        ("b", None, None, {"eso_category": None}),
        ("c", "http://h/c.fits", None, {"eso_category": None}),
    ]
    deep = doc.replace(b"<b>bold</b>", b"<b>" * 70 + b"</b>" * 70)
    with pytest.raises(ResolveError, match="nested deeper than"):
        parse_links(deep, "http://h/links")
