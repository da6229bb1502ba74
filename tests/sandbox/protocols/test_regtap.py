"""The sandbox registry: pyvo's regsearch, unmodified, finds every sandbox service; the RegTAP functions are right."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import pyvo
from pyvo.dal import SCSService, TAPService

from vodaxa.query.registry import pyvo_registry
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TABLES
from vodaxa.sandbox.protocols.adql import ADQLError
from vodaxa.sandbox.protocols.tapdb import TapDatabase, TapTable
from vodaxa.sandbox.protocols.vo import FieldMeta

SERVICES = {
    "ivo://nasa.heasarc/services/xamin",
    "ivo://cxc.harvard.edu/cda",
    "ivo://eso.org/tap_obs",
    "ivo://esavo/xsa/tap",
}


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=60,
        seed=5,
        now_mjd=61000.0,
        archives=("heasarc", "cxc", "eso", "xsa", "registry"),
        cache=tmp_path_factory.mktemp("regtap"),
    )
    with Sandbox(config) as sandbox, pyvo_registry(sandbox.endpoints["registry"]["tap"]):
        yield sandbox


def test_every_heasarc_table_is_found_by_ivoid_with_its_services(sb):
    base = sb.urls["heasarc"]
    for table in TABLES:
        found = pyvo.regsearch(ivoid=f"ivo://nasa.heasarc/{table}")
        assert len(found) == 1, table
        record = found[0]
        assert record.access_modes() == {"conesearch", "tap#aux", "datalink#links-1.1"}
        cone = record.get_service("conesearch")
        assert isinstance(cone, SCSService)
        assert cone.baseurl == f"{base}/cgi-bin/vo/cone/coneGet.pl?table={table}&"
        tap = record.get_service("tap")
        assert isinstance(tap, TAPService) and tap.baseurl == f"{base}/xamin/vo/tap"
        link = record.get_interface(service_type="ivo://ivoa.net/std/datalink", std_only=True)
        assert link.access_url == f"{base}/xamin/vo/datalink/{table}"


def test_heasarc_recipe_cone_search_from_the_registry_answers(sb):
    data = sb.heasarc.data["numaster"]
    cone = pyvo.regsearch(ivoid="ivo://nasa.heasarc/numaster")[0].get_service("conesearch")
    result = cone.search((float(data["ra"][0]), float(data["dec"][0])), radius=0.5)
    assert str(data["obsid"][0]) in [str(v) for v in result["obsid"]]


def test_servicetype_tap_lists_the_tap_services_and_with_aux_the_tables(sb):
    services = {r.ivoid for r in pyvo.regsearch(servicetype="tap")}
    assert services == SERVICES
    everything = {r.ivoid for r in pyvo.regsearch(servicetype="tap", includeaux=True)}
    assert everything == SERVICES | {f"ivo://nasa.heasarc/{t}" for t in TABLES}
    urls = {r.ivoid: r.get_service("tap").baseurl for r in pyvo.regsearch(servicetype="tap")}
    assert urls["ivo://cxc.harvard.edu/cda"] == f"{sb.urls['cxc']}/cxctap"
    assert urls["ivo://eso.org/tap_obs"] == f"{sb.urls['eso']}/tap_obs"
    assert urls["ivo://esavo/xsa/tap"] == f"{sb.urls['xsa']}/tap-server/tap"


def test_keywords_match_whole_words_in_titles_descriptions_and_subjects(sb):
    assert [r.ivoid for r in pyvo.regsearch(keywords=["nustar"])] == ["ivo://nasa.heasarc/numaster"]
    assert [r.ivoid for r in pyvo.regsearch(keywords=["NuSTAR"])] == ["ivo://nasa.heasarc/numaster"]
    assert {r.ivoid for r in pyvo.regsearch(servicetype="tap", keywords=["chandra"])} == {"ivo://cxc.harvard.edu/cda"}
    both = {r.ivoid for r in pyvo.regsearch(keywords=["chandra", "observations"])}
    assert both == {"ivo://nasa.heasarc/chanmaster", "ivo://cxc.harvard.edu/cda"}
    assert len(pyvo.regsearch(keywords=["nusta"])) == 0  # a word, not a substring
    assert len(pyvo.regsearch(servicetype="conesearch")) == len(TABLES) + 1  # the CDA's cone search too


def test_interface_lists_stay_aligned_and_tables_are_described(sb):
    for record in pyvo.regsearch(servicetype="tap", includeaux=True):
        for interface in record.interfaces:
            if interface.standard_id == "ivo://ivoa.net/std/conesearch":
                assert "coneGet.pl" in interface.access_url or "cxcscs" in interface.access_url
            elif interface.standard_id.startswith("ivo://ivoa.net/std/tap"):
                assert interface.access_url.endswith(("/tap", "/cxctap", "/tap_obs", "/tap-server/tap"))
    tables = pyvo.regsearch(ivoid="ivo://nasa.heasarc/chanmaster")[0].get_tables()
    assert [c.name for c in tables["chanmaster"].columns] == [c.name for c in TABLES["chanmaster"].columns]


def test_the_adql_pyvo_sends_is_recorded(sb):
    tap = sb.archives["registry"].tap
    tap.queries.clear()
    pyvo.regsearch(keywords=["swift"], servicetype="tap", includeaux=True)
    (query,) = tap.queries
    assert "ivo_string_agg(COALESCE(access_url, '')" in query
    assert "NATURAL LEFT OUTER JOIN rr.interface" in query
    assert "1=ivo_hasword(res_title, 'swift')" in query and "UNION ALL" in query  # UNION is advertised
    assert "rr.res_subject.res_subject ILIKE '%swift%'" in query


# ------------------------------------------------------------------------------------ the functions


@pytest.fixture(scope="module")
def db() -> Iterator[TapDatabase]:
    texts = ["NuSTAR master; observations", "the nustars", None, "Über-Katalog of X-rays"]
    waves = ["x-ray#optical", "X-Ray", None, "radio"]
    table = TapTable(
        "t",
        "",
        [FieldMeta("k", "int"), FieldMeta("txt", "char"), FieldMeta("wave", "char"), FieldMeta("g", "char")],
        {
            "k": np.arange(4),
            "txt": np.array(texts, dtype=object),
            "wave": np.array(waves, dtype=object),
            "g": np.array(["a", "a", "b", "b"], dtype=object),
        },
        "rr",
    )
    database = TapDatabase([table])
    yield database
    database.close()


def _col(db: TapDatabase, adql: str) -> list:
    return db.execute(adql, maxrec=100).columns[0]


def test_ivo_hasword_whole_words_case_insensitive_null_in_null_out(db):
    assert _col(db, "SELECT ivo_hasword(txt, 'nustar') FROM rr.t ORDER BY k") == [1, 0, None, 0]
    assert _col(db, "SELECT ivo_hasword(txt, 'Master Observations') FROM rr.t ORDER BY k") == [1, 0, None, 0]
    assert _col(db, "SELECT ivo_hasword(txt, 'über') FROM rr.t ORDER BY k") == [0, 0, None, 1]
    assert _col(db, "SELECT ivo_hasword(txt, '') FROM rr.t ORDER BY k") == [0, 0, None, 0]
    assert _col(db, "SELECT k FROM rr.t WHERE 1=ivo_hasword(txt, 'X') ORDER BY k") == [3]


def test_ivo_nocasematch_hashlist_has_and_string_agg(db):
    assert _col(db, "SELECT ivo_nocasematch(txt, '%NUSTAR%') FROM rr.t ORDER BY k") == [1, 1, None, 0]
    assert _col(db, "SELECT ivo_hashlist_has(wave, 'X-RAY') FROM rr.t ORDER BY k") == [1, 1, None, 0]
    assert _col(db, "SELECT ivo_hashlist_has(wave, 'x') FROM rr.t ORDER BY k") == [0, 0, None, 0]
    grouped = _col(db, "SELECT ivo_string_agg(wave, '|') FROM rr.t GROUP BY g ORDER BY g")
    assert grouped == ["x-ray#optical|X-Ray", "radio"]  # NULLs skipped


def test_union_sub_queries_and_schema_qualified_columns(db):
    adql = (
        "SELECT k FROM rr.t WHERE k IN (SELECT k FROM rr.t WHERE rr.t.wave ILIKE 'x-ray' "
        "UNION ALL SELECT k FROM rr.t WHERE 1=ivo_hasword(txt, 'x')) ORDER BY k"
    )
    assert _col(db, adql) == [1, 3]
    with pytest.raises(ADQLError, match="only SELECT"):
        db.execute("SELECT k FROM rr.t UNION SELECT k FROM rr.t", maxrec=10)
    with pytest.raises(ADQLError, match="two arguments"):
        db.execute("SELECT ivo_hasword(txt) FROM rr.t", maxrec=10)
