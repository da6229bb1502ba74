"""Issue 16: Mission.filter_on_column, a comparison on any column of the mission's table (HEASARC's exposure cut,
ESO's programme), checked against the columns the service lists, run on the server, kept in the history."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from vodaxa import Mission, specs
from vodaxa.archives.erosita import tables as erosita
from vodaxa.errors import InputError, NoObservationsError, UnknownColumnError
from vodaxa.sandbox.archives.eso import shape as eso

from .conftest import NOW_MJD, ROWS, SEED, base
from .test_eso_missions import _raw


def test_an_exposure_cut_runs_on_the_server(sandbox):
    expected = base("chandra")
    mission = Mission("chandra")
    mission.filter_on_column("exposure", ">", 10000)
    want = set(expected[expected["exposure"] > 10000]["obs_id"])
    assert want and set(mission.filtered_obs_ids) == want
    assert mission.filtering_operations == [
        {"name": "filter_on_column", "arguments": {"column": "exposure", "op": ">", "value": 10000}}]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "op", "value", "keep"),
    [
        ("exposure_a", "between", [20000, 60000], lambda d: d.exposure_a.between(20000, 60000)),
        ("obs_type", "not in", ["CAL", "DDT"], lambda d: ~d.obs_type.isin(["CAL", "DDT"])),
        ("OBS_TYPE", "==", "GO", lambda d: d.obs_type == "GO"),  # names match as unquoted ADQL names: any case
        ("status", "like", "arch%", lambda d: d.status.str.startswith("arch")),
        ("issue_flag", "!=", 0, lambda d: d.issue_flag != 0),
        ("ontime_b", "<=", 30000.5, lambda d: d.ontime_b <= 30000.5),
    ],
)
def test_each_comparison_against_brute_force(sandbox, column, op, value, keep):
    expected = base("nustar_pointed")
    mission = Mission("nustar_pointed")
    mission.filter_on_column(column, op, value)
    want = set(expected[keep(expected)]["obs_id"])
    assert want and set(mission.filtered_obs_ids) == want


def test_eso_programmes(sandbox):
    raw = pd.DataFrame(eso.generate("raw", ROWS, seed=SEED, now_mjd=NOW_MJD))
    mission = Mission("eso")
    everything = mission.filtered_obs_info
    chosen = list(everything["prog_id"].value_counts().index[:2])
    mission.filter_on_column("prog_id", "in", chosen)
    assert set(mission.filtered_obs_ids) == set(everything[everything["prog_id"].isin(chosen)]["obs_id"])
    assert set(raw[raw["prog_id"].isin(chosen)]["dp_id"]) >= set(mission.filtered_obs_ids)


def test_missing_values(sandbox):
    expected = _raw()  # frames taken without a filter in the path
    unfiltered = set(expected[expected["filter_path"].isna()]["obs_id"])
    mission = Mission("eso")
    mission.filter_on_column("filter_path", "is null")
    assert unfiltered and set(mission.filtered_obs_ids) == unfiltered
    other = Mission("eso")
    other.filter_on_column("filter_path", "is not null")
    assert set(other.filtered_obs_ids) == set(expected["obs_id"]) - unfiltered


@pytest.mark.parametrize(
    ("args", "error", "needle"),
    [
        (("exposur", ">", 1), UnknownColumnError, "chandra: its table chanmaster has no column 'exposur'; did you mean "
                                                  "exposure"),
        (("exposure", ">", "10000"), InputError, "exposure holds number values; give a number, not '10000'"),
        (("status", "==", 3), InputError, "status holds text values; quote the value"),
        (("exposure", "like", "1%"), InputError, "'like' matches text"),
        (("exposure", "~", 1), InputError, "not a comparison"),
    ],
)
def test_bad_columns_and_values_are_refused_before_a_query(sandbox, args, error, needle):
    mission = Mission("chandra")
    with pytest.raises(error, match=needle):
        mission.filter_on_column(*args)
    assert mission.filtering_operations == []


def test_the_columns_come_from_the_service(sandbox):
    columns = Mission("nustar_pointed").table_columns
    assert columns["exposure_a"] == "number" and columns["status"] == "text" and "ontime_b" in columns
    assert Mission("xmm_pointed").table_columns["start_utc"] == "time"


def test_without_a_listing_the_spec_columns_are_used(sandbox):
    """A service that does not list the table (here, named in another case) leaves the columns the spec knows."""
    spec = dataclasses.replace(specs.get("nustar_pointed"), name="nustar_upper", table="NUMASTER")
    mission = Mission(spec)
    assert set(mission.table_columns) == set(spec.select_columns)
    mission.filter_on_column("exposure_a", ">", 20000)
    expected = base("nustar_pointed")
    assert set(mission.filtered_obs_ids) == set(expected[expected["exposure_a"] > 20000]["obs_id"])
    with pytest.raises(UnknownColumnError, match="listed by the mission's spec"):
        mission.filter_on_column("exposure", ">", 1)


def test_saved_and_loaded_with_the_history(sandbox, tmp_path):
    mission = Mission("nustar_pointed")
    mission.filter_on_column("exposure_a", ">", 30000)
    mission.filter_on_column("obs_type", "in", ["GO", "GT"])
    state = json.loads(mission.save(tmp_path / "nu.json").read_text())
    assert state["filtering_operations"][1]["arguments"] == {"column": "obs_type", "op": "in", "value": ["GO", "GT"]}
    again = Mission.load(tmp_path / "nu.json")
    assert again.filtered_obs_ids == mission.filtered_obs_ids and again.update()["removed_obs_ids"] == []


def test_a_filter_leaving_nothing_keeps_the_selection(sandbox):
    mission = Mission("nustar_pointed")
    mission.filter_on_column("exposure_a", ">", 20000)
    before = mission.filtered_obs_ids
    with pytest.raises(NoObservationsError, match="filter_on_column would leave no observations"):
        mission.filter_on_column("exposure_a", "<", 0)
    assert mission.filtered_obs_ids == before and len(mission.filtering_operations) == 1


def test_whole_table_missions_filter_in_pandas(sandbox):
    table = erosita.calpv_observations()
    mission = Mission("erosita_calpv")
    assert mission.table_columns["field_type"] == "text" and mission.table_columns["start"] == "time"
    mission.filter_on_column("field_type", "==", "GALACTIC_FIELDS")
    want = set(table[table["field_type"] == "GALACTIC_FIELDS"]["ObsID"].astype(str))
    assert want and set(mission.filtered_obs_ids) == want - {"700195"}  # the misprinted ObsID is never kept
    with pytest.raises(UnknownColumnError, match="did you mean field_type"):
        Mission("erosita_calpv").filter_on_column("field_typ", "==", "SURVEY")
