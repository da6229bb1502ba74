"""astropy's C VOTable TABLEDATA writer writes one byte past its buffer for some row lengths (a 219-letter cell);
the byte corrupts the allocator and the process dies later, elsewhere.  vodaxa turns that writer off wherever it
writes VOTables.  PYTHONMALLOC=debug makes the overflow fail at once, so the check is deterministic."""

from __future__ import annotations

import os
import subprocess
import sys

WRITE = "import io\nfrom astropy.table import Table\nTable({'x': ['a' * 219]}).write(io.BytesIO(), format='votable')\n"


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONMALLOC": "debug"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_vodaxa_writes_votables_without_the_overflowing_writer():
    for setup in ("import vodaxa.query.tap", "import vodaxa.query.cache",
                  "from vodaxa.compat import safe_votable_writer; safe_votable_writer()"):  # fmt: skip
        done = _run(f"{setup}\n{WRITE}")
        assert done.returncode == 0, done.stderr[-1500:]


def test_the_cli_writes_the_same_document_as_astropy_does(tmp_path):
    import pandas as pd
    from astropy.table import Table

    from vodaxa.cli.io import read_observations, write_table

    frame = pd.DataFrame({"mission": ["chandra"] * 3, "obs_id": ["0057", "1" * 25, "x"],
                          "target_name": ["a" * 219, "Sgr A* & <M31>", "銀河"]})  # fmt: skip
    write_table(frame, "votable", tmp_path / "x.xml")
    back = read_observations(tmp_path / "x.xml")
    assert back["target_name"].tolist() == frame["target_name"].tolist() and back["obs_id"].tolist() == frame[
        "obs_id"].tolist()  # fmt: skip
    assert len(Table.read(tmp_path / "x.xml", format="votable")) == 3


def test_the_upstream_bug_is_still_there_or_gone():
    """Not an assertion on vodaxa: it says whether the work-around is still needed (crash: yes)."""
    done = _run(WRITE)
    print("astropy's C TABLEDATA writer " + ("still overflows" if done.returncode else "no longer overflows"))
