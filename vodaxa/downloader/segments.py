"""Large files in parallel byte ranges: one preallocated ``.part`` filled segment by segment, resumable.

Used for files whose size is known in advance and at least :data:`SPLIT_MIN` bytes, where one
connection is often capped well below the link (long paths, per-connection throttles).  The segment
map and the server's validator live in ``<name>.part.json`` so a killed run resumes every segment
where it stopped.  A server that ignores Range, or whose file changes under us, makes the split
impossible: :class:`Unsplittable` tells the caller to fetch the file whole instead.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import aiohttp

from ..errors import DownloadError
from ..net import RETRY_STATUSES, HttpClient
from . import disk
from .partial import CONTENT_RANGE, open_part_fd, read_private, state_path, write_private
from .partial import validator as validator_of

__all__ = ["SEGMENT_MIN", "SPLIT_MIN", "Unsplittable", "fetch_segments", "plan", "splittable"]

log = logging.getLogger(__name__)

SPLIT_MIN = 64 << 20  # files at least this large are fetched in ranges when splits > 1
SEGMENT_MIN = 16 << 20  # no segment smaller than this: each costs a request and a connection
CHECKPOINTS = 256  # saves of the segment map per file: a kill loses at most splits/256 of it
CHECKPOINT_MIN = 256 << 10  # ... but no save more often than every this many bytes per segment
_CHUNK = 1 << 20


class Unsplittable(Exception):
    """The server will not serve this file in consistent ranges; fetch it whole."""


def splittable(size: int | None, splits: int) -> bool:
    """Whether a file of ``size`` bytes is worth fetching in ``splits`` ranges."""
    return splits > 1 and size is not None and size >= max(SPLIT_MIN, 2 * SEGMENT_MIN)


def plan(size: int, splits: int) -> list[list[int]]:
    """Segments ``[start, end, next]`` (end exclusive, next = first byte still missing) covering ``size``."""
    count = max(1, min(splits, size // SEGMENT_MIN))
    bounds = [size * i // count for i in range(count + 1)]
    return [[bounds[i], bounds[i + 1], bounds[i]] for i in range(count)]


def _load(part: Path, path: Path, url: str, size: int) -> tuple[list[list[int]], str | None] | None:
    """The saved segment map and validator, if they still describe ``part`` for this URL and size."""
    try:
        saved = json.loads(read_private(state_path(path)) or "")
        segments = [[int(a), int(b), int(c)] for a, b, c in saved["segments"]]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    if not segments:
        return None
    validator = saved.get("etag") or saved.get("last_modified")
    covered = all(s <= n <= e for s, e, n in segments) and segments[0][0] == 0 and segments[-1][1] == size
    contiguous = all(a[1] == b[0] for a, b in itertools.pairwise(segments))
    if saved.get("url") != url or saved.get("size") != size or not validator or not covered or not contiguous:
        return None
    if not part.exists() or part.stat().st_size != size:
        return None
    return segments, validator


def _save(path: Path, url: str, size: int, segments: list[list[int]], validator: dict[str, str]) -> None:
    """Write the segment map atomically (only with a validator: without one a resume cannot be trusted)."""
    if not validator:
        return
    write_private(state_path(path), json.dumps({"url": url, "size": size, "segments": segments, **validator}))


async def fetch_segments(
    http: HttpClient,
    path: Path,
    part: Path,
    url: str,
    size: int,
    splits: int,
    *,
    retries: int,
    on_bytes: Callable[[int], None] | None = None,
    deadline: float | None = None,
    sniff: Callable[[bytes, str], str | None] | None = None,
    on_answer: Callable[[Mapping[str, str]], object] | None = None,
) -> int:
    """Fill ``part`` (``size`` bytes) from ``url`` in up to ``splits`` concurrent ranges; return bytes received.

    Raises :class:`Unsplittable` when the server answers a range with the whole file or with ranges
    of another file (the caller fetches it whole), and DownloadError when a segment keeps failing
    (the partial file and its map stay for the next run) or ``sniff`` rejects the first bytes.
    ``on_answer`` sees the headers of each range answer before its bytes (the server may name the file).
    """
    saved = await disk.run(_load, part, path, url, size)
    segments, agreed = (saved[0], saved[1]) if saved else (plan(size, splits), None)
    validator: dict[str, str] = {}
    if saved:
        log.info("%s: resuming %d segments (%d of %d bytes here)", url, len(segments),
                 sum(n - s for s, _, n in segments), size)  # fmt: skip
    fd = await disk.run(_open, part)
    received, rejected = 0, False
    every = max(CHECKPOINT_MIN, size // CHECKPOINTS)

    async def segment(seg: list[int]) -> None:
        nonlocal agreed, validator, received, rejected
        attempt, last, retry_after = 0, "", None
        while seg[2] < seg[1]:
            if attempt > retries:
                raise DownloadError(f"{url}: bytes {seg[2]}-{seg[1] - 1}: {last}", url=url)
            if attempt:
                pause = http.pause(attempt - 1, retry_after)
                if deadline is not None and time.monotonic() + pause > deadline:
                    raise DownloadError(f"{url}: {last} (the retry budget is spent)", url=url)
                await asyncio.sleep(pause)
            attempt, retry_after = attempt + 1, None
            headers = {"Accept-Encoding": "identity", "Range": f"bytes={seg[2]}-{seg[1] - 1}"}
            if agreed:
                headers["If-Range"] = agreed
            try:
                async with http.stream("GET", url, headers=headers) as answer:
                    if answer.status in RETRY_STATUSES:
                        await answer.read()
                        last, retry_after = f"the server answered {answer.status}", answer.headers.get("Retry-After")
                        continue
                    if answer.status == 200:
                        raise Unsplittable("the server answered a range request with the whole file")
                    if answer.status != 206:
                        raise DownloadError(f"{url}: the server answered {answer.status} {answer.reason or ''}".strip(),
                                            url=url)  # fmt: skip
                    match = CONTENT_RANGE.match(answer.headers.get("Content-Range", ""))
                    if not match or int(match.group(1)) != seg[2] or match.group(3) not in (str(size), "*"):
                        raise Unsplittable(f"the server sent the range {answer.headers.get('Content-Range')!r}")
                    here = validator_of(answer.headers)
                    tag = here.get("etag") or here.get("last_modified")
                    if agreed and tag and tag != agreed:
                        raise Unsplittable("the file changed on the server between two ranges")
                    if tag and not agreed:
                        agreed, validator = tag, here
                        await disk.run(_save, path, url, size, _copy(segments), validator)
                    if on_answer is not None:
                        on_answer(answer.headers)
                    since = 0
                    async for block in answer.content.iter_chunked(_CHUNK):
                        if seg[2] == 0 and sniff is not None:
                            why = sniff(block[:512], answer.headers.get("Content-Type", "").lower())
                            if why:
                                rejected = True
                                raise DownloadError(f"{url}: {why}", url=url)
                        if seg[2] + len(block) > seg[1]:
                            raise Unsplittable("the server sent more bytes than the range asked for")
                        await disk.run(os.pwrite, fd, block, seg[2])  # on the disk worker, never the loop
                        seg[2] += len(block)
                        received += len(block)
                        since += len(block)
                        if on_bytes:
                            on_bytes(len(block))
                        if since >= every:
                            since = 0
                            await disk.run(_save, path, url, size, _copy(segments), validator)
                    if seg[2] < seg[1]:
                        last = f"the range ended after {seg[2] - seg[0]} of {seg[1] - seg[0]} bytes"
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as err:
                last = f"connection lost ({type(err).__name__})"
                log.info("%s: %s in bytes %d-%d; will resume", url, last, seg[2], seg[1] - 1)

    try:
        await disk.run(_sized, fd, size)
        if agreed:
            validator = {"etag": agreed} if agreed.startswith('"') else {"last_modified": agreed}
        tasks = [asyncio.ensure_future(segment(seg)) for seg in segments if seg[2] < seg[1]]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        await asyncio.to_thread(os.fsync, fd)  # long for a large file: not on the disk worker either
    finally:
        # after every write queued before it (the worker keeps their order): no write can reach a reused descriptor
        await asyncio.shield(disk.run(_finish, fd, part, path, url, size, _copy(segments), validator, rejected))
    return received


def _open(part: Path) -> int:
    """The ``.part``'s descriptor for writing ranges, its folder made if missing."""
    part.parent.mkdir(parents=True, exist_ok=True)
    return open_part_fd(part, "r+b")


def _copy(segments: list[list[int]]) -> list[list[int]]:
    """The segment map as it is now (the worker writes it while the loop moves on)."""
    return [list(seg) for seg in segments]


def _sized(fd: int, size: int) -> None:
    if os.fstat(fd).st_size != size:
        os.ftruncate(fd, size)  # sparse: the space is claimed as the segments arrive


def _finish(fd: int, part: Path, path: Path, url: str, size: int, segments: list[list[int]],
            validator: dict[str, str], rejected: bool) -> None:  # fmt: skip
    """Close the ``.part`` and keep its map, or drop both when the bytes were not the file at all."""
    os.close(fd)
    if rejected:  # not the file at all: nothing here is worth resuming
        part.unlink(missing_ok=True)
        state_path(path).unlink(missing_ok=True)
    else:
        _save(path, url, size, segments, validator)
