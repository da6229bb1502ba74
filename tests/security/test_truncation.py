"""Issue 14 item 10, and the tester's close-delimited cases: a file is reported complete only when its length is
known to be right (Content-Length, a Content-Range total, a terminated chunked body, the manifest's size or
checksum, an answer to a range probe for what would follow it, or an end its own bytes prove), and a short file
already under its final name (left by another tool) is repaired, not skipped.  The servers are raw sockets,
since aiohttp would send lengths or chunked bodies that reveal the cut."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import re
import tarfile
import threading

import pytest

import vodaxa
from vodaxa.downloader.structure import structure_problem, unproven_end

from ..servers import fits_file

pytestmark = pytest.mark.timeout(60)  # the backstop: each case takes well under a second when nothing hangs

WHOLE = fits_file(bytes(range(256)) * 100)
VERIFIED = ".vodaxa-verified.jsonl"


class RawServer:
    """HTTP/1.0-style answers: no Content-Length unless ``length``, the body ends when the connection closes.

    The first ``cuts`` requests get only ``cut`` bytes of what they ask for (``chunked``: of the chunk's data).
    With ``ranges``, ``Range: bytes=N-`` is answered 206 (``Content-Range`` with the total, or ``*`` when ``total``
    is False) or 416 past the end; without, it is ignored (200 and the whole body again).  ``seen`` keeps every
    request's headers."""

    def __init__(self, body: bytes, cut: int | None = None, cuts: int = 0, *, ranges: bool = False,
                 length: bool = False, total: bool = True, chunked: bool = False) -> None:  # fmt: skip
        self.body, self.cut, self.cuts = body, len(body) if cut is None else cut, cuts
        self.ranges, self.length, self.total, self.chunked = ranges, length, total, chunked
        self.seen: list[dict[str, str]] = []
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(asyncio.start_server(self.answer, "127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> int:
        return len(self.seen)

    @property
    def probes(self) -> list[str]:
        return [h["range"] for h in self.seen if "range" in h]

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head if line)}
        self.seen.append(headers)
        wanted = re.fullmatch(r"bytes=(\d+)-", headers.get("range", ""))
        status, extra, body = "200 OK", "", self.body
        if wanted and self.ranges:
            start = int(wanted.group(1))
            if start >= len(self.body):
                status, extra, body = "416 Range Not Satisfiable", f"Content-Range: bytes */{len(self.body)}\r\n", b""
            else:
                status, body = "206 Partial Content", self.body[start:]
                extra = f"Content-Range: bytes {start}-{len(self.body) - 1}/{len(self.body) if self.total else '*'}\r\n"
        if self.length:
            extra += f"Content-Length: {len(body)}\r\n"
        if self.chunked:  # one chunk and the terminating one; a cut falls inside the chunk (no terminator sent)
            extra += "Transfer-Encoding: chunked\r\n"
            size = f"{len(body):x}\r\n".encode()
            body = (size + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
            if self.requests <= self.cuts:
                body = body[: len(size) + self.cut]
        elif self.requests <= self.cuts:
            body = body[: self.cut]
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n{extra}Connection: close\r\n\r\n"
                     .encode() + body)  # fmt: skip
        await writer.drain()
        writer.close()

    def close(self) -> None:
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def _fits_hdu(payload: bytes, extension: bool = False) -> bytes:
    first = f"XTENSION= {'IMAGE':>20}" if extension else f"SIMPLE  = {'T':>20}"
    rest = [f"PCOUNT  = {0:>20}", f"GCOUNT  = {1:>20}"] if extension else [f"EXTEND  = {'T':>20}"]
    cards = [first, f"BITPIX  = {8:>20}", f"NAXIS   = {1:>20}", f"NAXIS1  = {len(payload):>20}", *rest, "END"]
    header = "".join(c.ljust(80) for c in cards).encode()
    header += b" " * (-len(header) % 2880)
    return header + payload + bytes(-len(payload) % 2880)


def _tar(count: int = 5) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for i in range(count):
            data = os.urandom(20000)
            info = tarfile.TarInfo(f"f{i}.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


TWO_HDUS = _fits_hdu(b"A" * 100) + _fits_hdu(b"B" * 5000, extension=True)
TAR = _tar()
ONE = gzip.compress(b"one" * 1000)
#: The tester's five cases (probe p4, "close" mode): name -> (the whole file, where the server closed early).
CASES = {
    "evt.fits": (TWO_HDUS, len(_fits_hdu(b"A" * 100))),  # exactly after the first HDU: its headers still add up
    "data.tar": (TAR, len(TAR) // 2),
    "table.csv": (b"a,b\n" + b"1,2\n" * 20000, 30000),
    "cat.xml": (b"<VOTABLE>" + b"<TR><TD>1</TD></TR>" * 5000 + b"</VOTABLE>", 20000),
    "multi.gz": (ONE + gzip.compress(b"two" * 1000), len(ONE)),  # between two gzip members: the first one is whole
}


def _download(server: RawServer, name: str, dest, **options):
    try:
        return vodaxa.download([f"{server.base}/{name}"], dest, progress=False, **options)
    finally:
        server.close()


# --- the file's end is confirmed, not guessed -------------------------------------------------------------------


@pytest.mark.parametrize("total", [True, False], ids=["with-total", "star-total"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_body_cut_at_a_plausible_end_is_completed_through_the_range_probe(tmp_path, name, total):
    body, cut = CASES[name]
    server = RawServer(body, cut, cuts=1, ranges=True, total=total)
    report = _download(server, name, tmp_path, retries=0)  # no retry needed: the probe finds the rest
    assert report.ok == [tmp_path / name] and (tmp_path / name).read_bytes() == body, report.errors
    assert server.probes[0] == f"bytes={cut}-"  # the server was asked what follows the bytes received
    assert report.bytes == len(body)  # the rest was appended, not fetched again
    assert not list(tmp_path.glob("*.part*"))


@pytest.mark.parametrize("name", ["table.csv", "cat.xml"])
def test_a_cut_body_without_length_or_ranges_fails_and_keeps_the_part(tmp_path, name):
    body, cut = CASES[name]
    server = RawServer(body, cut, cuts=10**6)
    report = _download(server, name, tmp_path, retries=2)
    assert not report.ok and not (tmp_path / name).exists()
    reason = " ".join(report.errors)
    assert "no length" in reason and "byte ranges" in reason and ".part is kept" in reason, reason
    assert (tmp_path / f"{name}.part").stat().st_size == cut  # kept for a later run (or a server that can say)
    assert server.requests == 2  # one answer and one probe: a retry could not have told more


def test_a_tar_cut_without_length_or_ranges_is_never_ok(tmp_path):
    body, cut = CASES["data.tar"]
    server = RawServer(body, cut, cuts=10**6)
    report = _download(server, "data.tar", tmp_path, retries=1)
    assert not report.ok and not (tmp_path / "data.tar").exists()
    assert "tar archive ends inside a member (the file is cut short)" in " ".join(report.errors)


@pytest.mark.parametrize(("name", "body"), [("evt.fits", WHOLE), ("evt.fits.gz", gzip.compress(WHOLE))])
def test_a_body_cut_short_without_any_length_is_never_ok(tmp_path, name, body):
    server = RawServer(body, len(body) // 2, cuts=10**6)
    report = _download(server, name, tmp_path, retries=2)
    assert not report.ok and not (tmp_path / name).exists()
    assert "cut short" in " ".join(report.errors)


def test_a_body_cut_short_once_is_fetched_whole_on_retry(tmp_path):
    server = RawServer(WHOLE, 3000, cuts=1)
    report = _download(server, "evt.fits", tmp_path, retries=2)
    assert report.ok == [tmp_path / "evt.fits"] and (tmp_path / "evt.fits").read_bytes() == WHOLE


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_whole_close_delimited_file_is_confirmed_by_one_probe(tmp_path, name):
    body = CASES[name][0]
    server = RawServer(body, ranges=True)
    report = _download(server, name, tmp_path)
    assert report.ok == [tmp_path / name] and (tmp_path / name).read_bytes() == body
    assert server.probes == [f"bytes={len(body)}-"] and server.requests == 2  # the answer, then one 416
    assert report.bytes == len(body)


@pytest.mark.parametrize(
    ("name", "body"),
    [("evt.fits", TWO_HDUS), ("data.tar", TAR), ("multi.gz", CASES["multi.gz"][0]), ("obs.tar.gz", gzip.compress(TAR))],
)
def test_a_structurally_whole_file_from_a_server_without_ranges_is_accepted(tmp_path, name, body):
    server = RawServer(body)
    try:
        report = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
        count = server.requests
        again = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
    finally:
        server.close()
    assert report.ok == [tmp_path / name] and (tmp_path / name).read_bytes() == body, report.errors
    assert count == 2  # the answer, and a probe the server answered with the whole body again (no ranges)
    assert again.skipped == [tmp_path / name] and server.requests == count  # recorded: no network on a rerun


def test_a_terminated_chunked_body_declares_its_end(tmp_path):
    server = RawServer(CASES["table.csv"][0], chunked=True)
    report = _download(server, "table.csv", tmp_path)
    assert report.ok == [tmp_path / "table.csv"] and server.requests == 1 and not server.probes


def test_an_unfinished_chunked_body_is_not_ok(tmp_path):
    body, cut = CASES["table.csv"]
    server = RawServer(body, cut, cuts=10**6, chunked=True)  # the chunk is cut: no terminating chunk
    report = _download(server, "table.csv", tmp_path, retries=1)
    assert not report.ok and not (tmp_path / "table.csv").exists()


def test_an_ordinary_resume_refused_with_416_still_restarts(tmp_path):
    """A .part whose end the server did declare, resumed with If-Range: 416 means it is no longer a prefix of
    anything; the file restarts from zero, even if the total happens to equal the .part's size."""
    body = CASES["table.csv"][0]
    (tmp_path / "table.csv.part").write_bytes(b"x" * len(body))
    server = RawServer(body, ranges=True, length=True)
    (tmp_path / "table.csv.part.json").write_text(json.dumps({"url": f"{server.base}/table.csv", "etag": '"v1"'}))
    report = _download(server, "table.csv", tmp_path)
    assert report.ok == [tmp_path / "table.csv"] and (tmp_path / "table.csv").read_bytes() == body
    assert server.probes == [f"bytes={len(body)}-"] and server.requests == 2


# --- a file already under its final name --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ranges", "length"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_a_short_file_under_its_final_name_is_repaired_not_skipped(tmp_path, name, kind):
    body, cut = CASES[name]
    (tmp_path / name).write_bytes(body[:cut])  # left by another tool; no size or checksum in the listing
    server = RawServer(body, ranges=kind == "ranges", length=kind == "length")
    try:
        report = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
        count = server.requests
        again = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
    finally:
        server.close()
    assert report.ok == [tmp_path / name] and (tmp_path / name).read_bytes() == body, report.errors
    assert server.seen[0]["range"] == f"bytes={cut}-"  # asked what follows the file on disk first
    assert again.skipped == [tmp_path / name] and server.requests == count  # whole now: skipped without the network


@pytest.mark.parametrize(("name", "body"), [("evt.fits", WHOLE), ("evt.fits.gz", gzip.compress(WHOLE))])
def test_a_short_file_is_repaired_by_a_server_without_length_or_ranges(tmp_path, name, body):
    (tmp_path / name).write_bytes(body[: len(body) // 3])  # cut mid-structure: its own bytes say so
    server = RawServer(body)
    try:
        report = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
        count = server.requests
        again = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
    finally:
        server.close()
    assert report.ok == [tmp_path / name] and (tmp_path / name).read_bytes() == body
    assert again.skipped == [tmp_path / name] and server.requests == count


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_whole_file_vodaxa_did_not_record_is_confirmed_not_fetched_again(tmp_path, name):
    body = CASES[name][0]
    (tmp_path / name).write_bytes(body)  # e.g. fetched by an older vodaxa, or by hand
    server = RawServer(body, ranges=True)
    try:
        report = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
        count = server.requests
        again = vodaxa.download([f"{server.base}/{name}"], tmp_path, progress=False)
    finally:
        server.close()
    assert report.skipped == [tmp_path / name] and report.bytes == 0
    assert server.probes == [f"bytes={len(body)}-"] and count == 1  # one 416, no body
    assert again.skipped == [tmp_path / name] and server.requests == count  # recorded now


def test_a_changed_file_is_not_taken_for_a_recorded_one(tmp_path):
    body, cut = CASES["evt.fits"]
    server = RawServer(body, ranges=True)
    try:
        assert vodaxa.download([f"{server.base}/evt.fits"], tmp_path, progress=False).ok
        (tmp_path / "evt.fits").write_bytes(body[:cut])  # cut by someone else afterwards
        again = vodaxa.download([f"{server.base}/evt.fits"], tmp_path, progress=False)
    finally:
        server.close()
    assert again.ok == [tmp_path / "evt.fits"] and (tmp_path / "evt.fits").read_bytes() == body


def test_the_record_is_never_written_through_a_planted_link(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / VERIFIED).symlink_to(outside)
    server = RawServer(CASES["table.csv"][0], ranges=True)
    report = _download(server, "table.csv", dest)
    assert report.ok == [dest / "table.csv"]
    assert outside.read_text() == "precious\n" and (dest / VERIFIED).is_symlink()


# --- what the bytes themselves prove ------------------------------------------------------------------------------


def test_tar_needs_its_end_of_archive_blocks(tmp_path):
    whole, cut = tmp_path / "a.tar", tmp_path / "b.tar"
    whole.write_bytes(TAR)
    members = TAR[: 5 * (512 + 20480)]  # five members (a header block, data padded to 512): the end blocks follow
    cut.write_bytes(members[: 512 + 20480])  # exactly after the first member
    assert structure_problem(whole) is None and unproven_end(whole) is None
    assert "end-of-archive" in structure_problem(cut) and "cut short" in unproven_end(cut)
    packed = tmp_path / "c.tar.gz"
    packed.write_bytes(gzip.compress(members))  # a whole gzip stream of a tar without its end
    assert "end-of-archive" in unproven_end(packed)


def test_what_a_fits_file_or_a_text_file_cannot_prove(tmp_path):
    bare = tmp_path / "evt2.fits"
    empty = fits_file(b"", (f"EXTEND  = {'T':>20}",))
    bare.write_bytes(empty.replace(b"NAXIS   =                    1", b"NAXIS   =                    0"))
    assert structure_problem(bare) is None and "extensions" in unproven_end(bare)
    counted = tmp_path / "mos.fits"
    counted.write_bytes(fits_file(b"x" * 10, (f"EXTEND  = {'T':>20}", f"NEXTEND = {2:>20}")) + _fits_hdu(b"y", True))
    assert structure_problem(counted) is None and "NEXTEND" in unproven_end(counted)
    text = tmp_path / "t.csv"
    text.write_bytes(b"a,b\n1,2\n")
    assert structure_problem(text) is None and "no mark of its end" in unproven_end(text)


def test_a_manifest_cannot_name_a_file_after_the_record(tmp_path):
    server = RawServer(CASES["table.csv"][0], ranges=True)
    rows = [{"url": f"{server.base}/table.csv", "local_path": f"x/{VERIFIED}"}]
    try:
        report = vodaxa.download(rows, tmp_path, progress=False)
    finally:
        server.close()
    assert not report.ok and "own records" in report.errors[0] and server.requests == 0
