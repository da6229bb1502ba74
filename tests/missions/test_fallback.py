"""Issue 16: when a mission's service fails and its spec has a fallback, the answer comes from the fallback, said in a
warning and in ``answered_by``, but the Mission stays the mission it was: its name, spec and saved state."""

from __future__ import annotations

import json
import warnings

import pytest

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.errors import ServiceError, VodaxaError
from vodaxa.sandbox.archives.heasarc.tables import TARGETS

from .conftest import base, near

DOWN = "http://127.0.0.1:9/tap-server/tap"  # nothing listens on port 9


def test_the_fallback_answers_and_the_mission_stays_itself(sandbox, tmp_path):
    broken = {**sandbox.endpoints, "xsa": {"tap": DOWN}}
    with endpoints.override(broken), pytest.warns(UserWarning, match="xsa failed .*using heasarc instead"):
        mission = Mission("xmm_pointed")
        rows = mission.filtered_obs_info
    assert mission.name == mission.spec.name == "xmm_pointed" and mission.spec.archive == "xsa"
    assert mission.answered_by == "xmm_pointed_heasarc" and "answered by xmm_pointed_heasarc" in repr(mission)
    assert set(rows["mission"]) == {"xmm_pointed_heasarc"}  # rows are resolved where they came from
    assert set(rows["obs_id"]) == set(base("xmm_pointed_heasarc")["obs_id"])
    ra, dec = TARGETS[3][1], TARGETS[3][2]
    with endpoints.override(broken), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mission.filter_on_positions([ra, dec])  # later filters ask the source that answered, without a new wait
    assert not [w for w in caught if "instead" in str(w.message)]
    expected = base("xmm_pointed_heasarc")
    assert set(mission.filtered_obs_ids) == set(expected[near(expected, "xmm_pointed_heasarc", ra, dec)]["obs_id"])
    state = json.loads(mission.save(tmp_path / "xmm.json").read_text())
    assert state["mission"] == "xmm_pointed" and state["answered_by"] == "xmm_pointed_heasarc"
    again = Mission.load(tmp_path / "xmm.json")  # the XSA is up again: the replay still asks the source saved
    assert again.name == "xmm_pointed" and again.answered_by == "xmm_pointed_heasarc"
    assert sorted(again.filtered_obs_ids) == sorted(mission.filtered_obs_ids)
    assert Mission("xmm_pointed").answered_by == "xmm_pointed"  # a new mission asks its own service first


def test_resolution_keeps_the_chosen_instruments_of_rows_from_the_fallback(sandbox):
    from vodaxa.resolvers import _observations

    with endpoints.override({**sandbox.endpoints, "xsa": {"tap": DOWN}}), pytest.warns(UserWarning, match="instead"):
        mission = Mission("xmm_pointed", ["PN"])
        frame, chosen = _observations(mission, None)
    assert chosen["xmm_pointed_heasarc"] == ("PN",) and set(frame["mission"]) == {"xmm_pointed_heasarc"}


def test_without_a_fallback_the_failure_is_raised(sandbox):
    with endpoints.override({**sandbox.endpoints, "heasarc": {"tap": DOWN}}), pytest.raises(ServiceError):
        len(Mission("nustar_pointed").filtered_obs_ids)


def test_an_edited_source_is_refused(sandbox, tmp_path):
    mission = Mission("xmm_pointed")
    mission.filter_on_positions([TARGETS[3][1], TARGETS[3][2]])
    path = mission.save(tmp_path / "xmm.json")
    state = json.loads(path.read_text())
    assert state["answered_by"] == "xmm_pointed"
    path.write_text(json.dumps({**state, "answered_by": "chandra"}))
    with pytest.raises(VodaxaError, match="'answered_by' 'chandra' is not a source of xmm_pointed"):
        Mission.load(path)
