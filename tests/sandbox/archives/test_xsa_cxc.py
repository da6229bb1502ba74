"""Plain pyvo against the sandbox's XSA and CXC shapes: answers equal brute force over the derived data."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import pyvo

from vodaxa.config import endpoints
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.cxc import shape as cxc
from vodaxa.sandbox.archives.heasarc.tables import generate
from vodaxa.sandbox.archives.xsa import shape as xsa

from ..conftest import separation

ROWS = 300
SEED = 11
NOW_MJD = 61000.0
CRAB = (83.63308, 22.0145)


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """HEASARC, XSA and CXC from one config, so their tables derive from the same synthetic rows."""
    config = SandboxConfig(
        rows=ROWS,
        seed=SEED,
        now_mjd=NOW_MJD,
        archives=("heasarc", "xsa", "cxc"),
        cache=tmp_path_factory.mktemp("xsa-cxc"),
    )
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def xsa_tap(sb: Sandbox) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(sb.endpoints["xsa"]["tap"])


@pytest.fixture(scope="module")
def cxc_tap(sb: Sandbox) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(sb.endpoints["cxc"]["tap"])


@pytest.fixture(scope="module")
def heasarc_tap(sb: Sandbox) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(sb.endpoints["heasarc"]["tap"])


@pytest.fixture(scope="module")
def xsa_data() -> dict[str, dict[str, np.ndarray]]:
    """XSA's tables, computed independently of the server."""
    return xsa.tables(ROWS, seed=SEED, now_mjd=NOW_MJD)


@pytest.fixture(scope="module")
def cxc_data() -> dict[str, np.ndarray]:
    """cxc.observation, computed independently of the server."""
    return cxc.table(ROWS, seed=SEED, now_mjd=NOW_MJD)


def _ids(result, column: str) -> set[str]:
    return {str(v) for v in result.to_table()[column]}


def _set(data, mask, column: str) -> set[str]:
    return {str(v) for v in np.asarray(data[column])[mask]}


def _stamps(values) -> np.ndarray:
    """Timestamps from a VOTable column (ISO text, masked for NULL) as datetime64 (NaT for NULL)."""
    return np.array([str(v) if v else "NaT" for v in np.ma.filled(values, "")], dtype="datetime64[us]")


# ----------------------------------------------------------------------------------- endpoints


def test_endpoints_name_xsa_and_cxc_and_override_accepts_them(sb):
    eps = sb.endpoints
    assert eps["xsa"] == {
        "tap": sb.urls["xsa"] + "/tap-server/tap",
        "aio": sb.urls["xsa"] + "/nxsa-sl/servlet/data-action-aio",
    }
    assert eps["cxc"] == {
        "tap": sb.urls["cxc"] + "/cxctap",
        "cdaftp": sb.urls["cxc"] + "/cdaftp/",
        "scs": sb.urls["cxc"] + "/cxcscs/coneSearch",
    }
    assert len({sb.urls[a] for a in ("heasarc", "xsa", "cxc")}) == 3  # three origins
    with endpoints.override(eps):
        assert endpoints.get("xsa", "tap") == eps["xsa"]["tap"]
        assert endpoints.get("cxc", "tap") == eps["cxc"]["tap"]
        assert endpoints.get("xsa", "aio") == eps["xsa"]["aio"]  # the sandbox serves the AIO servlet too


# ----------------------------------------------------------------------------------- VOSI


def test_vosi_tables_list_columns(xsa_tap, cxc_tap):
    tables = xsa_tap.tables
    assert {"xsa.v_all_observations", "xsa.v_public_observations"} <= {t.name for t in tables}
    names = [c.name for c in tables["xsa.v_all_observations"].columns]
    assert names == [c.name for c in xsa.ALL_COLUMNS]
    assert {"ra", "dec", "observation_id", "start_utc", "end_utc", "with_science", "duration"} <= set(names)
    assert {"proprietary_end_date", "revolution", "observation_oid"} <= set(names)
    assert "target" in [c.name for c in tables["xsa.v_public_observations"].columns]
    cols = {c.name: c for c in cxc_tap.tables["cxc.observation"].columns}
    assert list(cols) == [c.name for c in cxc.COLUMNS]
    assert cols["exposure_time"].unit == "ks" and cols["ra"].unit == "deg"
    types = xsa_tap.run_sync(
        "SELECT column_name, datatype FROM TAP_SCHEMA.columns WHERE table_name = 'xsa.v_all_observations'"
    ).to_table()
    kinds = dict(zip(types["column_name"], types["datatype"]))
    assert kinds["start_utc"] == kinds["proprietary_end_date"] == "timestamp"
    assert kinds["with_science"] == "boolean" and kinds["observation_id"] == "char"


# ----------------------------------------------------------------------------------- XSA


def test_xsa_daxa_query_unqualified_returns_every_row(xsa_tap, xsa_data):
    v_all = xsa_data["v_all_observations"]
    count = xsa_tap.run_sync("select count(observation_id) AS n from xsa.v_all_observations").to_table()
    assert int(count["n"][0]) == len(v_all["observation_id"])
    result = xsa_tap.run_sync(
        "select TOP 1000 ra, dec, observation_id, start_utc, with_science, duration, proprietary_end_date, "
        "revolution from v_all_observations"
    ).to_table()
    assert sorted(map(str, result["observation_id"])) == sorted(v_all["observation_id"])
    by_id = {str(o): i for i, o in enumerate(v_all["observation_id"])}
    index = np.array([by_id[str(o)] for o in result["observation_id"]])
    assert np.array_equal(_stamps(result["start_utc"]), v_all["start_utc"][index])
    got_prop = _stamps(result["proprietary_end_date"])
    assert np.array_equal(np.isnat(got_prop), np.isnat(v_all["proprietary_end_date"][index]))
    assert list(np.asarray(result["with_science"], dtype=bool)) == list(v_all["with_science"][index])
    assert np.isnan(v_all["ra"]).any() and np.isnat(v_all["proprietary_end_date"]).any()
    assert 0 < (~v_all["with_science"]).sum() < len(index)


def test_xsa_cone_and_time_window(xsa_tap, xsa_data):
    v_all = xsa_data["v_all_observations"]
    query = (
        "SELECT observation_id FROM xsa.v_all_observations WHERE "
        f"CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 0.5)) = 1"
    )
    sep = separation(v_all["ra"], v_all["dec"], *CRAB)
    cone = np.nan_to_num(sep, nan=999.0) <= 0.5
    assert cone.sum() > 2
    assert _ids(xsa_tap.run_sync(query), "observation_id") == _set(v_all, cone, "observation_id")
    window = xsa_tap.run_sync(
        "SELECT observation_id, start_utc FROM xsa.v_all_observations "
        "WHERE start_utc >= '2015-01-01T00:00:00' AND end_utc < '2020-01-01T00:00:00' AND with_science = 1"
    )
    mask = (
        (v_all["start_utc"] >= np.datetime64("2015-01-01T00:00:00"))
        & (v_all["end_utc"] < np.datetime64("2020-01-01T00:00:00"))
        & v_all["with_science"]
    )
    assert mask.sum() > 10
    assert _ids(window, "observation_id") == _set(v_all, mask, "observation_id")


def test_xsa_public_view_is_the_released_subset(xsa_tap, xsa_data):
    v_all, public = xsa_data["v_all_observations"], xsa_data["v_public_observations"]
    now = np.datetime64("1858-11-17T00:00:00") + np.timedelta64(int(NOW_MJD), "D")
    released = ~np.isnat(v_all["proprietary_end_date"]) & (v_all["proprietary_end_date"] <= now)
    assert 0 < released.sum() < len(released)
    result = xsa_tap.run_sync("SELECT observation_id, target FROM v_public_observations")
    assert _ids(result, "observation_id") == _set(v_all, released, "observation_id")
    assert set(public["observation_id"]) == _set(v_all, released, "observation_id")
    crab = xsa_tap.run_sync("SELECT observation_id FROM xsa.v_public_observations WHERE target = 'Crab'")
    assert _ids(crab, "observation_id") == _set(public, public["target"] == "Crab", "observation_id")


def test_xsa_async_ids_in_equals_sync(xsa_tap, xsa_data):
    v_all = xsa_data["v_all_observations"]
    chosen = list(v_all["observation_id"][::29])
    quoted = ", ".join(f"'{o}'" for o in chosen)
    query = f"SELECT observation_id, revolution FROM xsa.v_all_observations WHERE observation_id IN ({quoted})"
    job = xsa_tap.submit_job(query)
    job.run()
    job.wait(timeout=30)
    assert job.phase == "COMPLETED"
    result = job.fetch_result().to_table()
    job.delete()
    assert {str(o) for o in result["observation_id"]} == set(chosen)
    assert _ids(xsa_tap.run_sync(query), "observation_id") == set(chosen)
    expected = dict(zip(v_all["observation_id"], v_all["revolution"]))
    assert all(int(r) == expected[str(o)] for o, r in zip(result["observation_id"], result["revolution"]))


def test_xsa_and_heasarc_agree_on_shared_observations(xsa_tap, heasarc_tap):
    heasarc = heasarc_tap.run_sync(
        "SELECT obsid, ra, dec, time, duration, public_date, xmm_revolution, status FROM xmmmaster"
    ).to_table()
    xmm = xsa_tap.run_sync(
        "SELECT observation_id, ra, dec, start_utc, end_utc, duration, proprietary_end_date, revolution "
        "FROM xsa.v_all_observations"
    ).to_table()
    performed = {str(o) for o, s in zip(heasarc["obsid"], heasarc["status"]) if s != "scheduled"}
    in_xsa = {str(o) for o in xmm["observation_id"]}
    assert in_xsa & {str(o) for o in heasarc["obsid"]} == performed
    assert all(o.startswith("05") for o in in_xsa - performed) and in_xsa - performed
    h = {str(o): i for i, o in enumerate(heasarc["obsid"])}
    mjd0 = np.datetime64("1858-11-17T00:00:00", "us")
    start = (_stamps(xmm["start_utc"]) - mjd0) / np.timedelta64(1, "D")
    prop = (_stamps(xmm["proprietary_end_date"]) - mjd0) / np.timedelta64(1, "D")
    length = (_stamps(xmm["end_utc"]) - _stamps(xmm["start_utc"])) / np.timedelta64(1, "s")
    xra, xdec = np.ma.filled(xmm["ra"], np.nan), np.ma.filled(xmm["dec"], np.nan)
    checked = 0
    for k, obsid in enumerate(map(str, xmm["observation_id"])):
        if obsid not in h:
            continue
        i = h[obsid]
        hra, hdec = float(heasarc["ra"][i]), float(heasarc["dec"][i])
        if hra == 0.0 and hdec == 0.0:
            assert np.isnan(xra[k]) and np.isnan(xdec[k])
        else:
            assert (xra[k], xdec[k]) == (hra, hdec)
        assert start[k] == pytest.approx(float(heasarc["time"][i]), abs=1e-5)
        assert prop[k] == pytest.approx(float(heasarc["public_date"][i]), abs=1e-5)
        assert int(xmm["duration"][k]) == round(float(heasarc["duration"][i])) == length[k]
        assert int(xmm["revolution"][k]) == int(heasarc["xmm_revolution"][i])
        checked += 1
    assert checked == len(performed)


# ----------------------------------------------------------------------------------- CXC


def test_cxc_obsids_equal_chanmaster(cxc_tap, heasarc_tap, cxc_data):
    got = _ids(cxc_tap.run_sync("SELECT obsid FROM cxc.observation"), "obsid")
    chan = _ids(heasarc_tap.run_sync("SELECT obsid FROM chanmaster"), "obsid")
    assert got == chan == {str(o) for o in generate("chanmaster", ROWS, seed=SEED, now_mjd=NOW_MJD)["obsid"]}
    assert len(got) == ROWS == len(cxc_data["obsid"])


def test_cxc_cone_time_window_and_status(cxc_tap, cxc_data):
    obs = cxc_data
    result = cxc_tap.run_sync(
        "SELECT o.obsid FROM cxc.observation o WHERE "
        f"CONTAINS(POINT('ICRS', o.ra, o.dec), CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 0.5)) = 1"
    )
    cone = separation(obs["ra"], obs["dec"], *CRAB) <= 0.5
    assert cone.sum() > 2
    assert _ids(result, "obsid") == _set(obs, cone, "obsid")
    window = cxc_tap.run_sync(
        "SELECT obsid FROM cxc.observation WHERE start_date >= '2010-06-01T00:00:00' "
        "AND start_date < '2021-01-01' AND status = 'archived' AND exposure_time < 50"
    )
    mask = (
        (obs["start_date"] >= np.datetime64("2010-06-01"))
        & (obs["start_date"] < np.datetime64("2021-01-01"))
        & (obs["status"] == "archived")
        & (np.nan_to_num(obs["exposure_time"], nan=1e9) < 50)
    )
    assert mask.sum() > 10
    assert _ids(window, "obsid") == _set(obs, mask, "obsid")
    pending = cxc_tap.run_sync("SELECT obsid FROM cxc.observation WHERE start_date IS NULL")
    not_taken = np.isin(obs["status"], cxc.NOT_TAKEN)
    assert not_taken.any() and _ids(pending, "obsid") == _set(obs, not_taken, "obsid")


def test_cxc_async_ids_in_equals_sync(cxc_tap, cxc_data):
    chosen = [int(o) for o in cxc_data["obsid"][::17]]
    query = (
        f"SELECT obsid, target_name, exposure_time FROM cxc.observation WHERE obsid IN ({', '.join(map(str, chosen))})"
    )
    result = cxc_tap.run_async(query, timeout=30).to_table()
    assert {int(o) for o in result["obsid"]} == set(chosen)
    assert _ids(cxc_tap.run_sync(query), "obsid") == {str(o) for o in chosen}
    names = dict(zip(cxc_data["obsid"].tolist(), cxc_data["target_name"]))
    assert all(names[int(o)] == str(t) and " " not in str(t) for o, t in zip(result["obsid"], result["target_name"]))


def test_cxc_matches_chanmaster_columns(cxc_data):
    ch = generate("chanmaster", ROWS, seed=SEED, now_mjd=NOW_MJD)
    order = np.argsort(ch["obsid"], kind="stable")
    assert np.array_equal(cxc_data["obsid"], ch["obsid"][order])
    assert np.array_equal(cxc_data["ra"], ch["ra"][order]) and list(cxc_data["instrument"]) == list(
        ch["detector"][order]
    )
    taken = ~np.isin(cxc_data["status"], cxc.NOT_TAKEN)
    assert np.allclose(cxc_data["exposure_time"][taken] * 1000.0, ch["exposure"][order][taken])
    assert set(cxc_data["status"]) <= {"archived", "observed", "scheduled", "unobserved", "untriggered"}
    hrc = np.char.startswith(cxc_data["instrument"].astype(str), "HRC")
    assert all(m is None for m in cxc_data["exposure_mode"][hrc])
    assert set(cxc_data["exposure_mode"][~hrc]) <= {"TE", "CC"}
