"""Issue 16: a mission's cuts and instrument conditions (ADQL text in its spec) read into typed conditions and
evaluated in pandas keep exactly the rows the server's WHERE keeps, so the cone-search path needs no SQL engine."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vodaxa import specs as registry
from vodaxa.config import endpoints
from vodaxa.query.compile_pandas import holds
from vodaxa.query.conditions import parse_condition
from vodaxa.query.source import to_frame
from vodaxa.query.tap import TapRunner
from vodaxa.specs.registry import clean_text

#: Every spec with a table in the mission sandbox whose rows have conditions (cuts or instrument choices).
SPECS = [s.name for s in registry.specs() if s.loader is None and (s.cuts or s.instrument_where(s.default_instruments))]


@pytest.mark.parametrize("name", SPECS)
def test_each_condition_keeps_what_the_server_keeps(sandbox, name):
    spec = registry.get(name)
    runner = TapRunner(endpoints.get(spec.archive, spec.service))
    rows = to_frame(runner.run(f"SELECT * FROM {spec.table}"))  # what a cone search answers: every column
    ids = rows[spec.id_column].map(clean_text)
    usual = [*spec.cuts, *spec.instrument_where(spec.default_instruments)]
    others = [*spec.instrument_where(spec.instruments[:1]), *spec.instrument_where(spec.instruments[-1:])]
    for text in dict.fromkeys([*usual, *others]):
        server = to_frame(runner.run(f"SELECT {spec.id_column} FROM {spec.table} WHERE {text}"))
        kept = set(ids[holds(parse_condition(text), rows)])
        assert kept == set(server[spec.id_column].map(clean_text)), text
        assert kept or text not in usual, text  # the usual conditions keep rows here: the comparison means something


def test_missing_values_are_unknown_as_in_sql():
    """A comparison with a missing value is unknown: NOT keeps it unknown (dropped), unknown AND false is false."""
    import numpy as np
    import pandas as pd

    rows = pd.DataFrame({"ra": [0.0, np.nan, 1.0, np.nan], "dec": [0.0, 0.0, 0.0, 1.0]})
    rows["status"] = ["a", None, "b", "a"]
    assert holds(parse_condition("NOT (ra = 0 AND dec = 0)"), rows).tolist() == [False, False, True, True]
    assert holds(parse_condition("ra IS NULL OR status = 'a'"), rows).tolist() == [True, True, False, True]
    assert holds(parse_condition("status NOT IN ('a')"), rows).tolist() == [False, False, True, False]


def test_nothing_outside_the_sandbox_imports_duckdb():
    root = Path(__file__).resolve().parents[2] / "vodaxa"
    importers = []
    for path in root.rglob("*.py"):
        if "sandbox" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "duckdb" for n in names):
                importers.append(str(path.relative_to(root)))
    assert importers == []
