"""SIGKILL a downloading process mid-run; the next run completes every file and refetches at most 10%."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import vodaxa

from .test_fetch_edges import server  # noqa: F401 (the fixture)

FILES = 16
SIZE = 1 << 20


def _on_disk(dest) -> int:
    return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file() and not p.name.endswith(".json"))


def test_kill_then_rerun(server, tmp_path):  # noqa: F811
    urls = [server.url(f"/slow/f{i:02d}.dat") for i in range(FILES)]
    dest = tmp_path / "dest"
    script = f"import vodaxa; vodaxa.download({urls!r}, {str(dest)!r}, max_per_host=4)"
    child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while (_on_disk(dest) if dest.exists() else 0) < FILES * SIZE // 3:
        assert time.monotonic() < deadline and child.poll() is None, "the child finished or stalled before the kill"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    kept = _on_disk(dest)
    assert 0 < kept < FILES * SIZE
    assert all(p.stat().st_size == SIZE for p in dest.glob("*.dat")), "a final name holds an incomplete file"
    report = vodaxa.download(urls, dest, max_per_host=4)
    assert len(report.ok) + len(report.skipped) == FILES and not len(report.failed)
    for i in range(FILES):
        expected = hashlib.sha256(f"f{i:02d}.dat".encode()).digest() * (1 << 15)
        assert (dest / f"f{i:02d}.dat").read_bytes() == expected
    refetched = kept + report.bytes - FILES * SIZE
    print(f"kept {kept} of {FILES * SIZE} at the kill; refetched {refetched} bytes")
    assert refetched <= 0.10 * FILES * SIZE, f"refetched {refetched} bytes"
    assert not list(dest.glob("*.part*"))
