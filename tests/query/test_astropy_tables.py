"""Issue 17 item 3: observation tables, search results and manifests to astropy Tables (and VOTables) and back,
without loss: times as Time (UTC), angles and durations with units, UCDs on the VO's columns, text as text."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.table import Table
from astropy.time import Time

import vodaxa
from vodaxa.errors import InputError
from vodaxa.tables import from_table, to_table


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value == "" or (isinstance(value, float) and value != value)


def _canonical(frame: pd.DataFrame) -> dict[str, list]:
    """Each column as a list with every missing cell (None, NaN, NA, empty text) as None, so frames compare cell
    by cell whatever pandas' dtypes (numbers rounded to 12 digits, times as nanoseconds)."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
            out[name] = [None if pd.isna(v) else v.value for v in column]
        else:
            out[name] = [None if _missing(v) else round(v, 12) if isinstance(v, float) else v for v in column]
    return out


@pytest.fixture
def result(vodaxa_sandbox) -> pd.DataFrame:
    return vodaxa.search(["3C 105", "Crab"], missions=["nustar_pointed", "chandra", "xmm_pointed", "eso"])


def test_a_search_result_becomes_a_table_with_times_units_and_ucds(result):
    table = to_table(result)
    assert isinstance(table["start"], Time) and table["start"].scale == "utc"
    assert table["ra"].unit == u.deg and table["separation"].unit == u.deg and table["duration"].unit == u.s
    assert table["obs_id"].info.meta["ucd"] == "meta.id;meta.main"
    assert table["ra"].info.meta["ucd"].startswith("pos.eq.ra")
    assert table["obs_id"].dtype.kind == "U"  # text, never numbers
    assert table.meta["vodaxa"]["radius"] == result.attrs["radius"]


@pytest.mark.parametrize("votable", [False, True])
def test_and_reads_back_identical(result, votable):
    table = to_table(result, votable=votable)
    if votable:  # through a VOTable file and back
        buffer = io.BytesIO()
        table.write(buffer, format="votable")
        buffer.seek(0)
        table = Table.read(buffer, format="votable")
        assert table["start"].info.meta.get("xtype") == "timestamp" or table["start"].dtype.kind in "OU"
    back = from_table(table)
    assert _canonical(back[list(result.columns)]) == _canonical(result)


def test_unknown_times_and_values_stay_unknown():
    frame = pd.DataFrame({
        "mission": ["chandra", "eso"], "obs_id": ["0057", "ADP.1"], "ra": [1.5, np.nan],
        "start": pd.to_datetime(["2020-01-01T00:00:00.123456789", None], utc=True),
        "duration": pd.to_timedelta([10.5, None], unit="s"), "instrument": [None, "MUSE"],
    })  # fmt: skip
    table = to_table(frame)
    assert list(table["start"].mask) == [False, True] and list(table["instrument"].mask) == [True, False]
    back = from_table(table)
    assert _canonical(back) == _canonical(frame) and back["obs_id"].tolist() == ["0057", "ADP.1"]


def test_a_pyvo_result_or_degrees_in_other_units_are_read(vodaxa_sandbox):
    import pyvo

    from vodaxa.config import endpoints

    tap = pyvo.dal.TAPService(endpoints.get("heasarc", "tap"))
    result = tap.run_sync("SELECT TOP 3 obsid, ra, dec FROM numaster")
    frame = from_table(result)
    assert len(frame) == 3 and {"obsid", "ra", "dec"} <= set(frame.columns)
    arcmin = Table({"ra": [60.0] * u.arcmin, "mission": ["x"], "obs_id": ["1"]})
    assert from_table(arcmin)["ra"].tolist() == [1.0]


def test_a_manifest_round_trips_through_a_table(vodaxa_sandbox, result):
    manifest = vodaxa.resolve(result[result["mission"] == "nustar_pointed"].head(2))
    table = manifest.to_table()
    assert table["size"].unit == u.byte and table["url"].info.meta["ucd"] == "meta.ref.url"
    back = vodaxa.Manifest.from_table(table)
    assert _canonical(back.frame) == _canonical(manifest.frame)


def test_what_is_not_a_table_is_refused():
    with pytest.raises(InputError, match="to_table takes a pandas DataFrame"):
        to_table([1, 2])
    with pytest.raises(InputError, match="from_table takes an astropy Table"):
        from_table({"a": 1})


def test_the_command_lines_votables_carry_units_ucds_and_timestamps(result, tmp_path):
    import warnings

    from astropy.io.votable import parse_single_table

    from vodaxa.cli.io import read_observations, write_table

    path = tmp_path / "obs.xml"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ERFA "dubious year" for proprietary ends past its table
        write_table(result, "votable", path)
    fields = {f.name: f for f in parse_single_table(str(path)).fields}
    assert fields["ra"].ucd == "pos.eq.ra;meta.main" and str(fields["ra"].unit) == "deg"
    assert fields["duration"].ucd == "time.duration;obs.exposure" and str(fields["duration"].unit) == "s"
    assert fields["start"].xtype == "timestamp" and fields["obs_id"].datatype in ("char", "unicodeChar")
    back = read_observations(path)
    assert _canonical(back[list(result.columns)]) == _canonical(result)


def test_missing_text_of_any_kind_is_masked_not_written_as_text():
    frame = pd.DataFrame({"mission": pd.array(["chandra", None], dtype="string"), "obs_id": ["1", np.nan]})
    table = to_table(frame)
    assert list(table["mission"].mask) == [False, True] and list(table["obs_id"].mask) == [False, True]
    assert from_table(table)["mission"].tolist() == ["chandra", None]


def test_duplicate_column_names_are_refused_with_what_to_do():
    frame = pd.DataFrame([[1, 2]], columns=["ra", "ra"])
    with pytest.raises(InputError, match=r"more than one column named 'ra'.*rename"):
        to_table(frame)


def test_a_fits_file_of_observations_reads_back_or_says_how(result, tmp_path):
    path = tmp_path / "observations.fits"
    to_table(result).write(path)
    with pytest.raises(InputError, match="astropy_native=True"):
        from_table(Table.read(path))
    back = from_table(Table.read(path, astropy_native=True))
    assert back["mission"].tolist() == result["mission"].tolist()
    assert back["obs_id"].tolist() == result["obs_id"].tolist()


def test_bytes_become_text_and_integers_some_rows_lack_stay_integers():
    from astropy.table import MaskedColumn

    table = Table({"mission": np.array([b"chandra", b"xmm_pointed"]), "obs_id": np.array([b"1", b"2"]),
                   "count": MaskedColumn([1, 2], mask=[False, True])})  # fmt: skip
    frame = from_table(table)
    assert frame["mission"].tolist() == ["chandra", "xmm_pointed"] and frame["obs_id"].tolist() == ["1", "2"]
    assert str(frame["count"].dtype) == "Int64" and frame["count"].iloc[0] == 1 and pd.isna(frame["count"].iloc[1])


def test_a_wrong_unit_or_unreadable_meta_is_said_not_a_traceback():
    from vodaxa.errors import AdjustedInputWarning

    with pytest.raises(InputError, match="'ra' is in m, which is not a unit of deg"):
        from_table(Table({"ra": [1.0] * u.m}))
    table = Table({"mission": ["chandra"], "obs_id": ["1"]}, meta={"vodaxa": "x"})
    with pytest.warns(AdjustedInputWarning, match="meta\\['vodaxa'\\] is a str"):
        frame = from_table(table)
    assert frame["obs_id"].tolist() == ["1"] and frame.attrs == {}
