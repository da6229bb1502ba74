"""ESO: raw frames, night logs, calSelector cascades (with their warnings) and association trees; products."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit

import pandas as pd
import pytest

import vodaxa
from vodaxa import Manifest, Mission
from vodaxa.archives.eso.calselector import parse_cascade, parse_multipart, parse_tree, parse_trees, tree_links
from vodaxa.config import endpoints
from vodaxa.errors import ResolveError
from vodaxa.http import HttpClient
from vodaxa.resolvers import resolve
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso import shape as eso
from vodaxa.sandbox.archives.eso.links import KINDS, cascade_kind

ROWS = 400


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=ROWS, seed=2, archives=("eso",), cache=tmp_path_factory.mktemp("eso"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb


def _science(sb: Sandbox) -> pd.DataFrame:
    raw = pd.DataFrame(eso.generate("raw", ROWS, seed=2, now_mjd=sb.now_mjd))
    public = raw["release_date"] <= pd.Timestamp((sb.now_mjd - 40587.0) * 86400, unit="s")  # anonymous queries
    return raw[(raw["dp_cat"] == "SCIENCE") & public]


def _frame_of_kind(sb: Sandbox, kind: str) -> str:
    for dp_id in _science(sb)["dp_id"]:
        if cascade_kind(dp_id) == kind:
            return dp_id
    pytest.fail(f"no science frame with a {kind} cascade in the sandbox")


def _resolve_one(dp_id: str, mode: str):
    mission = Mission("eso")
    mission.filter_on_obs_ids([dp_id])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = resolve(mission, calibrations=mode)
    return manifest, [str(w.message) for w in caught]


def test_frames_and_night_logs(sandbox):
    science = _science(sandbox)
    mission = Mission("eso", ["MUSE", "FORS2"])
    mission.filter_on_obs_ids(list(science[science["instrument"].isin(["MUSE", "FORS2"])]["dp_id"][:5]))
    manifest = resolve(mission)
    raw = manifest.select(category="raw").frame
    assert set(raw["obs_id"]) == set(mission.filtered_obs_ids)
    assert raw["url"].str.startswith(sandbox.endpoints["eso"]["dataportal"]).all()
    assert raw["local_path"].str.endswith(".fits.Z").all() and raw["size"].notna().all()
    assert len(manifest.select(category="night_log")) == len(raw)
    private = mission.filtered_obs_info[~mission.filtered_obs_info["proprietary_usable"]]["obs_id"]
    marked = raw[raw["auth_realm"] == "eso"]["obs_id"]
    assert set(marked) == set(private)


def test_complete_cascade(sandbox):
    dp_id = _frame_of_kind(sandbox, "complete")
    manifest, messages = _resolve_one(dp_id, "raw2raw")
    assert messages == []
    frame = manifest.frame
    row = frame[(frame["obs_id"] == dp_id) & (frame["category"] == "raw")].iloc[0]
    assert row["cascade_complete"] is True and row["cascade_certified"] is True and row["cascade_mode"] == "raw2raw"
    calibrations = frame[frame["note"] == "calibration"]
    assert len(calibrations) > 0 and calibrations["url"].str.startswith(sandbox.endpoints["eso"]["dataportal"]).all()
    assert len(manifest.select(category="association_tree")) == 1


@pytest.mark.parametrize(
    ("kind", "mode", "fragment"),
    [
        ("incomplete", "raw2raw", "incomplete calibration cascade"),
        ("uncertified", "raw2raw", "not certified"),
        ("no_masters", "raw2master", "asked for raw2master, calSelector ran raw2raw"),
    ],
)
def test_cascade_warnings(sandbox, kind, mode, fragment):
    dp_id = _frame_of_kind(sandbox, kind)
    manifest, messages = _resolve_one(dp_id, mode)
    assert any(fragment in m and dp_id in m for m in messages), messages
    row = manifest.frame[(manifest.frame["obs_id"] == dp_id) & (manifest.frame["category"] == "raw")].iloc[0]
    if kind == "incomplete":
        assert row["cascade_complete"] is False
    if kind == "uncertified":
        assert row["cascade_certified"] is False
    if kind == "no_masters":
        assert row["cascade_mode"] == "raw2raw"


def test_raw2master_names_master_calibrations(sandbox):
    dp_id = _frame_of_kind(sandbox, "complete")
    manifest, _ = _resolve_one(dp_id, "raw2master")
    calibrations = manifest.frame[manifest.frame["note"] == "calibration"]
    assert calibrations["local_path"].str.contains("/M\\.", regex=True).all()


def test_association_trees_single_and_multipart(sandbox):
    frames = [_frame_of_kind(sandbox, "complete"), _frame_of_kind(sandbox, "incomplete")]
    service = sandbox.endpoints["eso"]["calselector"]

    async def fetch(ids):
        async with HttpClient() as http:
            return await http.post(service, data=[("dp_id", d) for d in ids] + [("mode", "Raw2Raw")])

    single = asyncio.run(fetch(frames[:1]))
    tree = parse_tree(single.body)
    assert frames[0] in tree.all_files() and tree.mode == "raw2raw" and tree.complete is True
    assert any(node.category for node in tree.children)
    multi = asyncio.run(fetch(frames))
    trees = parse_multipart(multi.body, multi.headers["Content-Type"])
    assert set(trees) == {f"{d}_raw2raw.xml" for d in frames}
    assert trees[f"{frames[1]}_raw2raw.xml"].complete is False or any(
        node.complete is False for node in trees[f"{frames[1]}_raw2raw.xml"].walk()
    )
    with pytest.raises(ResolveError, match="not an association tree"):
        parse_tree(b"<votable/>")


def test_cascade_summary_parsing():
    cascade = parse_cascade('category="SCI" certified="false" complete="true" mode="Raw2Master" messages="x y"')
    assert (cascade.category, cascade.certified, cascade.complete, cascade.mode, cascade.messages) == (
        "SCI",
        False,
        True,
        "raw2master",
        "x y",
    )
    assert cascade.warnings("raw2raw") == [
        "the calibration cascade is not certified",
        "asked for raw2raw, calSelector ran raw2master (no processed calibrations)",
    ]
    assert parse_cascade(None).complete is None


def test_products_through_obscore_datalink(sandbox):
    mission = Mission("eso_products")
    mission.filter_on_obs_ids(list(mission.filtered_obs_ids[:6]))
    manifest = resolve(mission)
    assert set(manifest.files["obs_id"]) == set(mission.filtered_obs_ids)
    assert (manifest.files["mission"] == "eso_products").all() and (manifest.files["semantics"] == "#this").all()


def test_products_are_named_by_the_dataportal_on_download(sandbox, tmp_path):
    mission = Mission("eso_products")
    mission.filter_on_obs_ids(list(mission.filtered_obs_ids[:3]))
    manifest = resolve(mission)
    report = vodaxa.download(manifest, tmp_path, progress=False)
    assert len(report.failed) == 0 and len(report.ok) == len(manifest.files)
    assert sorted(p.name for p in report.ok) == sorted(f"{u.rsplit('/', 1)[-1]}.fits" for u in manifest.urls)


def test_bad_calibration_mode(sandbox):
    with pytest.raises(ResolveError, match="raw2raw' or 'raw2master"):
        resolve(Mission("eso"), calibrations="everything")


def test_dataportal_files_are_named_by_the_server_on_download(sandbox, tmp_path):
    dp_id = _frame_of_kind(sandbox, "complete")
    raw2raw, _ = _resolve_one(dp_id, "raw2raw")
    raw2master, _ = _resolve_one(dp_id, "raw2master")
    frames = [raw2raw.files, raw2master.files]
    calibrations = [f[f["note"] == "calibration"] for f in frames]
    for cal in calibrations:  # no guessed suffix: the dataportal URL's own name, for the server to replace
        assert (cal["local_path"] == "eso/" + cal["url"].str.rsplit("/", n=1).str[-1]).all()
    raw = raw2raw.files[raw2raw.files["category"] == "raw"]
    picked = Manifest(pd.concat([raw, calibrations[0].head(2), calibrations[1].head(1)], ignore_index=True))
    ids = [u.rsplit("/", 1)[-1] for u in picked.frame["url"]]
    packed = vodaxa.download(picked, tmp_path / "packed", decompress=False, progress=False)  # the archive's bytes
    assert len(packed.failed) == 0
    expected = [f"{i}.fits" if i.startswith("M.") else f"{i}.fits.Z" for i in ids]
    assert sorted(p.name for p in packed.ok) == sorted(expected)
    assert all(p.parent == tmp_path / "packed" / "eso" for p in packed.ok)
    unpacked = vodaxa.download(picked, tmp_path / "unpacked", decompress=True, progress=False)
    assert sorted(p.name for p in unpacked.ok) == sorted(f"{i}.fits" for i in ids)
    assert all(p.read_bytes().startswith(b"SIMPLE  =") for p in unpacked.ok)
    again = vodaxa.download(picked, tmp_path / "unpacked", decompress=True, progress=False)
    assert sorted(again.skipped) == sorted(unpacked.ok) and again.bytes == 0
    default = vodaxa.download(picked, tmp_path / "default", progress=False)  # issue 15 item 10: what astropy opens
    assert sorted(p.name for p in default.ok) == sorted(f"{i}.fits" for i in ids)
    assert all(p.read_bytes().startswith(b"SIMPLE  =") for p in default.ok)


@pytest.fixture(scope="module")
def trees_sb(tmp_path_factory) -> Iterator[Sandbox]:
    """The same archive, but its calSelector answers association trees even when asked for a VOTable."""
    config = SandboxConfig(rows=ROWS, seed=2, archives=("eso",), cache=tmp_path_factory.mktemp("eso_trees"),
                           calselector_trees=True)  # fmt: skip
    with Sandbox(config) as sandbox:
        yield sandbox


def _resolved_in(sb: Sandbox, dp_ids: list[str], mode: str) -> tuple[pd.DataFrame, list[str]]:
    """The manifest (its archive's address replaced by ORIGIN) and the warnings of resolving ``dp_ids``."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(sb.endpoints["eso"]["calselector"]))
    with endpoints.override(sb.endpoints):
        manifest, messages = _resolve_all(dp_ids, mode)
    frame = manifest.frame.map(lambda v: v.replace(origin, "ORIGIN") if isinstance(v, str) else v)
    key = ["obs_id", "category", "semantics", "url", "note"]  # DataLink rows come in answer order: sort them
    frame = frame.sort_values(key, na_position="first", kind="stable").reset_index(drop=True)
    return frame, sorted(m.replace(origin, "ORIGIN") for m in messages)


def _resolve_all(dp_ids: list[str], mode: str):
    mission = Mission("eso")
    mission.filter_on_obs_ids(dp_ids)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = resolve(mission, calibrations=mode)
    return manifest, [str(w.message) for w in caught]


def test_the_tree_switch_answers_trees_to_a_votable_request(trees_sb):
    frames = [_frame_of_kind(trees_sb, kind) for kind in KINDS[:2]]
    service = trees_sb.endpoints["eso"]["calselector"]

    async def ask(ids):
        async with HttpClient() as http:
            form = [("dp_id", d) for d in ids] + [("mode", "Raw2Raw"), ("responseformat", "votable")]
            return await http.post(service, data=form)

    assert asyncio.run(ask(frames[:1])).content_type.startswith("application/xml; content=calselector")
    assert asyncio.run(ask(frames)).content_type.startswith("multipart/form-data")


@pytest.mark.parametrize("mode", ["raw2raw", "raw2master"])
@pytest.mark.parametrize("count", [1, len(KINDS)])  # one tree comes as XML, several as a multipart answer
def test_trees_instead_of_a_votable_give_the_same_manifest(sb, trees_sb, monkeypatch, mode, count):
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    frames = [_frame_of_kind(sb, kind) for kind in KINDS][:count]
    from_votable, told = _resolved_in(sb, frames, mode)
    from_trees, told_by_trees = _resolved_in(trees_sb, frames, mode)
    pd.testing.assert_frame_equal(from_votable, from_trees)
    assert told == told_by_trees and (count == 1 or told)
    assert len(from_trees[from_trees["note"] == "calibration"]) > 0
    assert from_trees[from_trees["category"] == "raw"]["cascade_complete"].notna().all()


TREE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- written by hand in calSelector's shape -->
<association category="SCI_IMG" certified="true" complete="false" mode="Raw2Raw" type="main">
    <mainFiles>
        <file category="SCIENCE_IMG" name="FORS2.2021-01-02T00:59:12.534"/>
        <file category="SCIENCE_IMG" name="FORS2.2021-01-02T01:03:00.100"/>
    </mainFiles>
    <messages><message>No "STD_IMG" calibration matching the calibration plan was found</message></messages>
    <associatedFiles>
        <association category="FLAT_SKY" certified="true" complete="true" match="calib_plan" type="main">
            <mainFiles><file category="SKY_FLAT_IMG" name="FORS2.2020-12-26T00:19:09.657"/></mainFiles>
            <messages/>
            <associatedFiles>
                <association category="BIAS" certified="true" complete="true" match="calib_plan" type="main">
                    <mainFiles><file category="BIAS" name="FORS2.2020-12-26T08:54:31.687"/></mainFiles>
                    <messages/><associatedFiles/>
                </association>
            </associatedFiles>
        </association>
        <association category="BIAS" certified="true" complete="true" match="calib_plan" type="main">
            <mainFiles><file category="BIAS" name="FORS2.2020-12-26T08:54:31.687"/></mainFiles>
            <messages/><associatedFiles/>
        </association>
    </associatedFiles>
</association>
"""


def test_a_tree_reads_as_the_votable_rows_it_stands_for():
    assert parse_trees(b'<?xml version="1.0"?><VOTABLE/>', "application/x-votable+xml") is None
    [tree] = parse_trees(TREE, "text/xml").values()  # recognised by its root even under a plain XML type
    ident = "ivo://eso.org/ID?FORS2.2021-01-02T00:59:12.534"
    rows = tree_links(tree, ident, "https://a.example/datalink/links", "https://a.example/calselector")
    assert [(r.semantics, r.extra["eso_category"]) for r in rows] == [
        ("#this", "SCIENCE_IMG"),
        ("http://archive.eso.org/rdf/datalink/eso#sibling_raw", "SCIENCE_IMG"),
        ("#calibration", "SKY_FLAT_IMG"),
        ("#calibration", "BIAS"),  # named twice in the tree, listed once
        ("http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw", "ASSOCIATION_TREE"),
    ]
    assert rows[2].access_url == (
        "https://a.example/datalink/links?ID=ivo://eso.org/ID?FORS2.2020-12-26T00:19:09.657&eso_download=file"
    )
    assert rows[-1].access_url == "https://a.example/calselector?dp_id=FORS2.2021-01-02T00:59:12.534&mode=Raw2Raw"
    cascade = parse_cascade(rows[0].description)
    assert (cascade.category, cascade.complete, cascade.certified, cascade.mode) == ("SCI_IMG", False, True, "raw2raw")
    assert cascade.messages == "No 'STD_IMG' calibration matching the calibration plan was found"


def test_a_tree_about_a_dataset_not_asked_for_is_refused():
    from vodaxa.archives.eso.resolver import _calselector_rows

    with pytest.raises(ResolveError, match="not one of the datasets asked for"):
        _calselector_rows(TREE, "application/xml; content=calselector", "https://a.example/calselector", ["X.1"])
    rows = _calselector_rows(TREE, "application/xml; content=calselector", "https://a.example/calselector",
                             ["FORS2.2021-01-02T01:03:00.100"])  # fmt: skip
    assert {r.id for r in rows} == {"ivo://eso.org/ID?FORS2.2021-01-02T01:03:00.100"}  # a sibling asked for


def test_a_refused_calselector_batch_costs_only_the_refused_frame(trees_sb, monkeypatch):
    """In tree mode the sandbox refuses a whole batch holding a proprietary frame (401), as XML answers do;
    the batch is asked again frame by frame, so only that frame lacks calibrations, with the reason."""
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    raw = pd.DataFrame(eso.generate("raw", ROWS, seed=2, now_mjd=trees_sb.now_mjd))
    now = pd.Timestamp((trees_sb.now_mjd - 40587.0) * 86400, unit="s")
    private = raw[(raw["dp_cat"] == "SCIENCE") & (raw["release_date"] > now)]["dp_id"].iloc[0]
    public = [_frame_of_kind(trees_sb, kind) for kind in KINDS[:2]]
    with endpoints.override(trees_sb.endpoints):
        mission = Mission("eso")
        mission.filter_on_obs_ids(public)
        info = mission.filtered_obs_info
        mine = info.iloc[[0]].assign(obs_id=private, proprietary_usable=False)  # a frame of one's own, not logged in
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manifest = resolve(pd.concat([info, mine], ignore_index=True), calibrations="raw2raw")
    frame = manifest.frame
    calibrated = set(frame[frame["note"] == "calibration"]["obs_id"]) | set(
        frame[frame["category"] == "association_tree"]["obs_id"]
    )
    assert set(public) <= calibrated or len(frame[frame["category"] == "calibration"]) > 0
    refused = manifest.unavailable[manifest.unavailable["obs_id"] == private]
    assert any("HTTP 401" in n and "calibration" in n for n in refused["note"]), list(refused["note"])
    assert set(public) <= set(frame[frame["category"] == "raw"]["obs_id"])  # the other frames are all there


def test_semantics_are_for_datalink_resolvers_and_the_default_is_fine_in_any_form(sandbox):
    frame = _frame_of_kind(sandbox, KINDS[0])
    mission = Mission("eso")
    mission.filter_on_obs_ids([frame])
    assert len(resolve(mission, semantics=["#this"]).files) == len(resolve(mission).files) > 0  # as the CLI sends it
    with pytest.raises(ResolveError, match=r"semantics choose DataLink links.*calibrations"):
        resolve(mission, semantics="#calibration")
