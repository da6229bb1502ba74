"""eROSITA missions (tables fetched whole, filtered locally) against brute force over the same tables."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.archives.erosita import tables as erosita
from vodaxa.errors import NoObservationsError, VodaxaError


def _sep(df, ra, dec):
    return SkyCoord(df["ra"].to_numpy(), df["dec"].to_numpy(), unit="deg").separation(SkyCoord(ra, dec, unit="deg")).deg


@pytest.mark.parametrize(
    ("name", "loader", "fov"),
    [("erosita_calpv", erosita.calpv_observations, 4.5), ("erosita_all_sky_de_dr1", erosita.dr1_tiles, 1.8)],
)
def test_positions_rect_ids(sandbox, name, loader, fov):
    table = loader()
    mission = Mission(name)
    assert set(mission.filtered_obs_ids) == set(table["ObsID"].astype(str))
    ra, dec = float(table["ra"].iloc[5]), float(table["dec"].iloc[5])
    info = mission.filter_on_positions([[ra, dec], [ra + 50.0, -dec / 2]], return_pos_obs_info=True)
    want = (_sep(table, ra, dec) <= 1.2 * fov) | (_sep(table, (ra + 50.0) % 360, -dec / 2) <= 1.2 * fov)
    assert set(mission.filtered_obs_ids) == set(table["ObsID"][want].astype(str))
    assert set(",".join(info["obs_ids"]).split(",")) == set(mission.filtered_obs_ids)
    boxed = Mission(name)
    boxed.filter_on_rect_region([ra - 10, max(dec - 10, -90)], [ra + 10, min(dec + 10, 90)])
    inside = table["ra"].between(ra - 10, ra + 10) & table["dec"].between(max(dec - 10, -90), min(dec + 10, 90))
    assert set(boxed.filtered_obs_ids) == set(table["ObsID"][inside].astype(str))
    chosen = list(table["ObsID"].astype(str).iloc[:3])
    ids = Mission(name)
    ids.filter_on_obs_ids(chosen)
    assert set(ids.filtered_obs_ids) == set(chosen)


def test_time_filters_say_why_they_cannot_work(sandbox):
    with pytest.raises(VodaxaError, match="publishes no observation times"):
        Mission("erosita_all_sky_de_dr1").filter_on_time("2019-12-01", "2020-07-01")


def test_calpv_target_types_and_misprinted_obsid(sandbox):
    mission = Mission("erosita_calpv")
    assert set(mission.filtered_obs_info["target_category"]) <= {"ASK", "GS", "EGS", "NGS"}
    assert "700195" not in mission.filtered_obs_ids
    with pytest.raises(NoObservationsError):
        mission.filter_on_obs_ids(["700195"])
    assert np.isin(["700199", "700200"], mission.filtered_obs_ids).all()
