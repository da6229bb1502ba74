"""vodaxa's cone-search path: the same normalised table as TAP, and typed errors for bad answers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import vodaxa
from vodaxa.config import endpoints
from vodaxa.errors import InputError, QueryError, ServiceError
from vodaxa.query import scs
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.specs import OBS_COLUMNS, get


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=500, seed=13, now_mjd=61000.0, archives=("heasarc", "cxc", "cds"), cache=tmp_path_factory.mktemp("q")
    )
    with Sandbox(config) as sandbox:
        yield sandbox



def _positions(sb: Sandbox, table: str, every: int = 7) -> list[list[float]]:
    data = sb.heasarc.data[table]
    return [[float(data["ra"][i]), float(data["dec"][i])] for i in range(0, 140, every)]


def _same(tap: pd.DataFrame, cone: pd.DataFrame) -> None:
    assert list(cone.columns) == list(tap.columns) and list(cone.columns[:3]) == ["mission", "obs_id", "targets"]
    assert set(OBS_COLUMNS) <= set(cone.columns)
    tap = tap.sort_values("obs_id").reset_index(drop=True)
    cone = cone.sort_values("obs_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(tap, cone)


@pytest.mark.parametrize(
    ("mission", "table", "radius", "instruments"),
    [
        ("nustar_pointed", "numaster", None, None),
        ("nustar_pointed", "numaster", 2.0, ["FPMB"]),
        ("chandra", "chanmaster", None, None),  # per-instrument radii (ACIS and HRC FoVs differ)
        ("chandra", "chanmaster", 3.0, ["HRC"]),
        ("chandra_cxc", "chanmaster", None, None),  # the CDA's own cone search
    ],
)
def test_cone_search_gives_the_tap_table(live, mission, table, radius, instruments):
    positions = _positions(live, table)
    options = {"radius": radius, "instruments": {mission: instruments} if instruments else None}
    tap = vodaxa.search(positions, [mission], **options)
    cone = vodaxa.search(positions, [mission], via="scs", **options)
    assert len(tap) > 2
    _same(tap, cone)


def test_names_resolve_and_targets_are_labelled_alike(live):
    tap = vodaxa.search(["3C 105", "Cas A"], ["nustar_pointed", "chandra"], radius=3.0)
    cone = vodaxa.search(["3C 105", "Cas A"], ["nustar_pointed", "chandra"], radius=3.0, via="scs")
    _same(tap, cone)
    assert set(";".join(cone["targets"]).split(";")) <= {"3C 105", "Cas A"}


def test_cuts_are_applied_to_cone_rows_with_sql_semantics(live):
    """NuSTAR's cuts drop slews and non-science rows that the cone search itself returns."""
    data = live.heasarc.data["numaster"]
    raw = scs.cones(scs.cone_url(get("nustar_pointed")), [(float(data["ra"][0]), float(data["dec"][0]), 180.0)])[0]
    assert set(np.asarray(raw["observation_mode"]).astype(str)) - {"SCIENCE"}  # there is something to cut
    cone = vodaxa.search([[float(data["ra"][0]), float(data["dec"][0])]], ["nustar_pointed"], radius=180.0, via="scs")
    kept = raw.to_pandas().set_index(raw["obsid"].astype(str)).loc[cone["obs_id"]]
    assert (kept["observation_mode"] == "SCIENCE").all() and (kept["spacecraft_mode"] == "INERTIAL").all()
    assert len(cone) < len(raw)


def test_urls_come_from_the_endpoints(live):
    assert scs.cone_url(get("nustar_pointed")) == f"{live.endpoints['heasarc']['scs']}?table=numaster&"
    assert scs.cone_url(get("chandra_cxc")) == live.endpoints["cxc"]["scs"]
    with pytest.raises(vodaxa.VodaxaError, match="no cone search"):
        scs.cone_url(get("xmm_pointed"))


def test_missions_without_cone_search_or_bad_via_are_refused(live):
    with pytest.raises(InputError, match="xmm_pointed: no cone search service; use via='tap'"):
        vodaxa.search([[10.0, 10.0]], ["xmm_pointed"], via="scs")
    with pytest.raises(InputError, match="via must be"):
        vodaxa.search([[10.0, 10.0]], ["nustar_pointed"], via="sia")


def test_an_scs_error_document_is_a_query_error(live):
    url = f"{live.endpoints['heasarc']['scs']}?table=nosuch&"
    with pytest.raises(QueryError, match="refused the request: Unknown table: No information available on nosuch"):
        scs.cones(url, [(10.0, 10.0, 1.0)])


def test_an_html_page_or_http_error_is_a_service_error(live):
    with pytest.raises(ServiceError, match=r"answered with an HTML page .* check the .scs. endpoint"):
        scs.cones(live.endpoints["heasarc"]["ftp"], [(10.0, 10.0, 1.0)])  # an Apache listing
    with pytest.raises(ServiceError, match="failed with HTTP 404"):
        scs.cones(f"{live.url}/no/such/cone", [(10.0, 10.0, 1.0)])
    with pytest.raises(ServiceError, match="did not answer with a VOTable"):
        scs.parse(b"RA,DEC\n1,2\n", "http://127.0.0.1/x")


def test_a_truncated_answer_is_never_silent():
    body = (
        b'<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        b'<RESOURCE type="results"><TABLE><FIELD name="ra" datatype="double" ucd="POS_EQ_RA_MAIN"/>'
        b"<DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE>"
        b'<INFO name="QUERY_STATUS" value="OVERFLOW"/></RESOURCE></VOTABLE>'
    )
    with pytest.raises(QueryError, match="truncated its answer at 1 rows"):
        scs.parse(body, "http://127.0.0.1/x")


def test_a_failing_mission_is_reported_not_hidden(live):
    where = _positions(live, "chanmaster")[:1]
    broken = {"heasarc": {"scs": f"{live.url}/no/such/cone"}}
    with endpoints.override(broken), pytest.warns(UserWarning, match="nustar_pointed: .*HTTP 404"):
        found = vodaxa.search(where, ["nustar_pointed", "chandra_cxc"], radius=5.0, via="scs")
    assert "nustar_pointed" in found.attrs["errors"] and set(found["mission"]) == {"chandra_cxc"}
