"""The UWS 1.1 job lifecycle of the sandbox's async TAP endpoint, driven by hand over HTTP."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests

from vodaxa.sandbox import Sandbox, SandboxConfig

NS = {"uws": "http://www.ivoa.net/xml/UWS/v1.0", "xlink": "http://www.w3.org/1999/xlink"}


@pytest.fixture(scope="module")
def slow(tmp_path_factory) -> Iterator[Sandbox]:
    """A sandbox whose async jobs wait 0.6 s in QUEUED, so phases can be watched."""
    with Sandbox(SandboxConfig(rows=50, queue_delay=0.6, cache=tmp_path_factory.mktemp("uws"))) as sb:
        yield sb


def _async(sb: Sandbox) -> str:
    return sb.endpoints["heasarc"]["tap"] + "/async"


def _phase(doc: str) -> str:
    return ET.fromstring(doc).find("uws:phase", NS).text


def _create(sb: Sandbox, query: str = "SELECT TOP 3 obsid FROM numaster", **extra: str) -> str:
    response = requests.post(
        _async(sb), data={"LANG": "ADQL", "QUERY": query, **extra}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 303
    return response.headers["Location"]


def test_lifecycle_with_blocking_wait(slow):
    job = _create(slow)
    doc = requests.get(job, timeout=10).text
    assert _phase(doc) == "PENDING"
    root = ET.fromstring(doc)
    assert root.get("version") == "1.1" and root.find("uws:jobId", NS).text
    params = {p.get("id"): p.text for p in root.find("uws:parameters", NS)}
    assert params["query"] == "SELECT TOP 3 obsid FROM numaster" and params["lang"] == "ADQL"
    assert requests.get(job + "/results/result", timeout=10).status_code == 404
    response = requests.post(job + "/phase", data={"PHASE": "RUN"}, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert requests.get(job + "/phase", timeout=10).text == "QUEUED"
    started = time.monotonic()
    doc = requests.get(job, params={"WAIT": "-1"}, timeout=30).text  # returns at the next phase change
    assert _phase(doc) in {"EXECUTING", "COMPLETED"}
    assert time.monotonic() - started > 0.3
    for _ in range(50):
        doc = requests.get(job, params={"WAIT": "5", "PHASE": _phase(doc)}, timeout=30).text
        if _phase(doc) == "COMPLETED":
            break
    assert _phase(doc) == "COMPLETED"
    href = ET.fromstring(doc).find("uws:results/uws:result", NS).get(f"{{{NS['xlink']}}}href")
    result = requests.get(href, timeout=10)
    assert result.status_code == 200 and result.text.count("<TR>") == 3
    assert ET.fromstring(doc).find("uws:startTime", NS).text and ET.fromstring(doc).find("uws:endTime", NS).text


def test_phase_run_at_creation_and_delete(slow):
    job = _create(slow, PHASE="RUN")
    assert requests.get(job + "/phase", timeout=10).text in {"QUEUED", "EXECUTING", "COMPLETED"}
    listing = requests.get(_async(slow), timeout=10).text
    assert job.rsplit("/", 1)[1] in listing
    response = requests.delete(job, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert requests.get(job, timeout=10).status_code == 404
    job2 = _create(slow)
    response = requests.post(job2, data={"ACTION": "DELETE"}, allow_redirects=False, timeout=10)
    assert response.status_code == 303 and requests.get(job2, timeout=10).status_code == 404


def test_abort_while_queued(slow):
    job = _create(slow, PHASE="RUN")
    requests.post(job + "/phase", data={"PHASE": "ABORT"}, timeout=10)
    doc = requests.get(job, params={"WAIT": "2", "PHASE": "QUEUED"}, timeout=10).text
    assert _phase(doc) == "ABORTED"
    response = requests.post(job + "/phase", data={"PHASE": "RUN"}, timeout=10)
    assert response.status_code == 400 and "only a PENDING job" in response.text


def test_error_phase_and_error_document(slow):
    job = _create(slow, query="SELECT nothing FROM numaster", PHASE="RUN")
    doc = ""
    for _ in range(40):
        doc = requests.get(job, params={"WAIT": "5"}, timeout=30).text
        if _phase(doc) == "ERROR":
            break
    assert _phase(doc) == "ERROR"
    assert "nothing" in ET.fromstring(doc).find("uws:errorSummary/uws:message", NS).text
    error = requests.get(job + "/error", timeout=10)
    assert 'value="ERROR"' in error.text and "nothing" in error.text


def test_job_settings(slow):
    job = _create(slow)
    requests.post(job + "/executionduration", data={"EXECUTIONDURATION": "42"}, timeout=10)
    assert requests.get(job + "/executionduration", timeout=10).text == "42"
    requests.post(job + "/destruction", data={"DESTRUCTION": "2030-01-02T03:04:05Z"}, timeout=10)
    assert requests.get(job + "/destruction", timeout=10).text == "2030-01-02T03:04:05Z"
    requests.post(job + "/parameters", data={"QUERY": "SELECT TOP 1 obsid FROM chanmaster"}, timeout=10)
    assert "chanmaster" in requests.get(job + "/parameters", timeout=10).text
    bad = requests.post(job + "/executionduration", data={"EXECUTIONDURATION": "soon"}, timeout=10)
    assert bad.status_code == 400
    assert requests.get(_async(slow) + "/nosuchjob", timeout=10).status_code == 404
    assert requests.post(job + "/phase", data={"PHASE": "FLY"}, timeout=10).status_code == 400


def test_jobs_past_destruction_are_removed(slow):
    job = _create(slow)
    requests.post(job + "/destruction", data={"DESTRUCTION": "2001-01-01T00:00:00Z"}, timeout=10)
    _create(slow)  # any new job makes the service clean up
    assert requests.get(job, timeout=10).status_code == 404
