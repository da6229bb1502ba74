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


@pytest.fixture
def big_files():
    """Files large enough for a validator file (and, at 80 MiB declared, for ranges), named by the server."""
    body = b"SIMPLE  = T" + bytes(400_000 - 11)

    async def handler(request: web.Request) -> web.Response:
        headers = {"ETag": '"v1"', "Content-Disposition": 'attachment; filename="named.fits"'}
        return web.Response(body=body, headers=headers, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = AppThread(app)
    yield server.base
    server.close()


@pytest.mark.parametrize("planted", ["big.part.json", ".vodaxa-names.json"])
def test_vodaxas_own_small_files_are_never_written_through_a_link(big_files, tmp_path, planted):
    """The validator beside a .part, the segment map and the folder's names index are replaced, not followed."""
    outside = tmp_path / "victim.txt"
    outside.write_bytes(b"not yours")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / planted).symlink_to(outside)
    report = vodaxa.download([f"{big_files}/big"], dest, progress=False, retries=0)
    assert outside.read_bytes() == b"not yours"
    assert report.ok == [dest / "named.fits"] and (dest / "named.fits").stat().st_size == 400_000


def test_a_scratch_file_that_is_a_link_is_refused(tmp_path):
    from vodaxa.downloader.partial import write_private
    from vodaxa.errors import DownloadError

    outside = tmp_path / "victim.txt"
    outside.write_bytes(b"not yours")
    target = tmp_path / "state.json"
    target.symlink_to(outside)
    write_private(target, "{}")
    assert outside.read_bytes() == b"not yours" and not target.is_symlink() and target.read_text() == "{}"
    import os
    import threading

    scratch = tmp_path / f"state.json.{os.getpid()}-{threading.get_ident() % 100000}.tmp"
    scratch.symlink_to(outside)
    with pytest.raises(DownloadError, match="symbolic link"):
        write_private(tmp_path / "state.json", "[]")
    assert outside.read_bytes() == b"not yours"


BROKEN_URLS = ["http://[::1/evil.fits", "http://127.0.0.1:99999/x.fits", "http://127.0.0.1:9/a b.fits", "http:///x"]


@pytest.fixture
def links_with_a_broken_row():
    async def links(request: web.Request) -> web.Response:
        base, bad = f"http://127.0.0.1:{request.url.port}", request.query["bad"]
        rows = "".join(f"<TR><TD>ivo://x?0</TD><TD>{u}</TD><TD>#this</TD></TR>" for u in (f"{base}/f/good.txt", bad))
        fields = '<FIELD name="ID"/><FIELD name="access_url"/><FIELD name="semantics"/>'
        doc = f'<VOTABLE><RESOURCE type="results"><TABLE>{fields}<DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE>'
        doc += "</RESOURCE></VOTABLE>"
        return web.Response(text=doc, content_type="text/xml")

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"hello world")

    app = web.Application()
    app.router.add_route("*", "/links", links)
    app.router.add_get("/f/{name}", file)
    server = AppThread(app)
    yield server.base
    server.close()


@pytest.mark.parametrize("bad", BROKEN_URLS)
def test_one_unparseable_access_url_costs_only_its_row(links_with_a_broken_row, tmp_path, bad):
    from urllib.parse import quote

    from astropy.table import Table

    table = Table({"datalink_url": [f"{links_with_a_broken_row}/links?bad={quote(bad)}&ID=ivo://x?0"]})
    manifest = vodaxa.resolve(table)
    assert list(manifest.files["url"]) == [f"{links_with_a_broken_row}/f/good.txt"]
    assert "unusable access_url" in " ".join(manifest.unavailable["note"])
    report = vodaxa.download([f"{links_with_a_broken_row}/f/good.txt", bad], tmp_path, progress=False, retries=0)
    assert len(report.ok) == 1 and list(report.failed["url"]) == [bad]
