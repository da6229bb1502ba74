"""Issue 15 item 1: identifiers are text everywhere.  Every format vodaxa writes an observation table in (CSV,
JSON, VOTable) and a manifest in (JSON, Parquet) reads back into the identical table, whatever the ObsIDs look
like (leading zeros, huge integers, missing values, unicode) and however missions are mixed."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vodaxa.cli.io import read_observations, write_table
from vodaxa.manifest import Manifest

TEXT = st.one_of(
    st.from_regex(r"0{0,3}[0-9]{1,25}", fullmatch=True),  # leading zeros, numbers beyond int64 and float
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).map(str.strip).filter(
        bool
    ),
    st.sampled_from(["57", "0057", "1e5", "nan", "NA", "None", "true", "2020-01-01", "ADP.2020-01-01T00:00:00.000"]),
)
MAYBE = st.one_of(st.none(), TEXT)
EARLIEST, LATEST = pd.Timestamp("1990-01-01").to_pydatetime(), pd.Timestamp("2030-01-01").to_pydatetime()
TIME = st.one_of(st.none(), st.datetimes(min_value=EARLIEST, max_value=LATEST).map(lambda d: pd.Timestamp(d, tz="UTC")))
PLAIN = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?")
MISSIONS = ["chandra", "eso", "xmm_pointed", "nustar_pointed"]
FLOAT = st.one_of(st.none(), st.floats(min_value=-90, max_value=360, allow_nan=False))


@st.composite
def observation_tables(draw) -> pd.DataFrame:
    rows = draw(st.integers(min_value=1, max_value=6))
    frame = pd.DataFrame({
        "mission": draw(st.lists(st.sampled_from(MISSIONS), min_size=rows, max_size=rows)),
        "obs_id": draw(st.lists(TEXT, min_size=rows, max_size=rows)),
        "ra": draw(st.lists(FLOAT, min_size=rows, max_size=rows)),
        "dec": draw(st.lists(FLOAT, min_size=rows, max_size=rows)),
        "start": draw(st.lists(TIME, min_size=rows, max_size=rows)),
        "science_usable": draw(st.lists(st.booleans(), min_size=rows, max_size=rows)),
        "instrument": draw(st.lists(MAYBE, min_size=rows, max_size=rows)),
        "datalink_id": draw(st.lists(MAYBE, min_size=rows, max_size=rows)),  # chandra has one, eso none
        "target_name": draw(st.lists(MAYBE, min_size=rows, max_size=rows)),  # a mission's extra text column
    })
    frame["start"] = pd.to_datetime(frame["start"], utc=True).astype("datetime64[ns, UTC]")
    frame["end"] = frame["start"] + pd.Timedelta(seconds=draw(st.integers(0, 10**6)))
    frame["duration"] = frame["end"] - frame["start"]
    frame["ra"] = frame["ra"].astype(float)
    frame["dec"] = frame["dec"].astype(float)
    return frame


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing text as None, so a table and its read-back compare cell by cell."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else v)
    return out


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xml"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=observation_tables())
def test_an_observation_table_reads_back_identical(tmp_path, suffix, frame):
    if suffix == ".csv":  # CSV cannot say what a column holds: an extra column of plain numbers reads as numbers,
        extra = frame["target_name"].dropna()  # and one of True/False alone as booleans (documented in cli.md)
        assume(not all(PLAIN.fullmatch(v) for v in extra))
        assume(not (len(extra) == len(frame) and all(v.strip() in ("True", "False") for v in extra)))
    path = tmp_path / f"obs{suffix}"
    write_table(frame, {".csv": "csv", ".json": "json", ".xml": "votable"}[suffix], path)
    back = read_observations(path)
    pd.testing.assert_frame_equal(_canonical(back[frame.columns]), _canonical(frame), check_dtype=True)


def test_chandra_and_eso_mixed_through_csv_keep_their_datalink_ids(tmp_path):
    """The reported case: a column that one mission fills and the other leaves empty read back as float."""
    frame = pd.DataFrame({"mission": ["chandra", "eso"], "obs_id": ["57", "ADP.2020-01-01T00:00:00.000"],
                          "datalink_id": ["57", None]})  # fmt: skip
    for fmt, suffix in (("csv", ".csv"), ("json", ".json"), ("votable", ".xml")):
        write_table(frame, fmt, tmp_path / f"t{suffix}")
        back = read_observations(tmp_path / f"t{suffix}")
        assert [None if pd.isna(v) else v for v in back["datalink_id"]] == ["57", None], fmt


MANIFEST_ROWS = st.lists(
    st.fixed_dictionaries({
        "mission": st.sampled_from(["chandra", "eso"]), "obs_id": TEXT, "url": st.just("http://h/f"),
        "local_path": st.just("a/f.fits"), "source_id": MAYBE, "checksum": st.none(),
        "size": st.one_of(st.none(), st.integers(0, 2**62)),
    }),
    min_size=1,
    max_size=5,
)


@pytest.mark.parametrize("kind", ["json", "parquet"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=MANIFEST_ROWS)
def test_a_manifest_reads_back_identical(tmp_path, kind, rows):
    manifest = Manifest(rows)
    path = tmp_path / f"m.{kind}"
    manifest.to_json(path) if kind == "json" else manifest.to_parquet(path)
    back = Manifest.from_json(path) if kind == "json" else Manifest.from_parquet(path)
    columns = ["mission", "obs_id", "source_id", "size"]
    pd.testing.assert_frame_equal(_canonical(back.frame[columns]), _canonical(manifest.frame[columns]))


def test_csv_extras_of_plain_numbers_read_as_numbers_and_ids_stay_text(tmp_path):
    frame = pd.DataFrame({
        "mission": ["xmm_pointed"] * 3, "obs_id": ["0123456789", "0000000001", "98765432101234567890"],
        "exposure": [1200.5, 30.0, None], "revolution": ["0042", "1", "2"], "name": ["3C 105", "57", None],
    })
    write_table(frame, "csv", tmp_path / "x.csv")
    back = read_observations(tmp_path / "x.csv")
    assert list(back["obs_id"]) == list(frame["obs_id"]) and list(back["revolution"]) == ["0042", "1", "2"]
    assert back["exposure"].dtype == float and back["exposure"].tolist()[:2] == [1200.5, 30.0]
    assert back["name"].tolist()[:2] == ["3C 105", "57"] and pd.isna(back["name"][2])


def test_a_sandbox_restarted_on_the_same_port_is_not_answered_from_the_cache(tmp_path, monkeypatch):
    """A new user restarted 'vodaxa sandbox serve --port 8765' with other data and got the old answers: answers
    of services on this machine are not cached on disk."""
    import socket

    import vodaxa
    from vodaxa.sandbox import Sandbox, SandboxConfig

    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seen = []
    for seed in (0, 5):
        config = SandboxConfig(rows=40, seed=seed, archives=("heasarc",), ports={"heasarc": port},
                               cache=tmp_path / f"sb{seed}")  # fmt: skip
        with Sandbox(config) as sandbox, vodaxa.config.endpoints.override(sandbox.endpoints):
            seen.append(sorted(vodaxa.mission("nustar_pointed").filtered_obs_info["obs_id"]))
    assert seen[0] != seen[1]
