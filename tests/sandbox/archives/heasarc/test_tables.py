"""The synthetic master tables: HEASARC's columns, realistic values, and rows DAXA's cuts must drop."""

from __future__ import annotations

import numpy as np
import pytest

from vodaxa.sandbox.archives.heasarc.tables import TABLES, TARGETS, generate

NOW = 61000.0


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, np.ndarray]]:
    return {t: generate(t, 2000, seed=3, now_mjd=NOW) for t in TABLES}


def test_deterministic_and_sized():
    a, b = generate("numaster", 500, seed=9), generate("numaster", 500, seed=9)
    assert all(np.array_equal(a[k], b[k]) for k in a if a[k].dtype != float)
    assert np.array_equal(a["ra"], b["ra"]) and len(a["ra"]) == 500
    assert not np.array_equal(generate("numaster", 500, seed=10)["ra"], a["ra"])
    assert len(generate("numaster", 100_000)["obsid"]) == 100_000


@pytest.mark.parametrize("table", sorted(TABLES))
def test_columns_types_and_positions(data, table):
    spec, rows = TABLES[table], data[table]
    assert list(rows) == [c.name for c in spec.columns]
    assert rows["__row"][0] == "1" and len(set(rows[spec.key])) == len(rows["__row"])  # unique keys
    assert np.all((rows["ra"] >= 0) & (rows["ra"] < 360)) and np.all(np.abs(rows["dec"]) <= 90)
    for col in spec.columns:
        values = rows[col.name]
        if col.datatype == "double":
            assert values.dtype == float
        elif col.datatype in ("int", "long"):
            assert np.issubdtype(values.dtype, np.integer)
        else:
            assert all(isinstance(v, str) for v in values)


@pytest.mark.parametrize(
    ("table", "dropped"),
    [
        (
            "numaster",
            lambda d: (d["observation_mode"] != "SCIENCE") | ((d["ontime_a"] == 0) & (d["ontime_b"] == 0)),
        ),
        ("chanmaster", lambda d: ~np.isin(d["status"], ["processed", "archived"])),
        (
            "xmmmaster",
            lambda d: np.char.startswith(d["obsid"].astype(str), "9") | ((d["ra"] == 0) & (d["dec"] == 0)),
        ),
        ("swiftmastr", lambda d: (d["xrt_exposure"] + d["uvot_exposure"] + d["bat_exposure"]) == 0),
        ("suzamaster", lambda d: sum(d[f"xis{k}_expo"] for k in range(4)) == 0),
        ("ascamaster", lambda d: (d["gis_exposure"] + d["sis_exposure"]) == 0),
        ("intscwpub", lambda d: sum(d[k] for k in d if k.startswith("good_")) == 0),
        ("rosmaster", lambda d: d["exposure"] == 0),
        ("xrismmastr", lambda d: d["exposure"] == 0),
    ],
)
def test_rows_the_mission_cuts_must_drop(data, table, dropped):
    mask = dropped(data[table])
    assert 0 < mask.sum() < len(mask) / 4


@pytest.mark.parametrize("table", ["numaster", "chanmaster", "xmmmaster", "xrismmastr"])
def test_public_dates_past_and_future(data, table):
    public = data[table]["public_date"]
    assert (public > NOW).sum() > 0 and np.isnan(public).sum() > 0
    assert (public <= NOW).sum() > len(public) / 10


def test_targets_attract_observations(data):
    name, ra, dec = TARGETS[0]
    rows = data["numaster"]
    near = (np.abs(rows["dec"] - dec) < 0.5) & (np.abs(rows["ra"] - ra) < 0.5)
    assert near.sum() >= 20 and set(rows["name"][near]) == {name}
