"""Apache ``mod_autoindex`` directory listings (HEASARC's /FTP, the CDA's cdaftp) walked into file lists.

Links are kept only when they name an entry of the directory itself: sort links (``?C=N;O=D``), the
parent directory, absolute paths, other hosts and links whose text differs from their target are
skipped, as CIAO's download_chandra_obsid does.
"""

from __future__ import annotations

import asyncio
import logging
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from ..errors import ResolveError
from ..manifest import safe_relative_path
from ..net import HttpClient

__all__ = ["parse_listing", "walk"]

log = logging.getLogger(__name__)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def parse_listing(html: str) -> tuple[list[str], list[str]]:
    """(sub-directory names, file names) of one listing page."""
    parser = _Links()
    parser.feed(html)
    dirs: list[str] = []
    files: list[str] = []
    for href, text in parser.links:
        if not href or href.startswith(("?", "/", "#")) or "://" in href or text == "Parent Directory":
            continue
        name = unquote(href)
        if name.rstrip("/") != text.rstrip("/") and not text.endswith(".."):  # sort links and decorations
            continue
        if "/" in name.rstrip("/") or name.rstrip("/") in ("..", ".", "") or "\\" in name:
            continue
        (dirs if name.endswith("/") else files).append(name.rstrip("/"))
    return dirs, files


#: Listings one walk may read, and files it may list: an observation directory has tens of folders and a
#: few thousand files at most; a tree far larger is a server gone wrong (or a loop of links).
MAX_LISTINGS = 2000
MAX_FILES = 100_000


async def walk(
    http: HttpClient, url: str, *, max_depth: int = 8, max_listings: int = MAX_LISTINGS, max_files: int = MAX_FILES
) -> list[str]:
    """Every file below the directory ``url``, as sanitised paths relative to it (listings fetched concurrently).

    A listing that redirects anywhere outside ``url`` (another host, or elsewhere on the same one), one read
    twice, or a tree larger than ``max_listings``/``max_files`` is a :class:`ResolveError` naming it.
    """
    if not url.endswith("/"):
        url += "/"
    root = urlsplit(url)
    inside = "/" + "/".join(p for p in root.path.split("/") if p) + "/"
    read: set[str] = set()
    counts = {"files": 0}

    async def visit(directory: str, prefix: str, depth: int) -> list[str]:
        if len(read) >= max_listings:
            raise ResolveError(f"{url} holds more than {max_listings} folders; not walked further", url=url)
        response = await http.get(directory)
        if response.status == 404:
            raise ResolveError(f"{directory} does not exist (404)", url=directory, status=404)
        if response.status >= 400:
            raise ResolveError(f"{directory} answered HTTP {response.status}", url=directory, status=response.status)
        if "html" not in response.content_type:
            raise ResolveError(
                f"{directory} is not a directory listing ({response.content_type or 'no type'})", url=directory
            )
        final = urlsplit(response.url)
        if (final.scheme, final.netloc) != (root.scheme, root.netloc):
            raise ResolveError(f"{directory} redirected to another host ({final.netloc})", url=directory)
        here = "/" + "/".join(p for p in final.path.split("/") if p) + "/"
        if not here.startswith(inside):
            raise ResolveError(f"{directory} redirected outside {url} (to {final.path})", url=directory)
        if here in read:
            raise ResolveError(f"{directory} leads back to {final.path}, listed already (a loop of links)", url=url)
        read.add(here)
        dirs, files = parse_listing(response.text())
        counts["files"] += len(files)
        if counts["files"] > max_files:
            raise ResolveError(f"{url} lists more than {max_files} files; not walked further", url=url)
        out = []
        for name in files:
            try:
                out.append(safe_relative_path(prefix + name))
            except ResolveError as err:  # one odd entry costs only itself
                log.warning("skipping an entry of %s: %s", directory, err)
        if depth < max_depth:
            subs = await asyncio.gather(*(visit(urljoin(directory, d + "/"), f"{prefix}{d}/", depth + 1) for d in dirs))
            out += [p for group in subs for p in group]
        return out

    return sorted(await visit(url, "", 0))
