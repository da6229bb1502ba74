"""Issue 14 item 7: a ``.part`` symbolic link planted where vodaxa would write is never written through."""

from __future__ import annotations

import pytest
from aiohttp import web

import vodaxa

from ..servers import AppThread


@pytest.fixture
def files():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"SIMPLE  = T" + bytes(5000), content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = AppThread(app)
    yield server.base
    server.close()


@pytest.mark.parametrize("splits", [1, 4])
def test_a_planted_part_link_is_refused(files, tmp_path, splits):
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not yours")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "x.fits.part").symlink_to(outside)
    report = vodaxa.download([f"{files}/x.fits"], dest, progress=False, splits=splits, retries=0)
    assert outside.read_bytes() == b"not yours"
    assert not report.ok and "symbolic link" in " ".join(report.errors)


@pytest.mark.parametrize("url", ["/etc/hostname", "file:///etc/hostname", "../../etc/hostname", "ftp://h/x"])
def test_a_url_that_is_a_local_path_is_never_read(tmp_path, url):
    """Issue 14 item 8: a DataLink access_url naming a local file is not copied in as if it were a mirror."""
    report = vodaxa.download(vodaxa.Manifest([{"url": url, "local_path": "x/hostname"}]), tmp_path, progress=False)
    assert not report.ok and not (tmp_path / "x" / "hostname").exists()
    assert "not an http(s) URL" in " ".join(report.errors)
