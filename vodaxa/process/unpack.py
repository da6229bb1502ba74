"""Unpacking the tarballs some archives deliver (the XSA's ODF/PPS, MPE's eROSITA fields), safely, into
``processed/<mission>/<obs_id>/unpacked/<archive>/``, so the downloaded files stay as they came.

Only regular files and folders are extracted, never outside the target (no absolute paths, no ``..``,
no links or devices: such members are skipped and counted); tarballs inside a tarball (the XSA's
ODF holds one) are unpacked in turn, one level down.
"""

from __future__ import annotations

import concurrent.futures
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ..downloader.decompress import LIMITS
from ..downloader.partial import write_private
from ..errors import ProcessingError
from .runner import ProcessReport, Task, Workspace, run_step

__all__ = ["ARCHIVE_PATTERN", "extract", "find_archives", "unpack"]

ARCHIVE_PATTERN = re.compile(r"\.(tar|tar\.gz|tgz)$", re.IGNORECASE)
MARKER = ".vodaxa-unpacked"


def find_archives(workspace: Workspace, missions: Sequence[str] | None = None) -> list[tuple[str, str, Path]]:
    """``(mission, obs_id, path)`` of every downloaded tarball (a tarball directly in the mission folder,
    like an eROSITA field, takes its own name as the observation)."""
    found = []
    for mission_dir in sorted(p for p in workspace.root.iterdir() if p.is_dir() and p.name != "processed"):
        if missions is not None and mission_dir.name not in missions:
            continue
        for path in sorted(mission_dir.rglob("*")):
            if path.is_file() and ARCHIVE_PATTERN.search(path.name):
                relative = path.relative_to(mission_dir).parts
                obs = relative[0] if len(relative) > 1 else ARCHIVE_PATTERN.sub("", path.name)
                found.append((mission_dir.name, obs, path))
    return found


def _safe_members(archive: tarfile.TarFile, target: Path) -> tuple[list[tarfile.TarInfo], int]:
    """The members that are plain files or folders landing inside ``target``, and how many were refused."""
    keep, refused = [], 0
    root = target.resolve()
    for member in archive.getmembers():
        name = PurePosixPath(member.name)
        inside = (root / Path(*name.parts)).resolve().is_relative_to(root) if name.parts else False
        if not (member.isfile() or member.isdir()) or name.is_absolute() or ".." in name.parts or not inside:
            refused += 1
            continue
        keep.append(member)
    return keep, refused


def extract(archive: str | Path, target: str | Path, depth: int = 1) -> dict[str, Any]:
    """Unpack ``archive`` into ``target`` (and tarballs found inside, ``depth`` levels down); a summary."""
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members, refused = _safe_members(tar, target)
            unpacked = sum(m.size for m in members if m.isfile())
            allowed = LIMITS.allowed(archive.stat().st_size)
            if unpacked > allowed:
                raise ProcessingError(
                    f"{archive}: its members add up to {unpacked:,} bytes from {archive.stat().st_size:,} packed, "
                    f"over the {allowed:,} allowed (a decompression bomb, or data beyond "
                    "vodaxa.downloader.decompress.LIMITS); nothing was unpacked"
                )
            for member in members:
                member.mode = 0o755 if member.isdir() else 0o644  # no setuid bits, no odd permissions
                if hasattr(tarfile, "data_filter"):
                    tar.extract(member, target, filter="data")
                else:  # pragma: no cover - Python < 3.11.4: the members were checked above
                    tar.extract(member, target)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ProcessingError(f"{archive}: not a readable tarball ({err})") from None
    files = sum(1 for m in members if m.isfile())
    nested = []
    if depth > 0:
        for inner in sorted(p for p in target.rglob("*") if p.is_file() and ARCHIVE_PATTERN.search(p.name)):
            nested.append(extract(inner, inner.with_name(ARCHIVE_PATTERN.sub("", inner.name)), depth - 1))
            inner.unlink()
    write_private(target / MARKER, f"{archive.name}: {files} files\n")
    return {"archive": archive.name, "files": files + sum(n["files"] for n in nested), "refused": refused}


def unpack(
    workspace: Workspace, missions: Sequence[str] | None = None, *,
    executor: concurrent.futures.Executor | None = None, rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Unpack every downloaded tarball into ``processed/<mission>/<obs_id>/unpacked/<archive>/``."""
    tasks = []
    for mission, obs, path in find_archives(workspace, missions):
        stem = ARCHIVE_PATTERN.sub("", path.name)
        target = workspace.processed(mission, obs, "unpacked", stem)
        tasks.append(Task("unpack", f"{mission}-{obs}-{stem}", str(workspace.root), (str(target / MARKER),),
                          function="vodaxa.process.unpack:extract",
                          kwargs={"archive": str(path), "target": str(target)}))  # fmt: skip
    return run_step(workspace, "unpack", {}, tasks, executor=executor, rerun=rerun)
