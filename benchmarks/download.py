"""Download benchmark against one sandbox file server (its own process, 127.0.0.1):

  (a) 2,000 files x 64 KiB at 20 ms latency per request: vodaxa and parfive at the same connection count,
      repeated ``--runs`` times in a row (each run's ratios are printed, and their spread); once, parfive with
      its defaults and a sequential requests loop (wget-like; timed on a sample, scaled);
  (b) 4 files x 256 MiB: vodaxa against curl (one process, --parallel, same files), curl's time including
      an fsync of each file (vodaxa's guarantee: a file is on disk when it is reported);
  (c) vodaxa's peak RSS during (b), measured on its own process;
  (d) one large file with each connection capped (a long path, a throttling server): vodaxa whole and
      split in ranges, against curl and parfive splitting as much.
Targets: (a) <= 1.2x the floor (files x latency / connections) and >= 2x faster than parfive at
equal connections, in every run; (b) >= 1x the throughput of curl with fsync; (c) peak RSS < 150 MB.
Imports are done before any timing, for vodaxa and the peers alike.

    pip install -e .[bench]
    python benchmarks/download.py [--files 2000] [--size 65536] [--latency 0.02] [--connections 8] [--runs 5]
                                  [--big-files 4] [--big-size 268435456] [--sample 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

import vodaxa
import vodaxa.downloader  # imported before timing, as parfive is (vodaxa imports it lazily)
from vodaxa.sandbox.offline import loopback_only


class FastFiles(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive server for the small files of (a), from memory: each answer (a 200, or a 206
    for ``Range: bytes=a-[b]``) leaves in one write ``latency`` after its request came, like a fast archive
    front end far away.  The server shares the client's two cores, so the less CPU it spends per request the
    less of its own time is charged to the clients; aiohttp's server costs ~0.15 ms per answer, and answers
    due together wait for each other."""

    def __init__(self, files: dict[str, tuple[bytes, str]], latency: float) -> None:
        self.files, self.latency = files, latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
            fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
            answer = self.answer(method, target, fields.get("range"))
            asyncio.get_running_loop().call_later(self.latency, self.send, answer)

    def answer(self, method: str, target: str, wanted: str | None) -> bytes:
        found = self.files.get(target.rsplit("/", 1)[-1]) if method in ("GET", "HEAD") else None
        if found is None:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        body, tag = found
        status, extra = "200 OK", ""
        if wanted and wanted.startswith("bytes=") and "," not in wanted:
            first_text, _, last_text = wanted[6:].partition("-")
            if first_text.isdigit() and int(first_text) < len(body):
                first = int(first_text)
                last = min(int(last_text), len(body) - 1) if last_text.isdigit() else len(body) - 1
                status, extra = "206 Partial Content", f"Content-Range: bytes {first}-{last}/{len(body)}\r\n"
                body = body[first : last + 1]
        head = (f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nETag: {tag}\r\nAccept-Ranges: bytes\r\n"
                f"Content-Type: application/octet-stream\r\n{extra}\r\n").encode()  # fmt: skip
        return head if method == "HEAD" else head + body

    def send(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def serve(root: Path, latency: float, cap: float, port_file: Path) -> None:
    """The file servers: ``/files/`` (vodaxa.sandbox's static-file handler, each answer ``latency`` after its
    request) and ``/capped/`` (each connection limited to ``cap`` bytes/s) on one port, and on another
    :class:`FastFiles` with the files of up to 1 MiB, for (a).  ``port_file`` gets both ports."""
    from aiohttp import web

    from vodaxa.sandbox.protocols.faults import FaultInjector, Faults, make_app
    from vodaxa.sandbox.protocols.files import etag_of, serve_file

    small = {}
    for path in sorted(root.iterdir()):  # an archive knows its files' validators: none is computed while clients wait
        tag = etag_of(path)
        if path.stat().st_size <= 1 << 20:
            small[path.name] = (path.read_bytes(), tag)
    injector = FaultInjector(Faults(latency=latency, paths=("/files/",)))
    capped = FaultInjector(Faults(bandwidth=cap))
    app = make_app(injector)

    def handler(which: FaultInjector):
        async def handle(request: web.Request) -> web.StreamResponse:
            path = root / request.match_info["name"]
            if not path.is_file():
                raise web.HTTPNotFound()
            return await serve_file(request, path, which)

        return handle

    app.router.add_get("/files/{name}", handler(injector))
    app.router.add_get("/capped/{name}", handler(capped))

    async def main() -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        loop = asyncio.get_running_loop()
        fast = await loop.create_server(lambda: FastFiles(small, latency), "127.0.0.1", 0, backlog=1024)
        port_file.write_text(f"{runner.addresses[0][1]} {fast.sockets[0].getsockname()[1]}")
        await asyncio.Event().wait()

    asyncio.run(main())


def make_files(root: Path, prefix: str, count: int, size: int) -> list[str]:
    """``count`` files of ``size`` random bytes; returns their names."""
    names = []
    for i in range(count):
        name = f"{prefix}{i:05d}.dat"  # random bytes: not named .fits, which vodaxa checks for SIMPLE
        with (root / name).open("wb") as out:
            left = size
            while left:
                block = os.urandom(min(left, 1 << 24))
                out.write(block)
                left -= len(block)
        names.append(name)
    return names


def check(dest: Path, root: Path, names: list[str]) -> None:
    """Every file byte-identical to the source (size, then sha256 for the small ones)."""
    for name in names:
        got, want = dest / name, root / name
        assert got.stat().st_size == want.stat().st_size, name
        if want.stat().st_size <= 1 << 20:
            assert hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(want.read_bytes()).digest(), name


def run_vodaxa(urls: list, dest: Path, connections: int, **options: object) -> float:
    started = time.perf_counter()
    report = vodaxa.download(urls, dest, max_per_host=connections, max_total=connections, progress=False, **options)
    elapsed = time.perf_counter() - started
    assert not report.errors, report.errors[:3]
    return elapsed


def run_parfive(urls: list[str], dest: Path, max_conn: int, max_splits: int) -> float:
    import parfive

    downloader = parfive.Downloader(max_conn=max_conn, max_splits=max_splits, progress=False)
    for url in urls:
        downloader.enqueue_file(url, path=dest)
    started = time.perf_counter()
    results = downloader.download()
    elapsed = time.perf_counter() - started
    assert not results.errors, results.errors[:3]
    return elapsed


def run_sequential(urls: list[str], dest: Path) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        for url in urls:
            with session.get(url, stream=True, timeout=60) as answer, (dest / url.rsplit("/", 1)[1]).open("wb") as f:
                answer.raise_for_status()
                for block in answer.iter_content(1 << 20):
                    f.write(block)
    return time.perf_counter() - started


def run_curl(urls: list[str], dest: Path, durable: bool = False) -> float:
    """curl --parallel; with ``durable``, the time includes an fsync of each file (vodaxa's guarantee)."""
    command = ["curl", "-sS", "--no-progress-meter", "--fail", "-Z", "--parallel-max", str(len(urls))]
    for url in urls:
        command += ["-o", str(dest / url.rsplit("/", 1)[1]), url]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    if durable:
        for url in urls:
            fd = os.open(dest / url.rsplit("/", 1)[1], os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    return time.perf_counter() - started


def run_vodaxa_child(urls: list[str], dest: Path) -> tuple[float, float]:
    """vodaxa in its own process: (seconds, peak RSS in MB of that process alone)."""
    code = (
        "import json, sys, time, vodaxa, vodaxa.downloader; urls, dest = json.load(sys.stdin); "
        "t = time.perf_counter(); "
        "r = vodaxa.download(urls, dest, progress=False); assert not r.errors, r.errors[:3]; "
        "print(time.perf_counter() - t)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin and child.stdout
    child.stdin.write(json.dumps([urls, str(dest)]))
    child.stdin.close()
    elapsed = float(child.stdout.read().strip())
    _, status, usage = os.wait4(child.pid, 0)
    assert status == 0, "the vodaxa child failed"
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def fresh(path: Path) -> Path:
    """An empty folder, with the disk flushed: no timed run pays for another's writes (a journal commit forced
    by one file's fsync also writes out whatever else is dirty, such as the files a previous tool left unsynced)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.sync()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000, help="small files in (a)")
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes of each small file")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds before each answer in (a)")
    parser.add_argument("--connections", type=int, default=8, help="connections of vodaxa and parfive in (a)")
    parser.add_argument("--big-files", type=int, default=4, help="large files in (b) and (c); 0 skips (b)-(d)")
    parser.add_argument("--big-size", type=int, default=256 * 1024**2, help="bytes of each large file")
    parser.add_argument("--sample", type=int, default=200, help="files the sequential loop is timed on")
    parser.add_argument("--cap", type=float, default=64 * 1024**2, help="bytes/s per connection in (d)")
    parser.add_argument("--runs", type=int, default=5, help="consecutive runs of vodaxa and parfive in (a)")
    parser.add_argument("--json", type=Path, help="also write the figures here (see benchmarks/run_all.py)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency, args.cap, args.port_file)
        return 0

    with tempfile.TemporaryDirectory(prefix="vodaxa-bench-") as tmp:
        work = Path(tmp)
        root = fresh(work / "src")
        t0 = time.perf_counter()
        small = make_files(root, "s", args.files, args.size)
        big = make_files(root, "b", args.big_files, args.big_size)
        print(f"made {len(small)} x {args.size} B and {len(big)} x {args.big_size / 2**20:.0f} MiB "
              f"in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        port_file = work / "port"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(root), "--port-file", str(port_file),
             "--latency", str(args.latency), "--cap", str(args.cap)]
        )  # fmt: skip
        try:
            while not port_file.exists() or not port_file.read_text():
                assert server.poll() is None, "the file server did not start"
                time.sleep(0.05)
            port, fast = port_file.read_text().split()
            base = f"http://127.0.0.1:{port}/files/"
            figures = report(args, work, root, base, f"http://127.0.0.1:{fast}/files/", small, big)
            if args.json:
                args.json.write_text(json.dumps(figures, indent=1))
            return 0 if all(c["ok"] for c in figures["checks"]) else 1
        finally:
            server.terminate()
            server.wait(10)


HEADLINE = 1000  # files from which the (a) targets apply


def verdict(ok: bool) -> str:
    return "" if ok else "  MISSED"


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}, range {min(values):.2f}-{max(values):.2f} over {len(values)} runs"


def report(args: argparse.Namespace, work: Path, root: Path, base: str, fast: str, small: list[str],
           big: list[str]) -> dict:  # fmt: skip
    c = args.connections
    urls = [fast + n for n in small]
    floor = len(urls) * args.latency / c
    out: dict = {"benchmark": "download", "params": {k: v for k, v in vars(args).items() if k not in ("serve",
                 "port_file", "json")}, "results": [], "checks": []}  # fmt: skip
    files = {"work": len(urls), "unit": "files", "case": f"{args.size // 1024} KiB files"}  # same at every size
    print(f"\n(a) {len(urls)} files x {args.size // 1024} KiB, {args.latency * 1000:.0f} ms latency, "
          f"{c} connections; floor {floor:.2f} s; {args.runs} runs in a row")  # fmt: skip
    t_v, t_pc = [], []
    for run in range(args.runs):
        t_v.append(run_vodaxa(urls, fresh(work / "v"), c))
        check(work / "v", root, small)
        t_pc.append(run_parfive(urls, fresh(work / "pc"), c, 1))
        check(work / "pc", root, small)
        print(f"  run {run + 1}: vodaxa {t_v[-1]:6.2f} s = {t_v[-1] / floor:.2f}x floor; parfive max_conn={c} "
              f"{t_pc[-1]:6.2f} s = {t_pc[-1] / t_v[-1]:.2f}x vodaxa")  # fmt: skip
    t_pd = run_parfive(urls, fresh(work / "pd"), 5, 5)
    sample = urls[: args.sample]
    t_s = run_sequential(sample, fresh(work / "s")) * len(urls) / len(sample)
    rows = [
        ("vodaxa", statistics.median(t_v), spread(t_v)),
        (f"parfive max_conn={c} max_splits=1", statistics.median(t_pc), spread(t_pc)),
        ("parfive defaults (5 conn, 5 splits)", t_pd, "1 run"),
        (f"sequential requests (scaled from {len(sample)})", t_s, "1 run"),
    ]
    for name, seconds, note in rows:
        print(f"  {name:<42} {seconds:8.2f} s  {seconds / floor:5.2f}x floor  {note}")
    to_floor = [t / floor for t in t_v]
    vs_parfive = [p / v for p, v in zip(t_pc, t_v)]
    headline = len(urls) >= HEADLINE  # the targets apply from 1,000 files; fewer show the growth curve
    held = (max(to_floor) <= 1.2, min(vs_parfive) >= 2)
    targets = ("<= 1.2 in every run", ">= 2 in every run") if headline else (f"none below {HEADLINE:,} files",) * 2
    print(f"  vodaxa / floor   = {spread(to_floor)} (target {targets[0]}){verdict(held[0] or not headline)}")
    print(f"  parfive / vodaxa = {spread(vs_parfive)} (target {targets[1]}){verdict(held[1] or not headline)}")
    out["results"] += [
        {"tool": "vodaxa", **files, "seconds": statistics.median(t_v), "runs": t_v},
        {"tool": f"parfive (max_conn={c})", **files, "seconds": statistics.median(t_pc), "runs": t_pc},
        {"tool": "parfive (defaults)", **files, "seconds": t_pd, "runs": [t_pd]},
        {"tool": "sequential requests", **files, "seconds": t_s, "runs": [t_s]},
        {"tool": "floor", **files, "seconds": floor, "runs": [floor]},
    ]
    out["checks"] += [  # the value is the worst run: the target must hold in every one
        {"name": "(a) vodaxa / floor", "value": max(to_floor), "target": "<= 1.2" if headline else targets[0],
         "ok": held[0] or not headline, "runs": to_floor},
        {"name": f"(a) parfive (max_conn={c}) / vodaxa", "value": min(vs_parfive),
         "target": ">= 2" if headline else targets[1], "ok": held[1] or not headline, "runs": vs_parfive},
    ]  # fmt: skip
    for name in ("v", "pc", "pd", "s"):
        shutil.rmtree(work / name)

    if not big:
        return out
    total = len(big) * args.big_size
    burls = [base + n for n in big]
    print(f"\n(b) {len(big)} files x {args.big_size / 2**20:.0f} MiB ({total / 2**30:.2f} GiB)")
    t_c = run_curl(burls, fresh(work / "c"))
    check(work / "c", root, big)
    shutil.rmtree(work / "c")
    t_cd = run_curl(burls, fresh(work / "c"), durable=True)
    shutil.rmtree(work / "c")
    t_b, rss = run_vodaxa_child(burls, fresh(work / "vb"))
    check(work / "vb", root, big)
    shutil.rmtree(work / "vb")
    print(f"  curl --parallel              {t_c:8.2f} s  {total / t_c / 2**20:8.1f} MiB/s  (page cache only)")
    print(f"  curl --parallel, then fsync  {t_cd:8.2f} s  {total / t_cd / 2**20:8.1f} MiB/s  (on disk, as vodaxa)")
    print(f"  vodaxa (fsyncs every file)   {t_b:8.2f} s  {total / t_b / 2**20:8.1f} MiB/s  "
          f"{t_cd / t_b:.2f}x durable curl's (target >= 1){verdict(t_cd >= t_b)}; {t_c / t_b:.2f}x page-cache "
          "curl's")  # fmt: skip
    print(f"\n(c) vodaxa peak RSS during (b): {rss:.0f} MB (target < 150 MB){verdict(rss < 150)}")
    large = {"work": len(big), "unit": "files", "case": f"{args.big_size / 2**20:.0f} MiB files"}
    out["results"] += [
        {"tool": "vodaxa", **large, "seconds": t_b, "runs": [t_b], "peak_rss_mb": rss},
        {"tool": "curl --parallel + fsync", **large, "seconds": t_cd, "runs": [t_cd]},
        {"tool": "curl --parallel", **large, "seconds": t_c, "runs": [t_c]},
    ]
    out["checks"] += [
        {"name": "(b) vodaxa throughput / curl+fsync", "value": t_cd / t_b, "target": ">= 1", "ok": t_cd >= t_b,
         "runs": [t_cd / t_b]},
        {"name": "(c) vodaxa peak RSS, MB", "value": rss, "target": "< 150", "ok": rss < 150, "runs": [rss]},
    ]  # fmt: skip

    name, size = big[0], args.big_size
    url = base.replace("/files/", "/capped/") + name
    row = [{"url": url, "local_path": name, "size": size}]  # resolvers' manifests carry the size
    print(f"\n(d) 1 file x {size / 2**20:.0f} MiB, each connection capped at {args.cap / 2**20:.0f} MiB/s")
    from vodaxa.downloader import segments

    if not segments.splittable(size, 4):
        print(f"  (vodaxa splits files of {segments.SPLIT_MIN / 2**20:.0f} MiB and more: this one is fetched whole)")
    timings = [
        ("curl (one connection)", run_curl([url], fresh(work / "d"))),
        ("vodaxa splits=1", run_vodaxa(row, fresh(work / "d"), 8, splits=1)),
        ("vodaxa splits=4 (default)", run_vodaxa(row, fresh(work / "d"), 8, splits=4)),
        ("parfive max_splits=4", run_parfive([url], fresh(work / "d"), 8, 4)),
    ]
    check(work / "d", root, [name])
    for label, seconds in timings:
        print(f"  {label:<26} {seconds:8.2f} s  {size / seconds / 2**20:8.1f} MiB/s  "
              f"{timings[0][1] / seconds:.2f}x curl")  # fmt: skip
    capped = {"work": 1, "unit": "files", "case": f"{size / 2**20:.0f} MiB file, capped connections"}
    out["results"] += [{"tool": label, **capped, "seconds": seconds, "runs": [seconds]} for label, seconds in timings]
    return out


if __name__ == "__main__":
    with loopback_only("the benchmark"):  # everything runs on 127.0.0.1
        code = main()
    sys.exit(code)
