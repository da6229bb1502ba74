"""The sandbox's ADQL subset: what it translates, what it refuses, and PostgreSQL-like semantics."""

from __future__ import annotations

import numpy as np
import pytest

from vodaxa.sandbox.protocols.adql import ADQLError, TableRef, point_in_polygon, translate
from vodaxa.sandbox.protocols.tapdb import TapDatabase, TapTable
from vodaxa.sandbox.protocols.vo import FieldMeta


def _resolve(schema, name):
    if name.lower() not in {"t", "u"}:
        raise ADQLError(f"unknown table {name}")
    return TableRef(schema, name.lower())


@pytest.fixture(scope="module")
def db():
    data = {
        "id": np.array(["a", "b", "c", "d"], dtype=object),
        "x": np.array([1.0, np.nan, 3.0, -2.0]),
        "n": np.array([5, 7, 9, 11]),
        "ra": np.array([359.9, 0.1, 180.0, 10.0]),
        "dec": np.array([0.0, 0.0, 45.0, -10.0]),
    }
    table = TapTable(
        "t",
        "test",
        [
            FieldMeta("id", "char"),
            FieldMeta("x", "double"),
            FieldMeta("n", "long"),
            FieldMeta("ra", "double"),
            FieldMeta("dec", "double"),
        ],
        data,
    )
    database = TapDatabase([table])
    yield database
    database.close()


def _col(db, query, name=None, maxrec=None):
    result = db.execute(query, maxrec=maxrec)
    index = 0 if name is None else [f.name for f in result.fields].index(name)
    return list(result.columns[index])


def test_top_and_order_nulls_last_ascending(db):
    assert _col(db, "SELECT TOP 2 id FROM t ORDER BY x") == ["d", "a"]
    assert _col(db, "SELECT id FROM t ORDER BY x") == ["d", "a", "c", "b"]  # NULL last, as PostgreSQL
    assert _col(db, "SELECT id FROM t ORDER BY x DESC") == ["b", "c", "a", "d"]  # NULL first when DESC


def test_integer_division_truncates(db):
    assert _col(db, "SELECT n / 2 AS h FROM t ORDER BY n") == [2, 3, 4, 5]


def test_box_across_ra_zero_and_distance(db):
    assert sorted(_col(db, "SELECT id FROM t WHERE CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 0, 0, 1, 1)) = 1")) == [
        "a",
        "b",
    ]
    assert _col(
        db, "SELECT id FROM t WHERE CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 0, 0, 1, 1)) = 0ORDER BY id"
    ) == ["c", "d"]
    dist = _col(db, "SELECT DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 0.1, 0)) AS d FROM t WHERE id = 'a'")
    assert dist[0] == pytest.approx(0.2, abs=1e-9)
    dist4 = _col(db, "SELECT DISTANCE(ra, dec, 0.1, 0) AS d FROM t WHERE id = 'a'")
    assert dist4 == dist


def test_intersects_forms(db):
    assert _col(db, "SELECT id FROM t WHERE INTERSECTS(CIRCLE('', 180, 45, 0.1), POINT('', ra, dec)) = 1") == ["c"]
    assert _col(db, "SELECT id FROM t WHERE INTERSECTS(CIRCLE('', ra, dec, 1), CIRCLE('', 181.5, 45, 0.1)) = 1") == [
        "c"
    ]
    assert _col(db, "SELECT id FROM t WHERE CONTAINS(POINT('', ra, dec), CIRCLE(POINT('', 10, -10), 0.5)) = 1") == ["d"]
    as_value = _col(db, "SELECT CONTAINS(POINT('', ra, dec), CIRCLE('', 10, -10, 1)) AS c FROM t ORDER BY id")
    assert as_value == [0, 0, 0, 1]


def test_maxrec_overflow_and_zero(db):
    result = db.execute("SELECT id FROM t", maxrec=2)
    assert len(result) == 2 and result.overflow
    result = db.execute("SELECT TOP 2 id FROM t", maxrec=2)
    assert len(result) == 2 and not result.overflow
    result = db.execute("SELECT id FROM t", maxrec=0)
    assert len(result) == 0 and result.overflow and [f.name for f in result.fields] == ["id"]


def test_tap_schema(db):
    names = _col(db, "SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 't' ORDER BY column_index")
    assert names == ["id", "x", "n", "ra", "dec"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "empty"),
        ("SELECT 1; SELECT 2", "exactly one"),
        ("INSERT INTO t VALUES (1)", "only SELECT"),
        ("SELECT a FROM t CROSS APPLY u", "unsupported ADQL construct"),
        ("SELECT a FROM t WHERE", "Could not parse"),
        ("WITH q AS (SELECT 1 AS a) SELECT a FROM q", "unsupported ADQL construct"),
        ("SELECT CASE WHEN 1 = 1 THEN 1 END FROM t", "unsupported ADQL construct"),
        ("SELECT MYFUNC(a) FROM t", "unsupported ADQL function"),
        ("SELECT a FROM nope", "unknown table"),
        ("SELECT a FROM t WHERE CONTAINS(CIRCLE('', 1, 2, 3), POINT('', a, b)) = 1", "POINT as its first"),
        ("SELECT a FROM t WHERE CONTAINS(POINT('', a, b), CIRCLE('', 1, 2)) = 1", "CIRCLE takes 3"),
        ("SELECT a FROM t WHERE CONTAINS(POINT('', a, b), POLYGON('', 1, 2, 3, 4)) = 1", "three"),
        ("SELECT a FROM t WHERE CONTAINS(POINT('', a, b), REGION('x')) = 1", "unsupported ADQL function"),
        (
            "SELECT a FROM t WHERE INTERSECTS(BOX('', 1, 2, 3, 4), BOX('', 1, 2, 3, 4)) = 1",
            "INTERSECTS is supported",
        ),
    ],
)
def test_refused(query, fragment):
    with pytest.raises(ADQLError) as info:
        translate(query, _resolve)
    assert fragment in str(info.value)


def test_unknown_column_is_an_error_not_a_null(db):
    with pytest.raises(ADQLError, match="nope"):
        db.execute("SELECT nope FROM t", maxrec=None)


def test_injection_through_a_literal_stays_a_literal(db):
    assert _col(db, "SELECT id FROM t WHERE id = 'a'' OR ''1''=''1'") == []


@pytest.mark.parametrize(
    ("ra", "dec", "inside"),
    [(0.0, 0.0, True), (359.5, 0.5, True), (2.0, 0.0, False), (0.0, 1.5, False), (180.0, 0.0, False)],
)
def test_point_in_polygon_across_ra_zero(ra, dec, inside):
    assert point_in_polygon(ra, dec, "359 -1 1 -1 1 1 359 1") is inside


def test_point_in_polygon_concave_and_null():
    verts = "0 0 4 0 4 4 2 1 0 4"  # a concave "M" shape
    assert point_in_polygon(1.0, 0.5, verts) is True
    assert point_in_polygon(2.0, 3.0, verts) is False
    assert point_in_polygon(None, 1.0, verts) is None
