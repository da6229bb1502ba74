"""Shapes added for other clients (tests/conformance): HEASARC's TarServlet and metainfo, CSV answers, job lifetimes,
ESAC TAP+ tables, ESO's ist views, tap_cat and header pages, XSA postcards."""

from __future__ import annotations

import io
import tarfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import numpy as np
import pytest
import requests

from vodaxa.sandbox import JobLimits, Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso.catalog import IST_TABLES
from vodaxa.sandbox.archives.heasarc.meta import DEFAULT_COLUMNS
from vodaxa.sandbox.archives.heasarc.shape import public_mask
from vodaxa.sandbox.archives.heasarc.tables import TABLES

from .conftest import NOW_MJD


def _sync(url: str, query: str, **extra: str) -> requests.Response:
    return requests.post(f"{url}/sync", data={"LANG": "ADQL", "QUERY": query, **extra}, timeout=30)


def _tar(sandbox, files: str) -> requests.Response:
    return requests.post(f"{sandbox.url}/xamin/TarServlet", data={"files": files, "filter": ""}, timeout=60)


def _public_path(sandbox, table: str = "numaster") -> str:
    archive = sandbox.heasarc
    index = int(np.nonzero(public_mask(archive.data[table], NOW_MJD))[0][0])
    return archive._path(table, index)


# ------------------------------------------------------------------------------------ HEASARC


def test_tar_servlet_tars_directories_under_their_last_component(sandbox):
    path = _public_path(sandbox)
    answer = _tar(sandbox, f">/FTP/{path}&&")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        names = tar.getnames()
        top = path.rstrip("/").split("/")[-1]
        assert {n.split("/")[0] for n in names} == {top}
        files = [m for m in tar.getmembers() if m.isfile()]
        listed = requests.get(f"{sandbox.url}/FTP/{path}", timeout=30).text
        assert files and all(m.name.split("/")[1] in listed for m in files)


def test_tar_servlet_single_file_and_several_paths(sandbox):
    first, second = _public_path(sandbox, "numaster"), _public_path(sandbox, "chanmaster")
    built = sandbox.heasarc.root / first
    requests.get(f"{sandbox.url}/FTP/{first}", timeout=30)  # writes the directory
    one = next(p for p in built.rglob("*") if p.is_file())
    relative = one.relative_to(sandbox.heasarc.root).as_posix()
    answer = _tar(sandbox, f">/FTP/{relative}&&>/FTP/{second}&&")
    with tarfile.open(fileobj=io.BytesIO(answer.content)) as tar:
        tops = {n.split("/")[0] for n in tar.getnames()}
        assert tops == {one.name, second.rstrip("/").split("/")[-1]}
        assert tar.extractfile(one.name).read() == one.read_bytes()


@pytest.mark.parametrize(
    "files",
    [
        ">/FTP/../../etc/passwd&&",
        ">/FTP/nustar/data/obs/&&",  # a virtual directory above the observations: the whole mission
        ">/etc/passwd&&",
        ">/FTP/nustar/data/obs/00/0/99999999999/&&",
    ],
)
def test_tar_servlet_refuses_paths_outside_observations(sandbox, files):
    assert _tar(sandbox, files).status_code == 404


def test_tar_servlet_needs_files(sandbox):
    assert _tar(sandbox, "").status_code == 400


def test_metainfo_rows(sandbox):
    url = sandbox.endpoints["heasarc"]["tap"]
    query = (
        "SELECT name, value FROM metainfo WHERE type = 'parameter' AND relation = 'order' AND name LIKE 'xmmmaster.%'"
    )
    answer = _sync(url, query, RESPONSEFORMAT="csv").text.splitlines()[1:]
    order = {line.split(",")[0].split(".")[1]: int(line.split(",")[1]) for line in answer}
    assert set(order) == {c.name for c in TABLES["xmmmaster"].columns}
    assert sorted((v, k) for k, v in order.items() if v > 0) == [
        (i + 1, c) for i, c in enumerate(DEFAULT_COLUMNS["xmmmaster"])
    ]


# ------------------------------------------------------------------------------------ TAP


def test_csv_answers_sync_and_async(sandbox):
    url = sandbox.endpoints["heasarc"]["tap"]
    answer = _sync(url, "SELECT TOP 3 obsid, ra, public_date FROM numaster ORDER BY obsid", RESPONSEFORMAT="csv")
    assert answer.headers["Content-Type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0] == "obsid,ra,public_date" and len(lines) == 4
    job = requests.post(
        f"{url}/async",
        data={"LANG": "ADQL", "QUERY": "SELECT TOP 2 obsid FROM numaster", "FORMAT": "csv", "PHASE": "RUN"},
        timeout=30,
    ).url
    requests.get(job, params={"WAIT": "10", "PHASE": "EXECUTING"}, timeout=30)
    result = requests.get(f"{job}/results/result", timeout=30)
    assert result.headers["Content-Type"].startswith("text/csv") and len(result.text.splitlines()) == 3


def test_job_limits_are_each_archives(sandbox):
    def new_job(url: str) -> ET.Element:
        job = requests.post(f"{url}/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x"}, timeout=30)
        return ET.fromstring(requests.get(job.url, timeout=30).content)

    ns = {"uws": "http://www.ivoa.net/xml/UWS/v1.0"}
    for url, duration, days in [
        (sandbox.endpoints["eso"]["tap_obs"], 60, 2),
        (sandbox.endpoints["xsa"]["tap"], 1800, 3),
        (sandbox.endpoints["heasarc"]["tap"], 3600, 2),
    ]:
        job = new_job(url)
        assert int(job.find("uws:executionDuration", ns).text) == duration
        destruction = datetime.fromisoformat(job.find("uws:destruction", ns).text.replace("Z", "+00:00"))
        assert abs((destruction - datetime.now(timezone.utc)).total_seconds() - days * 86400) < 60
        capabilities = requests.get(f"{url}/capabilities", timeout=30).text
        assert f"<executionDuration><default>{duration}</default>" in capabilities


def test_execution_duration_is_capped_at_the_hard_limit(sandbox):
    url = sandbox.endpoints["eso"]["tap_obs"]
    job = requests.post(f"{url}/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x"}, timeout=30).url
    requests.post(f"{job}/executionduration", data={"EXECUTIONDURATION": "100000"}, timeout=30)
    assert requests.get(f"{job}/executionduration", timeout=30).text == "3600"


def test_job_limits_configurable(tmp_path):
    limits = JobLimits(execution_duration=5, execution_hard=10, retention=60.0)
    with Sandbox(SandboxConfig(rows=10, archives=("xsa",), job_limits=limits, cache=tmp_path)) as sb:
        capabilities = requests.get(f"{sb.endpoints['xsa']['tap']}/capabilities", timeout=30).text
        assert "<retentionPeriod><default>60</default>" in capabilities and "<hard>10</hard>" in capabilities


def test_default_token_lifetime_is_esos():
    assert SandboxConfig().token_lifetime == 28_800


# ------------------------------------------------------------------------------------ ESA / ESO


def test_esac_tables_document(sandbox):
    url = sandbox.endpoints["xsa"]["tap"]
    root = ET.fromstring(requests.get(f"{url}/tables", timeout=30).content)
    esa = "{http://esa.int/xml/EsaTapPlus}"
    tables = {t.findtext("name"): t for t in root.iter("table")}
    table = tables["xsa.v_all_observations"]
    assert int(table.get(f"{esa}size")) > 0 and int(table.get(f"{esa}size_bytes")) > 0
    flags = {c.findtext("name"): c.get(f"{esa}flags") for c in table.iter("column")}
    assert flags["ra"] == "1" and flags["dec"] == "2" and flags["observation_id"] == "16" and flags["bii"] == "0"
    only = ET.fromstring(requests.get(f"{url}/tables", params={"only_tables": "true"}, timeout=30).content)
    assert not list(only.iter("column"))


def test_eso_ist_views(sandbox):
    url = sandbox.endpoints["eso"]["tap_obs"]
    listed = _sync(url, "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'ist'", FORMAT="csv").text
    assert sorted(listed.split()[1:]) == sorted(f"ist.{n}" for n in IST_TABLES) and len(IST_TABLES) == 27
    raw = sandbox.archives["eso"].data["raw"]
    count = _sync(url, "SELECT COUNT(*) AS n FROM ist.muse", FORMAT="csv").text.split()[1]
    public = sandbox.archives["eso"].auth
    expected = sum(1 for d, i in zip(raw["dp_id"], raw["instrument"]) if i == "MUSE" and public.owner(str(d)) is None)
    assert int(count) == expected  # anonymous: the view shows public frames only, as dbo.raw does


def test_eso_tap_cat_metadata(sandbox):
    url = f"{sandbox.urls['eso']}/tap_cat"
    answer = _sync(url, "SELECT table_name, cat_id, title, version FROM TAP_SCHEMA.tables WHERE schema_name = 'safcat'")
    assert answer.status_code == 200 and "VHS_CAT_V3" in answer.text


def test_eso_header_page(sandbox):
    dp_id = str(sandbox.archives["eso"].data["raw"]["dp_id"][0])
    page = requests.get(f"{sandbox.urls['eso']}/hdr", params={"DpId": dp_id}, timeout=30)
    assert page.status_code == 200 and "<pre>" in page.text and f"ARCFILE = '{dp_id}.fits'" in page.text
    assert requests.get(f"{sandbox.urls['eso']}/hdr", params={"DpId": "nope"}, timeout=30).status_code == 404


def test_xsa_postcard(sandbox):
    obs = sandbox.archives["xsa"].data["v_all_observations"]
    with_pps = next(str(o) for o, v in zip(obs["observation_id"], obs["pps_version"]) if v is not None)
    without = next((str(o) for o, v in zip(obs["observation_id"], obs["pps_version"]) if v is None), None)
    url = f"{sandbox.urls['xsa']}/nxsa-sl/servlet/data-action"
    params = {"RETRIEVAL_TYPE": "POSTCARD", "OBSERVATION_ID": with_pps, "OBS_IMAGE_TYPE": "OBS_EPIC"}
    answer = requests.get(url, params=params, timeout=30)
    assert (
        answer.content[:8] == b"\x89PNG\r\n\x1a\n"
        and f'filename="{with_pps}.png"' in answer.headers["Content-Disposition"]
    )
    assert requests.get(url, params=params, timeout=30).content == answer.content  # deterministic
    if without:
        assert requests.get(url, params={**params, "OBSERVATION_ID": without}, timeout=30).status_code == 404
    assert requests.get(url, params={**params, "OBS_IMAGE_TYPE": "NOPE"}, timeout=30).status_code == 400
