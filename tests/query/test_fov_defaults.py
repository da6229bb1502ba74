"""Issue 15 item 2: where one pointing's instruments have fields twentyfold apart (Swift's BAT, 50 degrees),
the default search follows the narrow ones unless the wide one is asked for; every row says how far it is
from the target and which chosen instruments' fields contain it; the radius used is kept and printed."""

from __future__ import annotations

import pandas as pd
import pytest

import vodaxa
from vodaxa.sandbox import Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def sky(tmp_path_factory):
    config = SandboxConfig(rows=200, seed=0, archives=("heasarc", "cds"), cache=tmp_path_factory.mktemp("fov"))
    with Sandbox(config) as sandbox, vodaxa.config.endpoints.override(sandbox.endpoints):
        yield sandbox


def test_the_default_follows_the_narrow_instruments(sky):
    found = vodaxa.search(["Crab"], missions=["swift"])
    assert found.attrs["radius"]["swift"] == pytest.approx(1.2 * 11.8 / 60)  # XRT's field, not BAT's 50 deg
    assert (found["separation"] <= found.attrs["radius"]["swift"]).all()
    assert all("XRT" in cell.split(";") for cell in found["in_fov"])


def test_the_wide_field_is_searched_when_asked_for(sky):
    wide = vodaxa.search(["Crab"], missions=["swift"], instruments={"swift": ["XRT", "BAT", "UVOT"]})
    assert wide.attrs["radius"]["swift"] == pytest.approx(60.0)
    far = wide[wide["separation"] > 1.0]
    assert len(far) and all(cell == "BAT" or cell == "" for cell in far["in_fov"])  # only BAT's field holds it


def test_per_instrument_missions_keep_each_instruments_field(sky):
    found = vodaxa.search(["Crab"], missions=["chandra"])
    assert set(found.attrs["radius"]["chandra"]) == {"ACIS", "HRC"}


def test_the_cli_prints_the_radius(sky, capsys, tmp_path):
    from vodaxa.cli import main

    assert main(["search", "swift", "--name", "Crab", "-o", str(tmp_path / "s.csv")]) == 0
    assert "searched within 0.236 deg" in capsys.readouterr().err
    import pandas as pd

    table = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    assert {"separation", "in_fov"} <= set(table.columns)
    assert (table["separation"].astype(float) <= 0.236).all()


def test_the_choice_of_instruments_survives_save_and_load(sky, tmp_path):
    from vodaxa.query.mission import Mission

    default, chosen = Mission("swift"), Mission("swift", ["XRT", "BAT"])
    for mission, name in ((default, "default"), (chosen, "chosen")):
        mission.filter_on_name("Crab")
        mission.save(tmp_path / f"{name}.json")
    assert default.chosen_instruments == chosen.chosen_instruments  # the same instruments; only the choice differs
    again = Mission.load(tmp_path / "chosen.json")
    assert again.spec.search_radius(again.chosen_instruments, explicit=again._explicit) == pytest.approx(60.0)
    plain = Mission.load(tmp_path / "default.json")
    assert sorted(plain.filtered_obs_info["obs_id"]) == sorted(default.filtered_obs_info["obs_id"])


def test_in_fov_names_only_instruments_that_took_data():
    import pandas as pd

    from vodaxa.query.mission import Mission
    from vodaxa.query.search import with_separations

    mission = Mission.__new__(Mission)  # no archive needed: the spec and the chosen instruments only
    Mission.__init__(mission, "swift", ["XRT", "BAT", "UVOT"])
    rows = pd.DataFrame({"obs_id": ["a", "b"], "ra": [83.6331, 83.6331], "dec": [22.0145, 22.0145]})
    spec = mission.spec
    for instrument, column in spec.exposure_columns.items():
        rows[column] = [100.0, 0.0] if instrument == "XRT" else [0.0, 100.0]
    out = with_separations(rows, mission, [[83.6331, 22.0145]])
    assert out["separation"].tolist() == [0.0, 0.0]
    assert out["in_fov"].tolist()[0] == "XRT"
    assert "XRT" not in out["in_fov"].tolist()[1].split(";")


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.update(instruments_chosen="no"),
        lambda s: s["filtering_operations"].append({"name": "filter_on_magic", "arguments": {}}),
        lambda s: s["filtering_operations"][0]["arguments"]["positions"].update(ra=["NaN"]),
        lambda s: s["filtering_operations"][0]["arguments"]["positions"].update(dec=[95.0]),
        lambda s: s.update(filtering_operations="all"),
        lambda s: s.update(instruments=3),
    ],
    ids=["chosen-text", "unknown-filter", "nan-position", "off-sky", "history-text", "instruments-number"],
)
def test_an_edited_state_file_is_refused_with_a_reason(sky, tmp_path, edit):
    import json

    from vodaxa.errors import VodaxaError
    from vodaxa.query.mission import Mission

    mission = Mission("swift")
    mission.filter_on_name("Crab")
    path = mission.save(tmp_path / "state.json")
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))
    with pytest.raises(VodaxaError, match="save the mission again"):
        Mission.load(path)


def test_a_row_off_the_sky_costs_its_own_separation_only():
    import pandas as pd

    from vodaxa.query.mission import Mission
    from vodaxa.query.search import with_separations

    mission = Mission("nustar_pointed")
    rows = pd.DataFrame({"obs_id": ["a", "b", "c"], "ra": [83.6331, 83.6331, "x"], "dec": [22.0145, 95.0, 1.0],
                         "ontime_a": [1.0, 1.0, 1.0], "ontime_b": [1.0, 1.0, 1.0]})  # fmt: skip
    out = with_separations(rows, mission, [[83.6331, 22.0145]])
    assert out["separation"].iloc[0] == 0.0 and out["separation"].iloc[1:].isna().all()
    assert out["in_fov"].tolist() == ["FPMA;FPMB", "", ""]


def test_search_without_targets_gives_whole_tables_in_a_time_window(sky):
    """The CLI's 'vodaxa search chandra --start ... --end ...' goes through vodaxa.search too (issue 16: no second
    search in the CLI): targets=None is every observation, and start/end filter on the server."""
    every = vodaxa.search(None, missions=["nustar_pointed"])
    window = vodaxa.search(None, missions=["nustar_pointed"], start="2015-01-01", end="2020-01-01")
    assert 0 < len(window) < len(every) and "separation" not in every.columns
    starts = pd.to_datetime(window["start"], utc=True)
    ends = pd.to_datetime(window["end"], utc=True)
    assert ((starts <= pd.Timestamp("2020-01-01", tz="UTC")) & (ends >= pd.Timestamp("2015-01-01", tz="UTC"))).all()
    near = vodaxa.search(["3C 105"], missions=["nustar_pointed"], start="2024-01-01")
    assert len(near) and (pd.to_datetime(near["end"], utc=True) >= pd.Timestamp("2024-01-01", tz="UTC")).all()
    with pytest.raises(vodaxa.errors.InputError, match="starts"):
        vodaxa.search(["3C 105"], missions=["nustar_pointed"], start="2024-01-01", end="2020-01-01")
