"""ESO raw frames (dbo.raw) and Phase 3 products (ivoa.ObsCore) through the mission API, against brute force."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.archives.eso.missions import FOV
from vodaxa.errors import VodaxaError
from vodaxa.sandbox.archives.eso import shape as eso

from .conftest import NOW_MJD, ROWS, SEED

SGR_A = (266.4168, -29.0078)


def _raw() -> pd.DataFrame:
    df = pd.DataFrame(eso.generate("raw", ROWS, seed=SEED, now_mjd=NOW_MJD))
    keep = (df["dp_cat"] == "SCIENCE") & df["instrument"].isin(list(FOV))
    keep &= df["release_date"] <= pd.Timestamp((NOW_MJD - 40587.0) * 86400, unit="s")  # anonymous: public only
    return df[keep].assign(obs_id=lambda d: d["dp_id"])


def _products() -> pd.DataFrame:
    df = pd.DataFrame(eso.generate("ObsCore", ROWS, seed=SEED, now_mjd=NOW_MJD))
    return df[df["instrument_name"].isin(list(FOV))].assign(obs_id=lambda d: d["dp_id"])


def _near(df: pd.DataFrame, ra: str, dec: str, instrument: str, target: tuple[float, float]) -> pd.Series:
    ok = df[ra].notna() & df[dec].notna()
    sep = np.full(len(df), np.inf)
    coords = SkyCoord(df.loc[ok, ra].to_numpy(), df.loc[ok, dec].to_numpy(), unit="deg")
    sep[ok.to_numpy()] = coords.separation(SkyCoord(*target, unit="deg")).deg
    limit = df[instrument].map(lambda i: 1.2 * FOV[i]).to_numpy()
    return pd.Series(sep <= limit, index=df.index)


def _utc(mjd: float) -> datetime:
    return datetime.fromtimestamp((mjd - 40587.0) * 86400, timezone.utc)


def test_raw_frames_near_sgr_a(sandbox):
    expected = _raw()
    mission = Mission("eso")
    mission.filter_on_positions(list(SGR_A))
    want = set(expected[_near(expected, "ra", "dec", "instrument", SGR_A)]["obs_id"])
    assert want and set(mission.filtered_obs_ids) == want
    info = mission.filtered_obs_info
    assert (info["science_usable"]).all() and info["access_url"].str.startswith(sandbox.urls["eso"]).all()
    now = pd.Timestamp.now(tz="UTC")
    assert (info["proprietary_usable"] == (info["proprietary_end"] <= now)).all()


def test_raw_frames_instruments_and_time(sandbox):
    expected = _raw()
    muse = Mission("eso", ["MUSE"])
    assert set(muse.filtered_obs_ids) == set(expected[expected["instrument"] == "MUSE"]["obs_id"])
    timed = Mission("eso")
    lo, hi = np.percentile(expected["mjd_obs"], [20, 40])
    timed.filter_on_time(_utc(lo), _utc(hi))
    end = expected["mjd_obs"] + expected["exposure"] / 86400.0
    mask = (expected["mjd_obs"] <= hi) & (end >= lo)
    assert set(timed.filtered_obs_ids) == set(expected[mask]["obs_id"])


def test_products_from_obscore(sandbox):
    expected = _products()
    mission = Mission("eso", source="products")
    assert mission.spec.name == "eso_products"
    assert set(mission.filtered_obs_ids) == set(expected["obs_id"])
    target = (float(expected["s_ra"].iloc[0]), float(expected["s_dec"].iloc[0]))
    near = Mission("eso_products")
    near.filter_on_positions(list(target))
    assert set(near.filtered_obs_ids) == set(
        expected[_near(expected, "s_ra", "s_dec", "instrument_name", target)]["obs_id"]
    )
    assert near.filtered_obs_info["access_format"].str.contains("datalink").all()


def test_eso_dp_id_validation(sandbox):
    with pytest.raises(VodaxaError, match="must match"):
        Mission("eso").filter_on_obs_ids(["ADP.nope"])


def test_raw_frames_release_dates_make_them_usable(sandbox):
    # ESO times its frames in MJD (mjd_obs) but dates releases as timestamps: both must be read
    frames = Mission("eso").all_obs_info
    expected = pd.to_datetime(frames["release_date"], utc=True)
    assert frames["proprietary_end"].notna().all()
    assert (frames["proprietary_end"] == expected).all()
    assert frames["proprietary_usable"].all()  # anonymous queries list public frames only
