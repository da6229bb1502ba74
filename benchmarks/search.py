"""Search benchmark: 5,000 positions against a 100,000-row NuSTAR table behind 20 ms of latency.

Compares, in one run on the sandbox:
  * vodaxa: ``Mission.filter_on_positions`` - one TAP query with the positions uploaded and joined on the server;
  * a pyvo loop: one cone query per position (what a script over ``run_sync`` or SCS does);
  * DAXA's way: download the whole master table, then match positions locally (astropy).
All three must find the same observations.  Prints times and ratios; target: vodaxa >= 20x faster than the loop.

    pip install -e '.[bench,sandbox]' && python benchmarks/search.py [--positions 5000] [--rows 100000] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pyvo
from astropy.coordinates import SkyCoord

from vodaxa import Mission
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import TARGETS
from vodaxa.sandbox.offline import loopback_only

CUTS = (
    "observation_mode = 'SCIENCE' AND spacecraft_mode = 'INERTIAL' AND status IN ('processed', 'archived') "
    "AND (ontime_a > 0 OR ontime_b > 0)"
)
RADIUS = 1.2 * 6.5 / 60  # DAXA's default for NuSTAR


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


def run_vodaxa(coords: SkyCoord) -> tuple[float, set[str]]:
    started = time.perf_counter()
    mission = Mission("nustar_pointed")
    mission.filter_on_positions(coords)
    ids = set(mission.filtered_obs_ids)
    return time.perf_counter() - started, ids


def run_loop(tap_url: str, coords: SkyCoord, sample: int) -> tuple[float, set[str], int]:
    service = pyvo.dal.TAPService(tap_url)
    started = time.perf_counter()
    ids: set[str] = set()
    for c in coords[:sample]:
        result = service.run_sync(
            f"SELECT obsid FROM numaster WHERE {CUTS} AND CONTAINS(POINT('ICRS', ra, dec), "
            f"CIRCLE('ICRS', {float(c.ra.deg)!r}, {float(c.dec.deg)!r}, {RADIUS!r})) = 1"
        )
        ids.update(str(v) for v in result["obsid"])
    elapsed = time.perf_counter() - started
    return elapsed * len(coords) / sample, ids, sample


def run_daxa_way(tap_url: str, coords: SkyCoord) -> tuple[float, set[str]]:
    service = pyvo.dal.TAPService(tap_url)
    started = time.perf_counter()
    table = service.run_sync(f"SELECT * FROM numaster WHERE {CUTS}", maxrec=10_000_000).to_table()
    obs = SkyCoord(np.asarray(table["ra"]) * u.deg, np.asarray(table["dec"]) * u.deg, frame="fk5")
    _, idx_obs, _, _ = obs.search_around_sky(coords, RADIUS * u.deg)
    ids = {str(v) for v in np.asarray(table["obsid"])[np.unique(idx_obs)]}
    return time.perf_counter() - started, ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--loop-sample", type=int, default=0, help="time only N loop queries and extrapolate")
    args = parser.parse_args(argv)
    os.environ["VODAXA_QUERY_CACHE"] = "0"
    warnings.simplefilter("ignore")
    coords = positions(args.positions)
    with tempfile.TemporaryDirectory() as cache:
        config = SandboxConfig(
            rows={"numaster": args.rows}, archives=("heasarc",), faults=Faults(latency=args.latency), cache=Path(cache)
        )
        from vodaxa.config import endpoints

        with Sandbox(config) as sb, endpoints.override(sb.endpoints):
            tap = sb.endpoints["heasarc"]["tap"]
            print(
                f"sandbox: numaster with {args.rows} rows, {args.latency * 1000:.0f} ms latency per request; "
                f"{args.positions} positions, radius {RADIUS * 60:.1f} arcmin"
            )
            t_vodaxa, ids_vodaxa = run_vodaxa(coords)
            t_daxa, ids_daxa = run_daxa_way(tap, coords)
            sample = args.loop_sample or args.positions
            t_loop, ids_loop, done = run_loop(tap, coords, sample)
    print(f"vodaxa (one upload query)      {t_vodaxa:9.2f} s   {len(ids_vodaxa)} observations")
    print(f"DAXA way (whole table + local) {t_daxa:9.2f} s   {len(ids_daxa)} observations")
    note = "" if done == args.positions else f" (extrapolated from {done} queries)"
    print(f"pyvo loop (a cone per position){t_loop:9.2f} s   {len(ids_loop)} observations{note}")
    print(f"ratio loop / vodaxa   = {t_loop / t_vodaxa:7.1f}x   (target >= 20x)")
    print(f"ratio DAXA / vodaxa   = {t_daxa / t_vodaxa:7.1f}x")
    same = ids_vodaxa == ids_daxa and (done < args.positions or ids_vodaxa == ids_loop)
    print("answers agree" if same else "ANSWERS DIFFER")
    return 0 if same and t_loop / t_vodaxa >= 20 else 1


if __name__ == "__main__":
    with loopback_only("the benchmark"):  # everything runs on 127.0.0.1
        code = main()
    sys.exit(code)
