"""An archive's file tree over HTTP, built lazily: HEASARC's ``/FTP`` and the CDA's ``/cdaftp``.

A shape describes its tree with two functions: ``index(top)`` lists the observation directories
below a first path component (walked once, on first use of that component) and ``build(key)``
writes one observation's directories.  :class:`ObservationTree` does the rest: virtual directories
for the levels above the observations, building on first request, Apache autoindex listings, and
files with Range/ETag and the sandbox's fault injection.  Nothing outside a listed observation
directory (or a virtual directory above one) is ever served, so private rows and ``..`` give 404.
"""

from __future__ import annotations

import asyncio
import mimetypes
import threading
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from aiohttp import web

from .faults import FaultInjector
from .files import directory_entries, listing_page, serve_file

__all__ = ["ObservationTree"]

K = TypeVar("K", bound=Hashable)

#: The decoded Content-Type of a ``.gz`` file the tree is sending as gzip-encoded content.
_DECODED_TYPE = web.RequestKey("vodaxa_tree_decoded_type", str)
_FITS_SUFFIXES = (".fits", ".fit", ".fts", ".evt", ".img")


def _decoded_type(name: str) -> str:
    """Content-Type of a ``.gz`` file's decompressed content, as Apache's ``AddEncoding gzip .gz`` labels it."""
    inner = name[: -len(".gz")].lower()
    if inner.endswith(_FITS_SUFFIXES):
        return "application/fits"
    return mimetypes.guess_type(inner)[0] or "application/octet-stream"


async def _declare_gzip(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: mark a ``.gz`` file's 200/206 answer ``Content-Encoding: gzip``."""
    decoded = request.get(_DECODED_TYPE)
    if decoded is not None and response.status in (200, 206):
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Type"] = decoded


class ObservationTree(Generic[K]):
    """Request paths below ``prefix`` served from ``root``; observation directories written on first use.

    ``tops`` are the first path components (the root listing); ``index(top)`` yields
    ``(directory, key)`` for every public observation directory below ``top`` (relative to ``root``,
    trailing slash); ``build(key)`` writes that observation's directories under ``root`` (blocking,
    idempotent).  With ``gzip_encoding`` a ``.gz`` file is sent with ``Content-Encoding: gzip``
    (its Content-Length and byte ranges still count the gzipped bytes), as the CDA does.
    """

    def __init__(
        self,
        prefix: str,
        root: Path,
        injector: FaultInjector,
        *,
        tops: Iterable[str],
        index: Callable[[str], Iterable[tuple[str, K]]],
        build: Callable[[K], object],
        gzip_encoding: bool = False,
        page: Callable[[str, Iterable[tuple[str, bool, int, float]]], str] = listing_page,
    ) -> None:
        self.prefix = "/" + prefix.strip("/") + "/"
        self.page = page  # how a directory listing looks (Apache's autoindex unless the archive differs)
        self.root = root
        self.injector = injector
        self.gzip_encoding = gzip_encoding
        self._tops = frozenset(tops)
        self._index = index
        self._build = build
        self._paths: dict[str, K] = {}
        self._children: dict[str, set[str]] = {"": set(self._tops)}
        self._indexed: set[str] = set()
        self._index_lock = threading.Lock()
        self._build_locks: dict[str, asyncio.Lock] = {}

    def add_routes(self, app: web.Application) -> None:
        """Answer GET and HEAD for ``prefix`` (redirected to its slash form) and everything below it."""
        app.router.add_get(self.prefix.rstrip("/"), self._redirect_root)
        app.router.add_get(self.prefix + "{tail:.*}", self.handle)
        if self.gzip_encoding and _declare_gzip not in app.on_response_prepare:
            app.on_response_prepare.append(_declare_gzip)

    # --------------------------------------------------------------------------- index and build
    def index(self, top: str) -> None:
        """Map the observation directories below ``top`` and their parents (once per top)."""
        with self._index_lock:
            if top in self._indexed or top not in self._tops:
                return
            for path, key in self._index(top):
                self._paths.setdefault(path, key)
                parts = path.rstrip("/").split("/")
                for depth in range(len(parts)):
                    parent = "/".join(parts[:depth]) + ("/" if depth else "")
                    self._children.setdefault(parent, set()).add(parts[depth])
            self._indexed.add(top)

    def observation_paths(self) -> dict[str, K]:
        """Every observation directory of the tree and its key (indexing all tops)."""
        for top in sorted(self._tops):
            self.index(top)
        return dict(self._paths)

    def materialize(self) -> int:
        """Write every observation directory now (for ``prebuild``); returns how many were new."""
        built: set[K] = set()
        for path, key in self.observation_paths().items():
            if key not in built and not (self.root / path).exists():
                self._build(key)
                built.add(key)
        return len(built)

    async def ensure_built(self, obs_path: str) -> Path:
        """The observation directory ``obs_path``, written first if this is its first use."""
        await asyncio.to_thread(self.index, obs_path.split("/")[0])
        key = self._paths[obs_path]
        lock = self._build_locks.setdefault(obs_path, asyncio.Lock())
        async with lock:
            target = self.root / obs_path
            if not target.exists():
                await asyncio.to_thread(self._build, key)
        return target

    async def local_path(self, tail: str) -> Path | None:
        """What ``{prefix}{tail}`` is on disk if it lies inside an observation directory (written first), else None.

        Only observation directories and what is below them count: virtual directories above them, private
        rows, ``.`` and ``..`` give None, so a caller can hand out whatever this returns.
        """
        parts = [p for p in tail.split("/") if p]
        if not parts or any(p in ("..", ".") or "\\" in p for p in parts):
            return None
        await asyncio.to_thread(self.index, parts[0])
        for depth in range(len(parts), 0, -1):
            prefix = "/".join(parts[:depth]) + "/"
            if prefix in self._paths:
                await self.ensure_built(prefix)
                target = self.root.joinpath(*parts)
                return target if target.exists() else None
        return None

    # --------------------------------------------------------------------------- HTTP
    async def _redirect_root(self, request: web.Request) -> web.StreamResponse:
        """The tree's root without its slash: redirect, as Apache does for directories."""
        raise web.HTTPMovedPermanently(self.prefix)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A listing, a file or 404 for ``{prefix}{tail}``; directories without a slash redirect."""
        tail = request.match_info["tail"]
        parts = [p for p in tail.split("/") if p]
        if any(p in ("..", ".") or "\\" in p for p in parts):
            raise web.HTTPNotFound(text="no such file")
        if parts:
            await asyncio.to_thread(self.index, parts[0])
        inside = False  # below an observation directory (only those are read from disk)
        for depth in range(len(parts), 0, -1):
            prefix = "/".join(parts[:depth]) + "/"
            if prefix in self._paths:
                await self.ensure_built(prefix)
                inside = True
                break
        target = self.root.joinpath(*parts) if parts else self.root
        is_dir_request = tail == "" or tail.endswith("/")
        virtual = "/".join(parts) + "/" if parts else ""
        if inside and target.is_file() and not is_dir_request:
            if self.gzip_encoding and target.name.endswith(".gz"):
                request[_DECODED_TYPE] = _decoded_type(target.name)
            return await serve_file(request, target, self.injector)
        if (inside and target.is_dir()) or virtual in self._children:
            if not is_dir_request:
                raise web.HTTPMovedPermanently(f"{self.prefix}{tail}/")
            return self._listing(target, virtual, inside)
        raise web.HTTPNotFound(text=f"{self.prefix}{tail} was not found on this server")

    def _listing(self, target: Path, virtual: str, inside: bool) -> web.Response:
        """A directory's autoindex page: its virtual children, then what is on disk (above observations: only those)."""
        children = self._children.get(virtual, set())
        entries = {name: (name, True, 0, 0.0) for name in children}
        if target.is_dir():
            entries.update({e[0]: e for e in directory_entries(target) if inside or e[0] in children})
        page = self.page(f"{self.prefix}{virtual}", entries.values())
        return web.Response(text=page, content_type="text/html")
