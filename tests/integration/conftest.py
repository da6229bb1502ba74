"""Integration-test fixtures: the local DaCHS server (see dachs/setup.sh) and the rows it serves."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

DACHS_DIR = Path(__file__).resolve().parent / "dachs"
DEFAULT_PORT = "18080"
SETUP_HINT = "start it as root with: bash tests/integration/dachs/setup.sh"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``integration`` marker so that --strict-markers accepts it."""
    config.addinivalue_line(
        "markers", "integration: needs a live local service (the DaCHS server of tests/integration/dachs)"
    )


def server_required() -> bool:
    """Whether a missing server is a failure (CI, or VODAXA_REQUIRE_DACHS=1) rather than a skip."""
    ci = os.environ.get("CI", "").strip().lower() in {"true", "1"}
    return ci or os.environ.get("VODAXA_REQUIRE_DACHS", "").strip() == "1"


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """GET ``url`` directly (no proxies: the server is on 127.0.0.1) and return (status, body)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def probe(base_url: str) -> str | None:
    """None if ``base_url``/tap/availability reports the service available, else why not."""
    try:
        status, body = http_get(base_url + "/tap/availability", timeout=5.0)
    except (urllib.error.URLError, OSError) as exc:
        return f"{base_url}/tap/availability: {exc}"
    if status != 200 or not re.search(rb"available>\s*true\s*<", body):
        return f"{base_url}/tap/availability answered HTTP {status} without available=true"
    return None


@pytest.fixture(scope="session")
def http_get_url() -> Callable[[str], tuple[int, bytes]]:
    """The proxy-free GET helper, for tests that fetch product files or check status codes."""
    return http_get


@pytest.fixture(scope="session")
def dachs_url() -> str:
    """Base URL of the DaCHS server; skips (fails in CI) when it does not answer /tap/availability."""
    port = os.environ.get("VODAXA_DACHS_PORT", DEFAULT_PORT)
    url = (os.environ.get("VODAXA_DACHS_URL") or f"http://127.0.0.1:{port}").rstrip("/")
    problem = probe(url)
    if problem is not None:
        message = f"DaCHS test server unavailable ({problem}); {SETUP_HINT}"
        if server_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def dachs_data() -> ModuleType:
    """The make_data module (imported by path: tests/integration/dachs is not a package)."""
    spec = importlib.util.spec_from_file_location("vodaxa_dachs_make_data", DACHS_DIR / "make_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def numaster_rows(dachs_data: ModuleType) -> list[dict[str, Any]]:
    """The typed rows the server imported, the ground truth for every brute-force comparison."""
    rows: list[dict[str, Any]] = dachs_data.rows()
    return rows


@pytest.fixture
def offline_vocabularies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve pyvo's bundled datalink/core vocabulary and refuse any other download: tests stay offline."""
    from pyvo.utils import vocabularies

    bundled = Path(vocabularies.__file__).resolve().parents[1] / "dal/tests/data/datalink/datalink.desise"

    def get_vocabulary(voc_name: str, force_update: bool = False) -> dict[str, Any]:
        """Offline stand-in for pyvo.utils.vocabularies.get_vocabulary."""
        if voc_name == "datalink/core" and bundled.is_file():
            data: dict[str, Any] = json.loads(bundled.read_text(encoding="utf-8"))
            return data
        raise vocabularies.VocabularyError(f"vocabulary {voc_name!r}: no downloads in integration tests")

    monkeypatch.setattr(vocabularies, "get_vocabulary", get_vocabulary)
