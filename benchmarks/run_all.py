"""Run every benchmark at several sizes, merge their figures, draw how time grows with the work, update the README.

Each benchmark script (download.py, resolve.py, search.py, startup.py) runs as a subprocess with ``--json``, at
the sizes of the growth curves (files, observations, positions); their documents (the JSON contract in
benchmarks/README.md) are merged into ``benchmarks/results.json``, drawn into ``benchmarks/growth.png`` (a panel
per benchmark, time against work, a line per tool and the floor where there is one), and the figures section of
``benchmarks/README.md`` (between its ``figures`` markers) is rewritten: each check's ratio, target, whether it
held in every run, and its spread over the runs, with the machine and the date.

    pip install -e '.[bench,sandbox,plot]'
    python benchmarks/run_all.py              # every size: takes a while (the 5,000-position pyvo loop alone ~4 min)
    python benchmarks/run_all.py --quick      # small sizes, one run each: a smoke test of the whole chain
    python benchmarks/run_all.py --only search,startup --repeat 3
    python benchmarks/run_all.py --redraw     # only redraw the plot and README from benchmarks/results.json

Timings are only as quiet as the machine: the figures are ratios against peers measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
UNITS = {"download": "files", "resolve": "observations", "search": "positions", "startup": "commands"}


@dataclass(frozen=True)
class Job:
    """One run of one benchmark script."""

    benchmark: str  # download | resolve | search | startup
    label: str  # what sets this run apart, e.g. "positions=5000"
    args: tuple[str, ...] = ()
    script: Path | None = None  # default: benchmarks/<benchmark>.py

    def command(self, json_path: Path) -> list[str]:
        script = self.script or HERE / f"{self.benchmark}.py"
        return [sys.executable, str(script), *self.args, "--json", str(json_path)]


def plan(quick: bool) -> list[Job]:
    """The runs behind the figures: the headline size of each benchmark and the sizes of its growth curve."""
    if quick:
        return [
            Job("startup", "quick", ("--runs", "1")),
            *(
                Job("search", f"positions={n}", ("--positions", str(n), "--rows", "20000", "--loop-sample", "20"))
                for n in (100, 400)
            ),
            *(
                Job(
                    "resolve",
                    f"observations={n}",
                    ("--rows", str(n), "--repeats", "1", "--iter-repeats", "1", "--per-row-sample", "10", "--no-rss"),
                )
                for n in (100, 400)
            ),
            *(
                Job(
                    "download",
                    f"files={n}",
                    ("--files", str(n), "--size", "4096", "--big-files", "0", "--sample", "20", "--runs", "1"),
                )
                for n in (50, 200)
            ),
        ]
    return [
        Job("startup", "runs=7", ("--runs", "7")),
        *(Job("search", f"positions={n}", ("--positions", str(n), "--runs", "3")) for n in (500, 5000, 50000)),
        *(Job("resolve", f"observations={n}", ("--rows", str(n))) for n in (1000, 2500, 5000, 10000)),
        *(
            Job("download", f"files={n}", ("--files", str(n), "--big-files", "0", "--runs", "2"))
            for n in (250, 500, 1000)
        ),
        Job("download", "files=2000", ("--files", "2000")),  # the headline run, with the large-file cases
    ]


# ------------------------------------------------------------------------------------------------------ running
def run_jobs(jobs: Sequence[Job], repeat: int = 1, log: Any = print) -> list[dict]:
    """Run every job ``repeat`` times in turn (round robin: noise spreads over all); one record per run."""
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="vodaxa-run-all-") as tmp:
        for turn in range(repeat):
            for index, job in enumerate(jobs):
                path = Path(tmp) / f"{turn}-{index}.json"
                command = job.command(path)
                log(f"\n=== {job.benchmark} {job.label} (run {turn + 1}/{repeat}): {' '.join(command[1:])}", flush=True)
                started = time.perf_counter()
                code = subprocess.run(command, check=False).returncode
                record = {"benchmark": job.benchmark, "label": job.label, "args": list(job.args), "returncode": code,
                          "wall_seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
                try:
                    record["document"] = json.loads(path.read_text())
                except (OSError, ValueError) as err:
                    record["error"] = f"no JSON figures ({type(err).__name__}: {err})"
                    log(f"=== {job.benchmark} {job.label}: {record['error']}", flush=True)
                records.append(record)
    return records


# ------------------------------------------------------------------------------------------------------ merging
def merge(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, list[dict]]]:
    """The figures of all runs, per benchmark: results and checks of repeated runs merged into one entry.

    A result is keyed by (tool, case, work): its runs are pooled and ``seconds`` is their median.  A check is keyed
    by (label, name): ``value`` is the median of its runs' values, ``ok`` holds only when it held in every run,
    and ``runs`` pools the per-run values (the spread).  Runs that wrote no figures are listed under ``failed``.
    """
    out: dict[str, dict[str, list[dict]]] = {}
    results: dict[tuple, dict] = {}
    checks: dict[tuple, dict] = {}
    for record in records:
        bench = str(record["benchmark"])
        section = out.setdefault(bench, {"results": [], "checks": [], "failed": []})
        document = record.get("document")
        if not document:
            section["failed"].append({"label": record.get("label"), "error": record.get("error", "no figures")})
            continue
        for result in document.get("results", []):
            key = (bench, result.get("tool"), result.get("case"), result.get("work"))
            if key not in results:
                results[key] = {**result, "runs": []}
                section["results"].append(results[key])
            runs = result.get("runs") or [result["seconds"]]
            results[key]["runs"].extend(float(r) for r in runs)
            results[key]["seconds"] = statistics.median(results[key]["runs"])
        for check in document.get("checks", []):
            key = (bench, record.get("label"), check.get("name"))
            if key not in checks:
                checks[key] = {"label": record.get("label"), **check, "values": [], "runs": [], "ok": True}
                section["checks"].append(checks[key])
            merged = checks[key]
            merged["values"].append(float(check["value"]))
            merged["runs"].extend(float(r) for r in (check.get("runs") or [check["value"]]))
            merged["value"] = statistics.median(merged["values"])
            merged["ok"] = bool(merged["ok"] and check.get("ok"))
    for section in out.values():
        section["checks"] += growth_checks(section["results"])
    return out


#: The most vodaxa's time per unit of work may grow from the smallest size to the largest (1: exactly linear; a
#: fixed cost makes it less; the margin is for a noisy machine).
GROWTH_LIMIT = 1.2


def growth_checks(results: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Whether vodaxa's time grows linearly with the work, per case measured at several sizes: the time ratio over
    the work ratio, largest size to smallest (each size a separate run of its script)."""
    cases: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        if result.get("tool") == "vodaxa":
            cases.setdefault(str(result.get("case")), []).append(result)
    checks = []
    for case, sized in cases.items():
        sized = sorted(sized, key=lambda r: r["work"])
        small, large = sized[0], sized[-1]
        if len(sized) < 2 or small["work"] == large["work"] or not small["seconds"]:
            continue
        value = (large["seconds"] / small["seconds"]) / (large["work"] / small["work"])
        checks.append({
            "label": "growth", "name": f"vodaxa time ratio / work ratio, {case} ({small['work']:,} to "
            f"{large['work']:,} {small.get('unit', '')})", "value": value, "target": f"<= {GROWTH_LIMIT}",
            "ok": value <= GROWTH_LIMIT, "values": [value], "runs": [r["seconds"] / r["work"] for r in sized],
        })  # fmt: skip
    return checks


def machine() -> dict[str, Any]:
    """Where the figures were taken."""
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "host": platform.node(),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}", "cores": os.cpu_count(),
            "python": platform.python_version()}  # fmt: skip


# ------------------------------------------------------------------------------------------------------ drawing
def draw(merged: Mapping[str, Mapping[str, list[dict]]], path: Path) -> Path:
    """Time against work, a panel per benchmark (log-log), a line per tool and case; the floor dashed.

    A benchmark measured at one size only (startup: one command) is drawn as bars instead.
    """
    from matplotlib import ticker
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [n for n in ("download", "resolve", "search", "startup") if merged.get(n, {}).get("results")]
    names += sorted(n for n in merged if n not in names and merged[n].get("results"))
    columns = min(2, max(1, len(names)))
    rows = max(1, -(-len(names) // columns))
    fig = Figure(figsize=(6.4 * columns, 4.6 * rows))  # no pyplot: no global state in the caller's process
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        results = merged[name]["results"]
        series: dict[str, list[tuple[float, float]]] = {}
        for r in results:
            label = r["tool"] if r.get("case") in (None, "") else f"{r['tool']}: {r['case']}"
            series.setdefault(label, []).append((float(r["work"]), float(r["seconds"])))
        if len({w for points in series.values() for w, _ in points}) <= 1:  # one size: bars
            labels = sorted(series, key=lambda s: series[s][0][1])
            colours = {"floor": "0.6", "vodaxa": "tab:blue"}
            ax.barh(labels, [series[s][0][1] for s in labels],
                    color=[colours.get(s.split(":")[0], "tab:orange") for s in labels])  # fmt: skip
            ax.set_xlabel("seconds (median)")
            ax.tick_params(axis="y", labelsize=7)
        else:
            for label, points in sorted(series.items()):
                points.sort()
                floor = label.split(":")[0] == "floor"
                ax.plot([w for w, _ in points], [s for _, s in points], "k--" if floor else "-",
                        marker="" if floor else "o", markersize=3, label=label, linewidth=1.2)  # fmt: skip
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain = ticker.FuncFormatter(lambda value, _: f"{value:g}")
            for axis in (ax.xaxis, ax.yaxis):
                axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                axis.set_major_formatter(plain)
                axis.set_minor_formatter(ticker.NullFormatter())
            unit = next((r.get("unit") for r in results if r.get("unit")), UNITS.get(name, "work"))
            ax.set_xlabel(str(unit))
            ax.set_ylabel("seconds (median)")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6, loc="upper left")
        ax.set_title(name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


# ------------------------------------------------------------------------------------------------------ README
def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def figures_section(merged: Mapping[str, Mapping[str, list[dict]]], about: Mapping[str, Any], image: str,
                    command: str) -> str:  # fmt: skip
    """The Markdown between the figures markers: where and when, the plot, the checks, the times."""
    lines = [
        f"Regenerated by `{command}` on {about.get('date')}: {about.get('host')}, {about.get('system')}, "
        f"{about.get('cores')} cores, Python {about.get('python')}. The machine may be shared and noisy: every "
        "figure is a ratio against peers measured in the same run; *value* is the median over the runs, *spread* "
        "the lowest and highest value, and *ok* says whether the check held as its script judges it: download's "
        "(a) in every one of its runs, the others on the median (a resolve's first run includes first-call costs).",
        "",
        f"![time against work for vodaxa and each peer]({image})",
        "",
        "| benchmark | run | check | value | target | ok | spread over runs (n) |",
        "|---|---|---|---:|---|---|---|",
    ]
    for name, section in merged.items():
        for c in section.get("checks", []):
            runs = c.get("runs") or [c["value"]]
            spread = f"{_number(min(runs))} - {_number(max(runs))} ({len(runs)})"
            ok = "yes" if c.get("ok") else "**no**"
            lines.append(f"| {name} | {c.get('label', '')} | {c['name']} | {_number(float(c['value']))} | "
                         f"{c.get('target', '')} | {ok} | {spread} |")  # fmt: skip
        for failed in section.get("failed", []):
            lines.append(f"| {name} | {failed.get('label', '')} | (no figures: {failed.get('error')}) | | | **no** | |")
    lines += ["", "| benchmark | work | tool | case | seconds (median) | runs |", "|---|---:|---|---|---:|---:|"]
    for name, section in merged.items():
        ordered = sorted(
            section.get("results", []), key=lambda r: (r.get("work", 0), r.get("tool", ""), r.get("case", ""))
        )
        for r in ordered:
            work = f"{r.get('work')} {r.get('unit', '')}".strip()
            lines.append(f"| {name} | {work} | {r.get('tool')} | {r.get('case', '')} | "
                         f"{_number(float(r['seconds']))} | {len(r.get('runs') or [])} |")  # fmt: skip
    return "\n".join(lines)


def rewrite_readme(path: Path, section: str) -> str:
    """Put ``section`` between the figures markers of ``path`` (added at the end when missing); the rest is kept."""
    text = path.read_text() if path.exists() else ""
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text and text.index(START) < text.index(END):
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + "## Current figures\n\n" + block + "\n"
    path.write_text(text)
    return text


# ------------------------------------------------------------------------------------------------------ main
def publish(document: Mapping[str, Any], out: Path, readme: Path | None, command: str) -> None:
    """Write results.json, growth.png and (unless ``readme`` is None) the README's figures section."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
    image = draw(document["benchmarks"], out / "growth.png")
    if readme is None:
        return
    relative = os.path.relpath(image, readme.parent)
    rewrite_readme(readme, figures_section(document["benchmarks"], document["machine"], relative, command))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (a smoke test)")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="run every job this many times, round robin")
    parser.add_argument("--redraw", action="store_true", help="no runs: redraw from the existing results.json")
    parser.add_argument("--out", type=Path, default=None,
                        help="where results.json and growth.png go (default: benchmarks/; --quick: a temporary folder)")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md",
                        help="the README whose figures section is rewritten (--quick: none unless given)")
    given = argv if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    if args.quick and args.out is None:  # a smoke test leaves the committed figures alone
        args.out = Path(tempfile.mkdtemp(prefix="vodaxa-run-all-quick-"))
        if not any(a == "--readme" or a.startswith("--readme=") for a in given):
            args.readme = None
    args.out = args.out or HERE
    try:
        import matplotlib  # noqa: F401  (the growth plot)
    except ImportError:
        message = "run_all.py draws growth.png with matplotlib: pip install -e '.[bench,sandbox,plot]'"
        raise SystemExit(message) from None
    command = "python benchmarks/run_all.py" + (" --quick" if args.quick else "") + (
        f" --only {args.only}" if args.only else "")
    if args.redraw:
        document = json.loads((args.out / "results.json").read_text())
        document["benchmarks"] = merge(document["runs"])
    else:
        only = {n.strip() for n in args.only.split(",") if n.strip()}
        jobs = [j for j in plan(args.quick) if not only or j.benchmark in only]
        records = run_jobs(jobs, repeat=args.repeat)
        earlier = args.out / "results.json"
        if only and earlier.exists():  # the other benchmarks keep their last figures
            kept = json.loads(earlier.read_text()).get("runs", [])
            records = [r for r in kept if r.get("benchmark") not in only] + records
        document = {"machine": machine(), "command": command, "quick": args.quick, "runs": records,
                    "benchmarks": merge(records)}  # fmt: skip
    publish(document, args.out, args.readme, document.get("command", command))
    checks = [c for s in document["benchmarks"].values() for c in s["checks"]]
    failed = [f for s in document["benchmarks"].values() for f in s.get("failed", [])]
    print(f"\n{sum(c['ok'] for c in checks)}/{len(checks)} checks held in every run; {len(failed)} runs without "
          f"figures; wrote {args.out / 'results.json'}, {args.out / 'growth.png'}"
          + (f" and {args.readme}" if args.readme else " (the README is left as it was)"))  # fmt: skip
    return 0 if checks and all(c["ok"] for c in checks) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
