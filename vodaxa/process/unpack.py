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
from typing import TYPE_CHECKING, TypedDict

from ..downloader import decompress
from ..downloader.partial import write_private
from ..errors import ProcessingError
from .runner import ProcessReport, Task, Workspace, run_step

if TYPE_CHECKING:
    from ..typing import PathLike

__all__ = ["ARCHIVE_PATTERN", "Extracted", "extract", "find_archives", "unpack"]

#: The file names taken for tarballs: ``.tar``, ``.tar.gz`` and ``.tgz``, in any case.
ARCHIVE_PATTERN = re.compile(r"\.(tar|tar\.gz|tgz)$", re.IGNORECASE)
MARKER = ".vodaxa-unpacked"


class Extracted(TypedDict):
    """What :func:`extract` unpacked.

    Attributes
    ----------
    archive : str
        The tarball's file name.
    files : int
        Files unpacked, those of the tarballs inside included.
    refused : int
        Members skipped as unsafe in the tarball itself (links, devices, absolute paths, ``..``).
    """

    archive: str
    files: int
    refused: int


def find_archives(workspace: Workspace, missions: Sequence[str] | None = None) -> list[tuple[str, str, Path]]:
    """Find the tarballs downloaded into a workspace.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled.
    missions : sequence of str, optional
        Look only in these missions' folders (all by default).

    Returns
    -------
    list of tuple of (str, str, pathlib.Path)
        ``(mission, obs_id, path)`` of every tarball (`ARCHIVE_PATTERN`); a tarball directly in the mission
        folder, like an eROSITA field, takes its own name as the observation.
    """
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


def extract(archive: PathLike, target: PathLike, depth: int = 1) -> Extracted:
    """Unpack a tarball into a folder, safely, and the tarballs found inside it, ``depth`` levels down.

    Only regular files and folders landing inside ``target`` are extracted, with plain permissions; links,
    devices, absolute paths and ``..`` are skipped and counted.  A tarball inside is unpacked into a folder
    of its own name beside it, then removed.  A marker file in ``target`` records what was unpacked.

    Parameters
    ----------
    archive : str or os.PathLike
        The tarball (``.tar``, ``.tar.gz`` or ``.tgz``).
    target : str or os.PathLike
        The folder to unpack into (made if missing).
    depth : int, optional
        How many levels of tarballs inside tarballs to unpack too (1 by default: the XSA's ODF holds one).

    Returns
    -------
    Extracted
        The tarball's name, the files unpacked and the members refused.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the tarball cannot be read, or its members add up to more than
        ``vodaxa.downloader.decompress.LIMITS`` allows for its size (a decompression bomb; nothing is unpacked).
    """
    archive, target = Path(archive), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members, refused = _safe_members(tar, target)
            unpacked = sum(m.size for m in members if m.isfile())
            allowed = decompress.LIMITS.allowed(archive.stat().st_size)  # read now: the process may have raised them
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
    """Unpack every downloaded tarball into ``processed/<mission>/<obs_id>/unpacked/<archive>/``.

    Each tarball (:func:`find_archives`) is one task of the step ``unpack`` (:func:`extract`), recorded in the
    workspace's ledger: one already unpacked is skipped.  The downloaded files stay as they came.
    `vodaxa.process.native.reduce` calls it first.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled.
    missions : sequence of str, optional
        Unpack only these missions' tarballs (all by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default).
    rerun : bool, optional
        Unpack every tarball again, even those already unpacked (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        One task per tarball: done, already done (skipped) or failed, with the reason.
    """
    tasks = []
    for mission, obs, path in find_archives(workspace, missions):
        stem = ARCHIVE_PATTERN.sub("", path.name)
        target = workspace.processed(mission, obs, "unpacked", stem)
        tasks.append(Task("unpack", f"{mission}-{obs}-{stem}", str(workspace.root), (str(target / MARKER),),
                          function="vodaxa.process.unpack:extract",
                          kwargs={"archive": str(path), "target": str(target)}))  # fmt: skip
    return run_step(workspace, "unpack", {}, tasks, executor=executor, rerun=rerun)
