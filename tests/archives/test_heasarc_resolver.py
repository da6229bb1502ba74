"""resolve() of HEASARC missions and of plain pyvo results: directories walked, file rules applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvo
import requests

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.errors import ResolveError
from vodaxa.resolvers import resolve
from vodaxa.resolvers.listing import parse_listing
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TARGETS


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, seed=4, archives=("heasarc",), cache=tmp_path_factory.mktemp("res"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb


def _listing(sb: Sandbox, obs_dir: str) -> set[str]:
    """Every file under an observation directory, by walking the sandbox's listings independently."""
    out = set()
    stack = [""]
    while stack:
        sub = stack.pop()
        dirs, files = parse_listing(requests.get(obs_dir + sub, timeout=30).text)
        out |= {sub + f for f in files}
        stack += [sub + d + "/" for d in dirs]
    return out


def test_nustar_raw_and_products_by_instrument(sandbox):
    mission = Mission("nustar_pointed")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    full = resolve(mission)
    info = mission.filtered_obs_info
    public = set(info[info["proprietary_usable"]]["obs_id"])
    assert public and set(full.files["obs_id"]) == public
    for obs_id in public:
        rows = full.files[full.files["obs_id"] == obs_id]
        directory = rows["url"].iloc[0].split(obs_id + "/")[0] + obs_id + "/"
        assert set(rows["local_path"]) == {f"nustar_pointed/{obs_id}/{p}" for p in _listing(sandbox, directory)}
    raw_a = resolve(mission, products=False, instruments=["FPMA"])
    paths = list(raw_a.files["local_path"])
    assert paths and not any("event_cl/" in p for p in paths)
    assert not any(f"{o}B" in p for p in paths for o in public)
    assert any("event_uf/" in p and f"{o}A_uf" in p for p in paths for o in public)


def test_chandra_products_rules(sandbox):
    mission = Mission("chandra")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    raw = resolve(mission, products=False).files
    assert raw["local_path"].str.endswith("oif.fits").any()
    assert not raw["local_path"].str.contains("/primary/").any()
    assert raw["local_path"].str.contains(r"/secondary/[^/]*evt1", regex=True).any()
    assert not raw["local_path"].str.contains("/secondary/aspect/").any()  # top level of secondary only
    full = resolve(mission).files
    assert full["local_path"].str.contains(r"/primary/.*evt2\.fits\.gz", regex=True).any()


def test_proprietary_observations_are_listed_not_dropped(sandbox):
    mission = Mission("nustar_pointed")
    info = mission.filtered_obs_info
    private = list(info[~info["proprietary_usable"]]["obs_id"][:2])
    public = list(info[info["proprietary_usable"]]["obs_id"][:1])
    mission.filter_on_obs_ids(private + public)
    manifest = resolve(mission)
    assert set(manifest.unavailable["obs_id"]) == set(private)
    assert all("proprietary" in n or "no public date" in n for n in manifest.unavailable["note"])
    assert set(manifest.files["obs_id"]) == set(public)


def test_plain_pyvo_result_with_descriptor(sandbox):
    tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
    result = tap.run_sync("SELECT TOP 4 __row, obsid FROM swiftmastr ORDER BY __row")
    manifest = resolve(result)
    rows = {str(r) for r in result.to_table()["obsid"]}  # named by the result's ObsIDs, not HEASARC's row numbers
    assert set(manifest.frame["obs_id"]) == rows and len(manifest.files) > 0
    assert all(p.split("/")[0] in rows for p in manifest.files["local_path"])
    bare = tap.run_sync("SELECT TOP 4 __row FROM swiftmastr ORDER BY __row")  # without obsid: the DataLink ID
    assert set(resolve(bare).frame["obs_id"]) == {str(r) for r in bare.to_table()["__row"]}


def test_table_without_datalink_is_an_error(sandbox):
    tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
    result = tap.run_sync("SELECT TOP 2 obsid FROM swiftmastr")
    with pytest.raises(ResolveError, match="no DataLink service descriptor"):
        resolve(result)


def test_options_that_do_not_apply_say_so(sandbox):
    with pytest.raises(ResolveError, match="do not apply to nustar_pointed"):
        resolve(Mission("nustar_pointed"), filetypes=["evt2"])
    with pytest.raises(ResolveError, match="calibrations select ESO"):
        resolve(Mission("nustar_pointed"), calibrations="raw2raw")


def test_a_result_mixing_two_datalink_services(sandbox):
    from io import BytesIO

    from astropy.io.votable import parse

    from vodaxa.sandbox.protocols.vo import FieldMeta, ServiceDescriptor, result_document

    base = sandbox.endpoints["heasarc"]["datalink"]
    doc = result_document(
        [FieldMeta("nu_row", "char"), FieldMeta("ch_row", "char")],
        [["1", "2"], ["3", "4"]],
        descriptors=[
            ServiceDescriptor(base + "/numaster", "nu_row", ident="nu"),
            ServiceDescriptor(base + "/chanmaster", "ch_row", ident="ch"),
        ],
    )
    result = pyvo.dal.DALResults(parse(BytesIO(doc)))
    manifest = resolve(result)
    sources = set(manifest.frame["source_id"])
    assert {"1", "2", "3", "4"} == sources
    urls = " ".join(manifest.files["url"])
    assert "/FTP/nustar/" in urls and "/FTP/chandra/" in urls


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> Iterator[Sandbox]:
    """The same archive answering in HEASARC's older DataLink shape (``#this``, ``directory``)."""
    config = SandboxConfig(rows=300, seed=4, archives=("heasarc",), heasarc_datalink="legacy",
                           cache=tmp_path_factory.mktemp("res-legacy"))  # fmt: skip
    with Sandbox(config) as sandbox:
        yield sandbox


def _nustar_three_public(sb: Sandbox) -> Mission:
    mission = Mission("nustar_pointed")
    info = mission.filtered_obs_info
    mission.filter_on_obs_ids(list(info[info["proprietary_usable"]]["obs_id"][:3]))
    return mission


def test_current_and_legacy_heasarc_shapes_give_the_same_files(sb, legacy, monkeypatch):
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    manifests = []
    for archive in (sb, legacy):
        with endpoints.override(archive.endpoints):
            manifests.append(resolve(_nustar_three_public(archive)).files)
    now, before = manifests
    assert len(now) == len(before) > 20 and now["obs_id"].nunique() == 3
    assert sorted(now["local_path"]) == sorted(before["local_path"])
    assert not any("//" in u.split("://", 1)[1] for u in now["url"])  # HEASARC's double slash is not kept


def test_the_current_answer_is_what_heasarc_sends(sandbox):
    """The real 2026 shape: ivo IDs, text/html directories with products.jsp semantics, nested DataLink."""
    from vodaxa.resolvers.datalink import DATALINK_MIME

    info = Mission("chandra").filtered_obs_info
    public = info[info["proprietary_usable"]].iloc[0]
    url = sandbox.endpoints["heasarc"]["datalink"] + "/chanmaster"
    table = pyvo.dal.adhoc.DatalinkResults.from_result_url(f"{url}?ID={public['datalink_id']}").to_table()
    assert len(table) == 8 and sum(t == "text/html" for t in table["content_type"]) == 7
    assert set(table["ID"]) == {f"ivo://nasa.heasarc/chanmaster?{public['datalink_id']}"}
    semantics = set(table["semantics"])
    assert "https://heasarc.gsfc.nasa.gov/xamin/jsp/products.jsp#chandra.obs" in semantics
    assert any(s.endswith("#point.bib") for s in semantics) and any("#link." in s for s in semantics)
    directory = next(u for u, t in zip(table["access_url"], table["content_type"]) if "/FTP/" in u)
    assert f"//{public['obs_id']}/" in directory  # as HEASARC writes it
    nested = next(u for u, t in zip(table["access_url"], table["content_type"]) if t == DATALINK_MIME)
    inner = pyvo.dal.adhoc.DatalinkResults.from_result_url(nested).to_table()
    assert len(inner) > 2 and all("/FTP/chandra/" in u for u in inner["access_url"])
    private = info[~info["proprietary_usable"]].iloc[0]
    empty = pyvo.dal.adhoc.DatalinkResults.from_result_url(f"{url}?ID={private['datalink_id']}").to_table()
    assert len(empty) == 0  # not public: no rows at all, as the HEASARC tutorial says
    links = resolve(_chandra(public["obs_id"]), semantics=["#this", "#point.bib"]).files
    assert (links["category"] == "link").sum() == 1 and (links["category"] != "link").sum() > 3
    page = links[links["category"] == "link"]
    assert page["local_path"].iloc[0].endswith(".html")  # saved as the web page it is, so the download takes it


def test_pyvo_on_the_current_answer_works_per_row_but_not_batched(sandbox):
    """HEASARC answers ``ivo://nasa.heasarc/<table>?<__row>`` for the ``__row`` sent, so pyvo's batched
    ``iter_datalinks`` (which matches rows by the ID sent) cannot find them, while ``getdatalink`` and vodaxa can."""
    from pyvo.dal.exceptions import DALServiceError

    tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
    result = tap.run_sync("SELECT TOP 3 __row, obsid FROM numaster WHERE public_date < 60000 ORDER BY __row")
    assert all(len(row.getdatalink().to_table()) == 2 for row in result)
    with pytest.raises(DALServiceError, match="Could not retrieve datalinks"):
        list(result.iter_datalinks())
    assert set(resolve(result).files["obs_id"]) == {str(r) for r in result.to_table()["obsid"]}


def _chandra(obs_id: str) -> Mission:
    mission = Mission("chandra")
    mission.filter_on_obs_ids([obs_id])
    return mission


def test_nested_document_is_read_when_the_answer_lists_no_directory(sandbox, monkeypatch):
    """If HEASARC lists the observation's products only in the nested document, those are resolved."""
    from vodaxa.sandbox.archives.heasarc import links as heasarc_links

    real = heasarc_links.current_links

    def only_nested(*args, **kwargs):
        return [r for r in real(*args, **kwargs) if "/FTP/" not in (r.access_url or "")]

    mission = _nustar_three_public(sandbox)
    expected = sorted(resolve(mission).files["local_path"])
    sandbox.heasarc._link_cache.clear()
    monkeypatch.setattr(heasarc_links, "current_links", only_nested)
    try:
        got = resolve(mission).files
    finally:
        sandbox.heasarc._link_cache.clear()
    assert sorted(got["local_path"]) == expected


def test_a_lying_datalink_answer_cannot_hand_an_observation_other_data(sandbox):
    """Rows pointing at another observation's directory, cross-links into the tree, other hosts and dot
    segments are not an observation's data: it is listed as unavailable instead (found by a hostile review)."""
    from aiohttp import web

    from tests.servers import AppThread
    from vodaxa.resolvers.datalink import LinkRow as Link
    from vodaxa.sandbox.archives.heasarc.links import PRODUCTS
    from vodaxa.sandbox.protocols.vo import links_document

    info = Mission("nustar_pointed").filtered_obs_info
    public = info[info["proprietary_usable"]]
    (a_row, a_obs), (b_row, b_obs) = list(zip(public["datalink_id"], public["obs_id"]))[:2]
    ftp = sandbox.endpoints["heasarc"]["ftp"]
    b_dir = resolve(_chandra_like("nustar_pointed", b_obs)).files["url"].iloc[0].split(b_obs)[0] + b_obs + "/"
    a_dir = b_dir.replace(b_obs, a_obs).replace(f"/{b_obs[:2]}/{b_obs[2]}/", f"/{a_obs[:2]}/{a_obs[2]}/")
    lies = {
        str(a_row): [
            Link(str(a_row), access_url=b_dir, semantics=PRODUCTS + "nustar.obs", content_type="text/html"),
            Link(str(a_row), access_url=f"{ftp}swift/data/obs/{a_obs}/", semantics=PRODUCTS + "link.swiftmastr",
                 content_type="text/html"),
            Link(str(a_row), access_url=f"http://127.0.0.1:9/FTP/nustar/{a_obs}/", semantics=PRODUCTS + "nustar.obs",
                 content_type="text/html"),
            Link(str(a_row), access_url=f"{ftp}../{a_obs}/", semantics=PRODUCTS + "nustar.obs",
                 content_type="text/html"),
        ],
        str(b_row): [Link(str(b_row), access_url=a_dir, semantics="#this", content_type="directory")],
    }  # fmt: skip

    async def links(request: web.Request) -> web.Response:
        form = await request.post()
        ids = [str(v) for k, v in form.items() if k.upper() == "ID"]
        rows = [link for i in ids for link in lies.get(i, [])]
        return web.Response(body=links_document(rows), content_type="application/x-votable+xml")

    async def elsewhere(request: web.Request) -> web.Response:  # a nested document on another host
        rows = [Link(str(a_row), access_url=f"{request.scheme}://{request.host}/FTP/nustar/data/obs/{a_obs}/",
                     semantics=PRODUCTS + "nustar.obs", content_type="text/html")]  # fmt: skip
        return web.Response(body=links_document(rows), content_type="application/x-votable+xml")

    other_app = web.Application()
    other_app.router.add_route("*", "/links", elsewhere)
    other = AppThread(other_app)
    lies[str(a_row)].append(
        Link(str(a_row), access_url=f"{other.base}/links?ID={a_row}", semantics=PRODUCTS + "nustar.obs",
             content_type="application/x-votable+xml;content=datalink")
    )  # fmt: skip
    app = web.Application()
    app.router.add_post("/links/{table}", links)
    hostile = AppThread(app)
    try:
        with endpoints.override({"heasarc": {"datalink": hostile.base + "/links"}}):
            manifest = resolve(_chandra_like("nustar_pointed", a_obs, b_obs))
    finally:
        hostile.close()
        other.close()
    # A was offered B's, swift's, two other hosts' and a '..' directory; B was offered A's
    assert manifest.files.empty
    assert set(manifest.unavailable["obs_id"]) == {a_obs, b_obs}
    notes = dict(zip(manifest.unavailable["obs_id"], manifest.unavailable["note"]))
    assert "lists no data directory" in notes[a_obs]  # none of those URLs was even taken for data


def _chandra_like(name: str, *obs_ids: str) -> Mission:
    mission = Mission(name)
    mission.filter_on_obs_ids(list(obs_ids))
    return mission
