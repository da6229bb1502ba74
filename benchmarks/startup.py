"""Startup benchmark: how long ``import vodaxa`` and ``vodaxa --help`` take before doing anything.

Each command runs in a fresh interpreter, ``--runs`` times, and the median wall time is printed:
  * cold: every run compiles its bytecode afresh (an empty ``-X pycache_prefix`` folder per run), as the first
    call after ``pip install`` does;
  * warm: the bytecode is cached, as every later call.
Peers measured in the same run: a bare ``python -c pass`` (the floor no package goes under) and
``import pyvo`` (the VO client most astronomers already import). Targets on this machine:
``import vodaxa`` under 0.4 s and ``vodaxa --help`` under 0.3 s, warm; the script exits 1 when one is missed.
``--json PATH`` writes the figures as benchmarks/run_all.py collects them (work: 1 command).

    python benchmarks/startup.py [--runs 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"import vodaxa": 0.4, "vodaxa --help": 0.3, "vodaxa --help (script)": 0.3}  # seconds, warm median

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import pyvo": [sys.executable, "-c", "import pyvo"],
    "import vodaxa": [sys.executable, "-c", "import vodaxa"],
    "vodaxa --help": [sys.executable, "-m", "vodaxa", "--help"],
}
SCRIPT = Path(sys.executable).with_name("vodaxa")  # the console script pip installed, when beside this python
if SCRIPT.exists():
    COMMANDS["vodaxa --help (script)"] = [str(SCRIPT), "--help"]


def timed(command: list[str], *, cold: bool) -> float:
    """Wall seconds of one run of ``command`` in a fresh interpreter (stdout discarded)."""
    with tempfile.TemporaryDirectory(prefix="vodaxa-startup-") as prefix:
        env = dict(os.environ)
        if cold:
            env["PYTHONPYCACHEPREFIX"] = prefix  # nothing compiled yet: every module is compiled in this run
        else:
            env.pop("PYTHONPYCACHEPREFIX", None)
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per command and mode (median reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    for command in COMMANDS.values():
        timed(command, cold=False)  # the warm mode's bytecode exists before it is timed
    medians: dict[tuple[str, str], float] = {}
    runs: dict[tuple[str, str], list[float]] = {}
    for mode in ("cold", "warm"):
        for name, command in COMMANDS.items():
            runs[name, mode] = [timed(command, cold=mode == "cold") for _ in range(args.runs)]
            medians[name, mode] = statistics.median(runs[name, mode])
    floor = {mode: medians["python -c pass", mode] for mode in ("cold", "warm")}
    print(f"{'command':<24} {'cold s':>8} {'warm s':>8}  warm vs import pyvo   warm minus bare python")
    for name in COMMANDS:
        cold, warm = medians[name, "cold"], medians[name, "warm"]
        ratio = warm / medians["import pyvo", "warm"]
        print(f"{name:<24} {cold:8.3f} {warm:8.3f}  {ratio:8.2f}x            {warm - floor['warm']:8.3f} s")
    missed = [f"{name}: {medians[name, 'warm']:.3f} s > {limit} s" for name, limit in TARGETS.items()
              if (name, "warm") in medians and medians[name, "warm"] > limit]  # fmt: skip
    print("targets (warm median): " + ("; ".join(missed) if missed else
          ", ".join(f"{n} < {t} s" for n, t in TARGETS.items() if n in COMMANDS) + ": met"))  # fmt: skip
    print(f"python {sys.version.split()[0]} at {Path(sys.executable)}, {os.cpu_count()} cores, {args.runs} runs each")
    if args.json is not None:
        write_json(args.json, args.runs, runs)
    return 1 if missed else 0


def write_json(path: Path, count: int, runs: dict[tuple[str, str], list[float]]) -> None:
    """The figures in the form benchmarks/run_all.py merges: a result per command and mode, a check per target."""
    tools = {"python -c pass": "floor", "import pyvo": "pyvo"}  # the bare interpreter: the floor no package beats
    results = [
        {"tool": tools.get(name, "vodaxa"), "case": f"{name}, {mode}", "work": 1, "unit": "commands",
         "seconds": statistics.median(times), "runs": times}
        for (name, mode), times in runs.items()
    ]  # fmt: skip
    checks = [
        {"name": f"{name}, warm (s)", "value": statistics.median(runs[name, "warm"]), "target": f"< {limit}",
         "ok": statistics.median(runs[name, "warm"]) <= limit, "runs": runs[name, "warm"]}
        for name, limit in TARGETS.items() if (name, "warm") in runs
    ]  # fmt: skip
    document = {"benchmark": "startup", "params": {"runs": count}, "results": results, "checks": checks}
    path.write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
