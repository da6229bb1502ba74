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

__all__ = ["MAX_FILES", "MAX_LISTINGS", "parse_listing", "walk"]

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
    """Read one directory listing page: the names of its sub-directories and of its files.

    Only links naming an entry of the directory itself are kept (see the module's description).

    Parameters
    ----------
    html : str
        The page, as Apache's ``mod_autoindex`` writes it.

    Returns
    -------
    dirs : list of str
        The sub-directories' names (without the trailing slash), in the page's order.
    files : list of str
        The files' names, in the page's order.

    Examples
    --------
    >>> from vodaxa.resolvers.listing import parse_listing
    >>> parse_listing('''<a href="?C=N;O=D">Name</a> <a href="/FTP/nustar/data/">Parent Directory</a>
    ... <a href="auxil/">auxil/</a> <a href="event_cl/">event_cl/</a> <a href="nu60001022002.cat">nu60001022002.cat</a>
    ... ''')
    (['auxil', 'event_cl'], ['nu60001022002.cat'])
    """
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


#: Listings one walk may read: an observation directory has tens of folders at most; a tree far larger is a
#: server gone wrong (or a loop of links).
MAX_LISTINGS = 2000
#: Files one walk may list: an observation directory has a few thousand at most.
MAX_FILES = 100_000


async def walk(
    http: HttpClient, url: str, *, max_depth: int = 8, max_listings: int = MAX_LISTINGS, max_files: int = MAX_FILES
) -> list[str]:
    """List every file below a directory, walking its listings (fetched concurrently).

    Parameters
    ----------
    http : vodaxa.net.HttpClient
        The client the listings are fetched with (its policy: retries, deadlines, credentials).
    url : str
        The directory (a trailing slash is added when missing).
    max_depth : int, optional
        How many levels of sub-directories to walk (8 by default).
    max_listings : int, optional
        The most listings to read (`MAX_LISTINGS` by default).
    max_files : int, optional
        The most files to list (`MAX_FILES` by default).

    Returns
    -------
    list of str
        The files, as sanitised paths relative to ``url``, sorted; an entry whose name is not a safe path is
        skipped, with a logged warning.

    Raises
    ------
    vodaxa.errors.ResolveError
        If a listing is missing (404) or fails, is not HTML, redirects anywhere outside ``url`` (another host,
        or elsewhere on the same one) or to one read already, or the tree is larger than ``max_listings`` or
        ``max_files``.
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
