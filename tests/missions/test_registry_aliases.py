"""Issue 15 item 7: the short names people type work where they name one mission, a typo gets a suggestion,
and unknown ObsIDs are named in the error."""

from __future__ import annotations

import pytest

import vodaxa
from vodaxa.errors import NoObservationsError, UnknownMissionError
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.specs import registry


@pytest.mark.parametrize(("short", "full"), [("xmm", "xmm_pointed"), ("nustar", "nustar_pointed"),
                                             ("rosat", "rosat_pointed"), ("erosita", "erosita_all_sky_de_dr1"),
                                             ("NuSTAR_Pointed", "nustar_pointed")])  # fmt: skip
def test_short_names_are_aliases(short, full):
    assert registry.get(short).name == full and vodaxa.mission(short).name == full


@pytest.mark.parametrize(("typo", "meant"), [("chandar", "chandra"), ("xmmpointed", "xmm_pointed"),
                                             ("suzak", "suzaku")])  # fmt: skip
def test_a_typo_gets_a_suggestion(typo, meant):
    with pytest.raises(UnknownMissionError, match=f"did you mean '{meant}'"):
        registry.get(typo)


def test_unknown_obsids_are_named(tmp_path):
    config = SandboxConfig(rows=30, archives=("heasarc",), cache=tmp_path)
    with Sandbox(config) as sandbox, vodaxa.config.endpoints.override(sandbox.endpoints):
        chandra = vodaxa.mission("chandra")
        everything = len(chandra.filtered_obs_info)
        with pytest.raises(NoObservationsError, match="no observation known to the archive has the ObsIDs 1843, 99999"):
            chandra.filter_on_obs_ids(["1843", "99999"])
        assert len(chandra.filtered_obs_info) == everything  # the selection is unchanged
