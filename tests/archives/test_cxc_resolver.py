"""Chandra by CIAO file type from the CDA's byobsid tree (and from HEASARC as a mirror)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vodaxa import Mission
from vodaxa.archives.cxc.resolver import KNOWN_FILE_TYPES, file_type, select_types
from vodaxa.config import endpoints
from vodaxa.errors import ResolveError
from vodaxa.resolvers import resolve
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TARGETS


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, seed=5, archives=("heasarc", "cxc"), cache=tmp_path_factory.mktemp("chandra"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("oif.fits", "oif"),
        ("00README", "readme"),
        ("acisf01843N003_evt2.fits.gz", "evt2"),
        ("acisf01843_000N003_evt1a.fits.gz", "evt1a"),
        ("acisf01843_000N003_evt1.fits.gz", "evt1"),
        ("pcadf01843_000N001_asol1.fits.gz", "asol"),
        ("axaff01843N003_VV001_vv2.pdf", "vv"),
        ("axaff01843N003_VV001_vvref2.pdf", "vvref"),
        ("primary/acisf01843N003_full_img2.jpg", "full_img"),
        ("something.txt", None),
    ],
)
def test_file_types_most_specific_first(name, kind):
    assert file_type(name) == kind


def test_type_selection():
    paths = ["oif.fits", "a_evt2.fits.gz", "b_evt1.fits.gz", "notes.txt", "c_vvref2.pdf"]
    assert select_types(paths, None, None) == paths
    assert select_types(paths, ["evt2", "oif"], None) == ["oif.fits", "a_evt2.fits.gz"]
    assert select_types(paths, None, ["vvref"]) == ["oif.fits", "a_evt2.fits.gz", "b_evt1.fits.gz", "notes.txt"]
    assert select_types(paths, ["evt1", "evt2"], ["evt1"]) == ["a_evt2.fits.gz"]
    with pytest.raises(ResolveError, match=r"unknown Chandra file type.*evt3.*valid: oif"):
        select_types(paths, ["evt3"], None)
    assert "readme" in KNOWN_FILE_TYPES


def test_cxc_source_by_file_type(sandbox):
    mission = Mission("chandra", source="cxc")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    manifest = resolve(mission, filetypes=["evt2", "asol", "oif"])
    files = manifest.files
    assert len(files) > 0 and set(files["category"]) <= {"evt2", "asol", "oif"}
    assert files["url"].str.contains("/cdaftp/byobsid/").all()
    for obs_id in set(files["obs_id"]):
        rows = files[files["obs_id"] == obs_id]
        assert (rows["category"] == "oif").sum() == 1 and (rows["category"] == "evt2").sum() >= 1
        assert rows["local_path"].str.startswith(f"chandra/{obs_id}/").all()
        assert rows["url"].str.contains(f"/byobsid/{obs_id[-1]}/{obs_id}/").all()


def test_heasarc_as_a_mirror_gives_the_same_files(sandbox):
    mission = Mission("chandra", source="cxc")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    cda = resolve(mission, exclude=["vvref", "vv"]).files
    mirror = sandbox.endpoints["heasarc"]["ftp"] + "chandra/data"
    heasarc = resolve(mission, exclude=["vvref", "vv"], mirror=mirror).files
    assert sorted(cda["local_path"]) == sorted(heasarc["local_path"])
    assert not cda["local_path"].str.endswith("vv2.pdf").any()
    with pytest.raises(ResolveError, match="mirror must be an http"):
        resolve(mission, filetypes=["evt2"], mirror="ftp://example/")


def test_proprietary_obsids_are_listed(sandbox):
    mission = Mission("chandra", source="cxc")
    info = mission.filtered_obs_info
    private = info[~info["proprietary_usable"]]["obs_id"][:2].tolist()
    if not private:
        pytest.skip("no proprietary Chandra rows in this sandbox")
    mission.filter_on_obs_ids(private)
    manifest = resolve(mission, filetypes=["evt2"])
    assert set(manifest.unavailable["obs_id"]) == set(private) and manifest.files.empty
