"""resolve() of eROSITA: Cal-PV field tarballs per selected ObsID, DR1 tiles at their highest pipeline version."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import requests
from astropy.io import fits

from vodaxa import Mission
from vodaxa.archives.erosita.resolver import pick_version, resolve_erosita, tile_url
from vodaxa.config import endpoints
from vodaxa.http import HttpClient, run_sync
from vodaxa.manifest import Manifest
from vodaxa.resolvers import resolve
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.erosita.files import tile_versions
from vodaxa.specs import registry

SEED = 5
BOX = ([130.0, -50.0], [140.0, -44.0])  # a handful of DE tiles around Vela


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(seed=SEED, archives=("erosita",), cache=tmp_path_factory.mktemp("ero-res"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sb(running: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(running.endpoints):
        yield running


def _field_of(sb: Sandbox) -> dict[str, str]:
    """ObsID -> the field (tarball stem) the shape put it in."""
    return {o.obsid: o.field for o in sb.archives["erosita"].observations}


def _box() -> Mission:
    """The DR1 mission filtered on BOX."""
    mission = Mission("erosita_all_sky_de_dr1")
    mission.filter_on_rect_region(*BOX)
    return mission


def _dr1(products: bool, **options) -> Manifest:
    """resolve_erosita on the DR1 tiles in BOX, called directly (for its pipeline_version keyword)."""
    mission = _box()
    spec = registry.get("erosita_all_sky_de_dr1")

    async def go() -> Manifest:
        async with HttpClient() as http:
            frame = mission.filtered_obs_info
            return await resolve_erosita(spec, frame, spec.default_instruments, products, http, None, **options)

    return run_sync(go())


# ------------------------------------------------------------------------------------------- Cal-PV
def test_calpv_positions_give_their_field_tarballs(sb: Sandbox):
    mission = Mission("erosita_calpv")
    mission.filter_on_positions([[83.63, 22.01], [16.01, -72.03]], search_distance=0.6)
    selected = set(mission.filtered_obs_ids)
    field_of = _field_of(sb)
    fields = {field_of[o] for o in selected}
    assert {"Crab", "SMC_1E0102"} <= fields
    manifest = resolve(mission, instruments=["TM1", "TM2"])
    files = manifest.files
    assert manifest.unavailable.empty and len(files) == len(fields)
    assert set(files["local_path"]) == {f"erosita_calpv/{f}.tar.gz" for f in fields}
    assert (files["category"] == "field_tarball").all()
    for row in files.itertuples():
        ids = row.obs_id.split(",")
        assert {field_of[o] for o in ids} == {row.local_path.split("/")[1].removesuffix(".tar.gz")}
        assert row.url == sb.endpoints["erosita"]["calpv"] + row.local_path.split("/")[1]
        assert "TM1, TM2" in row.note and "TM_NR 1, 2" in row.note
    assert {o for ids in files["obs_id"] for o in ids.split(",")} == selected
    everything = resolve(mission)
    assert all("all seven" in n for n in everything.files["note"])


def test_calpv_tarball_downloads_open_and_match_size(sb: Sandbox):
    mission = Mission("erosita_calpv")
    mission.filter_on_obs_ids(["700199", "700200"])  # Puppis A, misprinted on the page
    row = resolve(mission).files.iloc[0]
    assert row["local_path"] == "erosita_calpv/Puppis_A.tar.gz" and row["obs_id"] == "700199,700200"
    body = requests.get(row["url"], timeout=30).content
    assert len(body) == row["size"]
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        assert names == [f"Puppis_A/fm00_{o}_020_EventList_c001.fits" for o in ("700199", "700200")]
        with fits.open(io.BytesIO(tar.extractfile(names[0]).read())) as hdus:
            assert "TM_NR" in hdus["EVENTS"].columns.names
    part = requests.get(row["url"], headers={"Range": "bytes=10-19"}, timeout=30)
    assert part.status_code == 206 and part.content == body[10:20]


def test_calpv_urls_come_from_the_configured_endpoint(sb: Sandbox):
    frame = pd.DataFrame(
        {
            "mission": "erosita_calpv",
            "obs_id": ["700040", "700041", "700042"],
            "field_name": ["CRAB", "CRAB", None],
            "download": ["https://elsewhere.example/old/CalPvObs/Crab.tar.gz", None, "https://x.example/No.tar.gz"],
        }
    )
    manifest = resolve(frame)
    assert list(manifest.files["url"]) == [sb.endpoints["erosita"]["calpv"] + "Crab.tar.gz"]
    assert manifest.files["source_id"].iloc[0].startswith("https://elsewhere.example/")
    notes = dict(zip(manifest.unavailable["obs_id"], manifest.unavailable["note"]))
    assert "names no field tarball" in notes["700041"] and "404" in notes["700042"]


# ------------------------------------------------------------------------------------------- DR1
def test_dr1_box_gives_highest_version_event_lists_only(sb: Sandbox):
    mission = _box()
    tiles = set(mission.filtered_obs_ids)
    assert len(tiles) >= 3 and any(len(tile_versions(t, SEED)) == 2 for t in tiles)
    manifest = resolve(mission, products=False)
    files = manifest.files
    assert manifest.unavailable.empty and set(files["obs_id"]) == tiles and len(files) == len(tiles)
    assert (files["category"] == "events").all()
    for row in files.itertuples():
        version = max(tile_versions(row.obs_id, SEED))
        prefix = "em01" if sb.archives["erosita"].tiles()[row.obs_id].owner == 2 else "eb01"
        name = f"EXP_{version}/{prefix}_{row.obs_id}_020_EventList_c{version}.fits.gz"
        assert row.local_path == f"erosita_all_sky_de_dr1/{row.obs_id}/{name}"
        assert row.url == tile_url(row.obs_id) + name
        assert row.url.startswith(sb.endpoints["erosita"]["dr1"])


def test_dr1_products_only_when_asked(sb: Sandbox):
    manifest = resolve(_box())
    files = manifest.files
    per_tile = files.groupby("obs_id")["category"].value_counts().unstack()
    assert (per_tile["events"] == 1).all() and (per_tile["image"] == 7).all()
    assert (per_tile["exposure_map"] == 7).all() and (per_tile["background_map"] == 4).all()
    for row in files.itertuples():
        version = max(tile_versions(row.obs_id, SEED))
        assert f"/{row.obs_id}/EXP_{version}/" in row.local_path or f"/{row.obs_id}/DET_{version}/" in row.local_path
    assert not files["local_path"].str.contains("SensMap|AreaTab").any()
    image = files[files["category"] == "exposure_map"]["url"].iloc[0]
    with fits.open(io.BytesIO(gzip.decompress(requests.get(image, timeout=30).content))) as hdus:
        assert hdus[0].header["TELESCOP"] == "SRG" and hdus[0].header["BUNIT"] == "s"


def test_dr1_pipeline_version_can_be_chosen(sb: Sandbox):
    old = _dr1(True, pipeline_version=10).files
    assert len(old) and old["local_path"].str.contains(r"/(?:EXP|DET)_010/", regex=True).all()
    missing = _dr1(False, pipeline_version="020")
    single = {t for t in set(_box().filtered_obs_ids) if len(tile_versions(t, SEED)) == 1}
    assert single and set(missing.unavailable["obs_id"]) == single
    assert all("pipeline version 020 is not published" in n for n in missing.unavailable["note"])
    assert all("_c020." in p for p in missing.files["local_path"])


def test_dr1_unknown_tiles_are_unavailable(sb: Sandbox):
    manifest = resolve(pd.DataFrame({"mission": ["erosita_all_sky_de_dr1"], "obs_id": ["999999"]}))
    assert manifest.files.empty and "not in the DR1 download area" in manifest.unavailable["note"].iloc[0]


def test_pick_version_rules():
    paths = ["DET_010/a", "EXP_010/a", "EXP_020/b", "SOU_010/c"]
    assert pick_version(paths) == ("020", ["010", "020"])
    assert pick_version(paths, "010") == ("010", ["010", "020"])
    assert pick_version(paths, "030") == (None, ["010", "020"])
    assert pick_version(["DET_010/a"]) == (None, [])
