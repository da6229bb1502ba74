"""The ADQL builder: reserved words quoted, literals escaped (no injection), portable boxes and windows."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
import sqlglot

from vodaxa.query import adql


def test_identifiers():
    assert adql.ident("ra") == "ra"
    assert adql.ident("time") == '"time"' and adql.ident("TIME") == '"TIME"'
    assert adql.ident("__row") == '"__row"'  # not a regular identifier
    assert adql.ident('we"ird') == '"we""ird"'
    assert adql.column("time", "m") == 'm."time"'
    assert adql.table_name("xsa.v_all_observations") == "xsa.v_all_observations"
    with pytest.raises(ValueError):
        adql.ident("")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("O'Brien", "'O''Brien'"),
        ("x' OR '1'='1", "'x'' OR ''1''=''1'"),
        (5, "5"),
        (2.5, "2.5"),
        (True, "1"),
        (None, "NULL"),
        (np.int64(7), "7"),
        (np.float64(1.5), "1.5"),
        (datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc), "'2020-01-02T03:04:05.000'"),
    ],
)
def test_literals(value, text):
    assert adql.literal(value) == text


def test_literal_refuses_nan_and_nul():
    with pytest.raises(ValueError):
        adql.literal(float("nan"))
    with pytest.raises(ValueError):
        adql.literal("a\x00b")


def test_injection_cannot_change_the_query_shape():
    hostile = "x') OR 1=1 --"
    where = adql.in_list("obsid", [hostile, "0123"])
    tree = sqlglot.parse_one(f"SELECT a FROM t WHERE {where}", read="tsql")
    literals = [lit.this for lit in tree.find_all(sqlglot.exp.Literal) if lit.is_string]
    assert literals == [hostile, "0123"]
    assert adql.in_list("obsid", []) == "1 = 0"


def test_box_wraps_and_plain():
    assert adql.box("ra", "dec", 10, 20, -5, 5) == "dec BETWEEN -5.0 AND 5.0 AND ra BETWEEN 10.0 AND 20.0"
    assert adql.box("ra", "dec", 359, 1, -5, 5) == "dec BETWEEN -5.0 AND 5.0 AND (ra >= 359.0 OR ra <= 1.0)"
    assert "BETWEEN 0.0 AND 360.0" in adql.box("ra", "dec", 0, 360, -90, 90)


def test_time_window_and_query():
    assert adql.time_window('"time"', "end_time", 1.0, 2.0) == '"time" <= 2.0 AND end_time >= 1.0'
    assert adql.time_window('"time"', "end_time", 1.0, 2.0, over_run=False) == '"time" >= 1.0 AND end_time <= 2.0'
    query = adql.Query("numaster", ["m.obsid", 'm."time"'], where=["a = 1", "b != 2"], top=5, distinct=True)
    text = query.adql()
    assert text.startswith("SELECT DISTINCT TOP 5 m.obsid") and "WHERE (a = 1) AND (b != 2)" in text
    assert "<>" not in text  # DaCHS rejects <>
    sqlglot.parse_one(text, read="tsql")
