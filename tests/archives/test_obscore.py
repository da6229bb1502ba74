"""Issue 16: any ObsCore TAP service as a source of missions, added in one folder (vodaxa/archives/obscore)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

import vodaxa
from vodaxa import archives
from vodaxa.archives import obscore
from vodaxa.config import endpoints
from vodaxa.errors import InputError, ResolveError
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.specs import registry as specs


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=150, seed=5, archives=("eso",), cache=tmp_path_factory.mktemp("obscore"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def service(sb, monkeypatch) -> Iterator[str]:
    """The sandbox's ESO ivoa.ObsCore registered as an ObsCore service of its own, registries restored after."""
    monkeypatch.setattr(archives, "_REGISTRY", dict(archives.by_name()))
    specs.specs()
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        obscore.service("phase3", endpoints.get("eso", "tap_obs"), fov=0.1)
        yield "phase3"


def test_a_service_is_an_archive_and_a_mission_of_its_own(service, sb):
    archive = archives.get(service)
    assert archive.endpoints == {"tap": sb.endpoints["eso"]["tap_obs"]} and archive.resolver == ".resolver:resolve"
    assert endpoints.get(service, "tap") == sb.endpoints["eso"]["tap_obs"]
    spec = specs.get(service)
    assert spec.archive == service and spec.table == "ivoa.ObsCore" and not spec.listed
    assert service not in specs.names()  # not searched by "all" unless listed=True


def test_an_obscore_mission_is_searched_on_the_server_and_resolved_through_datalink(service):
    mission = vodaxa.mission(service)
    everything = mission.all_obs_info
    assert len(everything) > 10 and everything["obs_id"].is_unique
    assert {"obs_collection", "access_url", "access_format"} <= set(everything.columns)
    first = everything.iloc[0]
    mission.filter_on_positions([first["ra"], first["dec"]], search_distance=0.01)
    assert first["obs_id"] in set(mission.filtered_obs_ids)
    manifest = vodaxa.resolve(mission)
    files = manifest.frame[manifest.frame["url"].notna()]
    assert set(files["mission"]) == {service} and set(files["obs_id"]) <= set(mission.filtered_obs_ids)
    assert all(p.split("/", 1)[0] == obscore.resolver.folder(o) for p, o in zip(files["local_path"], files["obs_id"]))
    assert set(files["obs_id"]) | set(manifest.unavailable["obs_id"]) == set(mission.filtered_obs_ids)


def test_the_same_products_through_eso_and_through_obscore_are_the_same_files(service):
    ids = vodaxa.mission(service).all_obs_info["obs_id"].head(6)
    generic = vodaxa.resolve(vodaxa.mission(service).all_obs_info.head(6)).frame
    dp_ids = [i.rsplit("?", 1)[-1] for i in ids]
    eso = vodaxa.mission("eso_products")
    eso.filter_on_obs_ids(dp_ids)
    via_eso = vodaxa.resolve(eso).frame
    assert sorted(generic["url"].dropna()) == sorted(via_eso["url"].dropna())


def test_a_collection_is_a_cut_on_the_server(service, sb):
    everything = vodaxa.mission(service).all_obs_info
    collection = str(everything["obs_collection"].mode()[0])
    obscore.service("one_collection", endpoints.get("eso", "tap_obs"), collection=collection)
    kept = vodaxa.mission("one_collection").all_obs_info
    assert 0 < len(kept) < len(everything) and set(kept["obs_collection"]) == {collection}


def test_rows_whose_access_url_is_the_file_itself_are_named_by_their_observation(service, sb):
    url = sb.endpoints["eso"]["dataportal"] + "ADP.2020-01-01T00:00:00.000"
    frame = pd.DataFrame({
        "mission": [service] * 2, "obs_id": ["ivo://x.org/obs?a/b", "ivo://x.org/obs?c"],
        "access_url": [url, None], "access_format": ["image/fits", "image/fits"],
    })  # fmt: skip
    manifest = vodaxa.resolve(frame)
    rows = manifest.frame.set_index("obs_id")
    assert rows.loc["ivo://x.org/obs?a/b", "local_path"].startswith("a_b/")
    assert "ivo://x.org/obs?c" in set(manifest.unavailable["obs_id"])  # no URL: said, not dropped


def test_options_of_other_archives_are_refused_and_semantics_pass(service):
    frame = vodaxa.mission(service).all_obs_info.head(2)
    with pytest.raises(ResolveError, match="filetypes/exclude select Chandra files; they do not apply to phase3"):
        vodaxa.resolve(frame, filetypes=["evt2"])
    everything = vodaxa.resolve(frame, semantics="*").frame
    assert len(everything) >= len(vodaxa.resolve(frame).frame)


@pytest.mark.parametrize("name", ["Phase3", "2mass", "a-b", ""])
def test_a_service_name_must_be_a_plain_lower_case_identifier(name):
    with pytest.raises(InputError, match="lower-case Python identifier"):
        obscore.service(name, "https://example.org/tap")


def test_the_builtin_obscore_mission_is_answered_by_the_sandbox(sb, monkeypatch):
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    assert sb.endpoints["obscore"] == {"tap": sb.endpoints["eso"]["tap_obs"]}
    with endpoints.override(sb.endpoints):
        table = vodaxa.mission("obscore").all_obs_info
        assert len(table) > 10 and set(table["mission"]) == {"obscore"}
        manifest = vodaxa.resolve(table.head(2))
    assert set(manifest.frame["mission"]) == {"obscore"} and len(manifest.frame) >= 2
