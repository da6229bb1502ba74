"""Directory walks stay inside the directory asked for, read no folder twice and stop at a bound (found by a
hostile review: redirects out of the observation, link loops, trees that never end)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from vodaxa.errors import ResolveError
from vodaxa.http import HttpClient
from vodaxa.resolvers.listing import walk

from ..servers import AppThread


def page(*names: str) -> web.Response:
    links = "".join(f'<a href="{n}">{n}</a>\n' for n in names)
    return web.Response(text=f"<html><body><pre>{links}</pre></body></html>", content_type="text/html")


async def handler(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path == "/FTP/obs/1/":
        return page("event_cl/", "a.fits")
    if path == "/FTP/obs/1/event_cl/":
        raise web.HTTPFound("/private/9/event_cl/")  # out of the observation's directory
    if path == "/private/9/event_cl/":
        return page("secret.txt")
    if path == "/FTP/loop/":
        return page("again/", "b.fits")
    if path == "/FTP/loop/again/":
        raise web.HTTPFound("/FTP/loop/")  # back to a folder already read
    if path.startswith("/FTP/wide/"):
        return page("d1/", "d2/", "d3/", "f.fits")
    return web.Response(status=404)


@pytest.fixture(scope="module")
def server():
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    s = AppThread(app)
    yield s
    s.close()


def _walk(url: str, **options):
    async def run():
        async with HttpClient() as http:
            return await walk(http, url, **options)

    return asyncio.run(run())


def test_a_redirect_out_of_the_directory_is_refused(server):
    with pytest.raises(ResolveError, match="redirected outside"):
        _walk(server.base + "/FTP/obs/1/")


def test_a_loop_of_links_is_refused(server):
    with pytest.raises(ResolveError, match="listed already"):
        _walk(server.base + "/FTP/loop/")


def test_a_tree_without_end_stops_at_the_bound(server):
    with pytest.raises(ResolveError, match="more than 50 folders"):
        _walk(server.base + "/FTP/wide/", max_listings=50)
    with pytest.raises(ResolveError, match="more than 20 files"):
        _walk(server.base + "/FTP/wide/", max_files=20)
