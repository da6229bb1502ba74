"""The ESO shape through a plain pyvo client: tap_obs answers equal brute force over the same rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvo
import requests

from vodaxa.config import validate
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso import shape as eso
from vodaxa.sandbox.protocols.faults import FaultInjector
from vodaxa.sandbox.protocols.vo import DATALINK_MIME
from vodaxa.sandbox.settings import ShapeContext
from vodaxa.sandbox.shapes import SHAPES

from ...conftest import separation

ROWS = 300
SEED = 11
NOW_MJD = 61000.0
NOW_ISO = "2025-11-21"  # MJD 61000
DP_ID = re.compile(r"^([A-Z0-9]{2,5})\.(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})$")
SGR_A = (266.41683, -29.00781)
DOR_30 = (84.67665, -69.10093)


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=ROWS, seed=SEED, now_mjd=NOW_MJD, archives=("eso",), cache=tmp_path_factory.mktemp("eso")
    )
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def owner(sb: Sandbox) -> requests.Session:
    """A session with the Bearer token of the account owning the proprietary frames: it sees every row."""
    params = {"grant_type": "password", "client_id": "clientid", "username": "astro", "password": "correct horse"}
    token = requests.get(sb.endpoints["eso"]["token"], params=params, timeout=30).json()["id_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture(scope="module")
def tap(sb: Sandbox, owner: requests.Session) -> pyvo.dal.TAPService:
    """tap_obs as the owner, so answers compare with brute force over every row (anonymous: test_eso_auth)."""
    return pyvo.dal.TAPService(sb.endpoints["eso"]["tap_obs"], session=owner)


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    return eso.generate("raw", ROWS, seed=SEED, now_mjd=NOW_MJD)


@pytest.fixture(scope="module")
def obscore() -> dict[str, np.ndarray]:
    return eso.generate("ObsCore", ROWS, seed=SEED, now_mjd=NOW_MJD)


def _ids(result, column: str = "dp_id") -> set[str]:
    return {str(v) for v in result.to_table()[column]}


def _set(data: dict[str, np.ndarray], mask: np.ndarray, column: str = "dp_id") -> set[str]:
    return {str(v) for v in np.asarray(data[column])[mask]}


def _eq(values: np.ndarray, text: str) -> np.ndarray:
    return np.array([v == text for v in values])


# ------------------------------------------------------------------------------ service and metadata


def test_registered_with_its_endpoints(sb):
    assert SHAPES["eso"] == "vodaxa.sandbox.archives.eso.shape:create"
    assert set(sb.endpoints) == {"eso", "obscore"} and sb.endpoints["eso"]["tap_obs"] == f"{sb.urls['eso']}/tap_obs"
    assert sb.endpoints["obscore"] == {"tap": sb.endpoints["eso"]["tap_obs"]}  # ESO's ObsCore answers for it
    assert set(sb.endpoints["eso"]) == {"tap_obs", "datalink", "calselector", "dataportal", "token"}
    assert validate(sb.endpoints, "sandbox") == sb.endpoints  # names vodaxa.config knows


def test_vosi_lists_both_tables_with_eso_columns(tap):
    tables = tap.tables
    assert {"dbo.raw", "ivoa.ObsCore"} <= set(tables.keys())
    for name, spec in (("dbo.raw", eso.RAW_COLUMNS), ("ivoa.ObsCore", eso.OBSCORE_COLUMNS)):
        columns = {c.name: c for c in tables[name].columns}
        assert list(columns) == [c.name for c in spec]
    raw_cols = {c.name: c for c in tables["dbo.raw"].columns}
    assert len(raw_cols) == 62 and len(tables["ivoa.ObsCore"].columns) == 54
    for name, kind, unit in (
        ("access_estsize", "long", "kbyte"),
        ("dp_id", "char", None),
        ("ra", "double", "deg"),
        ("mjd_obs", "double", "d"),
        ("ob_id", "int", None),
        ("exp_start", "char", None),  # char with xtype timestamp
    ):
        assert raw_cols[name].datatype.content == kind
        assert (raw_cols[name].unit or None) == unit
    core = {c.name: c for c in tables["ivoa.ObsCore"].columns}
    assert core["calib_level"].datatype.content == "int" and core["t_xel"].datatype.content == "long"
    assert core["em_min"].unit == "m" and core["s_fov"].unit == "deg"


def test_timestamp_columns_are_marked(tap):
    result = tap.run_sync("SELECT TOP 3 dp_id, exp_start, release_date, last_mod_date FROM dbo.raw")
    for name in ("exp_start", "release_date", "last_mod_date"):
        assert result.getdesc(name).xtype == "timestamp"
    core = tap.run_sync("SELECT TOP 3 obs_release_date FROM ivoa.ObsCore")
    assert core.getdesc("obs_release_date").xtype == "timestamp"


# ------------------------------------------------------------------------------ the synthetic rows


def test_dp_id_follows_eso_format(raw):
    prefixes = {i.name: i.prefix for i in eso.INSTRUMENTS}
    ids = list(raw["dp_id"])
    assert len(set(ids)) == len(ids) == ROWS
    for dp_id, instrument, start, date_obs, mjd in zip(
        ids, raw["instrument"], raw["exp_start"], raw["date_obs"], raw["mjd_obs"]
    ):
        match = DP_ID.match(dp_id)
        assert match, dp_id
        assert match.group(1) == prefixes[instrument]
        assert np.datetime_as_string(start, unit="ms") == match.group(2)
        assert date_obs.startswith(match.group(2)) and len(date_obs) == len(match.group(2)) + 1
        unix_ms = start.astype("datetime64[ms]").astype(np.int64)
        assert mjd == pytest.approx(40587.0 + unix_ms / 86_400_000.0, abs=1e-7)
    assert {"SINFO", "SPHER", "XSHOO", "FORS2", "MUSE"} <= {DP_ID.match(i).group(1) for i in ids}


def test_categories_instruments_and_release(raw):
    cat, dp_type = raw["dp_cat"], raw["dp_type"]
    assert {"SCIENCE", "CALIB"} <= set(cat)
    assert {"FORS2", "MUSE", "HAWKI", "UVES", "XSHOOTER", "SPHERE"} <= set(raw["instrument"])
    assert {"OBJECT", "SKY"} <= set(dp_type[cat == "SCIENCE"])
    assert {"BIAS", "FLAT,LAMP"} & set(dp_type[cat == "CALIB"])
    now = np.datetime64(NOW_ISO)
    proprietary = raw["release_date"] > now
    assert 0 < proprietary.sum() < 0.5 * ROWS
    assert not (proprietary & (cat == "CALIB")).any()  # calibrations are public at once
    assert (raw["exp_start"] < now).all()
    dome = np.isin(dp_type, ["BIAS", "DARK", "FLAT,LAMP", "WAVE,LAMP"])
    assert np.isnan(raw["ra"][dome]).all() and np.isfinite(raw["ra"][~dome]).all()


def test_science_clusters_around_well_known_targets():
    data = eso.generate("raw", 3000, seed=2, now_mjd=NOW_MJD)
    science = data["dp_cat"] == "SCIENCE"
    for target in eso.TARGETS:
        near = science & (separation(data["ra"], data["dec"], target.ra, target.dec) < 0.3)
        assert near.sum() >= 10, target.name
        assert set(data["object"][near]) <= set(target.spellings)


def test_obscore_values(obscore):
    ids = list(obscore["dp_id"])
    assert len(set(ids)) == len(ids)
    assert all(re.match(r"^ADP\.\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", i) for i in ids)
    assert list(obscore["obs_publisher_did"]) == [f"ivo://eso.org/ID?{i}" for i in ids]
    assert set(obscore["access_format"]) == {DATALINK_MIME}
    assert {"VVV", "MUSE", "HAWKI", "KIDS"} <= set(obscore["obs_collection"])
    assert set(obscore["calib_level"]) <= {1, 2, 3, 4}
    assert (obscore["t_min"] < obscore["t_max"]).all() and (obscore["em_min"] < obscore["em_max"]).all()
    for region, ptype in zip(obscore["s_region"], obscore["dataproduct_type"]):
        assert region.startswith("CIRCLE J2000 " if ptype == "spectrum" else "POLYGON J2000 ")
    released = obscore["obs_release_date"] > np.datetime64(NOW_ISO)
    assert 0 < released.sum() < 0.3 * ROWS


def test_generation_is_deterministic_and_sized(tmp_path: Path):
    a, b = (eso.generate("raw", 120, seed=4, now_mjd=NOW_MJD) for _ in range(2))
    assert all(np.array_equal(a[k], b[k], equal_nan=a[k].dtype == float) for k in a)
    assert list(eso.generate("raw", 120, seed=5, now_mjd=NOW_MJD)["dp_id"]) != list(a["dp_id"])
    assert len(eso.generate("ObsCore", 0)["dp_id"]) == 0
    config = SandboxConfig(rows={"raw": 40, "ObsCore": 25}, seed=1, cache=tmp_path)
    shape = eso.create(ShapeContext(config, NOW_MJD, tmp_path, FaultInjector()))
    try:
        assert len(shape.data["raw"]["dp_id"]) == 40 and len(shape.data["ObsCore"]["dp_id"]) == 25
    finally:
        shape.close()


# ------------------------------------------------------------------------------ queries = brute force


def test_cone_on_raw(tap, raw):
    result = tap.run_sync(
        "SELECT dp_id, ra, dec FROM dbo.raw "
        f"WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {SGR_A[0]}, {SGR_A[1]}, 0.3)) = 1"
    )
    mask = separation(raw["ra"], raw["dec"], *SGR_A) <= 0.3
    assert mask.sum() >= 3
    assert _ids(result) == _set(raw, mask)


def test_cone_on_obscore_s_ra_s_dec(tap, obscore):
    result = tap.run_sync(
        "SELECT dp_id FROM ivoa.ObsCore "
        f"WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {DOR_30[0]}, {DOR_30[1]}, 0.5)) = 1"
    )
    mask = separation(obscore["s_ra"], obscore["s_dec"], *DOR_30) <= 0.5
    assert mask.sum() >= 3
    assert _ids(result) == _set(obscore, mask)


def test_instrument_and_category(tap, raw):
    result = tap.run_sync("SELECT dp_id FROM dbo.raw WHERE instrument = 'MUSE' AND dp_cat = 'SCIENCE'")
    mask = _eq(raw["instrument"], "MUSE") & _eq(raw["dp_cat"], "SCIENCE")
    assert mask.sum() >= 3
    assert _ids(result) == _set(raw, mask)
    flats = tap.run_sync("SELECT dp_id FROM dbo.raw WHERE dp_cat = 'CALIB' AND dp_type LIKE 'FLAT%'")
    mask = _eq(raw["dp_cat"], "CALIB") & np.array([t.startswith("FLAT") for t in raw["dp_type"]])
    assert mask.sum() >= 2
    assert _ids(flats) == _set(raw, mask)


def test_exp_start_and_mjd_obs_windows(tap, raw):
    lo, hi = "2014-01-01", "2020-06-30T12:00:00"
    result = tap.run_sync(f"SELECT dp_id FROM dbo.raw WHERE exp_start BETWEEN '{lo}' AND '{hi}'")
    start = raw["exp_start"]
    mask = (start >= np.datetime64(lo)) & (start <= np.datetime64(hi))
    assert 5 < mask.sum() < ROWS
    assert _ids(result) == _set(raw, mask)
    by_mjd = tap.run_sync("SELECT dp_id FROM dbo.raw WHERE mjd_obs >= 56658 AND mjd_obs < 59030.5")
    mask = (raw["mjd_obs"] >= 56658) & (raw["mjd_obs"] < 59030.5)
    assert _ids(by_mjd) == _set(raw, mask)


def test_release_date_comparisons(tap, raw, obscore):
    now = np.datetime64(NOW_ISO)
    proprietary = tap.run_sync(f"SELECT dp_id FROM dbo.raw WHERE release_date > '{NOW_ISO}'")
    assert _ids(proprietary) == _set(raw, raw["release_date"] > now) != set()
    public = tap.run_sync(f"SELECT dp_id FROM dbo.raw WHERE dp_cat = 'SCIENCE' AND release_date <= '{NOW_ISO}'")
    assert _ids(public) == _set(raw, _eq(raw["dp_cat"], "SCIENCE") & (raw["release_date"] <= now))
    products = tap.run_sync(f"SELECT dp_id FROM ivoa.ObsCore WHERE obs_release_date < '{NOW_ISO}'")
    assert _ids(products) == _set(obscore, obscore["obs_release_date"] < now)


def test_obscore_collection_and_type(tap, obscore):
    result = tap.run_sync(
        "SELECT dp_id FROM ivoa.ObsCore WHERE obs_collection = 'VVV' AND dataproduct_type = 'image' AND t_min > 55500"
    )
    mask = (
        _eq(obscore["obs_collection"], "VVV") & _eq(obscore["dataproduct_type"], "image") & (obscore["t_min"] > 55500)
    )
    assert mask.sum() >= 2
    assert _ids(result) == _set(obscore, mask)


def test_async_equals_sync(tap, raw):
    query = (
        "SELECT dp_id, access_url FROM dbo.raw WHERE dp_cat = 'SCIENCE' AND "
        f"CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {SGR_A[0]}, {SGR_A[1]}, 0.5)) = 1"
    )
    job = tap.submit_job(query)
    job.run()
    job.wait(timeout=30)
    assert job.phase == "COMPLETED"
    result = job.fetch_result()
    job.delete()
    mask = _eq(raw["dp_cat"], "SCIENCE") & (separation(raw["ra"], raw["dec"], *SGR_A) <= 0.5)
    assert mask.sum() >= 3
    assert _ids(result) == _ids(tap.run_sync(query)) == _set(raw, mask)
    assert all(not str(u).startswith(eso.PLACEHOLDER) for u in result.to_table()["access_url"])


# ------------------------------------------------------------------------------ self-referencing URLs


def test_urls_start_with_the_sandbox_base(sb, tap, owner):
    base = sb.urls["eso"]
    rows = tap.run_sync("SELECT dp_id, access_url, datalink_url FROM dbo.raw").to_table()
    assert len(rows) == ROWS
    for dp_id, access, datalink in zip(rows["dp_id"], rows["access_url"], rows["datalink_url"]):
        assert access == f"{base}/dataPortal/file/{dp_id}"
        assert datalink == f"{base}/datalink/links?ID=ivo://eso.org/ID?{dp_id}"
    core = tap.run_sync("SELECT dp_id, access_url, preview_html, obs_publisher_did FROM ivoa.ObsCore").to_table()
    for dp_id, access, preview, did in zip(
        core["dp_id"], core["access_url"], core["preview_html"], core["obs_publisher_did"]
    ):
        assert access == f"{base}/datalink/links?ID={did}" and did == f"ivo://eso.org/ID?{dp_id}"
        assert preview.startswith(base + "/")
    body = owner.post(
        f"{base}/tap_obs/sync",
        data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT * FROM dbo.raw"},
        timeout=30,
    ).text
    assert eso.PLACEHOLDER not in body and body.count(f"{base}/dataPortal/file/") == ROWS


def test_served_urls_can_be_queried_back(sb, tap, raw):
    base = sb.urls["eso"]
    dp_id = str(raw["dp_id"][7])
    url = f"{base}/datalink/links?ID=ivo://eso.org/ID?{dp_id}"
    result = tap.run_sync(
        f"SELECT dp_id, 'see ' || access_url AS note FROM dbo.raw WHERE datalink_url = '{url}'"
    ).to_table()
    assert list(result["dp_id"]) == [dp_id]
    assert result["note"][0] == f"see {base}/dataPortal/file/{dp_id}"  # rewritten inside expressions too
    like = tap.run_sync(f"SELECT dp_id FROM dbo.raw WHERE access_url LIKE '{base}/dataPortal/file/MUSE.%'")
    assert _ids(like) == _set(raw, _eq(raw["instrument"], "MUSE"))
