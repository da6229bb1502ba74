"""Issue 16: the ObsCore archive against a real ObsCore service (DaCHS's ivoa.obscore, DataLink in access_url):
searched on the server, resolved through DataLink, downloaded and verified; proprietary rows said, not lost."""

from __future__ import annotations

import time
from typing import Any

import pytest

import vodaxa
from vodaxa import archives
from vodaxa.archives import obscore
from vodaxa.specs import registry as specs

pytestmark = pytest.mark.integration

COLLECTION = "VODAXA-NUSTAR"
MJD_UNIX = 40587.0


@pytest.fixture
def dachs_obscore(dachs_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """DaCHS's ObsCore table registered as archive and mission ``dachs`` (registries restored after)."""
    monkeypatch.setattr(archives, "_REGISTRY", dict(archives.by_name()))
    specs.specs()
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    obscore.service("dachs", dachs_url + "/tap", collection=COLLECTION, fov=6.5 / 60)
    return "dachs"


def _public(row: dict[str, Any]) -> bool:
    return row["public_date"] is not None and row["public_date"] <= time.time() / 86400 + MJD_UNIX


def test_the_whole_collection_comes_back_with_obscore_columns(dachs_obscore, numaster_rows):
    table = vodaxa.mission(dachs_obscore).all_obs_info
    assert sorted(table["obs_id"]) == sorted(r["pubdid"] for r in numaster_rows)
    assert set(table["obs_collection"]) == {COLLECTION}
    assert set(table["access_format"]) == {"application/x-votable+xml;content=datalink"}


def test_a_cone_runs_on_the_server(dachs_obscore, numaster_rows):
    row = numaster_rows[0]
    mission = vodaxa.mission(dachs_obscore)
    mission.filter_on_positions([row["ra"], row["dec"]], search_distance=0.01)
    assert row["pubdid"] in set(mission.filtered_obs_ids) and len(mission.filtered_obs_ids) < len(numaster_rows)


def test_resolve_and_download_every_public_observation_and_say_why_not_the_others(dachs_obscore, numaster_rows,
                                                                                  tmp_path):  # fmt: skip
    sample = numaster_rows[:12]
    mission = vodaxa.mission(dachs_obscore)
    mission.filter_on_obs_ids([r["pubdid"] for r in sample])
    manifest = vodaxa.resolve(mission)
    files = manifest.frame[manifest.frame["url"].notna()]
    public = {r["pubdid"] for r in sample if _public(r)}
    assert set(files["obs_id"]) == public
    assert all(p.endswith("/events.fits") for p in files["local_path"])
    assert set(manifest.unavailable["obs_id"]) == {r["pubdid"] for r in sample} - public
    assert all("proprietary" in str(n) for n in manifest.unavailable["note"])
    report = vodaxa.download(files, tmp_path)
    assert len(report.ok) == len(public) and report.failed.empty
    assert all((tmp_path / p).stat().st_size > 0 for p in files["local_path"])


def test_semantics_choose_the_documentation_too(dachs_obscore, numaster_rows):
    mission = vodaxa.mission(dachs_obscore)
    mission.filter_on_obs_ids([numaster_rows[0]["pubdid"]])
    every = vodaxa.resolve(mission, semantics="*").frame
    assert "#documentation" in set(every["semantics"])
