"""Issue 16's hostile review: each finding about the archive folders, ObsCore services and the core, kept fixed."""

from __future__ import annotations

import gzip
import logging
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest

import vodaxa
from vodaxa import archives
from vodaxa.archives import obscore
from vodaxa.config import check_url
from vodaxa.errors import ConfigError, InputError, ResolveError, ServiceError
from vodaxa.manifest import path_component
from vodaxa.net import HttpClient, HttpConfig, MockTransport, Reply, run_sync
from vodaxa.net.policy import BodyTooLarge, decode_body
from vodaxa.specs import registry as specs


@pytest.fixture
def scratch(monkeypatch):
    monkeypatch.setattr(archives, "_REGISTRY", dict(archives.by_name()))
    specs.specs()
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_first_use_from_many_threads_neither_deadlocks_nor_sees_a_half_filled_registry():
    out = _fresh("""
import importlib, threading, vodaxa
from vodaxa import archives
names = ["suzaku", "chandra", "eso", "xmm_pointed", "nustar_pointed", "swift", "asca", "eso_products"] * 2
errors, threads = [], []
def use(name):
    try:
        vodaxa.mission(name)
    except Exception as err:
        errors.append(repr(err))
def listing():
    archives.archives()
def importing():
    importlib.import_module("vodaxa.archives.obscore")
for n, name in enumerate(names):
    threads.append(threading.Thread(target=use, args=(name,)))
    threads.append(threading.Thread(target=listing if n % 2 else importing))
for t in threads: t.start()
for t in threads: t.join(60)
print(sum(t.is_alive() for t in threads), len(errors), errors[:2])
""")
    assert out.split()[:2] == ["0", "0"], out


def test_a_plugin_named_like_a_builtin_archive_is_ignored_and_gets_no_credentials(monkeypatch, caplog):
    lookalike = archives.Archive(name="eso", title="not ESO", endpoints={"tap_obs": "https://plugin.example.org/"})

    class EP:
        name = "eso"

        def load(self):
            return lookalike

    import importlib.metadata

    plugins = {archives.ENTRY_POINTS: [EP()]}
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: plugins.get(group, []))
    monkeypatch.setattr(archives, "_REGISTRY", {})
    monkeypatch.setattr(archives, "_loaded", False)
    with caplog.at_level(logging.WARNING, logger="vodaxa.archives"):
        assert archives.get("eso").package == "vodaxa.archives.eso"
    assert "a built-in archive's name; ignored" in caplog.text


@pytest.mark.parametrize(
    "changes, match",
    [({"name": ""}, "lower-case identifier"), ({"name": None}, "lower-case identifier"),
     ({"name": "ESO2"}, "lower-case identifier"), ({"endpoints": None}, "map service names to URLs"),
     ({"max_connections": -5}, "whole number >= 1"), ({"max_connections": 0.5}, "whole number >= 1"),
     ({"max_connections": True}, "whole number >= 1"), ({"credentials": "token"}, "needs login="),
     ({"credentials": "cookie"}, "'token', 'query' or None")],
)  # fmt: skip
def test_a_malformed_archive_is_refused_when_described(changes, match):
    fields = {"name": "mine", "title": "Mine", "endpoints": {"tap": "https://mine.example.org/tap"}, **changes}
    with pytest.raises(ConfigError, match=match):
        archives.Archive(**fields)


def test_gzip_members_are_all_read_and_an_incomplete_stream_is_an_error():
    text = b"x" * 400
    both = gzip.compress(text[:200]) + gzip.compress(text[200:])
    assert decode_body(both, "gzip", 10_000, "u") == text
    assert decode_body(b"", "gzip", 10_000, "u") == b""  # an empty answer (HEAD, 204) stays empty
    assert decode_body(zlib.compress(text), "deflate", 10_000, "u") == text
    for broken in (gzip.compress(text)[:-10], gzip.compress(text) + b"junk"):
        with pytest.raises(ServiceError, match="not whole or not gzip"):
            decode_body(broken, "gzip", 10_000, "u")
    with pytest.raises(BodyTooLarge):
        decode_body(gzip.compress(b"\0" * 5000) * 3, "gzip", 10_000, "u")


def _client_get(handler, url="https://a.example.org/x"):
    async def go():
        async with HttpClient(HttpConfig(retries=0), transport=MockTransport(handler)) as http:
            return await http.get(url)

    return run_sync(go())


@pytest.mark.parametrize(
    "location, match",
    [("http://[::1/x", "Location that is not a URL"), ("file:///etc/passwd", "not an http\\(s\\) URL"),
     ("https://a.example.org/x", "more than 10 redirects")],
)  # fmt: skip
def test_bad_redirects_are_typed_errors_not_crashes_or_loops(location, match):
    with pytest.raises(ServiceError, match=match):
        _client_get(lambda request: Reply(302, {"Location": location}))


@pytest.mark.parametrize("raw, safe", [(".", "unnamed"), ("..", "unnamed"), ("%2e%2e", "2e_2e"), ("../a", "a"),
                                       (".hidden", "hidden"), ("a/b?c", "a_b_c"), ("x" * 400, "x" * 200)])  # fmt: skip
def test_path_components_are_never_dots_hidden_or_too_long(raw, safe):
    assert path_component(raw) == safe


def test_obscore_dids_of_dots_cannot_sink_the_others(scratch, sb_eso):
    url = sb_eso.endpoints["eso"]["dataportal"] + "ADP.2020-01-01T00:00:00.000"
    obscore.service("dots", sb_eso.endpoints["eso"]["tap_obs"])
    frame = pd.DataFrame({"mission": ["dots"] * 3, "obs_id": ["ivo://x/a?good", "ivo://x/a?..", "ivo://x/a?."],
                          "access_url": [url] * 3, "access_format": ["image/fits"] * 3})  # fmt: skip
    with vodaxa.config.endpoints.override(sb_eso.endpoints):
        manifest = vodaxa.resolve(frame)
    paths = list(manifest.frame["local_path"].dropna())
    assert any(p.startswith("good/") for p in paths) and not any(p.split("/")[0] in (".", "..") for p in paths)


@pytest.fixture(scope="module")
def sb_eso(tmp_path_factory):
    from vodaxa.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(rows=40, seed=3, archives=("eso",), cache=tmp_path_factory.mktemp("h"))) as sandbox:
        yield sandbox


def test_a_credential_goes_only_under_its_services_whole_path_segments():
    realm = archives.get("eso").realm()
    base = vodaxa.config.endpoints.get("eso", "tap_obs")
    assert realm.covers(base + "/sync") and realm.covers(base)
    assert not realm.covers(base + "_evil/sync") and not realm.covers(base + "x")
    datalink = vodaxa.config.endpoints.get("eso", "datalink")
    assert realm.covers(datalink + "?ID=x") and not realm.covers(datalink + "x")


def test_no_url_with_a_user_or_password_is_accepted_or_logged(scratch, caplog):
    with pytest.raises(ConfigError, match="never in URLs") as err:
        check_url("https://astro:s3cr3t-pass@archive.example.org/tap", "here")
    assert "s3cr3t" not in str(err.value)
    with pytest.raises(InputError, match="never in URLs"):
        obscore.service("leaky", "https://astro:s3cr3t-pass@archive.example.org/tap")
    with caplog.at_level(logging.WARNING, logger="vodaxa.http"):
        logging.getLogger("vodaxa.http").warning("GET %s failed", "https://astro:another-secret@host.example/x")
    assert "another-secret" not in caplog.text


@pytest.mark.parametrize("name", ["chandra", "swift", "xmm", "nustar", "eso"])
def test_an_obscore_service_cannot_take_a_missions_or_archives_name(scratch, name):
    with pytest.raises(InputError, match=r"already (a mission|an archive)"):
        obscore.service(name, "https://obscore.example.org/tap")
    assert specs.get("chandra").archive == "heasarc"


def test_an_obscore_service_is_repointed_by_calling_it_again_and_checks_its_arguments(scratch):
    obscore.service("mine", "https://one.example.org/tap")
    obscore.service("mine", "https://two.example.org/tap")
    assert vodaxa.config.endpoints.get("mine", "tap") == "https://two.example.org/tap"
    for bad in ({"fov": -1}, {"fov": float("nan")}, {"fov": "big"}, {"collection": "a\x00b"}):
        with pytest.raises(InputError):
            obscore.service("mine", "https://two.example.org/tap", **bad)
    with pytest.raises(InputError, match="not an http\\(s\\) URL"):
        obscore.service("mine", "not a url")


def test_a_row_naming_no_mission_is_refused_not_dropped():
    frame = pd.DataFrame({"mission": ["nustar_pointed", None], "obs_id": ["30001011002", "30001011003"]})
    with pytest.raises(InputError, match="1 row\\(s\\) of the observation table name no mission"):
        vodaxa.resolve(frame)


def test_impossible_times_are_unknown_not_a_crash():
    spec = specs.get("nustar_pointed")
    raw = pd.DataFrame({spec.id_column: ["1", "2", "3"], spec.ra: [1.0, 2.0, 3.0], spec.dec: [0.0, 0.0, 0.0],
                        spec.start: [60000.0, 1.5e5, 1e20], spec.end: [60000.1, 1.5e5, np.nan]})  # fmt: skip
    for column in spec.select_columns:
        if column not in raw:
            raw[column] = None
    table = spec.normalise(raw)
    assert table["start"].notna().tolist() == [True, False, False]


def test_a_failing_or_odd_resolver_is_named(scratch):
    async def broken(request):
        raise RuntimeError("plugin bug")

    async def odd(request):
        return [1, 2]

    specs.register(specs.MissionSpec(name="plug_m", pretty_name="P", archive="plug", table="t", id_column="i",
                                     id_regex=".", instruments=("X",), default_instruments=("X",), fov=0.1,
                                     start="s"))  # fmt: skip
    frame = pd.DataFrame({"mission": ["plug_m"], "obs_id": ["1"]})
    for resolver, match in ((broken, "resolver of archive 'plug'.*failed: RuntimeError: plugin bug"),
                            (odd, "returned list, not a vodaxa.Manifest")):  # fmt: skip
        archives.register(archives.Archive(name="plug", title="P", endpoints={"tap": "https://p.example.org/"},
                                           resolver=resolver), replace=True)  # fmt: skip
        with pytest.raises(ResolveError, match=match):
            vodaxa.resolve(frame)


def test_credential_messages_name_the_right_way_in_any_case():
    with pytest.raises(vodaxa.errors.AuthError, match="logging in is for ESO; XSA takes credentials per request"):
        vodaxa.auth.login("XSA")
    with pytest.raises(vodaxa.errors.AuthError, match="per-request credentials are for the XSA; ESO takes a login"):
        vodaxa.auth.use("Eso")
    assert archives.get("ESO").name == "eso"


def test_an_obscore_table_without_its_access_columns_is_an_input_error(scratch):
    obscore.service("trim", "https://trim.example.org/tap")
    with pytest.raises(InputError, match="lacks access_url, access_format"):
        vodaxa.resolve(pd.DataFrame({"mission": ["trim"], "obs_id": ["ivo://x?y"]}))


def test_subpackages_are_attributes_after_a_plain_import():
    out = _fresh("import sys, vodaxa; print(callable(vodaxa.sandbox.activate), 'duckdb' in sys.modules, "
                 "vodaxa.archives.get('eso').name)")  # fmt: skip
    assert out.split() == ["True", "False", "eso"]


def test_short_and_repeated_mission_names_are_searched_once_under_the_registrys_name(vodaxa_sandbox):
    result = vodaxa.search(["3C 105"], missions=["nustar", "nustar_pointed"], where={"nustar": "exposure_a > 0"})
    assert set(result["mission"]) <= {"nustar_pointed"} and result["obs_id"].is_unique
    assert set(result.attrs["radius"]) == {"nustar_pointed"}
