"""Every filter of every HEASARC mission, on the sandbox, against a brute-force pandas computation."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.errors import InputError, NoObservationsError, VodaxaError
from vodaxa.sandbox.archives.heasarc.tables import TARGETS
from vodaxa.specs import OBS_COLUMNS

from .conftest import CUTS, NOW_MJD, base, near

MISSIONS = sorted(CUTS)
MJD_UNIX = 40587.0


def _ids(mission: Mission) -> set[str]:
    return set(mission.filtered_obs_ids)


def _mjd(when: datetime) -> float:
    return MJD_UNIX + when.timestamp() / 86400.0


@pytest.mark.parametrize("name", MISSIONS)
def test_all_obs_and_unfiltered_selection(sandbox, name):
    mission = Mission(name)
    expected = base(name)
    assert set(mission.filtered_obs_ids) == set(expected["obs_id"])
    info = mission.filtered_obs_info
    for col in OBS_COLUMNS:
        assert col in info.columns
    assert str(info["start"].dtype).startswith("datetime64") and str(info["start"].dt.tz) == "UTC"
    assert str(info["duration"].dtype).startswith("timedelta64")
    assert (info["end"] >= info["start"]).all()
    assert len(mission.all_obs_info) >= len(info)


@pytest.mark.parametrize("name", MISSIONS)
def test_filter_on_positions(sandbox, name):
    expected = base(name)
    targets = [TARGETS[1][1:], TARGETS[0][1:], TARGETS[5][1:]]
    ra, dec = [t[0] for t in targets], [t[1] for t in targets]
    mission = Mission(name)
    info = mission.filter_on_positions(SkyCoord(ra, dec, unit="deg", frame="fk5"), return_pos_obs_info=True)
    want = set(expected[near(expected, name, ra, dec)]["obs_id"])
    assert _ids(mission) == want
    assert set(info.columns) == {"pos_ind", "pos_ra", "pos_dec", "obs_ids"}
    assert set(",".join(info["obs_ids"]).split(",")) == want
    for _, row in info.iterrows():  # each position's ObsIDs are exactly its own matches
        own = set(expected[near(expected, name, row["pos_ra"], row["pos_dec"])]["obs_id"])
        assert set(row["obs_ids"].split(",")) == own


@pytest.mark.parametrize("name", MISSIONS)
def test_filter_on_time_both_ways(sandbox, name):
    expected = base(name)
    lo_mjd, hi_mjd = np.percentile(expected["_start"], [30, 60])
    lo = datetime.fromtimestamp((lo_mjd - MJD_UNIX) * 86400, timezone.utc)
    hi = datetime.fromtimestamp((hi_mjd - MJD_UNIX) * 86400, timezone.utc)
    for over_run in (True, False):
        mission = Mission(name)
        mission.filter_on_time(lo, hi, over_run=over_run)
        s, e = expected["_start"], expected["_end"]
        mask = (s <= _mjd(hi)) & (e >= _mjd(lo)) if over_run else (s >= _mjd(lo)) & (e <= _mjd(hi))
        assert _ids(mission) == set(expected[mask]["obs_id"]), over_run


@pytest.mark.parametrize("name", MISSIONS)
def test_filter_on_obs_ids_and_invert(sandbox, name):
    expected = base(name)
    chosen = list(expected["obs_id"].iloc[:5])
    mission = Mission(name)
    mission.filter_on_obs_ids(chosen)
    assert _ids(mission) == set(chosen)
    inverse = Mission(name)
    inverse.filter_on_obs_ids(chosen, invert=True)
    assert _ids(inverse) == set(expected["obs_id"]) - set(chosen)


@pytest.mark.parametrize("name", MISSIONS)
def test_cumulative_filters_and_reset(sandbox, name):
    expected = base(name)
    mission = Mission(name)
    mission.filter_on_rect_region([0, -90], [360, 0])
    southern = expected[expected["dec"] <= 0]
    assert _ids(mission) == set(southern["obs_id"])
    keep = list(southern["obs_id"].iloc[:3]) + list(expected[expected["dec"] > 0]["obs_id"].iloc[:3])
    mission.filter_on_obs_ids(keep)
    assert _ids(mission) == set(southern["obs_id"].iloc[:3])
    assert [op["name"] for op in mission.filtering_operations] == ["filter_on_rect_region", "filter_on_obs_ids"]
    mission.reset_filter()
    assert _ids(mission) == set(expected["obs_id"]) and mission.filtering_operations == []


def test_rect_region_wraps_through_ra_zero(sandbox):
    expected = base("nustar_pointed")
    mission = Mission("nustar_pointed")
    mission.filter_on_rect_region([359.0, 8.0], [1.0, 12.0])
    ra, dec = expected["ra"], expected["dec"]
    mask = ((ra >= 359.0) | (ra <= 1.0)) & (dec >= 8.0) & (dec <= 12.0)
    assert mask.sum() >= 2 and _ids(mission) == set(expected[mask]["obs_id"])


def test_rect_region_swaps_reversed_corners(sandbox):
    mission, other = Mission("nustar_pointed"), Mission("nustar_pointed")
    mission.filter_on_rect_region([40, -10], [100, 30])
    with pytest.warns(UserWarning, match="swapped"):
        other.filter_on_rect_region([100, -10], [40, 30])
    assert _ids(mission) == _ids(other)


def test_per_instrument_radius_for_chandra(sandbox):
    """ACIS and HRC rows are each searched with their own FoV, as DAXA does."""
    expected = base("chandra")
    ra, dec = TARGETS[1][1], TARGETS[1][2]
    mission = Mission("chandra")
    mission.filter_on_positions([ra, dec])
    assert _ids(mission) == set(expected[near(expected, "chandra", ra, dec)]["obs_id"])
    acis = Mission("chandra", ["ACIS"])
    acis.filter_on_positions([ra, dec])
    assert all(i == "ACIS" for i in acis.filtered_obs_info["instrument"])


def test_explicit_distances(sandbox):
    expected = base("nustar_pointed")
    targets = [TARGETS[0][1:], TARGETS[1][1:]]
    mission = Mission("nustar_pointed")
    mission.filter_on_positions([list(t) for t in targets], search_distance=[0.05, 0.3])
    sep = [
        SkyCoord(expected["ra"], expected["dec"], unit="deg").separation(SkyCoord(*t, unit="deg")).deg for t in targets
    ]
    mask = (sep[0] <= 0.05) | (sep[1] <= 0.3)
    assert _ids(mission) == set(expected[mask]["obs_id"])


@pytest.mark.parametrize("name", MISSIONS)
def test_filter_on_positions_at_time(sandbox, name):
    expected = base(name)
    targets = [TARGETS[1][1:], TARGETS[2][1:]]
    starts = [datetime(2010, 1, 1, tzinfo=timezone.utc), datetime(2016, 1, 1, tzinfo=timezone.utc)]
    ends = [datetime(2030, 1, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, tzinfo=timezone.utc)]
    mission = Mission(name)
    try:
        info = mission.filter_on_positions_at_time([list(t) for t in targets], starts, ends, return_obs_info=True)
    except NoObservationsError:
        info = None
    mask = pd.Series(False, expected.index)
    for (ra, dec), lo, hi in zip(targets, starts, ends):
        mask |= near(expected, name, ra, dec) & (expected["_start"] <= _mjd(hi)) & (expected["_end"] >= _mjd(lo))
    want = set(expected[mask]["obs_id"])
    if info is None:
        assert want == set()
    else:
        assert _ids(mission) == want and set(",".join(info["obs_ids"]).split(",")) == want


def test_filter_on_name_with_injected_resolver_and_jnames(sandbox):
    expected = base("nustar_pointed")
    resolved = []

    def resolver(name):
        resolved.append(name)
        target = {t[0]: t for t in TARGETS}[name]
        return SkyCoord(target[1], target[2], unit="deg")

    mission = Mission("nustar_pointed", resolver=resolver)
    mission.filter_on_name("Crab")
    assert resolved == ["Crab"]
    assert _ids(mission) == set(expected[near(expected, "nustar_pointed", TARGETS[1][1], TARGETS[1][2])]["obs_id"])
    parsed = Mission("nustar_pointed", resolver=lambda n: pytest.fail("the J-name must be parsed offline"))
    parsed.filter_on_name("3C 105 J040717+034236", parse_name=True)  # 61.8208, +3.7100
    assert _ids(parsed) == set(expected[near(expected, "nustar_pointed", 61.8208, 3.71)]["obs_id"])


def test_filter_on_target_type(sandbox):
    mission = Mission("nustar_pointed")
    everything = mission.filtered_obs_info
    mission.filter_on_target_type(["agn", "GCL"])
    assert set(mission.filtered_obs_ids) == set(
        everything[everything["target_category"].isin(["AGN", "GCL"])]["obs_id"]
    )
    chandra = Mission("chandra")
    all_chandra = chandra.filtered_obs_info
    chandra.filter_on_target_type("XRB")  # derived from several columns: applied to the answer
    assert set(chandra.filtered_obs_ids) == set(all_chandra[all_chandra["target_category"] == "XRB"]["obs_id"])
    with pytest.raises(VodaxaError, match="unknown target type"):
        mission.filter_on_target_type("BANANA")


def test_instruments_choose_rows(sandbox):
    expected_a = base("nustar_pointed")
    only_b = Mission("nustar_pointed", "fb")
    assert only_b.chosen_instruments == ("FPMB",)
    from .conftest import table

    nu = table("numaster")
    mask = (
        (nu.observation_mode == "SCIENCE")
        & (nu.spacecraft_mode == "INERTIAL")
        & nu.status.isin(["processed", "archived"])
        & (nu.ontime_b > 0)
    )
    assert set(only_b.filtered_obs_ids) == set(nu[mask]["obsid"])
    assert set(only_b.filtered_obs_ids) <= set(expected_a["obs_id"])
    integral = Mission("integral_pointed", ["picsit"])  # DAXA could not select PICsIT
    assert integral.chosen_instruments == ("PICsIT",)


def test_proprietary_columns(sandbox):
    info = Mission("nustar_pointed").filtered_obs_info
    now = pd.Timestamp.now(tz="UTC")
    private = info[~info["proprietary_usable"]]
    assert len(private) > 0 and (private["proprietary_end"].isna() | (private["proprietary_end"] > now)).all()
    public = info[info["proprietary_usable"]]
    assert (public["proprietary_end"] <= now).all()
    assert NOW_MJD  # the sandbox's "now" puts some public dates in the future


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda m: m.filter_on_obs_ids(["123"]), "must match"),
        (lambda m: m.filter_on_positions([[10, 95]]), "Dec outside"),
        (lambda m: m.filter_on_positions("nowhere"), "positions must be"),
        (lambda m: m.filter_on_time("2020-01-01", "2010-01-01"), "starts"),
        (lambda m: m.filter_on_time("yesterday", "2010-01-01"), "not an ISO date"),
        (lambda m: m.filter_on_positions([[1, 1], [2, 2]], search_distance=[1, 2, 3]), "3 values for 2"),
    ],
)
def test_bad_input(sandbox, call, fragment):
    with pytest.raises(VodaxaError, match=fragment):
        call(Mission("nustar_pointed"))


def test_unknown_mission_and_instrument():
    with pytest.raises(VodaxaError, match=r"known missions: .*nustar_pointed"):
        Mission("nustarr")
    with pytest.raises(VodaxaError, match="valid: FPMA, FPMB"):
        Mission("nustar_pointed", ["XRT"])


def test_empty_filter_raises_and_keeps_selection(sandbox):
    mission = Mission("nustar_pointed")
    mission.filter_on_positions([TARGETS[0][1], TARGETS[0][2]])
    before = mission.filtered_obs_ids
    with pytest.raises(NoObservationsError, match="filter_on_time"):
        mission.filter_on_time("1990-01-01", "1990-01-02")
    assert mission.filtered_obs_ids == before and len(mission.filtering_operations) == 1


@pytest.mark.parametrize("name", MISSIONS)
def test_filter_on_name_everywhere(sandbox, name):
    expected = base(name)
    target = TARGETS[4]
    mission = Mission(name, resolver=lambda n: SkyCoord(target[1], target[2], unit="deg"))
    want = set(expected[near(expected, name, target[1], target[2])]["obs_id"])
    if not want:
        with pytest.raises(NoObservationsError):
            mission.filter_on_name(target[0])
    else:
        mission.filter_on_name(target[0])
        assert _ids(mission) == want


def test_unresolvable_name_is_an_error(sandbox):
    from vodaxa.errors import NameResolutionError

    def resolver(name):
        raise LookupError(f"{name} is unknown to the resolver")

    with pytest.raises(NameResolutionError, match="could not resolve 'Bogus X-1'"):
        Mission("nustar_pointed", resolver=resolver).filter_on_name("Bogus X-1")


def test_obs_id_input_forms_and_unknown_ids(sandbox):
    known = Mission("chandra").filtered_obs_ids[:2]
    one = Mission("chandra")
    one.filter_on_obs_ids(int(known[0]))  # a bare number is one ObsID
    assert one.filtered_obs_ids == [known[0]]
    with pytest.raises(InputError, match="'1234567' is not a chandra ObsID"):
        Mission("chandra").filter_on_obs_ids(["1234567"])
    mixed = Mission("chandra")
    with pytest.warns(UserWarning, match="1 of the 2 ObsIDs asked for are not in the selection.*: 999999"):
        mixed.filter_on_obs_ids([known[1], "999999"])
    assert mixed.filtered_obs_ids == [known[1]]
