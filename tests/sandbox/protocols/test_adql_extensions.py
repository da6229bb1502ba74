"""What the sandbox's ADQL accepts beyond the subset because archives pass it through and clients send it:
SPLIT_PART, CAST AS DECIMAL, PostgreSQL's names for unaliased aggregates, INTERSECTS(region column, CIRCLE)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vodaxa.sandbox.protocols.adql import ADQLError, point_in_polygon, region_intersects_circle
from vodaxa.sandbox.protocols.tapdb import TapDatabase, TapTable
from vodaxa.sandbox.protocols.vo import FieldMeta


@pytest.fixture(scope="module")
def db():
    data = {
        "name": np.array(["numaster.obsid", "numaster", "a.b.c", None], dtype=object),
        "value": np.array(["2", "5", "0.25", "-1"], dtype=object),
        "region": np.array(
            [
                "POSITION J2000 10.0 20.0",
                "CIRCLE ICRS 10.0 20.0 0.5",
                "POLYGON J2000 9.0 19.0 11.0 19.0 11.0 21.0 9.0 21.0",
                None,
            ],
            dtype=object,
        ),
    }
    columns = [FieldMeta("name", "char"), FieldMeta("value", "char"), FieldMeta("region", "char")]
    database = TapDatabase([TapTable("m", "test", columns, data)])
    yield database
    database.close()


def _rows(db, query):
    result = db.execute(query, maxrec=None)
    return [f.name for f in result.fields], [list(c) for c in result.columns]


def test_split_part_as_postgresql(db):
    names, (first, second, third) = _rows(
        db, "SELECT split_part(name, '.', 1) AS t, split_part(name, '.', 2) AS p, split_part(name, '.', 3) AS q FROM m"
    )
    assert names == ["t", "p", "q"]
    assert first == ["numaster", "numaster", "a", None]
    assert second == ["obsid", "", "b", None]  # past the last field: the empty string, as in PostgreSQL
    assert third == ["", "", "c", None]


@pytest.mark.parametrize(
    "call",
    ["split_part(name, '', 1)", "split_part(name, '.', 0)", "split_part(name, '.', -1)", "split_part(name, value, 1)"],
)
def test_split_part_outside_what_matches_postgresql_is_refused(db, call):
    with pytest.raises(ADQLError, match="SPLIT_PART"):
        db.execute(f"SELECT {call} FROM m", maxrec=None)


def test_cast_as_decimal_keeps_the_digits(db):
    """PostgreSQL's DECIMAL is unbounded; DuckDB's default DECIMAL(18,3) would round 0.25 to 0.250 but 1/3 to 0.333."""
    _, (values,) = _rows(db, "SELECT CAST(value AS DECIMAL) AS v FROM m ORDER BY v")
    assert values == [-1.0, 0.25, 2.0, 5.0]
    _, (third,) = _rows(db, "SELECT TOP 1 CAST(1.0 / 3 AS DECIMAL) AS v FROM m")
    assert math.isclose(third[0], 1 / 3, rel_tol=1e-12)


def test_the_astroquery_metainfo_query(db):
    names, columns = _rows(
        db,
        "SELECT split_part(name, '.', 1) AS table, split_part(name, '.', 2) AS par, "
        "CAST(value AS DECIMAL) AS value FROM m WHERE name LIKE 'numaster%' ORDER BY value",
    )
    assert names == ["table", "par", "value"]
    assert columns == [["numaster", "numaster"], ["obsid", ""], [2.0, 5.0]]


def test_unaliased_aggregates_are_named_as_in_postgresql(db):
    names, columns = _rows(db, "SELECT COUNT(*), MIN(value), MAX(name) AS top FROM m")
    assert names == ["count", "min", "top"]
    assert columns[0] == [4]


def test_intersects_region_column_and_circle(db):
    _, (hits,) = _rows(db, "SELECT name FROM m WHERE INTERSECTS(region, CIRCLE('ICRS', 10.0, 20.6, 0.2)) = 1")
    assert hits == ["numaster", "a.b.c"]  # the circle (r 0.5) and the square reach; the point does not
    _, (flipped,) = _rows(db, "SELECT name FROM m WHERE INTERSECTS(CIRCLE('ICRS', 10.0, 20.0, 0.01), region) = 1")
    assert flipped == ["numaster.obsid", "numaster", "a.b.c"]


SQUARE = (350.0, 80.0, 10.0, 80.0, 10.0, 85.0, 350.0, 85.0)


def _unit(ra: float, dec: float) -> np.ndarray:
    r, d = np.radians(ra), np.radians(dec)
    return np.array([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)])


def _boundary(vertices: tuple[float, ...], per_edge: int = 2000) -> np.ndarray:
    """Dense unit vectors along the polygon's great-circle edges."""
    corners = [_unit(vertices[i], vertices[i + 1]) for i in range(0, len(vertices), 2)]
    t = np.linspace(0.0, 1.0, per_edge)[:, None]
    points = [a * (1 - t) + b * t for a, b in zip(corners, corners[1:] + corners[:1])]  # chords, then normalised
    out = np.concatenate(points)
    return out / np.linalg.norm(out, axis=1)[:, None]


def test_region_intersects_circle_against_brute_force():
    """A polygon near the pole straddling RA 0: inside, or the nearest boundary sample within the radius."""
    rng = np.random.default_rng(5)
    edge = _boundary(SQUARE)
    vertices = " ".join(str(v) for v in SQUARE)
    checked = 0
    for _ in range(400):
        ra, dec, radius = rng.uniform(330, 390) % 360, rng.uniform(72, 89.5), rng.uniform(0.05, 4.0)
        nearest = np.degrees(np.arccos(np.clip(edge @ _unit(ra, dec), -1, 1))).min()
        if abs(nearest - radius) < 0.01:
            continue  # too close to call with a sampled boundary
        expected = bool(point_in_polygon(ra, dec, vertices)) or nearest <= radius
        assert region_intersects_circle(f"POLYGON J2000 {vertices}", ra, dec, radius) == expected, (ra, dec, radius)
        checked += 1
    assert checked > 350


def test_region_intersects_circle_shapes_and_errors():
    assert region_intersects_circle("POSITION ICRS 10 20", 10.0, 20.4, 0.5)
    assert not region_intersects_circle("POSITION ICRS 10 20", 10.0, 20.6, 0.5)
    assert region_intersects_circle("CIRCLE ICRS 10 20 0.2", 10.0, 20.6, 0.45)
    assert not region_intersects_circle("CIRCLE ICRS 10 20 0.2", 10.0, 20.6, 0.35)
    assert region_intersects_circle(None, 1.0, 2.0, 3.0) is None
    with pytest.raises(ValueError, match="unsupported STC-S"):
        region_intersects_circle("BOX ICRS 10 20 1 1", 10.0, 20.0, 1.0)
