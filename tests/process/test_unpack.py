"""Tarballs unpacked safely beside the data, then reduced natively: the XSA's PPS and MPE's eROSITA fields."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import vodaxa
from vodaxa.config import endpoints
from vodaxa.errors import ProcessingError
from vodaxa.process import Workspace, native, unpack
from vodaxa.sandbox import Sandbox, SandboxConfig


def _tar(path: Path, members: list[tuple[str, bytes | None, str]]) -> Path:
    """A tarball of (name, data, kind) with kind "file", "dir", "symlink" (data = target) or "hardlink"."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[kind]
            info.linkname = (data or b"").decode()
            tar.addfile(info)
    return path


def test_nothing_in_a_tarball_lands_outside_its_folder(tmp_path):
    evil = _tar(tmp_path / "evil.tar.gz", [
        ("ok/inside.txt", b"fine", "file"),
        ("/etc/vodaxa-owned", b"x", "file"),
        ("../escaped.txt", b"x", "file"),
        ("ok/../../escaped2.txt", b"x", "file"),
        ("ok/link", b"/etc/passwd", "symlink"),
        ("ok/hard", b"/etc/passwd", "hardlink"),
        ("ok/sub", None, "dir"),
    ])  # fmt: skip
    target = tmp_path / "out" / "evil"
    summary = unpack.extract(evil, target)
    assert summary == {"archive": "evil.tar.gz", "files": 1, "refused": 5}
    assert (target / "ok" / "inside.txt").read_bytes() == b"fine" and (target / "ok" / "sub").is_dir()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "escaped2.txt").exists()
    assert not (target / "ok" / "link").exists() and not (target / "ok" / "hard").exists()
    assert not Path("/etc/vodaxa-owned").exists()


def test_nested_tarballs_and_broken_ones(tmp_path):
    inner = _tar(tmp_path / "0006_0001.TAR", [("a.fits", b"SIMPLE", "file")])
    outer = _tar(tmp_path / "odf.tar.gz", [("0006_0001.TAR", inner.read_bytes(), "file")])
    summary = unpack.extract(outer, tmp_path / "odf")
    assert (tmp_path / "odf" / "0006_0001" / "a.fits").read_bytes() == b"SIMPLE" and summary["files"] == 2
    assert not (tmp_path / "odf" / "0006_0001.TAR").exists()
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b not really")
    with pytest.raises(ProcessingError, match="not a readable tarball"):
        unpack.extract(tmp_path / "broken.tar.gz", tmp_path / "broken")


@pytest.fixture(scope="module")
def tarballs(tmp_path_factory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("tarballs")
    config = SandboxConfig(rows=300, seed=0, archives=("heasarc", "xsa", "erosita"),
                           cache=tmp_path_factory.mktemp("tar-sb"))  # fmt: skip
    with Sandbox(config) as sandbox, endpoints.override(sandbox.endpoints):
        xmm = vodaxa.mission("xmm_pointed").filtered_obs_info.query("proprietary_usable").head(1)
        field = vodaxa.mission("erosita_calpv").filtered_obs_info.head(1)
        report = vodaxa.download(vodaxa.resolve(xmm) + vodaxa.resolve(field), root, progress=False)
        assert not len(report.failed), report.errors
    yield root


def test_xmm_pps_and_erosita_fields_are_unpacked_and_reduced(tarballs):
    ws = Workspace(tarballs)
    found = unpack.find_archives(ws)
    assert {m for m, _, _ in found} == {"xmm_pointed", "erosita_calpv"}
    report = native.reduce(ws)
    assert not len(report.failed), report.summary()
    lists = native.find_event_lists(ws)
    by_mission = {m: [p.name for mm, _, p in lists if mm == m] for m in ("xmm_pointed", "erosita_calpv")}
    assert by_mission["xmm_pointed"] and all("EVLI" in n for n in by_mission["xmm_pointed"])
    assert by_mission["erosita_calpv"] and all("EventList" in n for n in by_mission["erosita_calpv"])
    assert all(p.is_relative_to(tarballs / "processed") for _, _, p in lists)  # the downloads stay as they came
    maps = list((tarballs / "processed").rglob("native/*-ratemap.fits"))
    assert len(maps) == len(lists)
    again = native.reduce(ws)
    assert not again.ok and len(again.skipped) == len(found) + len(lists)
