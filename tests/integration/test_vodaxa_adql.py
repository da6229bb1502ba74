"""vodaxa's compiled ADQL (cone, box, time, ids, upload join), unchanged, on a real DaCHS server.

The NuSTAR spec is pointed at DaCHS's ``vodaxa.numaster`` table (HEASARC's column names, including
the reserved ``time``); every answer is compared with DAXA's semantics computed over the rows DaCHS
imported.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.archives.heasarc.nustar import NUSTAR
from vodaxa.errors import VodaxaError
from vodaxa.query.tap import TapRunner

pytestmark = pytest.mark.integration

SPEC = dataclasses.replace(
    NUSTAR,
    name="nustar_dachs",
    table="vodaxa.numaster",
    columns=(
        "name",
        "exposure_a",
        "exposure_b",
        "ontime_a",
        "ontime_b",
        "observation_mode",
        "spacecraft_mode",
        "status",
        "public_date",
        "subject_category",
        "obs_type",
        "issue_flag",
    ),
    listed=False,
    datalink_id=None,  # DaCHS's table has no HEASARC __row column
)
RADIUS = 1.2 * 6.5 / 60
MJD_UNIX = 40587.0


@pytest.fixture
def mission(dachs_url: str) -> Mission:
    return Mission(SPEC, runner=TapRunner(dachs_url + "/tap", maxrec=100_000))


@pytest.fixture(scope="module")
def kept(numaster_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows DAXA's NuSTAR cuts keep."""
    return [
        r
        for r in numaster_rows
        if r["observation_mode"] == "SCIENCE"
        and r["spacecraft_mode"] == "INERTIAL"
        and r["status"] in ("processed", "archived")
        and ((r["ontime_a"] or 0) > 0 or (r["ontime_b"] or 0) > 0)
    ]


def _sep(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    return SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg


def _mjd(when: datetime) -> float:
    return MJD_UNIX + when.timestamp() / 86400.0


def test_cuts_only(mission, kept):
    assert set(mission.filtered_obs_ids) == {r["obsid"] for r in kept}


def test_cone_on_positions(mission, kept):
    targets = [(61.8232, 3.7099), (120.0, -30.0)]
    info = mission.filter_on_positions([list(t) for t in targets], return_pos_obs_info=True)
    want = {r["obsid"] for r in kept if any(_sep(r["ra"], r["dec"], *t) <= RADIUS for t in targets)}
    assert want and set(mission.filtered_obs_ids) == want
    assert set(",".join(info["obs_ids"]).split(",")) == want


def test_upload_join_many_positions(mission, kept):
    rng = np.random.default_rng(7)
    picks = rng.choice(len(kept), 30, replace=False)
    ra = [kept[i]["ra"] + rng.normal(0, 0.02) for i in picks] + list(rng.uniform(0, 360, 70))
    dec = [max(-89.9, min(89.9, kept[i]["dec"] + rng.normal(0, 0.02))) for i in picks] + list(rng.uniform(-60, 60, 70))
    mission.filter_on_positions(SkyCoord(np.array(ra) % 360, dec, unit="deg", frame="fk5"))
    coords = SkyCoord(np.array(ra) % 360, dec, unit="deg", frame="fk5")
    want = {
        r["obsid"]
        for r in kept
        if SkyCoord(r["ra"], r["dec"], unit="deg", frame="fk5").separation(coords).deg.min() <= RADIUS
    }
    assert len(want) >= 30 and set(mission.filtered_obs_ids) == want


def test_box_across_ra_zero(mission, kept):
    mission.filter_on_rect_region([359.0, -10.0], [1.0, 10.0])
    want = {r["obsid"] for r in kept if (r["ra"] >= 359.0 or r["ra"] <= 1.0) and -10.0 <= r["dec"] <= 10.0}
    assert want and set(mission.filtered_obs_ids) == want


@pytest.mark.parametrize("over_run", [True, False])
def test_time_window_on_quoted_time(mission, kept, over_run):
    starts = sorted(r["time"] for r in kept)
    lo_mjd, hi_mjd = starts[len(starts) // 4], starts[len(starts) // 2]
    lo = datetime.fromtimestamp((lo_mjd - MJD_UNIX) * 86400, timezone.utc)
    hi = datetime.fromtimestamp((hi_mjd - MJD_UNIX) * 86400, timezone.utc)
    mission.filter_on_time(lo, hi, over_run=over_run)
    if over_run:
        want = {r["obsid"] for r in kept if r["time"] <= _mjd(hi) and r["end_time"] >= _mjd(lo)}
    else:
        want = {r["obsid"] for r in kept if r["time"] >= _mjd(lo) and r["end_time"] <= _mjd(hi)}
    assert want and set(mission.filtered_obs_ids) == want


def test_ids_including_a_hostile_string(mission, kept):
    chosen = [r["obsid"] for r in kept[:4]]
    mission.filter_on_obs_ids(chosen)
    assert set(mission.filtered_obs_ids) == set(chosen)
    with pytest.raises(VodaxaError, match="must match"):
        mission.filter_on_obs_ids(["0' OR '1'='1"])


def test_async_mode_gives_the_same_answer(dachs_url, kept):
    mission = Mission(SPEC, runner=TapRunner(dachs_url + "/tap", mode="async", maxrec=100_000))
    mission.filter_on_positions([61.8232, 3.7099])
    want = {r["obsid"] for r in kept if _sep(r["ra"], r["dec"], 61.8232, 3.7099) <= RADIUS}
    assert set(mission.filtered_obs_ids) == want
