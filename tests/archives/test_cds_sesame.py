"""Object names through Sesame at the configured endpoint: the sandbox's CDS shape answers offline."""

from __future__ import annotations

import pytest
import requests

import vodaxa
from vodaxa.config import endpoints
from vodaxa.errors import NameResolutionError
from vodaxa.query.names import resolve_names, sesame
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.cds.shape import known_names


@pytest.fixture(scope="module")
def cds(tmp_path_factory):
    config = SandboxConfig(archives=("cds", "heasarc"), cache=tmp_path_factory.mktemp("cds"))
    with Sandbox(config) as sb, endpoints.override(sb.endpoints):
        yield sb


def test_sandbox_answers_in_sesames_text_format(cds):
    text = requests.get(cds.endpoints["cds"]["sesame"] + "SNV?3C%20273", timeout=10).text
    assert text.startswith("# 3C 273") and "\n%J 187.2779000 +2.0524000 = 12:29:06." in text
    missing = requests.get(cds.endpoints["cds"]["sesame"] + "-oI/SNV?Bogus", timeout=10).text
    assert "Nothing found" in missing and "%J" not in missing


def test_names_resolve_case_and_spacing_free(cds):
    assert sesame("sgr a*").ra.deg == pytest.approx(266.4168)
    assert sesame("ETA CARINAE").dec.deg == pytest.approx(-59.68447)
    coords = resolve_names(["Coma Cluster", "Perseus Cluster"])
    assert coords.ra.deg == pytest.approx([194.9531, 49.9467])
    assert "3C 105" in known_names()


def test_an_unknown_name_is_a_clear_error(cds):
    with pytest.raises(NameResolutionError, match="Sesame does not know 'Bogus X-1'; check the spelling"):
        sesame("Bogus X-1")


def test_a_dead_resolver_is_a_clear_error(cds):
    dead = {"cds": {"sesame": "http://127.0.0.1:9/cgi-bin/nph-sesame/"}}
    with endpoints.override(dead), pytest.raises(NameResolutionError, match="did not answer"):
        sesame("3C 273")


def test_filter_on_name_works_offline(cds):
    mission = vodaxa.mission("nustar_pointed")
    mission.filter_on_name("3C 105")
    assert len(mission.filtered_obs_info)
