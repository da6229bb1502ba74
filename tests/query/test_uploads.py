"""TAP uploads are written compactly and fast, and read back to exactly the table astropy's writer describes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io.votable import parse_single_table
from astropy.table import MaskedColumn, Table
from hypothesis import given, settings
from hypothesis import strategies as st

from vodaxa.compat import safe_votable_writer
from vodaxa.query.uploads import votable_bytes


def _astropy(table: Table) -> bytes:
    safe_votable_writer()
    out = io.BytesIO()
    table.write(out, format="votable")
    return out.getvalue()


def _fields(body: bytes) -> list[tuple[str, str, str | None]]:
    table = parse_single_table(io.BytesIO(body))
    return [(f.name, f.datatype, f.arraysize) for f in table.fields]


def _same(ours: bytes, table: Table) -> None:
    """``ours`` reads back as astropy's own document does (the table itself, but for edge white space)."""
    back = parse_single_table(io.BytesIO(ours)).to_table()
    theirs = parse_single_table(io.BytesIO(_astropy(table))).to_table()
    assert back.colnames == table.colnames and len(back) == len(table)
    for name in table.colnames:
        assert np.asarray(back[name]).tolist() == np.asarray(theirs[name]).tolist(), name
        if table[name].dtype.kind != "U":
            assert np.asarray(back[name]).tolist() == np.asarray(table[name]).tolist(), name
    assert _fields(ours) == _fields(_astropy(table))  # the same declared types as astropy's own document


def test_positions_table_round_trips_and_is_smaller():
    rng = np.random.default_rng(1)
    n = 2000
    table = Table({"vx_pos": np.arange(n), "vx_ra": rng.uniform(0, 360, n), "vx_dec": rng.uniform(-90, 90, n),
                   "vx_radius": np.full(n, 0.13)})  # fmt: skip
    ours = votable_bytes(table)
    _same(ours, table)
    assert len(ours) < 0.8 * len(_astropy(table))


def test_text_is_escaped():
    ids = np.array(["a<b&c>", "ééé", "60001\t", "plain"])
    table = Table({"vx_id": ids, "n": np.array([1, 2, 3, 4], dtype=np.int32)})
    _same(votable_bytes(table), table)


@pytest.mark.parametrize(
    "column",
    [
        np.array([1.0, np.nan, 3.0]),  # NaN: astropy's spelling
        np.array([0.1, 0.2, 0.3], dtype=np.float32),
        np.array([True, False, True]),
        MaskedColumn([1, 2, 3], mask=[False, True, False]),
    ],
)
def test_what_it_does_not_know_goes_to_astropy(column):
    table = Table({"vx_pos": np.arange(3), "x": column})
    assert votable_bytes(table) == _astropy(table)


def test_empty_table_is_astropys():
    table = Table({"vx_pos": np.arange(0), "vx_ra": np.zeros(0)})
    assert votable_bytes(table) == _astropy(table)


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
ROW = st.tuples(st.integers(-(2**62), 2**62), st.floats(allow_nan=False, allow_infinity=False), TEXT)


@settings(max_examples=60, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=30))
def test_any_ints_doubles_and_text_read_back_the_same(rows):
    table = Table(rows=rows, names=("i", "x", "s"), dtype=(np.int64, np.float64, str))
    _same(votable_bytes(table), table)
