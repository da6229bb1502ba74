"""The XSA's AIO servlet: tarball layout, narrowing, headers, ranges, access rules, deterministic bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterator

import numpy as np
import pytest
import requests

from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.xsa.aio import AioQuery, instrument_code
from vodaxa.sandbox.archives.xsa.shape import XsaArchive

NOW_MJD = 61000.0
ODF_CODES = {"SC", "M1", "M2", "PN", "R1", "R2", "OM"}


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=120, seed=5, now_mjd=NOW_MJD, archives=("heasarc", "xsa"), cache=tmp_path_factory.mktemp("aio")
    )
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def xsa(sb: Sandbox) -> XsaArchive:
    return sb.archives["xsa"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def aio(sb: Sandbox) -> str:
    return sb.endpoints["xsa"]["aio"]


def _ids(xsa: XsaArchive, *, proprietary: bool, science: bool = True, in_heasarc: bool | None = None) -> list[str]:
    """ObsIDs of v_all_observations with the given properties."""
    obs = xsa.data["v_all_observations"]
    now = xsa.aio.now
    heasarc = {str(o): flag for o, flag in zip(xsa.xmmmaster["obsid"], xsa.xmmmaster["data_in_heasarc"])}
    out = []
    for obsid, end, sci in zip(obs["observation_id"], obs["proprietary_end_date"], obs["with_science"]):
        locked = not np.isnat(end) and end > now
        shared = heasarc.get(str(obsid)) == "Y"
        if locked == proprietary and bool(sci) == science and (in_heasarc is None or in_heasarc == shared):
            out.append(str(obsid))
    assert out, "the synthetic XSA table lacks such an observation"
    return out


@pytest.fixture(scope="module")
def public(xsa: XsaArchive) -> str:
    return _ids(xsa, proprietary=False, in_heasarc=True)[0]


def _get(aio: str, **params: str) -> requests.Response:
    return requests.get(aio, params=params, timeout=30)


def _members(body: bytes) -> dict[str, bytes | None]:
    """Name -> bytes (None for directories) of a gzipped tar."""
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()}  # type: ignore[union-attr]


def _odf(body: bytes) -> tuple[str, dict[str, bytes]]:
    """The inner tar's name and its files, from an ODF answer."""
    outer = _members(body)
    assert len(outer) == 1
    ((name, inner),) = outer.items()
    with tarfile.open(fileobj=io.BytesIO(inner or b""), mode="r:") as tar:
        return name, {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_endpoint_is_advertised(sb: Sandbox, aio: str) -> None:
    assert aio == sb.urls["xsa"] + "/nxsa-sl/servlet/data-action-aio"


def test_odf_tarball_holds_inner_rev_obsid_tar_of_heasarc_files(sb: Sandbox, aio: str, public: str) -> None:
    answer = _get(aio, obsno=public, level="ODF")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'inline; filename="{public}.tar.gz"'
    assert answer.headers["Content-Type"] == "application/x-gzip"
    assert int(answer.headers["Content-Length"]) == len(answer.content)
    inner, files = _odf(answer.content)
    manifest = next(n for n in files if n.startswith("MANIFEST."))
    rev = manifest.split(".", 1)[1]
    assert inner == f"{rev}_{public}.TAR" and f"{public}.tar" in inner.lower()  # DAXA's test for the inner tar
    data = [n for n in files if n != manifest]
    assert all(n.startswith(f"{rev}_{public}_") and "/" not in n for n in data)
    assert {instrument_code("ODF", public, n) for n in data} == ODF_CODES
    assert set(files[manifest].decode().split()) == set(data)  # MANIFEST lists the (uncompressed) names
    ftp = sb.endpoints["heasarc"]["ftp"] + f"xmm/data/rev0/{public}/ODF/"
    for name in (data[0], next(n for n in data if "_SC" in n)):
        heasarc = requests.get(ftp + name + ".gz", timeout=30)
        assert heasarc.status_code == 200 and gzip.decompress(heasarc.content) == files[name]


def test_instname_narrows_odf_to_instrument_spacecraft_and_manifest(aio: str, public: str) -> None:
    _, files = _odf(_get(aio, obsno=public, level="ODF", instname="PN").content)
    codes = {instrument_code("ODF", public, n) for n in files}
    assert codes == {"PN", "SC", None}  # None: MANIFEST
    _, full = _odf(_get(aio, obsno=public).content)  # level defaults to ODF
    assert set(files) < set(full) and all(full[n] == b for n, b in files.items())


def test_pps_tarball_layout_and_narrowing(sb: Sandbox, aio: str, public: str) -> None:
    answer = _get(aio, obsno=public, level="PPS")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'inline; filename="{public}_PPS.tar.gz"'
    members = _members(answer.content)
    assert members[public] is None and members[f"{public}/pps"] is None  # directory entries
    files = {n.rsplit("/", 1)[1]: b for n, b in members.items() if b is not None}
    assert all(n.startswith(f"{public}/pps/P{public}") for n, b in members.items() if b is not None)
    assert {"M1", "M2", "PN"} <= {instrument_code("PPS", public, n) for n in files}
    ftp = sb.endpoints["heasarc"]["ftp"] + f"xmm/data/rev0/{public}/PPS/"
    name = next(n for n in files if n.endswith(".FTZ"))
    assert requests.get(ftp + name, timeout=30).content == files[name]  # PPS files as HEASARC has them
    narrowed = _members(_get(aio, obsno=public, level="PPS", instname="M2").content)
    names = [n.rsplit("/", 1)[1] for n, b in narrowed.items() if b is not None]
    assert names and {instrument_code("PPS", public, n) for n in names} == {"M2"}
    html = _members(_get(aio, obsno=public, level="PPS", extension="HTM").content)
    assert [n for n, b in html.items() if b is not None] == [f"{public}/pps/P{public}OBX000SUMMAR0000.HTM"]


def test_bytes_are_deterministic(xsa: XsaArchive, aio: str, public: str) -> None:
    first = _get(aio, obsno=public, level="PPS", instname="M1")
    query = AioQuery(public, "PPS", "M1")
    (xsa.aio.cache / query.cache_name).unlink()  # rebuilt from scratch on the next request
    second = _get(aio, obsno=public, level="PPS", instname="M1")
    assert hashlib.sha256(first.content).digest() == hashlib.sha256(second.content).digest()
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.headers["Last-Modified"] == second.headers["Last-Modified"]
    assert xsa.aio.build(query, xsa.aio_observation(public)) == first.content  # type: ignore[arg-type]
    with gzip.GzipFile(fileobj=io.BytesIO(first.content)) as gz:
        gz.read()
        assert gz.mtime == 0


def test_head_and_range(aio: str, public: str) -> None:
    full = _get(aio, obsno=public, level="ODF", instname="M1")
    head = requests.head(aio, params={"obsno": public, "level": "ODF", "instname": "M1"}, timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(full.content))
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Disposition"] == full.headers["Content-Disposition"]
    part = requests.get(full.url, headers={"Range": "bytes=100-1099", "If-Range": full.headers["ETag"]}, timeout=30)
    assert part.status_code == 206 and part.content == full.content[100:1100]
    assert part.headers["Content-Range"] == f"bytes 100-1099/{len(full.content)}"
    stale = requests.get(full.url, headers={"Range": "bytes=0-9", "If-Range": '"other"'}, timeout=30)
    assert stale.status_code == 200 and stale.content == full.content


def test_proprietary_needs_credentials(xsa: XsaArchive, aio: str) -> None:
    locked = _ids(xsa, proprietary=True)[0]
    for answer in (
        _get(aio, obsno=locked),
        requests.head(aio, params={"obsno": locked, "level": "PPS"}, timeout=30),
        _get(aio, obsno=locked, AIOUSER="someone"),
        _get(aio, obsno=locked, AIOUSER="someone", AIOPWD=""),
    ):
        assert answer.status_code == 401
        assert "text/html" in answer.headers["Content-Type"] and "Content-Disposition" not in answer.headers
    assert _get(aio, obsno=locked, AIOUSER="astro", AIOPWD="wrong").status_code == 401
    opened = _get(aio, obsno=locked, AIOUSER="astro", AIOPWD="correct horse")  # SandboxConfig.accounts
    assert opened.status_code == 200 and _odf(opened.content)[0].endswith(f"_{locked}.TAR")


def test_xsa_only_observations_are_served_and_pps_needs_science(xsa: XsaArchive, aio: str) -> None:
    extra = next(o for o in _ids(xsa, proprietary=False) if o.startswith("05"))
    assert extra not in set(xsa.xmmmaster["obsid"])
    assert _get(aio, obsno=extra, instname="M1").status_code == 200
    no_science = _ids(xsa, proprietary=False, science=False)[0]
    assert _get(aio, obsno=no_science, level="ODF").status_code == 200
    missing = _get(aio, obsno=no_science, level="PPS")
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]


def test_unknown_and_malformed_requests(xsa: XsaArchive, aio: str, public: str) -> None:
    scheduled = [str(o) for o, s in zip(xsa.xmmmaster["obsid"], xsa.xmmmaster["status"]) if s == "scheduled"]
    for obsno in ("0000000000", scheduled[0]):  # never observed: not in the XSA
        answer = _get(aio, obsno=obsno)
        assert answer.status_code == 404 and answer.text.startswith("<!DOCTYPE html>") and obsno in answer.text
    for params in ({"obsno": "12345"}, {"obsno": "01234567890"}, {"obsno": "abcdefghij"}, {}):
        assert requests.get(aio, params=params, timeout=30).status_code == 400
    assert _get(aio, obsno=public, level="odf").status_code == 400
    assert _get(aio, obsno=public, instname="EP").status_code == 400
    assert _get(aio, obsno=public, level="PPS", instname="OM").status_code == 404  # nothing selected


def test_daxa_15_mode_ignores_instname(xsa: XsaArchive, aio: str, public: str) -> None:
    xsa.aio.honour_instname = False
    try:
        _, files = _odf(_get(aio, obsno=public, instname="M1").content)
    finally:
        xsa.aio.honour_instname = True
    assert {instrument_code("ODF", public, n) for n in files} - {None} == ODF_CODES
