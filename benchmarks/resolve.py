"""Resolve benchmark: DataLink for 1,000 observations x 3 links, 20 ms per request, a server cap of 100 IDs.

Compares, in one run on the sandbox:
  * vodaxa's DataLinkEngine: many IDs per request, the cap learned, 4 requests in flight;
  * pyvo's per-row ``getdatalink()`` (the HEASARC notebook's way);
  * pyvo's ``iter_datalinks()`` (batched, one request at a time).
Targets: >= 50x faster than per-row, >= 3x faster than iter_datalinks, within 2x of the floor
(requests needed / concurrency x latency).  The sandbox answers in HEASARC's DataLink shape from before 2026
(``--shape legacy``, the default here), since pyvo's ``iter_datalinks`` cannot match the IDs of today's
shape (it answers ``ivo://nasa.heasarc/numaster?<__row>`` for the ``__row`` sent).

    python benchmarks/resolve.py [--rows 1000] [--latency 0.02] [--cap 100] [--per-row-sample N] [--shape S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pyvo

from vodaxa.http import HttpClient
from vodaxa.resolvers.datalink import DataLinkEngine
from vodaxa.sandbox.offline import loopback_only

CONCURRENCY = 4
REPEATS = 5  # vodaxa and iter_datalinks are timed 5 times (median); the slow per-row loop once


async def run_vodaxa(service: str, ids: list[str]) -> tuple[float, int, int]:
    DataLinkEngine.learned_caps.clear()  # measure the cold case: the cap is discovered in this run
    async with HttpClient() as http:
        engine = DataLinkEngine(http, concurrency=CONCURRENCY)
        started = time.perf_counter()
        rows = await engine.links(service, ids)
        return time.perf_counter() - started, len(rows), engine.requests


def run_iter(result: pyvo.dal.DALResults) -> tuple[float, int]:
    started = time.perf_counter()
    count = sum(len(links) for links in result.iter_datalinks())
    return time.perf_counter() - started, count


def run_per_row(result: pyvo.dal.DALResults, sample: int) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    for record in list(result)[:sample]:
        count += len(record.getdatalink())
    elapsed = time.perf_counter() - started
    return elapsed * len(result) / sample, count


def serve(args: argparse.Namespace, cache: str) -> tuple[subprocess.Popen, dict]:
    """The sandbox in its own process, as a real archive is another machine (no GIL shared with the client)."""
    endpoints_file = Path(cache) / "endpoints.json"
    command = [
        sys.executable,
        "-m",
        "vodaxa.sandbox",
        "serve",
        "--rows",
        str(args.rows),
        "--latency",
        str(args.latency),
        "--datalink-max-ids",
        str(args.cap),
        "--no-sizes",
        "--heasarc-datalink",
        args.shape,
        "--cache",
        cache,
        "--endpoints-file",
        str(endpoints_file),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not endpoints_file.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit("the sandbox did not start")
        time.sleep(0.1)
    time.sleep(0.3)
    return process, json.loads(endpoints_file.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--cap", type=int, default=100)
    parser.add_argument("--per-row-sample", type=int, default=0, help="time only N per-row calls and extrapolate")
    parser.add_argument("--shape", choices=["legacy", "current"], default="legacy",
                        help="HEASARC's DataLink shape (pyvo's iter_datalinks needs 'legacy')")  # fmt: skip
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as cache:
        process, endpoints = serve(args, cache)
        try:
            tap = pyvo.dal.TAPService(endpoints["heasarc"]["tap"])
            result = tap.run_sync("SELECT __row, obsid FROM numaster", maxrec=args.rows)
            ids = [str(v) for v in result.to_table()["__row"]]
            service = endpoints["heasarc"]["datalink"] + "/numaster"
            runs = [asyncio.run(run_vodaxa(service, ids)) for _ in range(REPEATS)]
            t_vodaxa, n_vodaxa, requests = sorted(runs)[REPEATS // 2]  # the median run
            t_iter, n_iter = sorted(run_iter(result) for _ in range(REPEATS))[REPEATS // 2]
            sample = args.per_row_sample or len(ids)
            t_row, n_row = run_per_row(result, sample)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    floor = math.ceil(len(ids) / args.cap) / CONCURRENCY * args.latency
    print(f"{len(ids)} observations, server cap {args.cap} IDs, {args.latency * 1000:.0f} ms per request")
    print(f"vodaxa DataLinkEngine     {t_vodaxa:8.3f} s  {n_vodaxa} rows, {requests} requests (median of {REPEATS})")
    print(f"pyvo iter_datalinks()     {t_iter:8.3f} s  {n_iter} rows (median of {REPEATS})")
    note = "" if sample == len(ids) else f" (extrapolated from {sample} calls)"
    print(f"pyvo per-row getdatalink  {t_row:8.3f} s  {n_row} rows{note}")
    print(f"floor (requests / {CONCURRENCY} x latency) {floor:8.3f} s")
    r_row, r_iter, r_floor = t_row / t_vodaxa, t_iter / t_vodaxa, t_vodaxa / floor
    print(f"per-row / vodaxa = {r_row:6.1f}x (target >= 50x)")
    print(f"iter / vodaxa    = {r_iter:6.1f}x (target >= 3x)")
    print(f"vodaxa / floor   = {r_floor:6.2f}x (target <= 2x)")
    ok = r_row >= 50 and r_iter >= 3 and r_floor <= 2
    return 0 if ok else 1


if __name__ == "__main__":
    with loopback_only("the benchmark"):  # everything runs on 127.0.0.1
        code = main()
    sys.exit(code)
