"""The /FTP tree over HTTP: HEASARC's layout for NuSTAR and Chandra, listings, Range, ETag, real FITS."""

from __future__ import annotations

import gzip
import io
import re

import numpy as np
import pytest
import requests
from astropy.io import fits

from ...conftest import NOW_MJD

HREF = re.compile(r'<a href="([^"]+)">([^<]+)</a>')


def listing(url: str) -> tuple[list[str], list[str]]:
    """(sub-directories, files) of an autoindex page, skipping sort and parent links as clients must."""
    response = requests.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    dirs, files = [], []
    for href, text in HREF.findall(response.text):
        if href.startswith(("?", "/")) or text == "Parent Directory" or href != text:
            continue
        (dirs if href.endswith("/") else files).append(href)
    return dirs, files


def walk(url: str) -> list[str]:
    """Every file below ``url``, relative to it."""
    dirs, files = listing(url)
    out = list(files)
    for d in dirs:
        out += [d + f for f in walk(url + d)]
    return out


def public_rows(data) -> np.ndarray:
    status = np.asarray(data["status"]).astype(str)
    public = np.asarray(data["public_date"], dtype=float)
    ok = np.isin(status, ["archived", "processed"]) & (public <= NOW_MJD)
    return np.nonzero(ok)[0]


def test_nustar_layout(sandbox, tables):
    nu = tables["numaster"]
    index = public_rows(nu)[0]
    obsid = str(nu["obsid"][index])
    base = sandbox.url + "/FTP/nustar/data/obs/"
    # HEASARC: obs/<obsid[1:3]>/<obsid[0]>/<obsid>/, reached by walking listings from the mission root
    assert obsid[1:3] + "/" in listing(base)[0]
    assert obsid[0] + "/" in listing(base + obsid[1:3] + "/")[0]
    assert obsid + "/" in listing(base + f"{obsid[1:3]}/{obsid[0]}/")[0]
    obs = base + f"{obsid[1:3]}/{obsid[0]}/{obsid}/"
    dirs, files = listing(obs)
    assert {"auxil/", "event_uf/", "event_cl/", "hk/"} <= set(dirs)
    assert f"nu{obsid}.cat.gz" in files
    uf = listing(obs + "event_uf/")[1]
    assert f"nu{obsid}A_uf.evt.gz" in uf and f"nu{obsid}B_uf.evt.gz" in uf
    cl = listing(obs + "event_cl/")[1]
    assert f"nu{obsid}A01_cl.evt.gz" in cl
    body = requests.get(obs + f"event_uf/nu{obsid}A_uf.evt.gz", timeout=30).content
    with fits.open(io.BytesIO(gzip.decompress(body)), checksum=True) as hdul:
        events = hdul["EVENTS"]
        assert {"TIME", "ENERGY", "PI", "GRADE", "STATUS"} <= set(events.columns.names)
        assert hdul[0].header["TELESCOP"] == "NuSTAR" and str(hdul[0].header["OBS_ID"]) == obsid
        assert len(events.data) > 0


def test_chandra_layout(sandbox, tables):
    ch = tables["chanmaster"]
    index = public_rows(ch)[0]
    obsid = str(ch["obsid"][index])
    obs = sandbox.url + f"/FTP/chandra/data/byobsid/{obsid[-1]}/{obsid}/"
    assert obsid + "/" in listing(sandbox.url + f"/FTP/chandra/data/byobsid/{obsid[-1]}/")[0]
    dirs, files = listing(obs)
    assert {"primary/", "secondary/"} <= set(dirs) and "oif.fits" in files
    everything = walk(obs)
    inst = "hrc" if str(ch["detector"][index]).startswith("HRC") else "acis"
    assert any(re.fullmatch(rf"primary/{inst}f\d{{5}}N\d{{3}}_evt2\.fits\.gz", f) for f in everything)
    assert any(re.fullmatch(r"primary/pcadf.*_asol1\.fits\.gz", f) for f in everything)
    assert any(re.fullmatch(rf"secondary/{inst}f.*_evt1\.fits\.gz", f) for f in everything)
    oif = requests.get(obs + "oif.fits", timeout=30).content
    with fits.open(io.BytesIO(oif), checksum=True) as hdul:
        members = hdul[1].data
        assert "EVT2" in {str(m).strip() for m in members["MEMBER_CONTENT"]}
        assert int(hdul[1].header["OBS_ID"]) == int(obsid)
        for location in members["MEMBER_LOCATION"]:  # every member the oif names is served
            assert str(location).strip() in everything


def test_proprietary_and_unknown_observations_have_no_directory(sandbox, tables):
    nu = tables["numaster"]
    future = np.nonzero(np.asarray(nu["public_date"], dtype=float) > NOW_MJD)[0]
    obsid = str(nu["obsid"][future[0]])
    url = sandbox.url + f"/FTP/nustar/data/obs/{obsid[1:3]}/{obsid[0]}/{obsid}/"
    assert requests.get(url, timeout=30).status_code == 404
    assert requests.get(sandbox.url + "/FTP/nustar/data/obs/99/9/99999999999/", timeout=30).status_code == 404
    assert requests.get(sandbox.url + "/FTP/nustar/../../etc/passwd", timeout=30).status_code == 404


def test_directory_without_slash_redirects(sandbox):
    response = requests.get(sandbox.url + "/FTP/nustar/data", allow_redirects=False, timeout=30)
    assert response.status_code == 301 and response.headers["Location"].endswith("/FTP/nustar/data/")


@pytest.fixture(scope="module")
def a_file(sandbox, tables) -> tuple[str, bytes]:
    ch = tables["chanmaster"]
    obsid = str(ch["obsid"][public_rows(ch)[0]])
    url = sandbox.url + f"/FTP/chandra/data/byobsid/{obsid[-1]}/{obsid}/oif.fits"
    return url, requests.get(url, timeout=30).content


def test_headers_and_range(a_file):
    url, body = a_file
    head = requests.head(url, timeout=30)
    assert int(head.headers["Content-Length"]) == len(body)
    assert head.headers["Accept-Ranges"] == "bytes" and head.headers["ETag"].startswith('"')
    assert "Last-Modified" in head.headers
    part = requests.get(url, headers={"Range": "bytes=100-299"}, timeout=30)
    assert part.status_code == 206 and part.content == body[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(body)}"
    tail = requests.get(url, headers={"Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206 and tail.content == body[-10:]
    open_ended = requests.get(url, headers={"Range": f"bytes={len(body) - 5}-"}, timeout=30)
    assert open_ended.content == body[-5:]
    bad = requests.get(url, headers={"Range": f"bytes={len(body) + 10}-"}, timeout=30)
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{len(body)}"


def test_if_range_and_etag(a_file):
    url, body = a_file
    tag = requests.head(url, timeout=30).headers["ETag"]
    same = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": tag}, timeout=30)
    assert same.status_code == 206 and same.content == body[:10]
    changed = requests.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'}, timeout=30)
    assert changed.status_code == 200 and changed.content == body
    assert requests.get(url, headers={"If-None-Match": tag}, timeout=30).status_code == 304
    assert requests.head(url, timeout=30).headers["ETag"] == tag  # stable: derived from the content
