"""Search benchmark: many positions against a 100,000-row NuSTAR table, over a slow link (20 ms, 5 MB/s).

Compares, in one run on the sandbox, whose server is limited to ``--bandwidth`` MB/s both ways (requests and
answers, as a real archive over the internet) and adds ``--latency`` to every request:
  * vodaxa: ``Mission.filter_on_positions`` - one TAP query with the positions uploaded and joined on the server;
  * a pyvo loop: one cone query per position (what a script over ``run_sync`` or SCS does); past
    ``--loop-sample`` positions it is timed on an evenly spread sample and extrapolated (the output says so);
  * DAXA's way: download the whole master table, then match positions locally (astropy).
All three must find the same observations (the sampled loop: the same as the whole table matched locally on
the sampled positions).  Prints times and ratios; target: vodaxa >= 20x faster than the loop, and faster than
the whole-table download.  ``--json PATH`` writes the figures as benchmarks/run_all.py collects them.

    pip install -e '.[bench,sandbox]'
    python benchmarks/search.py [--positions 5000] [--rows 100000] [--latency 0.02] [--bandwidth 5]
                                [--loop-sample N] [--runs 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pyvo
from astropy.coordinates import SkyCoord
from astropy.table import Table

from vodaxa import Mission
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TARGETS
from vodaxa.sandbox.offline import loopback_only

CUTS = (
    "observation_mode = 'SCIENCE' AND spacecraft_mode = 'INERTIAL' AND status IN ('processed', 'archived') "
    "AND (ontime_a > 0 OR ontime_b > 0)"
)
RADIUS = 1.2 * 6.5 / 60  # DAXA's default for NuSTAR
FULL_LOOP = 5000  # up to this many positions the loop runs on every one of them by default
LOOP_SAMPLE = 1000  # past it, on this many (evenly spread) by default
TARGET_LOOP = 20.0  # vodaxa at least this many times faster than the loop ...
TARGET_FROM = 5000  # ... from this many positions on (on a few the loop's handful of queries is quick too)


def positions(count: int, seed: int = 5) -> SkyCoord:
    """Half random over the sky, half scattered around the sandbox's popular targets."""
    rng = np.random.default_rng(seed)
    half = count // 2
    ra = rng.uniform(0, 360, count - half)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, count - half)))
    picks = rng.integers(0, len(TARGETS), half)
    tra = np.array([TARGETS[i][1] for i in picks]) + rng.normal(0, 0.3, half)
    tdec = np.clip(np.array([TARGETS[i][2] for i in picks]) + rng.normal(0, 0.3, half), -89.9, 89.9)
    return SkyCoord(np.concatenate([ra, tra % 360]) * u.deg, np.concatenate([dec, tdec]) * u.deg, frame="fk5")


def sample_of(count: int, sample: int) -> np.ndarray:
    """Indices of ``sample`` positions spread evenly over all ``count`` (both halves of :func:`positions`)."""
    if sample >= count:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, sample).round().astype(int))


def run_vodaxa(coords: SkyCoord) -> tuple[float, set[str]]:
    started = time.perf_counter()
    mission = Mission("nustar_pointed")
    mission.filter_on_positions(coords)
    ids = set(mission.filtered_obs_ids)
    return time.perf_counter() - started, ids


def run_loop(tap_url: str, coords: SkyCoord) -> tuple[float, set[str]]:
    """Seconds for one cone query per position in ``coords``, and the ObsIDs found."""
    service = pyvo.dal.TAPService(tap_url)
    started = time.perf_counter()
    ids: set[str] = set()
    for c in coords:
        result = service.run_sync(
            f"SELECT obsid FROM numaster WHERE {CUTS} AND CONTAINS(POINT('ICRS', ra, dec), "
            f"CIRCLE('ICRS', {float(c.ra.deg)!r}, {float(c.dec.deg)!r}, {RADIUS!r})) = 1"
        )
        ids.update(str(v) for v in result["obsid"])
    return time.perf_counter() - started, ids


def local_match(table: Table, coords: SkyCoord) -> set[str]:
    """The ObsIDs of ``table`` within RADIUS of any of ``coords`` (astropy, as DAXA does)."""
    obs = SkyCoord(np.asarray(table["ra"]) * u.deg, np.asarray(table["dec"]) * u.deg, frame="fk5")
    _, idx_obs, _, _ = obs.search_around_sky(coords, RADIUS * u.deg)
    return {str(v) for v in np.asarray(table["obsid"])[np.unique(idx_obs)]}


def run_daxa_way(tap_url: str, coords: SkyCoord) -> tuple[float, set[str], Table]:
    service = pyvo.dal.TAPService(tap_url)
    started = time.perf_counter()
    table = service.run_sync(f"SELECT * FROM numaster WHERE {CUTS}", maxrec=10_000_000).to_table()
    ids = local_match(table, coords)
    return time.perf_counter() - started, ids, table


def write_json(path: Path, params: dict, results: list[dict], checks: list[dict]) -> None:
    """The figures in the form benchmarks/run_all.py merges (see benchmarks/README.md)."""
    document = {"benchmark": "search", "params": params, "results": results, "checks": checks}
    path.write_text(json.dumps(document, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--bandwidth", type=float, default=5.0, help="MB/s of the server's link, both ways (0: none)")
    parser.add_argument("--loop-sample", type=int, default=0,
                        help=f"time the loop on N positions and extrapolate (default: all up to {FULL_LOOP}, "
                             f"else {LOOP_SAMPLE})")  # fmt: skip
    parser.add_argument("--runs", type=int, default=1, help="runs of vodaxa and of DAXA's way (median); loop once")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ["VODAXA_QUERY_CACHE"] = "0"
    warnings.simplefilter("ignore")
    coords = positions(args.positions)
    sample = args.loop_sample or (args.positions if args.positions <= FULL_LOOP else LOOP_SAMPLE)
    picked = sample_of(args.positions, sample)
    bandwidth = args.bandwidth * 1e6 or None
    t_vodaxa: list[float] = []
    t_daxa: list[float] = []
    same = True
    with tempfile.TemporaryDirectory() as cache:
        faults = Faults(latency=args.latency, bandwidth=bandwidth)
        config = SandboxConfig(rows={"numaster": args.rows}, archives=("heasarc",), faults=faults, cache=Path(cache))
        from vodaxa.config import endpoints

        with Sandbox(config) as sb, endpoints.override(sb.endpoints):
            tap = sb.endpoints["heasarc"]["tap"]
            link = f"{args.bandwidth:g} MB/s both ways" if bandwidth else "unlimited bandwidth"
            print(f"sandbox: numaster with {args.rows} rows, {args.latency * 1000:.0f} ms latency per request, {link}; "
                  f"{args.positions} positions, radius {RADIUS * 60:.1f} arcmin")  # fmt: skip
            for _ in range(args.runs):  # interleaved, so machine noise falls on both alike
                seconds, ids_vodaxa = run_vodaxa(coords)
                t_vodaxa.append(seconds)
                seconds, ids_daxa, table = run_daxa_way(tap, coords)
                t_daxa.append(seconds)
                same = same and ids_vodaxa == ids_daxa
            t_sample, ids_loop = run_loop(tap, coords[picked])
    expected_loop = ids_vodaxa if len(picked) == args.positions else local_match(table, coords[picked])
    same = same and ids_loop == expected_loop and ids_loop <= ids_vodaxa
    t_loop = t_sample * args.positions / len(picked)
    vodaxa_s, daxa_s = statistics.median(t_vodaxa), statistics.median(t_daxa)
    spread = f" (runs {min(t_vodaxa):.2f}-{max(t_vodaxa):.2f})" if args.runs > 1 else ""
    print(f"vodaxa (one upload query)       {vodaxa_s:9.2f} s{spread}   {len(ids_vodaxa)} observations")
    spread = f" (runs {min(t_daxa):.2f}-{max(t_daxa):.2f})" if args.runs > 1 else ""
    print(f"DAXA way (whole table + local)  {daxa_s:9.2f} s{spread}   {len(ids_daxa)} observations")
    extrapolated = len(picked) < args.positions
    note = f"   {len(ids_loop)} observations"
    if extrapolated:
        note = f" EXTRAPOLATED from {len(picked)} evenly spread positions ({t_sample:.2f} s);{note} on them"
    print(f"pyvo loop (a cone per position) {t_loop:9.2f} s{note}")
    loop_ratio, daxa_ratio = t_loop / vodaxa_s, daxa_s / vodaxa_s
    loop_ok = loop_ratio >= TARGET_LOOP or args.positions < TARGET_FROM
    goal = f"target >= {TARGET_LOOP:g}x" if args.positions >= TARGET_FROM else f"no target under {TARGET_FROM}"
    loop_missed = args.positions >= TARGET_FROM and loop_ratio < TARGET_LOOP
    print(f"ratio loop / vodaxa   = {loop_ratio:7.1f}x   ({goal}){'  MISSED' if loop_missed else ''}")
    print(f"ratio DAXA / vodaxa   = {daxa_ratio:7.1f}x   (target > 1x){'' if daxa_ratio > 1 else '  MISSED'}")
    print("answers agree" if same else "ANSWERS DIFFER")
    checks = [
        {"name": "pyvo loop / vodaxa", "value": loop_ratio,
         "target": f">= {TARGET_LOOP:g}" if args.positions >= TARGET_FROM else "none (few positions)",
         "ok": loop_ok, "runs": [t_loop / t for t in t_vodaxa]},
        {"name": "DAXA way / vodaxa", "value": daxa_ratio, "target": "> 1", "ok": daxa_ratio > 1,
         "runs": [d / t for d, t in zip(t_daxa, t_vodaxa)]},
        {"name": "answers agree", "value": float(same), "target": "== 1", "ok": same, "runs": [float(same)]},
    ]  # fmt: skip
    if args.json is not None:
        work = {"work": args.positions, "unit": "positions"}
        results = [
            {"tool": "vodaxa", "case": "one TAP upload query", **work, "seconds": vodaxa_s, "runs": t_vodaxa},
            {"tool": "DAXA way", "case": "whole table + local match", **work, "seconds": daxa_s, "runs": t_daxa},
            {"tool": "pyvo loop", "case": "a cone per position", **work, "seconds": t_loop, "runs": [t_loop],
             "extrapolated_from": len(picked) if extrapolated else None},
        ]  # fmt: skip
        params = {"positions": args.positions, "rows": args.rows, "latency": args.latency,
                  "bandwidth_mb_s": args.bandwidth, "loop_sample": len(picked), "runs": args.runs}  # fmt: skip
        write_json(args.json, params, results, checks)
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    with loopback_only("the benchmark"):  # everything runs on 127.0.0.1
        code = main()
    sys.exit(code)
