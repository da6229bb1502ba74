"""Service discovery through the registry: the sandbox's RegTAP gives the sandbox's URLs, labelled as such."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator

import pytest
import pyvo

import vodaxa
from vodaxa.cli import main
from vodaxa.config import endpoints
from vodaxa.errors import InputError, ServiceError, UnknownMissionError
from vodaxa.query import registry
from vodaxa.sandbox import Sandbox, SandboxConfig, serve


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=80,
        seed=3,
        now_mjd=61000.0,
        archives=("heasarc", "cxc", "eso", "xsa", "cds", "registry"),
        cache=tmp_path_factory.mktemp("reg"),
    )
    with Sandbox(config) as sandbox:
        yield sandbox



def test_discover_gives_the_sandbox_urls(live):
    found = registry.discover(["nustar_pointed", "chandra", "chandra_cxc", "eso", "xmm_pointed"])
    heasarc, cxc = live.endpoints["heasarc"], live.endpoints["cxc"]
    assert found["nustar_pointed"].ivoid == "ivo://nasa.heasarc/numaster"
    assert found["nustar_pointed"].scs == f"{heasarc['scs']}?table=numaster&"
    assert found["nustar_pointed"].tap == heasarc["tap"]
    assert found["nustar_pointed"].datalink == f"{heasarc['datalink']}/numaster"
    assert found["chandra"].scs == f"{heasarc['scs']}?table=chanmaster&"
    assert (found["chandra_cxc"].tap, found["chandra_cxc"].scs) == (cxc["tap"], cxc["scs"])
    assert found["eso"].tap == live.endpoints["eso"]["tap_obs"] and found["eso"].scs is None
    assert found["eso"].datalink == live.endpoints["eso"]["datalink"]
    assert found["xmm_pointed"].tap == live.endpoints["xsa"]["tap"]


def test_every_mission_with_an_ivoid_maps_back_to_the_sandbox_endpoints(live):
    layer = registry.endpoints_from_registry()
    for archive, services in layer.items():
        for service, url in services.items():
            assert url == live.endpoints[archive][service], f"{archive}.{service}"
    assert set(layer["heasarc"]) == {"tap", "scs", "datalink"} and set(layer["cxc"]) == {"tap", "scs"}


def test_registry_urls_are_labelled_in_config_show(live, capsys):
    bogus = {"heasarc": {"scs": "http://127.0.0.1:9/not-here"}}
    with endpoints.override(bogus):
        with registry.use_registry(["nustar_pointed"]):
            assert endpoints.sources()["heasarc.scs"] == "registry"
            assert endpoints.get("heasarc", "scs") == live.endpoints["heasarc"]["scs"]
            out = io.StringIO()
            endpoints.show(out)
            assert f"heasarc.scs          {live.endpoints['heasarc']['scs']}  [registry]" in out.getvalue()
        assert endpoints.sources()["heasarc.scs"] == "override"
        assert main(["config", "show", "--registry", "nustar_pointed"]) == 0
        assert "[registry]" in capsys.readouterr().out


def test_searching_through_registry_urls(live):
    data = live.heasarc.data["numaster"]
    where = [[float(data["ra"][i]), float(data["dec"][i])] for i in range(0, 40, 4)]
    broken = {"heasarc": {"scs": "http://127.0.0.1:9/not-here", "tap": "http://127.0.0.1:9/not-here"}}
    with endpoints.override(broken), registry.use_registry(["nustar_pointed"]):
        cone = vodaxa.search(where, ["nustar_pointed"], via="scs")
        tap = vodaxa.search(where, ["nustar_pointed"])
    assert len(cone) > 0 and sorted(cone["obs_id"]) == sorted(tap["obs_id"])


def test_serve_points_pyvo_at_the_sandbox_registry_and_back(tmp_path):
    before = pyvo.registry.regtap.get_RegTAP_service_url()
    with serve(rows=20, archives=("heasarc", "registry"), cache=tmp_path) as sandbox:
        assert pyvo.registry.regtap.get_RegTAP_service_url() == sandbox.endpoints["registry"]["tap"]
        cone = pyvo.regsearch(ivoid="ivo://nasa.heasarc/numaster")[0].get_service("conesearch")
        assert cone.baseurl.startswith(sandbox.urls["heasarc"])
        with pytest.raises(ServiceError, match=r"does not know ivo://cxc\.harvard\.edu/cda"):
            registry.discover("chandra_cxc")  # the CXC is not running, so not registered
    assert pyvo.registry.regtap.get_RegTAP_service_url() == before


def test_errors_are_typed_and_say_what_to_do(live):
    with pytest.raises(InputError, match="erosita_calpv: no registry identifier"):
        registry.discover("erosita_calpv")
    with pytest.raises(UnknownMissionError):
        registry.discover("no_such_mission")
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/tap"
    with pytest.raises(ServiceError, match=r"check the 'registry\.tap' endpoint"):
        registry.discover("nustar_pointed", url=closed)
    with pytest.raises(ServiceError, match=r"check the 'registry\.tap' endpoint"):
        registry.discover("nustar_pointed", url=live.endpoints["heasarc"]["ftp"])  # an HTML listing


def test_credentials_never_follow_a_host_the_registry_named():
    """A registry record cannot widen where an ESO token or XSA password goes (found by a hostile review)."""
    from vodaxa.archives.eso.login import eso_realm

    evil = {"eso": {"tap_obs": "https://evil.example/tap_obs", "dataportal": "https://evil.example/file/"}}
    with endpoints.override(evil, origin="registry"):
        assert endpoints.get("eso", "tap_obs") == "https://evil.example/tap_obs"  # used for queries ...
        assert not eso_realm().covers("https://evil.example/tap_obs/sync")  # ... but never for the token
        assert eso_realm().covers("https://archive.eso.org/tap_obs/sync")
    with endpoints.override(evil):  # the user's own choice is trusted
        assert eso_realm().covers("https://evil.example/tap_obs/sync")


def test_registry_records_with_odd_urls_or_twice_are_warned_about():
    from types import SimpleNamespace

    from vodaxa.query.registry import _access_url

    def interface(url: str) -> SimpleNamespace:
        return SimpleNamespace(standard_id="ivo://ivoa.net/std/TAP", is_standard=True, access_url=url)

    record = SimpleNamespace(
        ivoid="ivo://x/y", interfaces=[interface("javascript:alert(1)"), interface("file:///etc/passwd"),
                                       interface("https://tap.example/tap")]
    )  # fmt: skip
    with pytest.warns(UserWarning, match="not an http"):
        assert _access_url(record, "ivo://ivoa.net/std/tap") == "https://tap.example/tap"
