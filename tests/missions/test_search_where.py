"""Issue 16: vodaxa.search(..., where=...) keeps observations meeting conditions on each mission's columns, on the
server through TAP and on the cone answers through SCS; a column a mission lacks is refused before any search."""

from __future__ import annotations

import pytest

import vodaxa
from vodaxa.errors import InputError
from vodaxa.query.filters import Compare
from vodaxa.sandbox.archives.heasarc.tables import TARGETS

from .conftest import base

NEAR = [list(t[1:]) for t in TARGETS[:6]]


def test_a_whole_table_with_a_condition(sandbox):
    found = vodaxa.search(None, missions=["chandra"], where="exposure > 10000")
    expected = base("chandra")
    want = set(expected[expected["exposure"] > 10000]["obs_id"])
    assert want and set(found["obs_id"]) == want and (found["exposure"] > 10000).all()


def test_conditions_per_mission_near_targets(sandbox):
    where = {"nustar_pointed": "exposure_a > 20000 and obs_type != 'CAL'", "chandra": Compare("exposure", ">", 20000)}
    found = vodaxa.search(NEAR, missions=["nustar_pointed", "chandra"], radius=3.0, where=where)
    for name, keep in (("nustar_pointed", lambda d: (d.exposure_a > 20000) & (d.obs_type != "CAL")),
                       ("chandra", lambda d: d.exposure > 20000)):  # fmt: skip
        expected = base(name)
        close = expected[keep(expected) & _within(expected, 3.0)]
        assert set(found[found["mission"] == name]["obs_id"]) == set(close["obs_id"]) and len(close), name
    assert found.attrs["errors"] == {}


def _within(expected, radius):
    from astropy.coordinates import SkyCoord

    obs = SkyCoord(expected["ra"].to_numpy(), expected["dec"].to_numpy(), unit="deg")
    pos = SkyCoord([p[0] for p in NEAR], [p[1] for p in NEAR], unit="deg")
    return (obs[:, None].separation(pos[None, :]).deg <= radius).any(axis=1)


def test_cone_search_applies_the_same_conditions(sandbox):
    where = {"nustar_pointed": "exposure_a between 20000 and 90000", "chandra": "type in ('GO', 'GTO')"}
    options = {"missions": ["nustar_pointed", "chandra"], "radius": 3.0, "where": where}
    tap = vodaxa.search(NEAR, **options)
    cone = vodaxa.search(NEAR, via="scs", **options)
    assert len(tap) and sorted(tap["obs_id"]) == sorted(cone["obs_id"])
    assert cone.attrs["errors"] == {}


def test_a_column_a_mission_lacks_is_refused_naming_it(sandbox):
    needle = r"nustar_pointed: its table numaster has no column 'exposure'; did you mean exposure_b or exposure_a"
    with pytest.raises(InputError, match=needle + r".*where=\{mission: \.\.\.\}") as caught:
        vodaxa.search(NEAR, missions=["chandra", "nustar_pointed"], where="exposure > 10000")
    assert "chandra" not in str(caught.value).split("nustar_pointed")[0].replace("where: ", "")


@pytest.mark.parametrize(
    ("where", "needle"),
    [
        ("exposure >", "expected a value"),
        ("exposure > 1 or exposure < 0", "only comparisons joined by AND"),
        ({"swift": "exposure > 1"}, "where names missions not searched: swift"),
        (42, "give condition text"),
        ("exposure > 'long'", "give a number, not 'long'"),
    ],
)
def test_bad_conditions_are_input_errors(sandbox, where, needle):
    with pytest.raises(InputError, match=needle):
        vodaxa.search(None, missions=["chandra"], where=where)
