"""Endpoint defaults, overrides by file and by context manager, and the errors bad files give."""

from __future__ import annotations

import io
import json
import threading

import pytest

from vodaxa.config import DEFAULT_ENDPOINTS, ENV_ENDPOINTS, Endpoints, load_file
from vodaxa.errors import ConfigError, VodaxaError

SERVICES = {
    "heasarc": {"tap", "datalink", "ftp"},
    "eso": {"tap_obs", "datalink", "calselector", "token", "dataportal"},
    "cxc": {"tap", "cdaftp"},
    "xsa": {"tap", "aio"},
    "erosita": {"calpv", "dr1"},
}


@pytest.fixture
def eps(monkeypatch) -> Endpoints:
    monkeypatch.delenv(ENV_ENDPOINTS, raising=False)
    return Endpoints()


def test_every_service_has_a_real_default(eps):
    for archive, services in SERVICES.items():
        for service in services:
            url = eps.get(archive, service)
            assert url.startswith("https://") and url == DEFAULT_ENDPOINTS[archive][service]
    assert eps.get("heasarc", "tap") == "https://heasarc.gsfc.nasa.gov/xamin/vo/tap"
    assert eps.get("eso", "token") == "https://www.eso.org/sso/oidc/token"


def test_override_nests_and_restores(eps):
    with eps.override({"heasarc": {"tap": "http://127.0.0.1:1/tap"}}):
        assert eps.get("heasarc", "tap") == "http://127.0.0.1:1/tap"
        with eps.override({"heasarc": {"tap": "http://127.0.0.1:2/tap"}, "eso": {"token": "http://127.0.0.1:2/t"}}):
            assert eps.get("heasarc", "tap") == "http://127.0.0.1:2/tap"
            assert eps.get("eso", "token") == "http://127.0.0.1:2/t"
        assert eps.get("heasarc", "tap") == "http://127.0.0.1:1/tap"
        assert eps.get("eso", "token") == DEFAULT_ENDPOINTS["eso"]["token"]
        assert eps.sources()["heasarc.tap"] == "override"
    assert eps.get("heasarc", "tap") == DEFAULT_ENDPOINTS["heasarc"]["tap"]


def test_override_is_seen_by_other_threads(eps):
    seen = []
    with eps.override({"cxc": {"tap": "http://127.0.0.1:9/cxctap"}}):
        worker = threading.Thread(target=lambda: seen.append(eps.get("cxc", "tap")))
        worker.start()
        worker.join()
    assert seen == ["http://127.0.0.1:9/cxctap"]


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_env_file_json_and_toml(eps, monkeypatch, tmp_path, suffix):
    path = tmp_path / f"endpoints{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"xsa": {"aio": "http://127.0.0.1:5/aio"}}))
    else:
        path.write_text('[xsa]\naio = "http://127.0.0.1:5/aio"\n')
    monkeypatch.setenv(ENV_ENDPOINTS, str(path))
    assert eps.get("xsa", "aio") == "http://127.0.0.1:5/aio"
    assert eps.get("xsa", "tap") == DEFAULT_ENDPOINTS["xsa"]["tap"]
    with eps.override({"xsa": {"aio": "http://127.0.0.1:6/aio"}}):
        assert eps.get("xsa", "aio") == "http://127.0.0.1:6/aio"
    out = io.StringIO()
    eps.show(out)
    assert "xsa.aio" in out.getvalue() and "http://127.0.0.1:5/aio" in out.getvalue()
    assert f"[${ENV_ENDPOINTS}]" in out.getvalue()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"heasarcc": {"tap": "http://x/"}}', "unknown archive 'heasarcc'"),
        ('{"heasarc": {"tapp": "http://x/"}}', "unknown service 'heasarc.tapp'"),
        ('{"heasarc": {"tap": "ftp://x/"}}', "key 'heasarc.tap'"),
        ('{"heasarc": {"tap": 5}}', "key 'heasarc.tap'"),
        ('{"heasarc": "http://x/"}', "'heasarc' must map"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a table"),
    ],
)
def test_bad_files_name_file_and_key(tmp_path, content, fragment):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_file(path)
    assert str(path) in str(info.value) and fragment in str(info.value)
    assert isinstance(info.value, VodaxaError)


def test_bad_toml_and_missing_file(eps, monkeypatch, tmp_path):
    bad = tmp_path / "e.toml"
    bad.write_text("[heasarc\ntap = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_file(bad)
    monkeypatch.setenv(ENV_ENDPOINTS, str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="does not exist"):
        eps.get("heasarc", "tap")


def test_bad_override_and_unknown_endpoint(eps):
    with (
        pytest.raises(ConfigError, match=r"unknown service 'eso\.tap'"),
        eps.override({"eso": {"tap": "http://x/"}}),
    ):
        pass
    with pytest.raises(ConfigError, match=r"no endpoint 'eso\.nope'"):
        eps.get("eso", "nope")


def test_an_override_called_as_a_statement_applies_until_restored():
    """Issue 15 item 5: written as the README shows it, without ``with``, an override is not silently ignored."""
    from vodaxa.config import endpoints

    before = endpoints.get("heasarc", "tap")
    layer = endpoints.override({"heasarc": {"tap": "http://127.0.0.1:8765/tap"}})
    try:
        assert endpoints.get("heasarc", "tap") == "http://127.0.0.1:8765/tap"
    finally:
        layer.restore()
    assert endpoints.get("heasarc", "tap") == before
    layer.restore()  # idempotent
    with endpoints.override({"heasarc": {"tap": "http://127.0.0.1:1/tap"}}) as table:
        assert table.get("heasarc", "tap") == "http://127.0.0.1:1/tap"
    assert endpoints.get("heasarc", "tap") == before
