"""resolve() of HEASARC missions and of plain pyvo results: directories walked, file rules applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import pyvo
import requests

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.errors import ResolveError
from vodaxa.resolve import resolve
from vodaxa.resolve.listing import parse_listing
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.heasarc_tables import TARGETS


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, seed=4, archives=("heasarc",), cache=tmp_path_factory.mktemp("res"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb


def _listing(sb: Sandbox, obs_dir: str) -> set[str]:
    """Every file under an observation directory, by walking the sandbox's listings independently."""
    out = set()
    stack = [""]
    while stack:
        sub = stack.pop()
        dirs, files = parse_listing(requests.get(obs_dir + sub, timeout=30).text)
        out |= {sub + f for f in files}
        stack += [sub + d + "/" for d in dirs]
    return out


def test_nustar_raw_and_products_by_instrument(sandbox):
    mission = Mission("nustar_pointed")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    full = resolve(mission)
    info = mission.filtered_obs_info
    public = set(info[info["proprietary_usable"]]["obs_id"])
    assert public and set(full.files["obs_id"]) == public
    for obs_id in public:
        rows = full.files[full.files["obs_id"] == obs_id]
        directory = rows["url"].iloc[0].split(obs_id + "/")[0] + obs_id + "/"
        assert set(rows["local_path"]) == {f"nustar_pointed/{obs_id}/{p}" for p in _listing(sandbox, directory)}
    raw_a = resolve(mission, products=False, instruments=["FPMA"])
    paths = list(raw_a.files["local_path"])
    assert paths and not any("event_cl/" in p for p in paths)
    assert not any(f"{o}B" in p for p in paths for o in public)
    assert any("event_uf/" in p and f"{o}A_uf" in p for p in paths for o in public)


def test_chandra_products_rules(sandbox):
    mission = Mission("chandra")
    mission.filter_on_positions([TARGETS[1][1], TARGETS[1][2]])
    raw = resolve(mission, products=False).files
    assert raw["local_path"].str.endswith("oif.fits").any()
    assert not raw["local_path"].str.contains("/primary/").any()
    assert raw["local_path"].str.contains(r"/secondary/[^/]*evt1", regex=True).any()
    assert not raw["local_path"].str.contains("/secondary/aspect/").any()  # top level of secondary only
    full = resolve(mission).files
    assert full["local_path"].str.contains(r"/primary/.*evt2\.fits\.gz", regex=True).any()


def test_proprietary_observations_are_listed_not_dropped(sandbox):
    mission = Mission("nustar_pointed")
    info = mission.filtered_obs_info
    private = list(info[~info["proprietary_usable"]]["obs_id"][:2])
    public = list(info[info["proprietary_usable"]]["obs_id"][:1])
    mission.filter_on_obs_ids(private + public)
    manifest = resolve(mission)
    assert set(manifest.unavailable["obs_id"]) == set(private)
    assert all("proprietary" in n or "no public date" in n for n in manifest.unavailable["note"])
    assert set(manifest.files["obs_id"]) == set(public)


def test_plain_pyvo_result_with_descriptor(sandbox):
    tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
    result = tap.run_sync("SELECT TOP 4 __row, obsid FROM swiftmastr ORDER BY __row")
    manifest = resolve(result)
    rows = {str(r) for r in result.to_table()["__row"]}
    assert set(manifest.frame["obs_id"]) == rows and len(manifest.files) > 0
    assert all(p.split("/")[0] in rows for p in manifest.files["local_path"])


def test_table_without_datalink_is_an_error(sandbox):
    tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
    result = tap.run_sync("SELECT TOP 2 obsid FROM swiftmastr")
    with pytest.raises(ResolveError, match="no DataLink service descriptor"):
        resolve(result)


def test_options_that_do_not_apply_say_so(sandbox):
    with pytest.raises(ResolveError, match="do not apply to nustar_pointed"):
        resolve(Mission("nustar_pointed"), filetypes=["evt2"])
    with pytest.raises(ResolveError, match="calibrations select ESO"):
        resolve(Mission("nustar_pointed"), calibrations="raw2raw")


def test_a_result_mixing_two_datalink_services(sandbox):
    from io import BytesIO

    from astropy.io.votable import parse

    from vodaxa.sandbox.vo import FieldMeta, ServiceDescriptor, result_document

    base = sandbox.endpoints["heasarc"]["datalink"]
    doc = result_document(
        [FieldMeta("nu_row", "char"), FieldMeta("ch_row", "char")],
        [["1", "2"], ["3", "4"]],
        descriptors=[
            ServiceDescriptor(base + "/numaster", "nu_row", ident="nu"),
            ServiceDescriptor(base + "/chanmaster", "ch_row", ident="ch"),
        ],
    )
    result = pyvo.dal.DALResults(parse(BytesIO(doc)))
    manifest = resolve(result)
    sources = set(manifest.frame["source_id"])
    assert {"1", "2", "3", "4"} == sources
    urls = " ".join(manifest.files["url"])
    assert "/FTP/nustar/" in urls and "/FTP/chandra/" in urls
