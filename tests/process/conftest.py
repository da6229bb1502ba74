"""Chandra (and NuSTAR) observations downloaded once from the sandbox, copied afresh for each test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import vodaxa
from vodaxa.config import endpoints
from vodaxa.sandbox import Sandbox, SandboxConfig

from . import fake_ciao

#: Public Chandra ObsIDs of the sandbox (rows=200, seed=0): two plain ACIS, one HRC, one with two OBIs
#: (ObsID % 17 == 0 in the sandbox) and one in alternating-exposure mode (ObsID % 17 == 1).
ACIS = ("5204", "25813")
HRC = "6417"
MULTI_OBI = "18394"
ALTERNATING = "7974"
CHANDRA = (*ACIS, HRC, MULTI_OBI, ALTERNATING)


@pytest.fixture(scope="session")
def downloaded(tmp_path_factory) -> Iterator[Path]:
    """The five Chandra observations and two NuSTAR ones, as vodaxa.download lays them out."""
    root = tmp_path_factory.mktemp("process-data")
    config = SandboxConfig(rows=200, seed=0, archives=("heasarc",), cache=tmp_path_factory.mktemp("process-sb"))
    with Sandbox(config) as sandbox, endpoints.override(sandbox.endpoints):
        chandra = vodaxa.mission("chandra")
        chandra.filter_on_obs_ids(list(CHANDRA))
        assert sorted(chandra.filtered_obs_ids) == sorted(CHANDRA)
        nu = vodaxa.mission("nustar_pointed").filtered_obs_info.query("proprietary_usable").head(2)
        manifest = vodaxa.resolve(chandra) + vodaxa.resolve(nu)
        report = vodaxa.download(manifest, root, progress=False)
        assert not len(report.failed), report.errors
    yield root


@pytest.fixture
def data(downloaded, tmp_path) -> Path:
    """A private copy of the downloaded data (tests write processed/ beside it)."""
    target = tmp_path / "data"
    shutil.copytree(downloaded, target)
    return target


@pytest.fixture
def ciao(tmp_path, monkeypatch) -> Path:
    """The fake CIAO tools first on PATH; returns the file their command lines are logged to."""
    bin_dir = fake_ciao.install(tmp_path / "fake-ciao-bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log = tmp_path / "ciao-calls.jsonl"
    monkeypatch.setenv("FAKE_CIAO_LOG", str(log))
    monkeypatch.delenv("FAKE_CIAO_FAIL", raising=False)
    monkeypatch.delenv("FAKE_CIAO_NO_CALDB", raising=False)
    return log
