"""The CDA's ``/cdaftp`` tree in the CXC shape: CIAO's walk, HEASARC's bytes, gzip Content-Encoding, 404s."""

from __future__ import annotations

import gzip
import http.client
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from vodaxa.sandbox import Faults, Sandbox, SandboxConfig
from vodaxa.sandbox.archives.cxc import shape as cxc
from vodaxa.sandbox.archives.heasarc.tables import TABLES

SEED = 5
NOW_MJD = 61000.0
ROWS = {**{t: 20 for t in TABLES}, "chanmaster": 200}
_NOW = np.datetime64("1858-11-17T00:00:00", "us") + np.timedelta64(int(NOW_MJD * 86400), "s")


def _config(cache: Path, archives: tuple[str, ...]) -> SandboxConfig:
    """A small sandbox config: 200 Chandra rows, 20 of everything else."""
    return SandboxConfig(rows=ROWS, seed=SEED, now_mjd=NOW_MJD, archives=archives, cache=cache)


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """HEASARC and CXC from one config, so both mirror the same Chandra files."""
    with Sandbox(_config(tmp_path_factory.mktemp("cdaftp"), ("heasarc", "cxc"))) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def obs() -> dict[str, np.ndarray]:
    """cxc.observation, computed independently of the server."""
    return cxc.table(ROWS["chanmaster"], seed=SEED, now_mjd=NOW_MJD)


def _obsids(obs: dict[str, np.ndarray], status: str, *, public: bool) -> list[str]:
    """ObsIDs with this CXC status whose release date has (or has not) passed."""
    ok = (obs["status"] == status) & ((obs["public_avail_date"] <= _NOW) == public)
    return [str(o) for o in obs["obsid"][ok]]


@pytest.fixture(scope="module")
def obsid(obs) -> str:
    """An archived, public ObsID."""
    return _obsids(obs, "archived", public=True)[0]


class _Links(HTMLParser):
    """(href, text) of every anchor of an autoindex page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[list[str]] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append([dict(attrs).get("href") or "", ""])
            self.inside = True

    def handle_endtag(self, tag: str) -> None:
        self.inside = self.inside and tag != "a"

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.links[-1][1] += data


def listing(url: str) -> tuple[list[str], list[str]]:
    """(sub-directories, files) as CIAO's download_chandra_obsid reads them: no Parent Directory, no sort links."""
    response = requests.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    parser = _Links()
    parser.feed(response.text)
    dirs, files = [], []
    for href, text in parser.links:
        if text.strip() == "Parent Directory" or href != text.strip():
            continue
        (dirs if href.endswith("/") else files).append(href)
    return dirs, files


def walk(url: str) -> list[str]:
    """Every file below ``url``, relative to it, recursing into every sub-directory."""
    dirs, files = listing(url)
    return files + [d + f for d in dirs for f in walk(url + d)]


def raw_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) over a plain socket: no decoding, no path normalisation."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path, headers=headers or {})
        response = conn.getresponse()
        try:
            body = response.read()
        except http.client.IncompleteRead as err:
            body = err.partial
        return response.status, dict(response.headers), body
    finally:
        conn.close()


def _dirs(sb: Sandbox, obsid: str) -> tuple[str, str]:
    """The ObsID's directory on the CDA and on HEASARC."""
    cda = sb.endpoints["cxc"]["cdaftp"] + f"byobsid/{obsid[-1]}/{obsid}/"
    return cda, sb.url + f"/FTP/chandra/data/byobsid/{obsid[-1]}/{obsid}/"


@pytest.fixture(scope="module")
def files(sb, obsid) -> list[str]:
    """Every file of the ObsID's directory, walked from ``/cdaftp/byobsid/``."""
    root = sb.endpoints["cxc"]["cdaftp"] + "byobsid/"
    assert obsid[-1] + "/" in listing(root)[0]
    assert obsid + "/" in listing(root + obsid[-1] + "/")[0]
    return walk(_dirs(sb, obsid)[0])


def _pick(files: list[str], start: str, needle: str) -> str:
    """The first file below ``start`` whose name contains ``needle``."""
    return next(f for f in files if f.startswith(start) and needle in f.rsplit("/", 1)[-1])


def test_endpoint(sb):
    assert sb.endpoints["cxc"]["cdaftp"] == sb.urls["cxc"] + "/cdaftp/"
    assert "byobsid/" in listing(sb.endpoints["cxc"]["cdaftp"])[0]
    root = requests.get(sb.urls["cxc"] + "/cdaftp", allow_redirects=False, timeout=30)
    assert root.status_code == 301 and root.headers["Location"].endswith("/cdaftp/")


def test_walk_finds_ciao_files_and_matches_heasarc(sb, obsid, files):
    assert "oif.fits" in files
    assert any(f.startswith("primary/") and f.endswith("_evt2.fits.gz") for f in files)
    assert any(f.startswith("secondary/") and "_evt1" in f for f in files)
    assert any(f.startswith("secondary/aspect/") for f in files)
    assert any(f.startswith("secondary/ephem/") for f in files)
    assert any(f.startswith("primary/pcadf") and "_asol1" in f for f in files)
    assert sorted(files) == sorted(walk(_dirs(sb, obsid)[1]))  # the same directory as HEASARC's mirror
    cda, _ = _dirs(sb, obsid)
    no_slash = requests.get(cda + "primary", allow_redirects=False, timeout=30)
    assert no_slash.status_code == 301 and no_slash.headers["Location"].endswith(f"/{obsid}/primary/")


def test_bytes_equal_heasarc_copy(sb, obsid, files):
    cda, heasarc = _dirs(sb, obsid)
    for name in ("oif.fits", _pick(files, "primary/", "_evt2"), _pick(files, "secondary/aspect/", "")):
        status, headers, body = raw_get(cda + name)
        mirror = requests.get(heasarc + name, timeout=30)
        assert status == 200 and body == mirror.content
        assert headers["ETag"] == mirror.headers["ETag"]


def test_gz_files_carry_content_encoding(sb, obsid, files):
    cda, heasarc = _dirs(sb, obsid)
    name = _pick(files, "primary/", "_evt2")
    status, headers, raw = raw_get(cda + name)
    assert status == 200 and headers["Content-Encoding"] == "gzip" and raw[:2] == b"\x1f\x8b"
    assert int(headers["Content-Length"]) == len(raw)  # the gzipped length
    assert headers["Content-Type"] == "application/fits"  # the decoded content's type
    streamed = requests.get(cda + name, stream=True, timeout=30)
    assert streamed.raw.read(decode_content=False) == raw
    decoded = requests.get(cda + name, timeout=30).content  # requests decodes transparently
    assert decoded == gzip.decompress(raw) and decoded.startswith(b"SIMPLE")
    assert "Content-Encoding" not in requests.head(heasarc + name, timeout=30).headers  # HEASARC stays plain
    assert "Content-Encoding" not in raw_get(cda + "oif.fits")[1]  # only .gz files are encoded
    head = requests.head(cda + name, timeout=30)
    assert head.headers["Content-Encoding"] == "gzip" and int(head.headers["Content-Length"]) == len(raw)


def test_range_on_gz_is_a_slice_of_the_gzip_bytes(sb, obsid, files):
    cda, _ = _dirs(sb, obsid)
    name = _pick(files, "secondary/", "_evt1")
    _, _, raw = raw_get(cda + name)
    status, headers, part = raw_get(cda + name, {"Range": "bytes=10-99"})
    assert status == 206 and part == raw[10:100] and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Range"] == f"bytes 10-99/{len(raw)}" and int(headers["Content-Length"]) == 90
    streamed = requests.get(cda + name, headers={"Range": f"bytes={len(raw) - 50}-"}, stream=True, timeout=30)
    assert streamed.status_code == 206 and streamed.raw.read(decode_content=False) == raw[-50:]
    tag = requests.head(cda + name, timeout=30).headers["ETag"]
    assert requests.get(cda + name, headers={"If-None-Match": tag}, timeout=30).status_code == 304


@pytest.mark.parametrize(
    ("status", "public"), [("archived", False), ("observed", True), ("unobserved", False), ("scheduled", False)]
)
def test_proprietary_and_unarchived_obsids_404(sb, obs, status, public):
    chosen = _obsids(obs, status, public=public)[:3]
    assert chosen
    for other in chosen:
        cda, heasarc = _dirs(sb, other)
        assert requests.get(cda, timeout=30).status_code == 404
        assert requests.get(cda + "oif.fits", timeout=30).status_code == 404
        assert requests.get(heasarc, timeout=30).status_code == 404  # the same rule as HEASARC
        assert other + "/" not in listing(sb.endpoints["cxc"]["cdaftp"] + f"byobsid/{other[-1]}/")[0]


def test_unknown_obsid_and_path_traversal_404(sb, obsid):
    base = sb.urls["cxc"] + "/cdaftp/"
    assert requests.get(base + "byobsid/9/99999999/", timeout=30).status_code == 404
    assert requests.get(base + "science/", timeout=30).status_code == 404
    for path in (
        f"byobsid/{obsid[-1]}/{obsid}/../../../../../etc/passwd",
        f"byobsid/{obsid[-1]}/{obsid}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/",
        "%2e%2e/%2e%2e/",  # HEASARC's cache root, which holds the other missions
        "..%2f..%2fchandra/data/byobsid/",
        f"byobsid/{obsid[-1]}/{obsid}/..%5c..%5coif.fits",
    ):
        assert raw_get(base + path)[0] == 404, path


def test_faults_apply_to_cdaftp(sb, obsid, files):
    cda, _ = _dirs(sb, obsid)
    name = _pick(files, "primary/", "_evt2")
    size = len(raw_get(cda + name)[2])
    sb.set_faults(Faults(truncate=1.0, paths=("/cdaftp/",)))
    try:
        status, headers, body = raw_get(cda + name)
        assert status == 200 and int(headers["Content-Length"]) == size and len(body) < size
    finally:
        sb.set_faults(Faults())


def test_cxc_alone_builds_the_same_bytes(sb, obsid, files, tmp_path):
    cda, _ = _dirs(sb, obsid)
    names = ("oif.fits", _pick(files, "primary/", "_evt2"))
    with Sandbox(_config(tmp_path, ("cxc",))) as alone:
        other = alone.endpoints["cxc"]["cdaftp"] + f"byobsid/{obsid[-1]}/{obsid}/"
        assert sorted(walk(other)) == sorted(files)
        for name in names:
            assert raw_get(other + name)[2] == raw_get(cda + name)[2]
