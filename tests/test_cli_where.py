"""Issue 16: ``vodaxa search --where CONDITION``: conditions on the missions' columns, read into typed comparisons
(never pasted into a query), checked against each mission's table before any search, run on the server."""

from __future__ import annotations

import io

import pandas as pd
import pytest

import vodaxa
from vodaxa.cli import main


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def test_where_keeps_what_the_api_keeps(vodaxa_sandbox, capsys):
    where = ["--where", "exposure > 10000", "--where", "type != 'CAL'"]
    assert main(["search", "chandra", *where, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out), dtype={"obs_id": str})
    assert len(table) and (table["exposure"] > 10000).all() and (table["type"] != "CAL").all()
    api = vodaxa.search(None, missions=["chandra"], where=["exposure > 10000", "type != 'CAL'"])
    assert sorted(table["obs_id"]) == sorted(api["obs_id"])
    said = f"chandra: {len(table)} observations (searched in its whole table, where exposure > 10000 and type != 'CAL')"
    assert said in captured.err
    everything = vodaxa.search(None, missions=["chandra"])
    assert len(table) < len(everything)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["search", "chandra", "--where", "exposure >"], "--where: condition 'exposure >': expected a value"),
        (["search", "chandra", "--where", "exposure > 1; drop table x"], "cannot read"),
        (["search", "chandra", "nustar_pointed", "--where", "exposure > 1"],
         "nustar_pointed: its table numaster has no column 'exposure'"),
        (["search", "chandra", "--where", "status = 3"], "status holds text values; quote the value"),
    ],
)
def test_bad_conditions_stop_before_anything_is_written(vodaxa_sandbox, tmp_path, capsys, argv, needle):
    out = tmp_path / "obs.csv"
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("vodaxa: error:")]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in err, err
    assert not out.exists()
