"""Issue 16: one folder per archive, described by one self-registering Archive the pipeline asks."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import types
from urllib.parse import urlsplit

import pandas as pd
import pytest

from vodaxa import archives
from vodaxa.config import DEFAULT_ENDPOINTS, endpoints
from vodaxa.errors import AuthError, ConfigError, ResolveError
from vodaxa.manifest import Manifest
from vodaxa.specs import registry as specs


@pytest.fixture
def scratch_registries(monkeypatch):
    """Registries restored after the test, whatever it registers."""
    monkeypatch.setattr(archives, "_REGISTRY", dict(archives.by_name()))
    specs.specs()
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))


def test_every_builtin_archive_lives_in_its_own_folder_and_says_everything_there():
    known = archives.by_name()
    assert set(archives.BUILTIN) - {"regtap"} <= set(known) and "registry" in known
    for archive in (a for a in known.values() if archives._builtin(a)):
        assert archive.package == f"vodaxa.archives.{archive.package.rsplit('.', 1)[-1]}"
        assert archive.endpoints and all(urlsplit(u).scheme in ("http", "https") for u in archive.endpoints.values())
        if archive.resolver:
            assert inspect.iscoroutinefunction(archive.attr(archive.resolver)), archive.name
        if archive.credentials:
            assert archive.login and callable(archive.attr(archive.login)), archive.name
    assert dict(DEFAULT_ENDPOINTS["eso"]) == dict(known["eso"].endpoints)  # config reads the archives


def test_every_mission_names_a_registered_archive_that_can_resolve_it():
    """In a fresh process (no test's own missions): every spec lives in its archive's folder."""
    import subprocess

    code = """
import sys
from vodaxa import archives
from vodaxa.specs import registry as specs
known = archives.by_name()
for spec in specs.specs():
    assert spec.archive in known and spec.service in known[spec.archive].endpoints, spec.name
    assert known[spec.archive].resolver, spec.name
    homes = [n for n, m in list(sys.modules.items())
             if n.startswith("vodaxa.archives.") and any(v is spec for v in vars(m).values())]
    assert homes, spec.name + " is defined outside vodaxa.archives"
    print(spec.name, homes[0])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    homes = dict(line.split() for line in done.stdout.splitlines())
    assert homes["nustar_pointed"] == "vodaxa.archives.heasarc.nustar" and len(homes) >= 16
    assert homes["chandra_cxc"] == "vodaxa.archives.cxc.missions"


def test_download_limits_come_from_the_archives():
    from vodaxa.downloader import host_limits

    limits = host_limits()
    for archive in archives.archives():
        for url in endpoints.table()[archive.name].values():
            host = urlsplit(url).netloc.lower()
            if archive.max_connections:
                assert limits[host] <= archive.max_connections


def test_the_downloader_and_the_resolver_router_import_no_archive_module():
    code = (
        "import sys, vodaxa.downloader, vodaxa.resolvers; "
        "print(sorted(m for m in sys.modules if m.startswith('vodaxa.archives.')))"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_archive_added_in_one_module_is_searched_resolved_and_limited(scratch_registries, monkeypatch):
    """Everything about a new archive in one module: endpoints, missions, resolver, limit, credentials."""
    module = types.ModuleType("toy_archive")
    calls = []

    async def resolve(request):
        calls.append((request.spec.name, list(request.frame["obs_id"]), dict(request.options)))
        return Manifest([{"mission": request.spec.name, "obs_id": o, "url": f"https://toy.example/{o}.fits",
                          "local_path": f"toy/{o}.fits"} for o in request.frame["obs_id"]])  # fmt: skip

    def missions():
        specs.register(specs.MissionSpec(
            name="toy_mission", pretty_name="Toy", archive="toy", table="toy.obs", id_column="obsid",
            id_regex=r"^\d+$", instruments=("CAM",), default_instruments=("CAM",), fov=0.1, start="t0",
        ))  # fmt: skip

    module.resolve = resolve
    monkeypatch.setitem(sys.modules, "toy_archive", module)
    monkeypatch.setitem(sys.modules, "toy_archive.missions", types.ModuleType("toy_archive.missions"))
    sys.modules["toy_archive.missions"].__dict__["registered"] = missions()
    archives.register(archives.Archive(
        name="toy", title="Toy archive", package="toy_archive", endpoints={"tap": "https://toy.example/tap"},
        missions=(".missions",), resolver="toy_archive:resolve", max_connections=3,
    ))  # fmt: skip

    assert "toy" in DEFAULT_ENDPOINTS and endpoints.get("toy", "tap") == "https://toy.example/tap"
    with endpoints.override({"toy": {"tap": "https://mirror.example/tap"}}):
        assert endpoints.get("toy", "tap") == "https://mirror.example/tap"
    with pytest.raises(ConfigError, match=r"unknown service .toy\.sia."):
        endpoints.override({"toy": {"sia": "https://toy.example/sia"}})

    from vodaxa.downloader import host_limits

    assert host_limits()["toy.example"] == 3

    import vodaxa

    frame = pd.DataFrame({"mission": ["toy_mission"] * 2, "obs_id": ["1", "2"]})
    manifest = vodaxa.resolve(frame)
    assert sorted(manifest.frame["obs_id"]) == ["1", "2"] and calls == [("toy_mission", ["1", "2"], {})]
    with pytest.raises(ResolveError, match="calibrations select ESO calibration cascades; they do not apply to toy"):
        vodaxa.resolve(frame, calibrations="raw2raw")

    with pytest.raises(AuthError, match="logging in is for ESO; TOY takes credentials none"):
        vodaxa.auth.login("toy")


def test_archive_plugins_come_from_entry_points_and_a_broken_one_is_only_logged(monkeypatch, caplog):
    good = archives.Archive(name="plugged", title="Plugged", package="plugged", endpoints={"tap": "https://p.example/tap"})

    class EP:
        def __init__(self, name, target):
            self.name, self._target = name, target

        def load(self):
            if isinstance(self._target, Exception):
                raise self._target
            return self._target

    import importlib.metadata

    eps = [EP("plugged", good), EP("broken", ImportError("no module named plugged_broken")), EP("odd", object())]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: eps if group == archives.ENTRY_POINTS else [])
    monkeypatch.setattr(archives, "_REGISTRY", {})
    monkeypatch.setattr(archives, "_loaded", False)
    with caplog.at_level(logging.WARNING, logger="vodaxa.archives"):
        names = [a.name for a in archives.archives()]
    assert names[: len(archives.BUILTIN)] == ["xsa", "heasarc", "cxc", "erosita", "eso", "cds", "registry", "obscore"]
    assert "plugged" in names
    assert "broken could not be loaded" in caplog.text and "odd is not a vodaxa.archives.Archive" in caplog.text


def test_a_name_is_taken_once_and_an_unknown_archive_is_named():
    with pytest.raises(ConfigError, match="already registered"):
        archives.register(archives.Archive(name="eso", title="not ESO", endpoints={"tap": "https://x.example/"}))
    with pytest.raises(ConfigError, match="unknown archive 'nope'; known archives: xsa, heasarc"):
        archives.get("nope")


def test_async_resolvers_share_one_request_shape():
    from vodaxa.resolvers.request import ResolveRequest

    for archive in archives.archives():
        if archive.resolver:
            params = list(inspect.signature(archive.attr(archive.resolver)).parameters)
            assert params == ["request"], archive.name
    assert [f for f in ResolveRequest.__dataclass_fields__] == [
        "spec", "frame", "chosen", "products", "http", "engine", "options"
    ]  # fmt: skip
    assert asyncio.iscoroutinefunction(archives.get("heasarc").attr(".resolver:resolve"))


def test_a_fresh_process_reads_heasarc_semantics_in_any_vo_result_before_any_archive_code_ran():
    """The HEASARC term reader is declared by its Archive, not registered as a side effect of importing its
    resolver: a pyvo result resolved first thing in a new process still finds the data (regression)."""
    import subprocess

    code = """
import sys, warnings, pyvo, vodaxa
from vodaxa import net
from vodaxa.config import endpoints
from vodaxa.sandbox import SandboxConfig, serve
with serve(SandboxConfig(rows=60, archives=("heasarc",))) as sb:
    tap = pyvo.dal.TAPService(sb.endpoints["heasarc"]["tap"], session=net.session(credentials=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tap.run_sync("SELECT TOP 8 * FROM numaster")
    assert "vodaxa.archives.heasarc.resolver" not in sys.modules
    with endpoints.override(sb.endpoints):
        manifest = vodaxa.resolve(result)
    print(len(manifest.files))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 0
