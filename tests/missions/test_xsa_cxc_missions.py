"""XMM from the XSA (default source, with HEASARC fallback) and Chandra from the CXC, against brute force."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.sandbox.archives.cxc import shape as cxc
from vodaxa.sandbox.archives.heasarc.tables import TARGETS
from vodaxa.sandbox.archives.xsa import shape as xsa

from .conftest import NOW_MJD, ROWS, SEED, base, table


def _xsa() -> pd.DataFrame:
    df = pd.DataFrame(xsa.tables(ROWS, seed=SEED, now_mjd=NOW_MJD)["v_all_observations"])
    df = df[df["ra"].notna() & df["dec"].notna() & ~((df["ra"] == 0) & (df["dec"] == 0))]
    df = df[df["with_science"].astype(bool)]
    return df.assign(obs_id=df["observation_id"].astype(str))


def _cxc() -> pd.DataFrame:
    df = pd.DataFrame(cxc.table(ROWS, seed=SEED, now_mjd=NOW_MJD))
    df = df[(df["status"] == "archived") & (df["grating"] == "NONE")]
    start = pd.to_datetime(df["start_date"], utc=True)
    return df.assign(
        obs_id=df["obsid"].astype(str),
        _start=start,
        _end=start + pd.to_timedelta(df["exposure_time"] * 1000.0, unit="s"),
    )


def _sep(df: pd.DataFrame, ra: float, dec: float) -> np.ndarray:
    return SkyCoord(df["ra"].to_numpy(), df["dec"].to_numpy(), unit="deg").separation(SkyCoord(ra, dec, unit="deg")).deg


def test_xmm_defaults_to_the_xsa(sandbox):
    mission = Mission("xmm_pointed")
    assert mission.spec.archive == "xsa"
    expected = _xsa()
    assert set(mission.filtered_obs_ids) == set(expected["obs_id"])
    info = mission.filtered_obs_info
    assert str(info["start"].dt.tz) == "UTC" and (info["duration"] > pd.Timedelta(0)).all()


def test_xmm_positions_and_time_on_xsa(sandbox):
    expected = _xsa()
    ra, dec = TARGETS[3][1], TARGETS[3][2]
    mission = Mission("xmm_pointed")
    mission.filter_on_positions([ra, dec])
    want = expected[_sep(expected, ra, dec) <= 1.2 * 15 / 60]
    assert set(mission.filtered_obs_ids) == set(want["obs_id"]) and len(want) > 0
    start = pd.to_datetime(expected["start_utc"], utc=True)
    lo, hi = start.quantile(0.2), start.quantile(0.7)
    timed = Mission("xmm_pointed")
    timed.filter_on_time(lo.to_pydatetime(), hi.to_pydatetime(), over_run=False)
    end = pd.to_datetime(expected["end_utc"], utc=True)
    assert set(timed.filtered_obs_ids) == set(expected[(start >= lo) & (end <= hi)]["obs_id"])


def test_xmm_falls_back_to_heasarc_when_the_xsa_is_down(sandbox):
    broken = {**sandbox.endpoints, "xsa": {"tap": "http://127.0.0.1:9/tap-server/tap"}}
    with endpoints.override(broken), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mission = Mission("xmm_pointed")
        ids = set(mission.filtered_obs_ids)
    assert mission.name == mission.spec.name == "xmm_pointed"  # the mission stays itself (issue 16)
    assert mission.answered_by == "xmm_pointed_heasarc"  # and says where the answer came from
    assert any("using heasarc instead" in str(w.message) for w in caught)
    assert ids == set(base("xmm_pointed_heasarc")["obs_id"])


def test_chandra_from_the_cxc(sandbox):
    expected = _cxc()
    mission = Mission("chandra", source="cxc")
    assert set(mission.filtered_obs_ids) == set(expected["obs_id"])
    ra, dec = TARGETS[1][1], TARGETS[1][2]
    near_cxc = Mission("chandra", source="cxc")
    near_cxc.filter_on_positions([ra, dec])
    limit = np.where(expected["instrument"].str.startswith("ACIS"), 1.2 * 27.8 / 60, 1.2 * 49.5 / 60)
    assert set(near_cxc.filtered_obs_ids) == set(expected[_sep(expected, ra, dec) <= limit]["obs_id"])
    chanmaster = {str(o) for o in table("chanmaster")["obsid"]}
    assert set(expected["obs_id"]) <= chanmaster  # the CXC and HEASARC describe the same observations


@pytest.mark.parametrize("over_run", [True, False])
def test_chandra_cxc_time_window_refined_locally(sandbox, over_run):
    """cxc.observation has no end column: the server gets a superset, vodaxa refines it exactly."""
    expected = _cxc()
    lo = datetime(2008, 1, 1, tzinfo=timezone.utc)
    hi = datetime(2016, 6, 1, tzinfo=timezone.utc)
    mission = Mission("chandra", source="cxc")
    mission.filter_on_time(lo, hi, over_run=over_run)
    s, e = expected["_start"], expected["_end"]
    mask = (s <= hi) & (e >= lo) if over_run else (s >= lo) & (e <= hi)
    assert set(mission.filtered_obs_ids) == set(expected[mask]["obs_id"]) and mask.sum() > 0
