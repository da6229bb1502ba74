"""Static files as archive web servers send them: Range, If-Range, ETag, HEAD, Apache autoindex."""

from __future__ import annotations

import mimetypes
import os
import threading
import zlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from .faults import FAULT_KEY, FaultInjector

__all__ = ["etag_of", "listing_page", "serve_file"]

_CHUNK = 256 * 1024
_etags: dict[tuple[str, int, int], str] = {}
_etag_lock = threading.Lock()


def etag_of(path: Path) -> str:
    """A strong ETag from the file's content (CRC-32 and size), cached per (path, size, mtime)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _etag_lock:
        if key in _etags:
            return _etags[key]
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            crc = zlib.crc32(block, crc)
    tag = f'"{st.st_size:x}-{crc:08x}"'
    with _etag_lock:
        _etags[key] = tag
    return tag


def _content_type(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".gz", ".z")):
        return "application/x-gzip" if name.endswith(".gz") else "application/x-compress"
    if name.endswith((".fits", ".fit", ".fts", ".evt", ".img")):
        return "application/fits"
    guess, _ = mimetypes.guess_type(name)
    return guess or "application/octet-stream"


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) for a single satisfiable byte range; None to ignore it; "bad" if unsatisfiable."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first_s, _, last_s = header[6:].strip().partition("-")
    try:
        if first_s == "":
            n = int(last_s)
            if n <= 0:
                return "bad"
            return max(size - n, 0), size - 1
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return "bad"
    return first, min(last, size - 1)


async def _file_chunks(path: Path, first: int, length: int) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(first)
        remaining = length
        while remaining > 0:
            block = fh.read(min(_CHUNK, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block


async def serve_file(request: web.Request, path: Path, injector: FaultInjector) -> web.StreamResponse:
    """Send ``path`` with Content-Length, ETag and Last-Modified, honouring Range and If-Range."""
    st = path.stat()
    size = st.st_size
    tag = etag_of(path)
    modified = format_datetime(datetime.fromtimestamp(st.st_mtime, timezone.utc), usegmt=True)
    headers = {
        "ETag": tag,
        "Last-Modified": modified,
        "Accept-Ranges": "bytes",
        "Content-Type": _content_type(path),
    }
    if request.headers.get("If-None-Match") == tag:
        return web.Response(status=304, headers={"ETag": tag})
    status, first, length = 200, 0, size
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if wanted and (if_range is None or if_range in (tag, modified)):
        span = _parse_range(wanted, size)
        if span == "bad":
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        if isinstance(span, tuple):
            first, last = span
            status, length = 206, last - first + 1
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    decision = request.get(FAULT_KEY)
    small = request.method == "GET" and length <= _CHUNK
    if small and not injector.faults.bandwidth and not (decision and decision.cut):
        with path.open("rb") as fh:  # a small file, no slow link, no cut: headers and body in one write
            fh.seek(first)
            body = fh.read(length)
        return web.Response(status=status, headers=headers, body=body)
    return await injector.send(request, status, headers, _file_chunks(path, first, length), length)


def listing_page(url_path: str, entries: Iterable[tuple[str, bool, int, float]]) -> str:
    """An Apache mod_autoindex page for ``url_path``: (name, is_dir, size, mtime) per entry.

    It has the sort links ("?C=N;O=D") and the "Parent Directory" link that real listings carry,
    so clients must skip them just as they must on HEASARC and the CDA.
    """
    title = escape(url_path.rstrip("/") or "/")
    parent = url_path.rstrip("/").rsplit("/", 1)[0] + "/"
    lines = [
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
        f"<html>\n <head>\n  <title>Index of {title}</title>\n </head>\n <body>",
        f"<h1>Index of {title}</h1>",
        '<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>'
        '                    <a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>'
        '  <a href="?C=D;O=A">Description</a><hr>'
        f'<img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="{escape(parent)}">Parent Directory</a>'
        "                             -   ",
    ]
    for name, is_dir, size, mtime in sorted(entries, key=lambda e: e[0]):
        shown = name + ("/" if is_dir else "")
        href = quote(name) + ("/" if is_dir else "")
        when = datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M")
        icon = "folder.gif" if is_dir else "unknown.gif"
        alt = "[DIR]" if is_dir else "[   ]"
        pad = " " * max(1, 24 - len(shown))
        size_text = "-" if is_dir else _human(size)
        lines.append(
            f'<img src="/icons/{icon}" alt="{alt}"> <a href="{escape(href)}">{escape(shown)}</a>'
            f"{pad}{when}  {size_text:>5}  "
        )
    lines.append("<hr></pre>\n</body></html>\n")
    return "\n".join(lines)


def _human(size: int) -> str:
    """Apache's short size: bytes, then K, M, G with one decimal below 10."""
    value = float(size)
    for unit in ("", "K", "M", "G"):
        if value < 1024 or unit == "G":
            if unit == "":
                return str(int(value))
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return str(size)


def directory_entries(directory: Path) -> list[tuple[str, bool, int, float]]:
    """(name, is_dir, size, mtime) for each entry of a real directory."""
    out = []
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.startswith(".") or entry.name.endswith(".tmp"):
                continue
            st = entry.stat()
            out.append((entry.name, entry.is_dir(), st.st_size, st.st_mtime))
    return out
