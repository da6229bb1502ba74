"""One file, safely: stream into ``<name>.part``, resume it with Range + If-Range, verify, fsync, rename.

A final name only ever holds a verified file.  The validator (ETag or Last-Modified) of the answer a
``.part`` file came from is kept beside it in ``<name>.part.json`` so a later run resumes only when the
server still has the same bytes; a 200 to a Range request, or a 206 that does not start where the
partial file ends, restarts the file from zero.

The length must be known to be right before a file is installed: the server's (Content-Length, a
Content-Range total, or a chunked body that ended with its terminating chunk), the manifest's size or
checksum, or, for a body that simply stopped when the connection closed (no length, not chunked), the
answer to a range probe for what would follow it: ``Range: bytes=<received>-`` (with If-Range when a
validator is known).  416 (with no total, or the total received) confirms it; 206 means the body was cut,
and the rest is appended (then confirmed again); a 200 means the server answers no ranges, and then only the
file's own bytes can prove its end (:func:`~.structure.unproven_end`), or the file fails with its ``.part``
kept.  A file installed so, that no manifest size or checksum describes, is recorded as whole
(:mod:`.verified`) so a rerun skips it without the network.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from ..errors import DownloadError, VodaxaError
from ..net import RETRY_STATUSES, HttpClient
from . import disk, verified
from .naming import ServerName
from .partial import CONTENT_RANGE, open_part, part_path, read_private, state_path, validator, write_state
from .segments import Unsplittable, fetch_segments, splittable
from .structure import CUT, structure_problem, unproven_end

if TYPE_CHECKING:
    from ..net.transport import Answer

__all__ = ["FileTask", "confirm_on_disk", "fetch_file", "fsync_dirs", "is_complete"]

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # bytes per read: large enough for speed, small enough that memory stays flat
REFUSED = "refused"  # _attempt's status when the archive turned the credential down
RESUMABLE = 256 * 1024  # larger files keep their validator beside the .part so an interrupted run resumes
UNDECLARED = "undeclared"  # _exchange's status: the body ended where the server did not say the file ends
CONFIRMED = "confirmed"  # _exchange's status: a range probe confirmed the .part is the whole file
UNCONFIRMABLE = "unconfirmable"  # _exchange's status: no length, no ranges: nothing on the wire can confirm it
COMPLETE = "complete"  # _exchange's status: the .part holds the file as long as announced (or as the manifest says)
PROBES = 10_000  # at most this many range probes per attempt (each must bring more bytes or end it)
_UNSATISFIED = re.compile(r"bytes\s+\*/(\d+)")  # a 416's ``Content-Range: bytes */<total>``
_HTML = (b"<!doctype html", b"<html", b"<?xml version", b"<head", b"<body")
_MAGIC = {".gz": (b"\x1f\x8b",), ".z": (b"\x1f\x9d",), ".fits": (b"SIMPLE  =",), ".fit": (b"SIMPLE  =",),
          ".fts": (b"SIMPLE  =",), ".zip": (b"PK",)}  # fmt: skip


@dataclass(frozen=True)
class FileTask:
    """What to fetch and what the result must be (``size`` and ``checksum`` as ``algo:hex`` when known)."""

    url: str
    path: Path
    size: int | None = None
    checksum: str | None = None
    mirrors: tuple[str, ...] = ()  # tried first, in order: mirror URLs or local file paths
    fits: bool = False  # also check FITS CHECKSUM/DATASUM keywords (plain or gzipped FITS)
    splits: int = 1  # concurrent byte ranges for a large file of known size (see segments.py)
    named: ServerName | None = None  # the server's Content-Disposition may name it (see naming.py)

    @property
    def target(self) -> Path:
        """Where the file is installed: ``path``, or the name the server gave it (``.part`` stays at ``path``)."""
        return self.named.path if self.named is not None else self.path


def _discard(path: Path) -> None:
    """Remove a partial file and its validator (they can no longer lead to the right file)."""
    part_path(path).unlink(missing_ok=True)
    state_path(path).unlink(missing_ok=True)


def _digest(path: Path, checksum: str) -> bool:
    """Whether the file at ``path`` has the ``algo:hex`` checksum (md5, sha1, sha256, ...)."""
    algo, _, expected = checksum.partition(":")
    try:
        hasher = hashlib.new(algo.lower())
    except ValueError as err:
        raise DownloadError(f"unknown checksum algorithm {algo!r} in {checksum!r}; use e.g. 'sha256:<hex>'") from err
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
    return hasher.hexdigest().lower() == expected.strip().lower()


def fits_problem(path: Path) -> str | None:
    """Why a FITS file (plain or gzipped) fails its CHECKSUM/DATASUM keywords, or None (also for non-FITS)."""
    with path.open("rb") as handle:
        head = handle.read(9)
    if head.startswith(b"\x1f\x8b"):
        with gzip.open(path, "rb") as handle:
            head = handle.read(9)
    if head != b"SIMPLE  =":
        return None
    from astropy.io import fits

    failed = []  # verify_* return codes, not astropy's warnings: catching those is not thread-safe (vodaxa.quiet)
    try:
        with fits.open(path, memmap=False) as hdul:
            for index, hdu in enumerate(hdul):
                if "DATASUM" in hdu.header and hdu.verify_datasum() == 0:
                    failed.append(f"HDU {index}: DATASUM verification failed")
                if "CHECKSUM" in hdu.header and hdu.verify_checksum() == 0:
                    failed.append(f"HDU {index}: CHECKSUM verification failed")
    except (OSError, ValueError) as err:
        return f"not a readable FITS file ({err})"
    return "; ".join(failed) or None


def is_complete(task: FileTask) -> bool:
    """Whether ``task.path`` already holds the file, judged without the network (size, then checksum).

    With neither, the file's own bytes cannot tell (a FITS file cut between two HDUs, a gzip stream cut between
    members, look whole): only a file vodaxa installed with its length confirmed counts (:mod:`.verified`).
    Another one is asked about with :func:`confirm_on_disk`, or fetched again."""
    try:
        size = task.path.stat().st_size
    except FileNotFoundError:
        return False
    if task.size is not None and size != task.size:
        return False
    if task.checksum is not None:
        return _digest(task.path, task.checksum)
    return task.size is not None or verified.recorded(task.path, task.url)


async def confirm_on_disk(http: HttpClient, task: FileTask, timeout: float | None = None) -> bool:
    """Whether the file already at ``task.path``, which no size or checksum describes and vodaxa did not record
    as whole, is the whole file: one range probe for what would follow it (a 416 with its size, or a 200 of its
    size, says so; a 206 says it is short).  A server that answers neither with a length nor with ranges (or
    cannot be reached) leaves the file's own bytes to prove its end.  A confirmed file is recorded."""
    path, url = task.path, task.url
    have = path.stat().st_size
    verdict, definitive = "unknown", False
    if url.startswith(("http://", "https://")):
        try:
            probe = _probe_once(http, task, url, have)
            verdict, definitive = await (probe if timeout is None else asyncio.wait_for(probe, max(0.0, timeout)))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, VodaxaError) as err:
            log.info("%s: could not ask the server whether %s is whole (%s)", url, path.name, err)
    if verdict == "whole":
        verified.record(path, url)
        return True
    if verdict != "unknown":
        log.info("%s: %s on disk is not the server's whole file; fetching it again", url, path.name)
        return False
    why = await asyncio.to_thread(unproven_end, path, path.name)
    if why is not None:
        log.info("%s: nothing confirms that %s on disk is whole (%s); fetching it again", url, path.name, why)
        return False
    if definitive:  # the server has no more to say than this; a failed probe is tried again next run
        verified.record(path, url)
    return True


async def _probe_once(http: HttpClient, task: FileTask, url: str, have: int) -> tuple[str, bool]:
    """(the verdict on a file of ``have`` bytes, whether it came from a 200 without a length: no ranges)."""
    headers = {"Accept-Encoding": "identity", "Range": f"bytes={have}-"}
    async with http.stream("GET", url, headers=headers) as answer:
        if _refused(http, url, answer, task.path.name) or answer.status not in (200, 206, 416):
            return "unknown", False
        verdict = _probe_verdict(answer, have, {})
        return verdict, verdict == "unknown"


def _changed(headers: Mapping[str, str], check: str | None, meta: Mapping[str, str]) -> bool:
    """Whether a range answer comes from another version of the file than the ``.part``: its validator is not
    the one If-Range sent (a server that ignores If-Range), or its total is not the length first announced."""
    if check:
        if check.startswith(('"', "W/")):
            etag = headers.get("ETag")
            if etag and etag != check:
                return True
        else:
            modified = headers.get("Last-Modified")
            if modified and modified != check:
                return True
    first = meta.get("total")
    said = headers.get("Content-Range", "")
    match = CONTENT_RANGE.match(said) or _UNSATISFIED.match(said)
    total = match.groups()[-1] if match else None  # the last group: the total, in both patterns
    return bool(first and total and total != "*" and total != first)


def _probe_verdict(answer: Answer, have: int, meta: dict[str, str]) -> str:
    """What an answer to ``Range: bytes=<have>-`` says of the ``have`` bytes: ``whole``; ``more`` (a 206 that
    continues them); ``differs`` (the server's file is another length or version); ``unknown`` (a 200 without
    a length: no ranges and nothing to compare)."""
    if answer.status == 416:
        unsatisfied = _UNSATISFIED.match(answer.headers.get("Content-Range", ""))
        return "whole" if unsatisfied is None or int(unsatisfied.group(1)) == have else "differs"
    if answer.status == 206:
        match = CONTENT_RANGE.match(answer.headers.get("Content-Range", ""))
        return "more" if match and int(match.group(1)) == have else "differs"
    if answer.status != 200:
        return "unknown"
    ours, theirs = (meta.get("etag") or meta.get("last_modified")), validator(answer.headers)
    if ours and theirs and ours not in theirs.values():
        return "differs"  # the file changed since the .part's answer
    total = _expected_total(answer, 0)
    if total is None:
        return "unknown"
    return "whole" if total == have else "differs"


def sniff(name: str, head: bytes, content_type: str) -> str | None:
    """Why the first bytes cannot be the file ``name`` (an HTML page instead of data), or None if they can."""
    lower_name = name.lower()
    start = head.lstrip()[:64].lower()
    if lower_name.endswith((".html", ".htm")):
        return None
    if lower_name.endswith((".xml", ".txt", ".json", ".csv")):  # text is fine, but not an HTML page
        if start.startswith((b"<!doctype html", b"<html")):
            return "the server sent an HTML page where a text file was expected (a login or error page?)"
        return None
    if start.startswith(_HTML) or ("text/html" in content_type and not head.startswith((b"\x1f", b"SIMPLE"))):
        return "the server sent an HTML page where a data file was expected (a login or error page?)"
    suffix = os.path.splitext(lower_name)[1]
    magic = _MAGIC.get(suffix)
    if magic and head and not head.startswith(magic):
        return f"the first bytes {head[:8]!r} are not those of a {suffix} file"
    return None


def _partial_state(task: FileTask, url: str, part: Path) -> tuple[int | None, dict[str, str]]:
    """The size of the ``.part`` (None when there is none) and its validator file's contents (for this URL);
    the folder is made if missing."""
    part.parent.mkdir(parents=True, exist_ok=True)
    try:
        have = part.stat().st_size
    except FileNotFoundError:
        return None, {}
    return have, _loadstate_path(task, url)


def _loadstate_path(task: FileTask, url: str) -> dict[str, str]:
    try:
        meta = json.loads(read_private(state_path(task.path)) or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) and meta.get("url") == url else {}


async def fetch_file(
    http: HttpClient,
    task: FileTask,
    *,
    retries: int = 5,
    on_bytes: Callable[[int], None] | None = None,
    sync_dirs: set[Path] | None = None,
    deadline: float | None = None,
) -> int:
    """Fetch ``task`` into its path, from its mirrors first, then its URL; return the bytes received.

    With ``sync_dirs``, the folders of finished files are collected there for one :func:`fsync_dirs`
    at the end of a run instead of one directory fsync per file.  Past ``deadline`` (time.monotonic())
    no retry is started.

    Raises DownloadError (naming every source tried) when no source gave a verified file.
    """
    reasons = []  # the folder is made by the first job on the disk worker (_partial_state, or the ranged open)
    for source in (*task.mirrors, task.url):
        try:
            if source.startswith(("http://", "https://")):
                return await _fetch_url(http, task, source, retries, on_bytes, sync_dirs, deadline)
            if source == task.url:  # local copies come only from a mirror folder the caller configured
                raise DownloadError(
                    f"{source!r} is not an http(s) URL; vodaxa reads local files only from a mirror folder you "
                    "name (download(..., mirrors={'heasarc': '/path/to/copy'}))",
                    url=source,
                )
            return await asyncio.to_thread(_copy_local, task, Path(source), on_bytes)
        except DownloadError as err:
            if source != task.url:
                log.info("mirror %s: %s; trying the next source", source, err)
            reasons.append(str(err))
    raise DownloadError("; ".join(reasons), url=task.url)


async def _fetch_url(
    http: HttpClient,
    task: FileTask,
    url: str,
    retries: int,
    on_bytes: Callable[[int], None] | None,
    sync_dirs: set[Path] | None,
    deadline: float | None = None,
) -> int:
    """Fetch from one URL with retries, resuming the ``.part`` file between attempts."""
    part, received, last = part_path(task.path), 0, "no attempt made"
    retry_after: str | None = None
    relogged = False
    if task.size is not None and splittable(task.size, task.splits):
        ranged = fetch_segments(http, task.path, part, url, task.size, task.splits, retries=retries,
                                on_bytes=on_bytes, deadline=deadline,
                                sniff=lambda head, ctype: sniff(task.target.name, head, ctype),
                                on_answer=task.named.offer if task.named else None)  # fmt: skip
        try:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            received = await (ranged if left is None else asyncio.wait_for(ranged, left))
        except asyncio.TimeoutError:
            if deadline is not None and time.monotonic() >= deadline:  # the budget, not a read timeout
                raise DownloadError(f"{url}: the download budget ran out during the transfer (the .part and its "
                                    "segment map are kept: run again to resume)", url=url) from None  # fmt: skip
            raise
        except Unsplittable as err:
            log.info("%s: %s; fetching it whole", url, err)
            _discard(task.path)
        else:
            problem = await asyncio.to_thread(_content_problem, task, part) if task.checksum or task.fits else None
            if not problem:
                await disk.run(_install, task, part, sync_dirs)
                return received
            _discard(task.path)
            last = problem
            log.info("%s: %s; fetching it whole", url, problem)
    for attempt in range(retries + 1):
        if attempt:
            pause = http.pause(attempt - 1, retry_after)
            if deadline is not None and time.monotonic() + pause > deadline:
                last += " (the retry budget is spent)"
                break
            await asyncio.sleep(pause)
            retry_after = None
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            last += " (the download budget is spent)"
            break
        try:
            attempt_once = _attempt(http, task, url, part, on_bytes, sync_dirs)
            got, status, retry_after = await (attempt_once if left is None else asyncio.wait_for(attempt_once, left))
            received += got
        except asyncio.TimeoutError as err:
            if deadline is not None and time.monotonic() >= deadline:  # the budget, not a read timeout
                if attempt:
                    last += " (the retry budget is spent)"
                else:
                    last = "the download budget ran out during the transfer (the .part is kept: run again to resume)"
                break
            last = f"connection lost ({type(err).__name__}: {err})".rstrip(" :()")
            log.info("%s: %s; will resume", url, last)
            continue
        except (aiohttp.ClientError, ConnectionError) as err:
            last = f"connection lost ({type(err).__name__}: {err})".rstrip(" :()")
            log.info("%s: %s; will resume", url, last)
            received += getattr(err, "vodaxa_received", 0)
            continue
        if status == "done":
            return received
        if status == REFUSED:
            if relogged or http.on_rejected is None or not http.on_rejected(url):
                last = "the archive refused the credential (a login page or 401): is this file yours to fetch?"
                break
            relogged = True  # a stale or revoked token: log in again, once (the next attempt)
            last = status
            continue
        last = status
        if not status.startswith("retry"):
            break
    raise DownloadError(f"{url}: {last.removeprefix('retry: ')}", url=url)


def _copy_local(task: FileTask, source: Path, on_bytes: Callable[[int], None] | None) -> int:
    """Copy from a local mirror through ``.part``, verified like a download; 0 bytes come over the network."""
    if not source.is_file():
        raise DownloadError(f"{source}: not in the local mirror")
    part = part_path(task.path)
    part.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src, open_part(part, "wb") as out:
        while block := src.read(CHUNK):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    size = part.stat().st_size
    problem = f"{size} bytes, the manifest expects {task.size}" if task.size not in (None, size) else None
    problem = problem or _content_problem(task, part)
    if problem:
        _discard(task.path)
        raise DownloadError(f"{source}: in the mirror, {problem}")
    _install(task, part, None)
    return 0


def _content_problem(task: FileTask, part: Path) -> str | None:
    """What is wrong with a complete ``.part`` beyond its size: the manifest checksum, FITS checksums if asked."""
    if task.checksum and not _digest(part, task.checksum):
        return f"checksum mismatch (expected {task.checksum})"
    problem = fits_problem(part) if task.fits else None
    return f"FITS checksum: {problem}" if problem else None


def _install(task: FileTask, part: Path, sync_dirs: set[Path] | None) -> None:
    """Give the verified ``.part`` its final name (atomically), drop its validator, make the rename durable."""
    os.replace(part, task.target)
    state_path(task.path).unlink(missing_ok=True)
    if task.size is None and not task.checksum:  # nothing else will tell a rerun that it is whole
        verified.record(task.target, task.url)
    if task.named is not None:
        task.named.settle()  # a rerun finds it under the server's name without the network
    if sync_dirs is not None:
        sync_dirs.add(task.path.parent)  # the caller fsyncs each folder once, after the run
    else:
        _fsync_dir(task.path.parent)


async def _attempt(
    http: HttpClient,
    task: FileTask,
    url: str,
    part: Path,
    on_bytes: Callable[[int], None] | None,
    sync_dirs: set[Path] | None,
) -> tuple[int, str, str | None]:
    """One request, and the range probes a body whose end the server did not declare needs: (bytes received,
    "done" | "retry: why" | "why it failed", Retry-After)."""
    received, probe = 0, False
    try:
        for _ in range(PROBES + 1):
            got, status, retry_after = await _exchange(http, task, url, part, on_bytes, probe)
            received += got
            if status != UNDECLARED:
                break
            if probe and not got:  # a 206 of nothing: this server's ranges lead nowhere
                return received, "the server's answers to a range request for the rest of the file are empty", None
            probe = True  # the body ended where nobody said the file ends: ask what follows it
        else:
            return received, "retry: the server kept ending its answers without saying where the file ends", None
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as err:
        # the bytes of a lost attempt ride on the exception to _fetch_url, which counts them
        err.vodaxa_received = received + getattr(err, "vodaxa_received", 0)  # type: ignore[union-attr]
        raise
    if status == UNCONFIRMABLE:
        why = await asyncio.to_thread(unproven_end, part, task.target.name)
        size = part.stat().st_size
        if why is not None and CUT in why:
            _discard(task.path)  # no ranges: a resume cannot mend it, the next attempt starts over
            return received, f"retry: {why}", None
        if why is not None:
            return received, (f"the server sent no length (no Content-Length, not chunked) and answers no byte "
                              f"ranges, so nothing confirms that the {size} bytes received are the whole file "
                              f"({why}); {part.name} is kept"), None  # fmt: skip
        log.warning("%s: the server sent no length and answers no byte ranges; %s is taken as whole (%d bytes) on "
                    "its own structure", url, task.target.name, size)  # fmt: skip
    elif status not in (CONFIRMED, COMPLETE):
        return received, status, retry_after
    problem = await asyncio.to_thread(_content_problem, task, part) if task.checksum or task.fits else None
    if problem:
        _discard(task.path)
        return received, f"retry: {problem}", None
    await disk.run(_install, task, part, sync_dirs)
    return received, "done", None


async def _exchange(
    http: HttpClient,
    task: FileTask,
    url: str,
    part: Path,
    on_bytes: Callable[[int], None] | None,
    probe: bool,
) -> tuple[int, str, str | None]:
    """One request: a fresh GET, a resume of the ``.part``, or (``probe``, or a ``.part`` whose end a previous
    attempt did not see declared, with a validator) a range probe for what would follow the ``.part``.

    Returns (bytes received, status, Retry-After): COMPLETE, UNDECLARED (probe next), CONFIRMED, UNCONFIRMABLE
    (see :func:`_attempt`), REFUSED, "retry: why" or "why it failed"."""
    have, meta = await disk.run(_partial_state, task, url, part)
    exists = have is not None
    have = have or 0
    check = meta.get("etag") or meta.get("last_modified")
    headers: dict[str, str] = {"Accept-Encoding": "identity"}
    probing = "segments" not in meta and exists and (probe or bool(meta.get("ended") and check))
    if probing or (have and check and "segments" not in meta):
        headers["Range"] = f"bytes={have}-"
        if check:
            headers["If-Range"] = check
    else:
        have = 0
    received = 0
    async with http.stream("GET", url, headers=headers) as answer:
        if answer.status in RETRY_STATUSES:
            await answer.read()
            return 0, f"retry: the server answered {answer.status}", answer.headers.get("Retry-After")
        if answer.status == 416 and have and not probing:  # our partial file is no longer a prefix of anything
            _discard(task.path)
            return 0, "retry: the server refused the resume range (416); restarting", None
        if _refused(http, url, answer, task.target.name):
            await answer.read()
            return 0, REFUSED, None
        if answer.status in (206, 416) and "Range" in headers and _changed(answer.headers, check, meta):
            _discard(task.path)  # a server ignoring If-Range: its bytes belong to another version of the file
            why = "the file changed on the server since the partial download (another ETag, Last-Modified or length)"
            return 0, f"retry: {why}; restarting", None
        if probing:
            verdict = _probe_verdict(answer, have, meta)
            if verdict == "whole":
                return 0, CONFIRMED, None
            if verdict == "unknown" and answer.status == 200:
                return 0, UNCONFIRMABLE, None
            if answer.status == 416:
                _discard(task.path)
                said = answer.headers.get("Content-Range", "no Content-Range")
                return 0, f"retry: the server says the file is not the {have} bytes received ({said}); restarting", None
            # a 206 continuing the .part is appended below; any other answer is taken as a resume's would be
        if answer.status not in (200, 206):
            return 0, f"the server answered {answer.status} {answer.reason or ''}".strip(), None
        name = (task.named.offer(answer.headers) if task.named else task.path).name  # the answer that ends it names it
        total = _expected_total(answer, have)
        prepare = None
        if answer.status == 206:
            match = CONTENT_RANGE.match(answer.headers.get("Content-Range", ""))
            if "Range" not in headers or not match or int(match.group(1)) != have:
                _discard(task.path)
                return 0, "retry: a partial answer that does not continue the partial file; restarting", None
            mode = "ab"
        else:
            have, mode, meta = 0, "wb", {}  # a 200 (the server ignored Range, or the file changed): start over
            if total is None or total > RESUMABLE:  # small files just restart: spare them a validator file
                meta = {"url": url, **validator(answer.headers), **({"total": str(total)} if total else {})}
                prepare = functools.partial(write_state, state_path(task.path), meta)  # before the .part opens
        if task.size is not None and total is not None and total != task.size:
            _discard(task.path)
            if "text/html" in answer.headers.get("Content-Type", "").lower():
                return 0, (f"the server sent an HTML page ({total} bytes) where a {task.size}-byte data file was "
                           "expected (a login or error page? check your credentials)"), None  # fmt: skip
            return 0, f"the server offers {total} bytes but the manifest expects {task.size}", None
        first = True
        out = disk.PartWriter(part, mode, prepare)  # written on the disk worker: the loop never waits on the disk
        try:
            async for block in answer.content.iter_chunked(CHUNK):
                if first and mode == "wb":
                    mistaken = sniff(name, block[:512], answer.headers.get("Content-Type", "").lower())
                    if mistaken:
                        await disk.run(_discard, task.path)
                        return received, mistaken, None
                first = False
                await out.add(block)
                received += len(block)
                if on_bytes:
                    on_bytes(len(block))
        except BaseException as err:
            await out.abandon()  # what came stays in the .part, to resume from
            if isinstance(err, (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)):
                err.vodaxa_received = received  # type: ignore[union-attr]  # counted by _fetch_url, as above
            raise
        # aiohttp raises on a chunked body that ends without its terminating chunk: reaching here, a chunked 200
        # ended where the server said the file ends (a 206 without a total only ends its range)
        chunked = answer.status == 200 and "chunked" in answer.headers.get("Transfer-Encoding", "").lower()
    try:  # the body is in: the connection serves another file while this one reaches the disk
        await out.finish()
    except BaseException:
        await out.abandon()
        raise
    size = out.size if out.size is not None else part.stat().st_size
    expected = total if total is not None else task.size
    if expected is not None and size != expected:
        where = "shorter" if size < expected else "longer"
        if size > expected:
            _discard(task.path)
        return received, f"retry: the body was {where} than announced ({size} of {expected} bytes)", None
    if task.size is not None and size != task.size:
        return received, f"retry: got {size} bytes, the manifest expects {task.size}", None
    if expected is None and not task.checksum:
        if not chunked:  # the connection closed and that was all: nobody said the file ends here
            write_state(state_path(task.path), {**meta, "url": url, "ended": True})
            return received, UNDECLARED, None
        broken = await asyncio.to_thread(structure_problem, part, task.target.name)  # a chunked body's own check
        if broken:
            if CUT not in broken:
                _discard(task.path)  # not a truncation a resume can mend
            return received, f"retry: {broken}", None
    return received, COMPLETE, None


def _refused(http: HttpClient, url: str, answer: Answer, name: str) -> bool:
    """A credential went with the request and the archive turned it down (401, or a login page: ESO's way)."""
    if http.headers_for is None or not http.headers_for(url):
        return False
    html = "text/html" in answer.headers.get("Content-Type", "").lower()
    page = html and not name.lower().endswith((".html", ".htm"))
    return answer.status == 401 or (answer.status == 200 and page)


def _expected_total(answer: Answer, have: int) -> int | None:
    """The full file size the answer announces (Content-Range total, or Content-Length of a 200)."""
    if answer.status == 206:
        match = CONTENT_RANGE.match(answer.headers.get("Content-Range", ""))
        if match and match.group(3) != "*":
            return int(match.group(3))
        return None
    length = answer.headers.get("Content-Length")  # raw bytes: the core never decodes Content-Encoding
    return int(length) if length and length.isdigit() else None


def fsync_dirs(directories: set[Path]) -> None:
    """Make the renames in ``directories`` durable (once per folder)."""
    for directory in directories:
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
