"""Saving and replaying missions, update(), vodaxa.search across missions, the registry table."""

from __future__ import annotations

import json
import warnings

import pytest
from astropy.coordinates import SkyCoord

import vodaxa
from vodaxa import Mission
from vodaxa.errors import NoObservationsError, UnknownMissionError, VodaxaError
from vodaxa.sandbox.archives.heasarc.tables import TARGETS
from vodaxa.specs import MissionSpec, register

from .conftest import base, near


def test_save_load_replays_to_the_same_selection(sandbox, tmp_path):
    mission = Mission("chandra", ["ACIS", "HETG"])
    mission.filter_on_positions(SkyCoord(TARGETS[3][1], TARGETS[3][2], unit="deg"), search_distance=2.0)
    mission.filter_on_time("2000-01-01", "2030-01-01")
    path = mission.save(tmp_path / "chandra.json")
    state = json.loads(path.read_text())
    assert state["mission"] == "chandra" and state["instruments"] == ["ACIS", "HETG"]
    assert [op["name"] for op in state["filtering_operations"]] == ["filter_on_positions", "filter_on_time"]
    assert "token" not in path.read_text().lower() and "password" not in path.read_text().lower()
    loaded = Mission.load(path)
    assert loaded.chosen_instruments == ("ACIS", "HETG")
    assert loaded.filtered_obs_ids == mission.filtered_obs_ids
    report = loaded.update()
    assert report["new_obs_ids"] == [] and report["removed_obs_ids"] == []


def test_update_reports_changes(sandbox, tmp_path):
    mission = Mission("nustar_pointed")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    path = mission.save(tmp_path / "nu.json")
    state = json.loads(path.read_text())
    gone = state["selected_obs"].pop()
    state["selected_obs"].append("00000000000")
    state["proprietary_usable"][0] = not state["proprietary_usable"][0]
    path.write_text(json.dumps(state))
    report = Mission.load(path).update()
    assert report["new_obs_ids"] == [gone] and report["removed_obs_ids"] == ["00000000000"]
    assert report["which_changed_proprietary_usable"] == [state["selected_obs"][0]]


def test_load_errors(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{nope")
    with pytest.raises(VodaxaError, match="not a readable"):
        Mission.load(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(VodaxaError, match="not a vodaxa mission state"):
        Mission.load(bad)


def test_search_several_missions(sandbox):
    crab = SkyCoord(TARGETS[1][1], TARGETS[1][2], unit="deg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = vodaxa.search(crab, missions=["nustar_pointed", "chandra", "suzaku", "rosat_all_sky"])
    for name in ("nustar_pointed", "chandra", "suzaku", "rosat_all_sky"):
        expected = base(name)
        want = set(expected[near(expected, name, TARGETS[1][1], TARGETS[1][2])]["obs_id"])
        got = set(result[result["mission"] == name]["obs_id"])
        assert got == want, name
        if not want:
            assert name in result.attrs["no_observations"]
    assert result.attrs["errors"] == {}
    assert all("no observations" in str(w.message) for w in caught if "no observations" in str(w.message))


def test_search_names_the_targets_each_observation_is_near(sandbox):
    names = {t[0]: (t[1], t[2]) for t in TARGETS[:5]}
    result = vodaxa.search(list(names), missions=["chandra", "nustar_pointed"], resolver=lambda n: SkyCoord(
        *names[n], unit="deg"))  # fmt: skip
    assert len(result) and (result["targets"] != "").all()
    for name, (ra, dec) in names.items():
        for mission in ("chandra", "nustar_pointed"):
            expected = base(mission)
            want = set(expected[near(expected, mission, ra, dec)]["obs_id"])
            mine = result[result["mission"] == mission]
            tagged = mine[mine["targets"].str.split(";").map(lambda t, n=name: n in t)]
            assert set(tagged["obs_id"]) == want, (name, mission)
    by_position = vodaxa.search([list(names["Crab"])], missions="chandra")
    assert set(by_position["targets"]) == {f"{names['Crab'][0]:.4f},{names['Crab'][1]:+.4f}"}


def test_search_reports_empty_missions_and_names(sandbox):
    def resolver(name):
        return SkyCoord(1.0, -89.5, unit="deg")  # a patch of sky with nothing in it

    with pytest.warns(UserWarning, match="no observations found by: nustar_pointed"):
        result = vodaxa.search("Nowhere", missions="nustar_pointed", resolver=resolver, radius=0.01)
    assert result.empty and result.attrs["no_observations"] == ["nustar_pointed"]
    with pytest.raises(UnknownMissionError, match="known missions"):
        vodaxa.search("x", missions=["nope"])


def test_missions_table_and_plugins():
    table = vodaxa.missions()
    assert {"nustar_pointed", "chandra", "xmm_pointed", "rosat_all_sky"} <= set(table["name"])
    assert "xmm_pointed_heasarc" not in set(table["name"])  # an alternative source, not a mission
    assert set(table.columns) >= {"name", "pretty_name", "archive", "instruments", "fov"}
    spec = MissionSpec(
        name="plugin_mission",
        pretty_name="Plugin",
        archive="heasarc",
        table="numaster",
        id_column="obsid",
        id_regex=r"^\d{11}$",
        instruments=("X",),
        default_instruments=("X",),
        fov=0.1,
        start="time",
        end="end_time",
    )
    register(spec)
    assert "plugin_mission" in set(vodaxa.missions()["name"])
    with pytest.raises(VodaxaError, match="already registered"):
        register(MissionSpec(**{**spec.__dict__, "pretty_name": "Other"}))


def test_xmm_sources(sandbox):
    heasarc = Mission("xmm_pointed", source="heasarc")
    assert heasarc.spec.name == "xmm_pointed_heasarc"
    with pytest.raises(VodaxaError, match="no source 'cxc'"):
        Mission("xmm_pointed", source="cxc")


def test_no_observation_error_names_filter(sandbox):
    mission = Mission("suzaku")
    with pytest.raises(NoObservationsError, match="filter_on_obs_ids"):
        mission.filter_on_obs_ids(["999999999"])


def test_entry_point_plugins(monkeypatch):
    from vodaxa.specs import registry

    spec = MissionSpec(
        name="plugin_from_entry_point",
        pretty_name="EP",
        archive="heasarc",
        table="numaster",
        id_column="obsid",
        id_regex=r"^\d{11}$",
        instruments=("X",),
        default_instruments=("X",),
        fov=0.1,
        start="time",
        end="end_time",
    )

    class EntryPoint:
        def __init__(self, name, value):
            self.name, self.value = name, value

        def load(self):
            if isinstance(self.value, Exception):
                raise self.value
            return self.value

    points = [EntryPoint("good", spec), EntryPoint("broken", ImportError("no module")), EntryPoint("odd", 42)]
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points if group == "vodaxa.missions" else [])
    monkeypatch.setattr(registry, "_loaded", False)
    assert registry.get("plugin_from_entry_point") is spec  # broken and odd plugins are skipped, not fatal
    assert "nustar_pointed" in registry.names()
