"""One download call against a faulty sandbox ends with every file byte-identical or listed as failed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
import requests

import vodaxa
from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, seed=7, archives=("heasarc",), cache=tmp_path_factory.mktemp("dl"))
    with Sandbox(config) as sandbox, endpoints.override(sandbox.endpoints):
        yield sandbox


@pytest.fixture(scope="module")
def manifest(sb) -> vodaxa.Manifest:
    mission = Mission("nustar_pointed")
    mission.filter_on_obs_ids(list(mission.all_obs_info.query("proprietary_usable")["obs_id"][:3]))
    found = vodaxa.resolve(mission)
    assert len(found.files) > 20
    return found


def test_faults_end_in_identical_files_or_clear_failures(sb, manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    sb.set_faults(Faults(latency=0.01, error_500=0.1, drop=0.05, truncate=0.05, seed=3, retry_after=0, paths=("/FTP",)))
    try:
        report = vodaxa.download(manifest, tmp_path, retries=6)
        injected = dict(sb.injector.injected)
    finally:
        sb.set_faults(Faults())
    assert injected.get("500") and injected.get("drop") and injected.get("truncate"), injected
    files = manifest.files
    assert len(report.ok) + len(report.failed) == len(files)
    for url, rel in zip(files["url"], files["local_path"]):
        path = tmp_path / rel
        if path in report.ok:
            source = requests.get(url, timeout=30, headers={"Accept-Encoding": "identity"}).content
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(source).digest(), rel
        else:
            assert not path.exists()
    assert not list(tmp_path.rglob("*.part")) or len(report.failed)
    again = vodaxa.download(manifest, tmp_path)
    assert len(again.skipped) == len(report.ok) and not len(again.failed)


def test_fits_checksums_verified_when_asked(sb, manifest, tmp_path):
    fits_rows = manifest.files[manifest.files["local_path"].str.contains(r"\.(?:fits|evt|img)(?:\.gz)?$")]
    assert len(fits_rows) > 5
    report = vodaxa.download(vodaxa.Manifest(fits_rows), tmp_path, verify="fits", progress=False)
    assert len(report.ok) == len(fits_rows) and not len(report.failed)
