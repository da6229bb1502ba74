"""File names from the server: Content-Disposition parsing, sanitising, the rule, resume, skip, decompression."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

import vodaxa
from vodaxa import lzw
from vodaxa.downloader import verified
from vodaxa.downloader.naming import INDEX, content_disposition_name, server_name, url_named
from vodaxa.errors import ResolveError
from vodaxa.manifest import safe_file_name

from ..servers import AppThread, fits_file

FITS = fits_file(bytes(range(256)) * 4000)  # ~1 MB of valid FITS
DP_ID = "FORS2.2021-01-02T00:59:12.533"  # ESO's dataportal URLs end in a dp_id: no extension


class Server:
    """Files at ``/file/{key}`` with the Content-Disposition and body the test sets per key; Range + If-Range."""

    def __init__(self) -> None:
        self.disposition: dict[str, str] = {}
        self.body: dict[str, bytes] = {}
        self.cut_at: int | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        app = web.Application()
        app.router.add_get("/file/{key}", self.file)
        self.server = AppThread(app)
        self.port = self.server.port

    def url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/file/{key}"

    def serve(self, key: str, disposition: str | None, body: bytes = FITS) -> str:
        if disposition is not None:
            self.disposition[key] = disposition
        self.body[key] = body
        return self.url(key)

    async def file(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        self.requests.append((key, dict(request.headers)))
        body, start = self.body[key], 0
        if request.headers.get("Range") and request.headers.get("If-Range") == '"v1"':
            start = int(request.headers["Range"].split("=")[1].split("-")[0])
        headers = {"ETag": '"v1"', "Content-Length": str(len(body) - start), "Content-Type": "application/octet-stream"}
        if key in self.disposition:
            headers["Content-Disposition"] = self.disposition[key]
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        response = web.StreamResponse(status=206 if start else 200, headers=headers)
        await response.prepare(request)
        if self.cut_at is not None:
            await response.write(body[start : start + self.cut_at])
            self.cut_at = None
            request.transport.close()
            return response
        await response.write(body[start:])
        return response

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


def _files(root: Path) -> list[str]:
    """Every file under ``root`` (relative, sorted), the names index and the record of whole files left out."""
    ours = (INDEX, verified.INDEX)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name not in ours)


# ------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ('attachment; filename="a.fits.Z"', "a.fits.Z"),
        ("attachment; filename=a.fits.Z", "a.fits.Z"),
        ('inline; filename="0560181401.tar.gz"', "0560181401.tar.gz"),
        ('filename="x_raw2raw.xml"', "x_raw2raw.xml"),  # no disposition type, as calSelector sends it
        ('ATTACHMENT ;  FileName = "b.fits" ', "b.fits"),
        ("attachment; filename*=UTF-8''na%C3%AFve%20file.fits; filename=\"naive.fits\"", "naïve file.fits"),
        ("attachment; filename=\"naive.fits\"; filename*=utf-8'en'na%C3%AFve.fits", "naïve.fits"),
        ("attachment; filename*=iso-8859-1''caf%E9.fits", "café.fits"),
        ("attachment; filename*=UTF-8''bad%FF.fits; filename=good.fits", "good.fits"),  # not UTF-8: the plain one
        ("attachment; filename*=koi8-r''x.fits; filename=good.fits", "good.fits"),  # unknown charset
        ('attachment; filename="semi;colon \\"q\\".fits"', 'semi;colon "q".fits'),
        ('attachment; filename="a.fits"; filename="b.fits"', "a.fits"),
        ("attachment; filename*=\"UTF-8''quoted.fits\"", "quoted.fits"),  # quoted, against the RFC: tolerated
        ("attachment", None),
        ("", None),
        (None, None),
    ],
)
def test_content_disposition_forms(value, name):
    assert content_disposition_name(value) == name


def test_a_quoted_value_cannot_smuggle_another_parameter():
    assert content_disposition_name("attachment; filename=\"x.fits; filename*=UTF-8''evil\"") == (
        "x.fits; filename*=UTF-8''evil"
    )


@pytest.mark.parametrize(
    "raw",
    ["../../etc/x", "/abs", "../x", "a/b.fits", "a\\b.fits", "", "   ", "a\x00b.fits", "a\nb.fits", "a\x7fb",
     ".bashrc", "..", ".", "C:evil.fits", "a\udcffb.fits"],
)  # fmt: skip
def test_the_sanitiser_refuses_hostile_names(raw):
    with pytest.raises(ResolveError, match="refusing"):
        safe_file_name(raw)


def test_long_names_are_capped_keeping_their_type():
    capped = safe_file_name("é" * 5000 + ".fits.Z")
    assert len(capped.encode()) <= 200 and capped.endswith(".fits.Z") and capped.startswith("é")
    assert safe_file_name("a\u0303.fits") == "\u00e3.fits"  # NFC: one spelling per name


def test_our_own_working_names_are_never_the_servers():
    assert server_name('attachment; filename="x.fits.part"') is None
    assert server_name('attachment; filename="x.fits.part.json"') is None
    assert server_name('attachment; filename="ok.fits"') == "ok.fits"


# ------------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({"url": f"https://dataportal.eso.org/dataPortal/file/{DP_ID}", "local_path": f"eso/{DP_ID}"}, True),
        ({"url": "https://x/data-action-aio?obsno=1", "local_path": "xmm/data-action-aio"}, True),
        ({"url": f"https://d/dataPortal/file/ADP.{DP_ID[6:]}", "local_path": "eso/ADP.2021-01-02T00_59_12.533"}, True),
        ({"url": f"https://dataportal.eso.org/dataPortal/file/{DP_ID}", "local_path": f"eso/{DP_ID}.fits.Z"}, False),
        ({"url": "https://x/obs/evt2.fits.gz", "local_path": "chandra/1/evt2.fits.gz"}, False),  # has a type
        ({"url": "https://x/obs/evt2", "local_path": "chandra/1/events"}, False),  # the resolver named it
        ({"url": "https://x/obs/evt2.fits.gz", "local_path": "evt2.fits.gz", "_name_from_url": True}, True),
    ],
)
def test_when_the_server_may_name_a_file(row, named):
    assert url_named(row) is named


# ------------------------------------------------------------------------------------- downloads


@pytest.mark.parametrize("decompress", [False, True])
def test_a_dataportal_file_is_named_by_the_server_and_skipped_on_rerun(server, tmp_path, decompress):
    url = server.serve(DP_ID, f"attachment; filename={DP_ID}.fits.Z", lzw.compress(FITS))
    rows = [{"url": url, "local_path": f"eso/{DP_ID}", "mission": "eso"}]
    report = vodaxa.download(rows, tmp_path, decompress=decompress, progress=False)
    final = tmp_path / "eso" / (f"{DP_ID}.fits" if decompress else f"{DP_ID}.fits.Z")
    assert report.ok == [final] and len(report.failed) == 0
    assert _files(tmp_path) == [final.relative_to(tmp_path).as_posix()]
    if decompress:
        assert final.read_bytes() == FITS
    count = len(server.requests)
    again = vodaxa.download(rows, tmp_path, decompress=decompress, progress=False)
    assert again.skipped == [final] and again.bytes == 0 and len(server.requests) == count


def test_plain_urls_take_the_servers_name_and_a_manifest_name_wins_otherwise(server, tmp_path):
    plain = server.serve("plain.fits", 'inline; filename="renamed.fits"')
    named = server.serve("kept", 'attachment; filename="other.fits"')
    report = vodaxa.download([plain, {"url": named, "local_path": "sub/kept.fits"}], tmp_path, progress=False)
    assert sorted(report.ok) == [tmp_path / "renamed.fits", tmp_path / "sub" / "kept.fits"]
    assert _files(tmp_path) == ["renamed.fits", "sub/kept.fits"]


def test_raw_utf8_in_a_plain_filename_is_read_as_utf8(server, tmp_path):
    url = server.serve("u8", 'attachment; filename="Ångström.fits"')
    assert vodaxa.download([url], tmp_path, progress=False).ok == [tmp_path / "Ångström.fits"]


def test_the_server_name_stays_in_the_templates_folder(server, tmp_path):
    url = server.serve("a1", "attachment; filename*=UTF-8''caf%C3%A9.fits")
    rows = [{"url": url, "local_path": "a1", "obs_id": "0042"}]
    report = vodaxa.download(rows, tmp_path, template="{obs_id}/{local_path}", progress=False)
    assert report.ok == [tmp_path / "0042" / "café.fits"]


@pytest.mark.parametrize(
    "disposition",
    [
        'attachment; filename="../../etc/x"',
        'attachment; filename="/abs"',
        "attachment; filename*=UTF-8''..%2F..%2Fx",
        'attachment; filename=""',
        "attachment; filename*=UTF-8''a%00b.fits",
        "attachment; filename*=UTF-8''a%0Ab.fits",
        'attachment; filename=".bashrc"',
        'attachment; filename="x.part"',
    ],
)
def test_hostile_names_leave_the_urls_name_and_nothing_outside(server, tmp_path, disposition):
    url = server.serve("f0", disposition)
    dest = tmp_path / "deep" / "dest"
    report = vodaxa.download([{"url": url, "local_path": "eso/f0"}], dest, progress=False)
    assert report.ok == [dest / "eso" / "f0"] and (dest / "eso" / "f0").read_bytes() == FITS
    assert _files(tmp_path) == ["deep/dest/eso/f0"]


def test_a_10_kb_name_is_capped_keeping_its_type(server, tmp_path):
    url = server.serve("long", f'attachment; filename="{"n" * 10_000}.fits.gz"', gzip.compress(FITS))
    report = vodaxa.download([url], tmp_path, decompress=True, progress=False)
    [path] = report.ok
    assert path.parent == tmp_path and path.name.endswith("n.fits") and len(path.name.encode()) <= 200
    assert path.read_bytes() == FITS


def test_a_name_the_body_contradicts_is_not_reported_ok(server, tmp_path):
    url = server.serve("liar", 'attachment; filename="liar.fits.gz"', FITS)  # plain FITS, named gzip
    report = vodaxa.download([url], tmp_path, decompress=True, retries=0, progress=False)
    assert report.ok == [] and ".gz file" in report.failed["reason"][0]
    assert _files(tmp_path) == []


def test_two_files_the_server_names_alike_do_not_overwrite_each_other(server, tmp_path):
    urls = [server.serve(k, 'attachment; filename="same.fits"', FITS + k.encode()) for k in ("k1", "k2")]
    report = vodaxa.download(urls, tmp_path, max_per_host=1, progress=False)
    assert report.ok == [tmp_path / "same.fits", tmp_path / "k2"]  # the second keeps its URL's name
    assert (tmp_path / "same.fits").read_bytes() == FITS + b"k1" and (tmp_path / "k2").read_bytes() == FITS + b"k2"


def test_a_resume_under_another_name_gives_one_file_under_the_last_name(server, tmp_path):
    url = server.serve(DP_ID, 'attachment; filename="first.fits"')
    rows = [{"url": url, "local_path": f"eso/{DP_ID}"}]
    server.cut_at = 400_000
    failed = vodaxa.download(rows, tmp_path, retries=0, progress=False)
    assert len(failed.failed) == 1 and (tmp_path / "eso" / f"{DP_ID}.part").exists()  # the .part: the URL's name
    server.disposition[DP_ID] = 'attachment; filename="second.fits"'
    report = vodaxa.download(rows, tmp_path, progress=False)
    assert server.requests[-1][1].get("Range") == "bytes=400000-"  # resumed, not restarted
    assert report.ok == [tmp_path / "eso" / "second.fits"] and report.bytes == len(FITS) - 400_000
    assert _files(tmp_path) == ["eso/second.fits"] and (tmp_path / "eso" / "second.fits").read_bytes() == FITS
    count = len(server.requests)
    assert vodaxa.download(rows, tmp_path, progress=False).skipped == [tmp_path / "eso" / "second.fits"]
    assert len(server.requests) == count


def test_overwrite_refetches_a_file_the_server_named(server, tmp_path):
    url = server.serve("ow", 'attachment; filename="ow.fits"')
    vodaxa.download([url], tmp_path, progress=False)
    server.disposition["ow"] = 'attachment; filename="ow2.fits"'
    report = vodaxa.download([url], tmp_path, overwrite=True, progress=False)
    assert report.ok == [tmp_path / "ow2.fits"] and _files(tmp_path) == ["ow2.fits"]


def test_a_deleted_file_comes_back_under_its_recorded_name(server, tmp_path):
    url = server.serve("gone", 'attachment; filename="gone.fits"')
    assert vodaxa.download([url], tmp_path, progress=False).ok == [tmp_path / "gone.fits"]
    (tmp_path / "gone.fits").unlink()
    assert vodaxa.download([url], tmp_path, progress=False).ok == [tmp_path / "gone.fits"]
    assert _files(tmp_path) == ["gone.fits"]


def test_a_tampered_index_cannot_point_outside(server, tmp_path):
    url = server.serve("t1", 'attachment; filename="t1.fits"')
    vodaxa.download([url], tmp_path, progress=False)
    (tmp_path / INDEX).write_text(json.dumps({"t1": {"url": url, "name": "../../etc/passwd"}}))
    report = vodaxa.download([url], tmp_path, progress=False)
    # refetched; with the index no longer vouching for t1.fits, that file is not this URL's to overwrite
    assert report.ok == [tmp_path / "t1"] and _files(tmp_path) == ["t1", "t1.fits"]


def test_a_server_name_never_overwrites_a_file_that_is_not_this_urls(server, tmp_path):
    (tmp_path / "important.fits").write_bytes(b"my own reduced data")
    url = server.serve("imp", 'attachment; filename="important.fits"')
    report = vodaxa.download([url], tmp_path, progress=False)
    assert report.ok == [tmp_path / "imp"] and (tmp_path / "important.fits").read_bytes() == b"my own reduced data"


def test_urls_ending_alike_are_all_downloaded_and_named(server, tmp_path):
    one = server.serve("get", 'attachment; filename="one.fits"')
    two = server.url("get") + "?id=2"
    report = vodaxa.download([one, two, one], tmp_path, progress=False)
    assert len(report.ok) == 2 and not report.errors  # the repeated URL is one file, the other is not lost


def test_a_server_name_that_would_unpack_onto_another_file_is_refused(server, tmp_path):
    import gzip as gz

    plain = server.serve("x", None, b"ONE")
    packed = server.serve("dl", 'attachment; filename="x.gz"', gz.compress(b"TWO"))
    report = vodaxa.download([plain, packed], tmp_path, decompress=True, progress=False)
    assert (tmp_path / "x").read_bytes() == b"ONE" and len(report.ok) == 2


def test_many_files_named_at_once_are_all_found_on_rerun(server, tmp_path):
    urls = [
        server.serve(f"m{i}", f'attachment; filename="named{i}.fits"', fits_file(bytes([i]) * 5000)) for i in range(30)
    ]
    first = vodaxa.download(urls, tmp_path, max_per_host=8, progress=False)
    assert sorted(p.name for p in first.ok) == sorted(f"named{i}.fits" for i in range(30))
    count = len(server.requests)
    again = vodaxa.download(urls, tmp_path, progress=False)
    assert len(again.skipped) == 30 and len(server.requests) == count


@pytest.fixture
def paths():
    """Files at any path: the body is the path's first segment repeated; ``/n/<name>/...`` adds a
    Content-Disposition naming the file ``<name>``; ``.gz`` paths are gzipped."""
    import gzip as gz

    async def handler(request: web.Request) -> web.Response:
        parts = request.path.strip("/").split("/")
        body = (parts[0].upper().encode() + b"-") * 20
        headers = {}
        if parts[0] == "n":
            headers["Content-Disposition"] = f'attachment; filename="{parts[1]}"'
            body = parts[2].encode() * 20
        if request.path.endswith(".gz"):
            body = gz.compress(body)
        return web.Response(body=body, headers=headers, content_type="application/octet-stream")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    srv = AppThread(app)
    yield srv.base
    srv.close()


def test_urls_ending_alike_get_the_same_names_in_any_order(paths, tmp_path):
    one, two = f"{paths}/aaa/get", f"{paths}/bbb/get"
    first = vodaxa.download([one, two], tmp_path, progress=False)
    again = vodaxa.download([two, one], tmp_path, progress=False)  # the other order: the same files, skipped
    assert sorted(first.ok) == sorted(again.skipped) and len(again.skipped) == 2
    for path in again.skipped:
        assert path.read_bytes().startswith(b"AAA" if path.name == "get" else b"BBB")  # the smaller URL keeps it


def test_a_name_recorded_for_one_url_is_never_another_urls(paths, tmp_path):
    x = f"{paths}/n/data.dat/X/123"
    assert vodaxa.download([x], tmp_path, progress=False).ok == [tmp_path / "data.dat"]
    z = f"{paths}/zzz/data.dat"
    report = vodaxa.download([z, x], tmp_path, progress=False)
    assert (tmp_path / "data.dat").read_bytes().startswith(b"X")  # still X's
    zfile = next(p for p in report.ok + report.skipped if p.read_bytes().startswith(b"ZZZ"))
    assert zfile.name != "data.dat"


def test_a_hand_edited_index_can_neither_claim_nor_delete_a_file(server, tmp_path):
    (tmp_path / "precious.dat").write_bytes(b"mine")
    url = server.serve("idx", None, b"server bytes")
    (tmp_path / INDEX).write_text(json.dumps({"idx": {"url": url, "name": "precious.dat"}}))
    report = vodaxa.download([url], tmp_path, progress=False, overwrite=True)
    assert (tmp_path / "precious.dat").read_bytes() == b"mine" and report.ok == [tmp_path / "idx"]
    (tmp_path / INDEX).write_text(json.dumps({"idx": {"url": url, "name": "other.part"}}))
    (tmp_path / "other.part").write_bytes(b"someone's partial file")
    vodaxa.download([url], tmp_path, progress=False, overwrite=True)
    assert (tmp_path / "other.part").read_bytes() == b"someone's partial file"


def test_a_server_name_cannot_be_what_another_file_unpacks_to(paths, tmp_path):
    packed = f"{paths}/ooo/data.dat.gz"
    named = f"{paths}/n/data.dat/NAMED/123"
    report = vodaxa.download([packed, named], tmp_path, decompress=True, progress=False)
    assert (tmp_path / "data.dat").read_bytes().startswith(b"OOO") and len(report.ok) == 2
