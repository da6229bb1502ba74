"""ESO: raw frames, night logs, calSelector cascades (with their warnings) and association trees; products."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import pandas as pd
import pytest

import vodaxa
from vodaxa import Manifest, Mission
from vodaxa.config import endpoints
from vodaxa.errors import ResolveError
from vodaxa.http import HttpClient
from vodaxa.resolve import resolve
from vodaxa.resolve.calselector import parse_cascade, parse_multipart, parse_tree
from vodaxa.sandbox import Sandbox, SandboxConfig, eso
from vodaxa.sandbox.eso_links import cascade_kind

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
    packed = vodaxa.download(picked, tmp_path / "packed", progress=False)
    assert len(packed.failed) == 0
    expected = [f"{i}.fits" if i.startswith("M.") else f"{i}.fits.Z" for i in ids]
    assert sorted(p.name for p in packed.ok) == sorted(expected)
    assert all(p.parent == tmp_path / "packed" / "eso" for p in packed.ok)
    unpacked = vodaxa.download(picked, tmp_path / "unpacked", decompress=True, progress=False)
    assert sorted(p.name for p in unpacked.ok) == sorted(f"{i}.fits" for i in ids)
    assert all(p.read_bytes().startswith(b"SIMPLE  =") for p in unpacked.ok)
    again = vodaxa.download(picked, tmp_path / "unpacked", decompress=True, progress=False)
    assert sorted(again.skipped) == sorted(unpacked.ok) and again.bytes == 0
