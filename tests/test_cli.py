"""The ``vodaxa`` command: the README's main job on the sandbox, config show, clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vodaxa.cli import main
from vodaxa.downloader import verified


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def test_sandbox_query_is_the_readme_main_job(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sandbox", "query", "--rows", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "numaster" in out and "exposure_a" in out
    assert "/FTP/nustar/data/obs/" in out  # DataLink resolved an observation directory
    assert "Listing of" in out
    listed = out.split("Listing of", 1)[1].split("\nManifest:", 1)[0].splitlines()[1:]
    assert listed and all(line.startswith("  ") and "<" not in line for line in listed if line)  # names, no HTML
    assert any(line.strip().endswith("/") for line in listed)  # folders end with a slash
    files = [p for p in (tmp_path / "vodaxa-sandbox-data").rglob("*") if p.is_file() and p.name != verified.INDEX]
    assert files and f"ok={len(files)} skipped=0 failed=0" in out
    assert not list(tmp_path.rglob("*.part*"))


def test_sandbox_query_custom_adql_without_datalink(capsys):
    assert main(["sandbox", "query", "--rows", "20", "--no-download", "SELECT COUNT(*) AS n FROM chanmaster"]) == 0
    assert "20" in capsys.readouterr().out


def test_config_show(capsys):
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert "heasarc.tap" in out and "https://heasarc.gsfc.nasa.gov/xamin/vo/tap" in out and "[default]" in out


def test_errors_are_one_line(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "e.json"
    bad.write_text('{"heasarc": {"tapp": "http://x/"}}')
    monkeypatch.setenv("VODAXA_ENDPOINTS", str(bad))
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "heasarc.tapp" in err and str(bad) in err


def test_module_entry_point_help():
    done = subprocess.run(
        [sys.executable, "-m", "vodaxa.sandbox", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "serve" in done.stdout


def test_serve_command_writes_endpoints_and_answers(tmp_path):
    import json
    import os
    import signal
    import time

    import pyvo

    target = tmp_path / "endpoints.json"
    env = {**os.environ, "VODAXA_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vodaxa.sandbox", "--rows", "30", "--endpoints-file", str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        tap_url = json.loads(target.read_text())["heasarc"]["tap"]
        assert tap_url.startswith("http://127.0.0.1:")
        assert len(pyvo.dal.TAPService(tap_url).run_sync("SELECT obsid FROM numaster")) == 30
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "VODAXA_ENDPOINTS=" in out and "stopped" in out  # Ctrl-C: 130, as documented


def test_pytest_fixture(vodaxa_sandbox):
    from vodaxa.config import endpoints

    assert endpoints.get("heasarc", "tap") == vodaxa_sandbox.endpoints["heasarc"]["tap"]
    assert endpoints.get("heasarc", "tap").startswith("http://127.0.0.1:")


def test_a_warning_is_one_line_on_the_cli(monkeypatch, capsys):
    """Issue 15 item 8: a warning (a calSelector alert, ObsIDs not found) prints as one line, not as Python's
    warning with its source line."""
    import warnings

    from vodaxa.cli import data, main

    def warns(args):
        warnings.warn("eso: calSelector says:\n  the dark for this frame is missing", stacklevel=2)
        return 0

    monkeypatch.setattr(data, "cmd_missions", warns)
    assert main(["missions"]) == 0
    err = capsys.readouterr().err
    assert err == "vodaxa: warning: eso: calSelector says: the dark for this frame is missing\n"


def test_an_unwritable_destination_is_one_error_up_front(tmp_path, capsys):
    from vodaxa.cli import main

    manifest = tmp_path / "m.json"
    from vodaxa.manifest import Manifest

    Manifest([{"url": "http://127.0.0.1:9/a.fits", "local_path": "a.fits", "mission": "x"}]).to_json(manifest)
    assert main(["download", str(manifest), "/proc/self", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not writable" in err


def test_counts_and_unknown_sizes_read_as_english():
    import pandas as pd

    from vodaxa.cli.io import plural, sizes_of

    assert plural(1, "observation") == "1 observation" and plural(2, "file") == "2 files"
    assert sizes_of(pd.DataFrame({"size": [None, None]})) == "sizes not listed by the archive"
    assert sizes_of(pd.DataFrame({"size": [2048, None]})) == "2.0 KiB known for 1 of them"
    assert sizes_of(pd.DataFrame({"size": [1024, 1024]})) == "2.0 KiB"
