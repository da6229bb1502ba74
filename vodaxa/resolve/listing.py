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
from ..http import HttpClient
from ..manifest import safe_relative_path

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
    dirs, files = [], []
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


async def walk(http: HttpClient, url: str, *, max_depth: int = 8) -> list[str]:
    """Every file below the directory ``url``, as sanitised paths relative to it (listings fetched concurrently)."""
    if not url.endswith("/"):
        url += "/"
    root = urlsplit(url)

    async def visit(directory: str, prefix: str, depth: int) -> list[str]:
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
        dirs, files = parse_listing(response.text())
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
