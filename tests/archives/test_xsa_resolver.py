"""resolve() of XSA missions: AIO tarballs per observation, level and instrument; sizes; proprietary rows."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.resolvers import resolve
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TARGETS

EPIC = ("M1", "M2", "PN")


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, seed=4, archives=("heasarc", "xsa"), cache=tmp_path_factory.mktemp("res-xsa"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _mixed(proprietary: int, public: int) -> Mission:
    """The mission narrowed to some proprietary and some public observations."""
    mission = Mission("xmm_pointed")
    info = mission.filtered_obs_info
    locked = list(info[~info["proprietary_usable"]]["obs_id"][:proprietary])
    opened = list(info[info["proprietary_usable"]]["obs_id"][:public])
    assert len(locked) == proprietary and len(opened) == public
    mission.filter_on_obs_ids(locked + opened)
    return mission


def test_rows_per_observation_level_and_instrument(sandbox):
    mission = Mission("xmm_pointed")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    info = mission.filtered_obs_info
    manifest = resolve(mission)
    frame = manifest.frame
    assert len(frame) == len(info) * 2 * len(EPIC)  # default instruments: M1, M2, PN; ODF and PPS
    aio = sandbox.endpoints["xsa"]["aio"]
    for obs_id, public in zip(info["obs_id"], info["proprietary_usable"]):
        rows = frame[frame["obs_id"] == obs_id]
        expected = sorted((level, inst) for level in ("ODF", "PPS") for inst in EPIC)
        assert sorted(zip(rows["category"], rows["instrument"])) == expected
        for _, row in rows.iterrows():
            assert row["url"].startswith(aio + "?")
            assert _query(row["url"]) == {"obsno": obs_id, "level": row["category"], "instname": row["instrument"]}
            assert row["local_path"] == f"xmm_pointed/{obs_id}/{obs_id}_{row['category']}_{row['instrument']}.tar.gz"
            assert row["content_type"] == "application/x-gzip"
            if public:
                assert row["size"] > 0 and row["auth_realm"] is None and row["note"] is None
            else:
                assert row["auth_realm"] == "xsa" and "credentials" in row["note"]
    row = manifest.files[manifest.files["size"].notna()].iloc[0]
    body = requests.get(row["url"], timeout=30).content
    assert len(body) == row["size"]
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        assert tar.getnames()  # a real tarball behind the URL


def test_all_instruments_give_one_tarball_per_level_and_raw_only_without_products(sandbox):
    mission = Mission("xmm_pointed")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    ids = set(mission.filtered_obs_info["obs_id"])
    every = resolve(mission, instruments=["M1", "M2", "PN", "OM", "R1", "R2"]).frame
    assert len(every) == 2 * len(ids) and every["instrument"].isna().all()
    assert all("instname" not in _query(u) for u in every["url"])
    assert set(every["local_path"]) == {f"xmm_pointed/{o}/{o}_{lv}.tar.gz" for o in ids for lv in ("ODF", "PPS")}
    raw = resolve(mission, products=False, instruments=["PN"]).frame
    assert set(raw["category"]) == {"ODF"} and set(raw["instrument"]) == {"PN"} and len(raw) == len(ids)


def test_proprietary_rows_are_kept_with_realm_and_note(sandbox):
    mission = _mixed(proprietary=2, public=1)
    info = mission.filtered_obs_info
    manifest = resolve(mission, products=False)
    assert set(manifest.frame["obs_id"]) == set(info["obs_id"]) and manifest.unavailable.empty
    for obs_id, public in zip(info["obs_id"], info["proprietary_usable"]):
        rows = manifest.frame[manifest.frame["obs_id"] == obs_id]
        assert len(rows) == len(EPIC) and rows["url"].notna().all()
        if public:
            assert rows["auth_realm"].isna().all() and rows["size"].notna().all()
        else:
            assert (rows["auth_realm"] == "xsa").all() and rows["size"].isna().all()
            assert all("proprietary until" in n and "AIOUSER" in n for n in rows["note"])


def test_a_401_on_head_marks_the_row(sandbox):
    locked = _mixed(proprietary=1, public=0).filtered_obs_ids[0]
    plain = pd.DataFrame({"mission": ["xmm_pointed"], "obs_id": [locked]})  # no proprietary_usable column
    frame = resolve(plain, products=False, instruments=["PN"]).frame
    assert len(frame) == 1
    assert frame.loc[0, "auth_realm"] == "xsa" and "401" in frame.loc[0, "note"] and pd.isna(frame.loc[0, "size"])


def test_missing_tarballs_become_unavailable_rows(sandbox):
    mission = _mixed(proprietary=0, public=1)
    manifest = resolve(mission, instruments=["OM"])  # the sandbox's PPS has no OM products
    assert list(manifest.files["category"]) == ["ODF"] and manifest.files["size"].notna().all()
    missing = manifest.unavailable
    assert len(missing) == 1 and "no PPS data for instrument OM" in missing.loc[0, "note"]


def test_stored_xsa_credentials_open_proprietary_tarballs(sandbox, monkeypatch):
    import vodaxa
    from vodaxa import auth

    monkeypatch.setenv("VODAXA_XSA_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_XSA_PASSWORD", "correct horse")
    auth.use("xsa", allow_http_loopback=True)
    try:
        mission = _mixed(proprietary=1, public=0)
        manifest = resolve(mission, products=False)
        rows = manifest.frame
        assert (rows["auth_realm"] == "xsa").all() and rows["size"].notna().all()  # HEAD succeeded with them
        assert "correct horse" not in manifest.to_json() and "AIOPWD" not in manifest.to_json()
    finally:
        vodaxa.logout("xsa")
    assert auth.scope().params_for(rows["url"].iloc[0]) == {}


def test_daxa_per_obsid_credentials(sandbox):
    import vodaxa
    from vodaxa import auth

    mission = _mixed(proprietary=2, public=0)
    first, second = mission.filtered_obs_ids[:2]
    auth.use(
        "xsa",
        credentials={
            first: {"user": "astro", "password": "correct horse"},
            second: {"user": "astro", "password": "not it"},
        },
        allow_http_loopback=True,
    )
    try:
        frame = resolve(mission, products=False, instruments=["PN"]).frame.set_index("obs_id")
        assert pd.notna(frame.loc[first, "size"])  # the right PI's password opened it
        assert pd.isna(frame.loc[second, "size"]) and "401" in frame.loc[second, "note"]
    finally:
        vodaxa.logout("xsa")
