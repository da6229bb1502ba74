"""Each fault kind appears when configured, only where configured, and reproducibly from the seed."""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from vodaxa.sandbox import Faults, Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(rows=30, cache=tmp_path_factory.mktemp("faults"))) as sandbox:
        yield sandbox


@pytest.fixture
def faults(sb: Sandbox) -> Iterator:
    yield sb.set_faults
    sb.set_faults(Faults())


def _a_file(sb: Sandbox, min_size: int = 20_000) -> str:
    """URL of a file of at least ``min_size`` bytes in the NuSTAR tree, found by walking the listings."""
    queue = [sb.url + "/FTP/nustar/data/obs/"]
    while queue:
        url = queue.pop(0)
        page = requests.get(url, timeout=30).text
        hrefs = [h.split('"')[0] for h in page.split('<a href="')[1:]]
        for href in (h for h in hrefs if not h.startswith(("?", "/"))):
            if href.endswith("/"):
                queue.append(url + href)
            elif int(requests.head(url + href, timeout=30).headers["Content-Length"]) >= min_size:
                return url + href
    raise AssertionError("no large enough file in the NuSTAR tree")


def _raw_get(url: str) -> tuple[int, int, int, BaseException | None]:
    """(status, Content-Length, bytes received, exception) with no retries or decoding."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", parts.path)
    response = conn.getresponse()
    length = int(response.getheader("Content-Length", "-1"))
    received, error = b"", None
    try:
        received = response.read()
    except http.client.IncompleteRead as err:
        received, error = err.partial, err
    except (ConnectionError, OSError) as err:
        error = err
    conn.close()
    return response.status, length, len(received), error


def test_latency(sb, faults):
    faults(Faults(latency=0.25))
    started = time.monotonic()
    requests.get(sb.endpoints["heasarc"]["tap"] + "/availability", timeout=10)
    assert time.monotonic() - started >= 0.25


def test_bandwidth(sb, faults):
    url = _a_file(sb)
    size = len(requests.get(url, timeout=30).content)
    assert size > 20_000
    faults(Faults(bandwidth=size / 0.5))
    started = time.monotonic()
    body = requests.get(url, timeout=30).content
    assert len(body) == size and time.monotonic() - started >= 0.4


def test_bandwidth_limits_request_bodies_too(sb, faults):
    """A slow link is slow both ways: a large TAP upload takes size / bandwidth to arrive."""
    url = sb.endpoints["heasarc"]["tap"] + "/sync"
    rows = "".join(f"<TR><TD>{i}</TD></TR>" for i in range(20_000))
    table = (
        '<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
        f'<TABLE><FIELD name="n" datatype="int"/><DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>'
        "</RESOURCE></VOTABLE>"
    ).encode()
    form = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 n FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"}
    faults(Faults(bandwidth=len(table) / 0.5, paths=("/none",)))  # the cap applies to every path, as latency does
    started = time.monotonic()
    response = requests.post(url, data=form, files={"t": ("t.xml", table)}, timeout=30)
    assert response.status_code == 200 and time.monotonic() - started >= 0.45
    # a chunked body (no Content-Length) is held back too, once it has arrived
    started = time.monotonic()
    response = requests.post(url, data=iter([b"LANG=ADQL&QUERY=SELECT+1&pad=", b"x" * (len(table) // 2)]),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30)  # fmt: skip
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("status", [500, 503, 429])
def test_error_statuses(sb, faults, status):
    faults(Faults(**{f"error_{status}": 1.0}, retry_after=7, paths=("/FTP/",)))
    response = requests.get(sb.url + "/FTP/", timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html") and "<html>" in response.text
    if status in (503, 429):
        assert response.headers["Retry-After"] == "7"
    # outside the configured paths nothing is injected
    assert requests.get(sb.endpoints["heasarc"]["tap"] + "/availability", timeout=10).status_code == 200


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_cut_bodies(sb, faults, kind):
    url = _a_file(sb)
    faults(Faults(**{kind: 1.0}))
    status, length, received, error = _raw_get(url)
    assert status == 200 and length > 0
    assert received < length and error is not None
    assert sb.injector.injected[kind] == 1
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(url, timeout=10).content  # noqa: B018 - reading the body is the point


def test_cut_applies_to_plain_responses_too(sb, faults):
    faults(Faults(truncate=1.0, paths=("/xamin/vo/tap/sync",)))
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        url = sb.endpoints["heasarc"]["tap"] + "/sync"
        _ = requests.post(url, data={"LANG": "ADQL", "QUERY": "SELECT * FROM numaster"}, timeout=10).content


def _statuses(sb: Sandbox, seed: int, n: int = 30) -> list[int]:
    sb.set_faults(Faults(error_500=0.3, error_503=0.2, seed=seed, paths=("/FTP/",)))
    return [requests.get(sb.url + "/FTP/", timeout=10).status_code for _ in range(n)]


def test_reproducible_from_the_seed(sb, faults):
    first, second, other = _statuses(sb, 11), _statuses(sb, 11), _statuses(sb, 12)
    assert first == second
    assert first != other
    assert {200, 500, 503} <= set(first)  # retries of one URL draw afresh


def test_bad_fault_settings():
    with pytest.raises(ValueError, match="probability"):
        Faults(drop=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(error_500=0.6, error_503=0.6)
