"""The ``vodaxa`` command: the README's main job on the sandbox, config show, clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vodaxa.cli import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def test_sandbox_query_is_the_readme_main_job(capsys):
    assert main(["sandbox", "query", "--rows", "300"]) == 0
    out = capsys.readouterr().out
    assert "numaster" in out and "exposure_a" in out
    assert "/FTP/nustar/data/obs/" in out  # DataLink resolved an observation directory
    assert "Listing of" in out


def test_sandbox_query_custom_adql_without_datalink(capsys):
    assert main(["sandbox", "query", "--rows", "20", "SELECT COUNT(*) AS n FROM chanmaster"]) == 0
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
