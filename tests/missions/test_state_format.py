"""Issue 16: state files written before the filters became values load unchanged and replay to the same selection.

``data/nustar_state_saved_by_0.1.json`` was written by vodaxa 0.1 (commit 134a350, whose Mission kept its history
as dicts) on this sandbox (600 rows, seed 11), with every filter kind but the column filter, which came later."""

from __future__ import annotations

import json
from pathlib import Path

from vodaxa import Mission

SAVED = Path(__file__).parent / "data" / "nustar_state_saved_by_0.1.json"


def test_a_state_saved_by_vodaxa_0_1_loads_and_replays_unchanged(sandbox, tmp_path):
    state = json.loads(SAVED.read_text())
    names = [op["name"] for op in state["filtering_operations"]]
    assert names == ["filter_on_rect_region", "filter_on_name", "filter_on_positions", "filter_on_time",
                     "filter_on_positions_at_time", "filter_on_target_type", "filter_on_obs_ids"]  # fmt: skip
    loaded = Mission.load(SAVED)
    assert loaded.name == "nustar_pointed" and loaded.chosen_instruments == ("FPMA", "FPMB")
    assert loaded.filtering_operations == state["filtering_operations"]  # read into values and written back alike
    assert sorted(loaded.filtered_obs_ids) == sorted(state["selected_obs"])
    report = loaded.update()
    assert report["new_obs_ids"] == [] and report["removed_obs_ids"] == []
    again = json.loads(loaded.save(tmp_path / "again.json").read_text())
    assert again["filtering_operations"] == state["filtering_operations"]
    kept = ("vodaxa_state", "mission", "instruments", "instruments_chosen", "selected_obs")
    assert {k: again[k] for k in kept} == {k: state[k] for k in kept}


def test_the_same_filters_given_again_select_the_same(sandbox):
    """The saved history, replayed, equals the filters called anew through the Mission's methods."""
    ops = {op["name"]: op["arguments"] for op in json.loads(SAVED.read_text())["filtering_operations"]}
    crab = ops["filter_on_name"]["positions"]
    mission = Mission("nustar_pointed", ["FPMA", "FPMB"])
    box = ops["filter_on_rect_region"]
    mission.filter_on_rect_region(box["lower_left"], box["upper_right"])
    mission.filter_on_positions([[crab["ra"][0], crab["dec"][0]]], search_distance=3.0)
    where = ops["filter_on_positions"]["positions"]
    mission.filter_on_positions(list(zip(where["ra"], where["dec"])), search_distance=[2.5, 0.5])
    mission.filter_on_time("2012-06-01", "2030-01-01")
    timed = ops["filter_on_positions_at_time"]
    at = [[timed["positions"]["ra"][0], timed["positions"]["dec"][0]]]
    mission.filter_on_positions_at_time(at, timed["start_datetimes"], timed["end_datetimes"], search_distance=3.0)
    mission.filter_on_target_type(ops["filter_on_target_type"]["target_type"])
    mission.filter_on_obs_ids(ops["filter_on_obs_ids"]["allowed_obs_ids"], invert=True)
    assert sorted(mission.filtered_obs_ids) == sorted(Mission.load(SAVED).filtered_obs_ids)
