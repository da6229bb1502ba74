"""Issue 16: filters are small immutable values saved in DAXA's format, and condition text is read into them
(never passed on as query text)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import numpy as np
import pytest

from vodaxa.errors import InputError
from vodaxa.query.conditions import AllOf, AnyOf, Constant, Negation, parse_condition, parse_where
from vodaxa.query.filters import (
    Compare,
    ObsIds,
    Positions,
    PositionsAtTime,
    RectRegion,
    TargetType,
    TimeWindow,
    from_json,
)

UTC = timezone.utc

#: One saved operation of every kind, exactly as vodaxa 0.1 writes them (Mission.filtering_operations).
SAVED = [
    {"name": "filter_on_obs_ids", "arguments": {"allowed_obs_ids": ["0123456789", "0123456790"], "invert": True}},
    {"name": "filter_on_rect_region", "arguments": {"lower_left": [359.0, 8.0], "upper_right": [1.0, 12.0]}},
    {"name": "filter_on_positions", "arguments": {"positions": {"ra": [83.6, 10.0], "dec": [22.0, -5.0]},
                                                  "search_distance": [0.05, 0.3]}},
    {"name": "filter_on_positions", "arguments": {"positions": {"ra": [83.6], "dec": [22.0]},
                                                  "search_distance": {"ACIS": 0.5, "HRC": 0.9}}},
    {"name": "filter_on_name", "arguments": {"object_name": ["Crab"], "search_distance": None, "parse_name": False,
                                             "positions": {"ra": [83.63308762468984], "dec": [22.014494786634884]}}},
    {"name": "filter_on_time", "arguments": {"start_datetime": "2012-06-01T00:00:00+00:00",
                                             "end_datetime": "2030-01-01T00:00:00+00:00", "over_run": False}},
    {"name": "filter_on_target_type", "arguments": {"target_type": ["AGN", "XRB"]}},
    {"name": "filter_on_positions_at_time", "arguments": {
        "positions": {"ra": [83.63308], "dec": [22.0145]}, "start_datetimes": ["2012-01-01T00:00:00+00:00"],
        "end_datetimes": ["2031-01-01T00:00:00+00:00"], "search_distance": 3.0, "over_run": True}},
    {"name": "filter_on_column", "arguments": {"column": "exposure", "op": ">", "value": 10000}},
    {"name": "filter_on_column", "arguments": {"column": "status", "op": "in", "value": ["archived", "processed"]}},
]  # fmt: skip


@pytest.mark.parametrize("saved", SAVED, ids=lambda s: s["name"])
def test_every_kind_reads_and_writes_the_saved_format_exactly(saved):
    step = from_json(saved)
    assert step.to_json() == saved
    assert from_json(step.to_json()) == step  # values: equal when their arguments are


def test_the_classes_behind_the_names():
    kinds = [type(from_json(s)) for s in SAVED]
    assert kinds == [ObsIds, RectRegion, Positions, Positions, Positions, TimeWindow, TargetType, PositionsAtTime,
                     Compare, Compare]  # fmt: skip
    named = from_json(SAVED[4])
    assert named.name == "filter_on_name" and named.names == ("Crab",) and named.distance is None
    assert from_json(SAVED[3]).distance == {"ACIS": 0.5, "HRC": 0.9}


def test_filters_are_immutable():
    window = TimeWindow(datetime(2010, 1, 1, tzinfo=UTC), datetime(2011, 1, 1, tzinfo=UTC))
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.over_run = False  # type: ignore[misc]
    step = from_json(SAVED[0])
    assert isinstance(step.ids, tuple)
    hash(from_json(SAVED[3]))  # even per-instrument distances are held as tuples


@pytest.mark.parametrize(
    ("saved", "needle"),
    [
        ({"name": "filter_on_magic", "arguments": {}}, "is not one of"),
        ({"name": "filter_on_positions", "arguments": {"positions": {"ra": ["NaN"], "dec": [1.0]}}}, "finite"),
        ({"name": "filter_on_positions", "arguments": {"positions": {"ra": [1.0], "dec": [95.0]}}}, "|dec| <= 90"),
        ({"name": "filter_on_time", "arguments": {"start_datetime": "yesterday", "end_datetime": "2020-01-01"}},
         "not an ISO time"),
        ({"name": "filter_on_obs_ids", "arguments": {"allowed_obs_ids": ["1"], "invert": "no"}}, "true or false"),
        ({"name": "filter_on_column", "arguments": {"column": "x", "op": "~", "value": 1}}, "not a comparison"),
        ("filter_on_time", "is not one of"),
    ],
)
def test_unreadable_saved_filters_say_what_is_wrong(saved, needle):
    with pytest.raises(InputError, match=needle.replace("|", r"\|")):
        from_json(saved)


def test_compare_spellings_and_shapes():
    assert Compare("exposure", "=", 5).op == "==" and Compare("x", "<>", 1).op == "!="
    assert Compare(" prog_id ", "IN", ["a", "b"]) == Compare("prog_id", "in", ("a", "b"))
    assert Compare("t", ">", datetime(2015, 1, 1, tzinfo=UTC)).value == "2015-01-01T00:00:00"
    assert Compare("x", "is null").value is None
    assert Compare("x", "in", np.array([1, 2])) == Compare("x", "in", [1, 2])  # e.g. a column's unique values
    assert Compare("x", "==", np.float64(2.5)).value == 2.5 and type(Compare("x", "==", np.int64(3)).value) is int
    for column, op, value, needle in [
        ("x", "in", "abc", "give a list"),
        ("x", "between", [1], "two values"),
        ("x", "between", [5, 1], "low end is above"),
        ("x", "in", [1, "a"], "mix text and numbers"),
        ("x", "like", 5, "text pattern"),
        ("x", ">", None, "is null"),
        ("x", "is null", 3, "takes no value"),
        ("x", ">", float("nan"), "finite"),
        ("", ">", 1, "name a column"),
        ("x", ">", object(), "not a number, text"),
    ]:
        with pytest.raises(InputError, match=needle):
            Compare(column, op, value)


def test_where_text_becomes_comparisons():
    assert parse_where("exposure > 10000") == [Compare("exposure", ">", 10000)]
    assert parse_where("prog_id = '60.A-9700(A)' AND \"time\" between 55000 and 56000.5") == [
        Compare("prog_id", "==", "60.A-9700(A)"), Compare("time", "between", (55000, 56000.5))]  # fmt: skip
    assert parse_where("name like 'Cas%' and obs_type not in ('CAL', 'DDT') and x is not null") == [
        Compare("name", "like", "Cas%"),
        Compare("obs_type", "not in", ("CAL", "DDT")),
        Compare("x", "is not null"),
    ]
    assert parse_where("o = 'it''s'") == [Compare("o", "==", "it's")]  # a quote in a value is data
    assert parse_where(Compare("a", "<", 1)) == [Compare("a", "<", 1)]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("exposure >", "expected a value at character 11"),
        ("exposure > big", "quote text values"),
        ("a > 1 OR b < 2", "only comparisons joined by AND"),
        ("NOT a > 1", "only comparisons joined by AND"),
        ("x = 'open", "cannot read"),
        ("x = 1; DROP TABLE y", "cannot read"),
        ("", "give a comparison"),
        ("a > 1 b", "unexpected 'b'"),
        ("select > 1 and", "expected a column name"),
    ],
)
def test_where_text_that_is_not_a_condition_is_refused(text, needle):
    with pytest.raises(InputError, match=needle):
        parse_where(text)


def test_spec_cuts_read_with_or_not_and_constants():
    assert parse_condition("NOT (ra = 0 AND dec = 0)") == Negation(AllOf((Compare("ra", "==", 0),
                                                                           Compare("dec", "==", 0))))  # fmt: skip
    assert parse_condition("(gis_exposure > 0 OR sis_exposure > 0)") == AnyOf(
        (Compare("gis_exposure", ">", 0), Compare("sis_exposure", ">", 0)))  # fmt: skip
    assert parse_condition("obsid NOT LIKE '9%'") == Compare("obsid", "not like", "9%")
    assert parse_condition("x NOT BETWEEN 1 AND 2") == Negation(Compare("x", "between", (1, 2)))
    assert parse_condition("1 = 0") == Constant(False)
    assert parse_condition('"time" >= -1.5e3') == Compare("time", ">=", -1500.0)
