"""Issue 14 item 9: two processes downloading the same files into the same folder never interleave: every file
ends whole (byte-compared with the source), no partial file is left, and neither reports a broken file as ok."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import subprocess
import sys
import textwrap

import pytest
from aiohttp import web

from vodaxa.downloader import verified
from vodaxa.downloader.verified import INDEX

from ..servers import AppThread

pytestmark = pytest.mark.timeout(120)
FILES = {f"f{i}.dat": hashlib.sha256(bytes([i])).digest() * (48 * 1024) for i in range(5)}  # 1.5 MiB each
PACKED = {f"{name}.gz": gzip.compress(body * 8, mtime=0) for name, body in FILES.items()}  # 12 MiB unpacked
SCRIPT = textwrap.dedent(
    """
    import json, sys
    import vodaxa
    from vodaxa.sandbox.offline import loopback_only
    with loopback_only("the test's download process"):  # like the test itself: nothing but 127.0.0.1
        report = vodaxa.download(json.loads(sys.argv[1]), sys.argv[2], progress=False, splits=1,
                                 decompress=sys.argv[3] == "1")
    print(json.dumps({"ok": [str(p) for p in report.ok], "skipped": [str(p) for p in report.skipped],
                      "errors": report.errors}))
    """
)


@pytest.fixture(scope="module")
def slow():
    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = PACKED[name] if name in PACKED else FILES[name]
        response = web.StreamResponse(headers={"Content-Length": str(len(body)), "ETag": '"v1"'})
        await response.prepare(request)
        for start in range(0, len(body), 1 << 18):  # a slow link: both processes are at it at once
            await response.write(body[start : start + (1 << 18)])
            await asyncio.sleep(0.05)
        return response

    app = web.Application()
    app.router.add_get("/{name}", handler)
    server = AppThread(app)
    yield server.base
    server.close()


@pytest.mark.parametrize("trial", range(3))
def test_two_processes_on_one_folder(slow, tmp_path, trial):
    urls = json.dumps([f"{slow}/{name}" for name in FILES])
    runs = [subprocess.Popen([sys.executable, "-c", SCRIPT, urls, str(tmp_path), "0"], stdout=subprocess.PIPE,
                             text=True) for _ in range(2)]  # fmt: skip
    reports = [json.loads(run.communicate(timeout=100)[0]) for run in runs]
    assert all(not r["errors"] for r in reports), reports
    assert all(len(r["ok"]) + len(r["skipped"]) == len(FILES) for r in reports)
    for name, body in FILES.items():
        assert (tmp_path / name).read_bytes() == body, name
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in FILES and p.name != verified.INDEX]
    assert leftovers == [], leftovers


@pytest.mark.parametrize("trial", range(2))
def test_two_processes_unpacking_the_same_files(slow, tmp_path, trial):
    """Unpacking runs under the same per-file claim: neither process crashes on the other's half-written
    output, and each file ends unpacked, whole, once."""
    urls = json.dumps([f"{slow}/{name}" for name in PACKED])
    runs = [subprocess.Popen([sys.executable, "-c", SCRIPT, urls, str(tmp_path), "1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=100) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-2000:] for _, err in outputs]
    reports = [json.loads(out) for out, _ in outputs]
    assert all(not r["errors"] and len(r["ok"]) + len(r["skipped"]) == len(PACKED) for r in reports), reports
    for name, body in FILES.items():
        assert (tmp_path / name).read_bytes() == body * 8, name
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != INDEX) == sorted(FILES)
