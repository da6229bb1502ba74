"""benchmarks/run_all.py: merging the scripts' JSON, the README's figures section and the growth plot (no timing)."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("vodaxa_bench_run_all", ROOT / "benchmarks" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _search(positions: int, vodaxa: list[float], loop: float, ok: bool = True) -> dict:
    return {
        "benchmark": "search",
        "params": {"positions": positions},
        "results": [
            {"tool": "vodaxa", "case": "one TAP upload query", "work": positions, "unit": "positions",
             "seconds": sorted(vodaxa)[len(vodaxa) // 2], "runs": vodaxa},
            {"tool": "pyvo loop", "case": "a cone per position", "work": positions, "unit": "positions",
             "seconds": loop, "runs": [loop]},
        ],
        "checks": [{"name": "pyvo loop / vodaxa", "value": loop / vodaxa[0], "target": ">= 20", "ok": ok,
                    "runs": [loop / v for v in vodaxa]}],
    }  # fmt: skip


def _download(files: int) -> dict:
    return {
        "benchmark": "download",
        "params": {"files": files},
        "results": [
            {"tool": "vodaxa", "case": "small files", "work": files, "unit": "files", "seconds": files / 400},
            {"tool": "parfive", "case": "small files", "work": files, "unit": "files", "seconds": files / 150,
             "runs": [files / 150], "peak_rss_mb": 120.0},
            {"tool": "floor", "case": "small files", "work": files, "unit": "files", "seconds": files / 500,
             "runs": [files / 500]},
        ],
        "checks": [{"name": "vodaxa / floor", "value": 1.25, "target": "<= 1.2", "ok": False, "runs": [1.25]}],
    }  # fmt: skip


STARTUP = {
    "benchmark": "startup",
    "params": {"runs": 1},
    "results": [
        {"tool": "floor", "case": "python -c pass, warm", "work": 1, "unit": "commands", "seconds": 0.02,
         "runs": [0.02]},
        {"tool": "vodaxa", "case": "import vodaxa, warm", "work": 1, "unit": "commands", "seconds": 0.1, "runs": [0.1]},
    ],
    "checks": [{"name": "import vodaxa, warm (s)", "value": 0.1, "target": "< 0.4", "ok": True, "runs": [0.1]}],
}  # fmt: skip


def _records() -> list[dict]:
    return [
        {"benchmark": "search", "label": "positions=500", "document": _search(500, [1.0, 2.0, 3.0], 40.0)},
        {"benchmark": "search", "label": "positions=5000", "document": _search(5000, [4.0], 400.0)},
        {"benchmark": "search", "label": "positions=500", "document": _search(500, [5.0], 40.0, ok=False)},
        {"benchmark": "download", "label": "files=250", "document": _download(250)},
        {"benchmark": "download", "label": "files=1000", "document": _download(1000)},
        {"benchmark": "resolve", "label": "observations=1000", "error": "no JSON figures (crashed)"},
        {"benchmark": "startup", "label": "runs=1", "document": STARTUP},
    ]


def test_merge_pools_repeated_runs(run_all):
    merged = run_all.merge(_records())
    assert set(merged) == {"search", "download", "resolve", "startup"}
    search = merged["search"]
    vodaxa_500 = next(r for r in search["results"] if r["tool"] == "vodaxa" and r["work"] == 500)
    assert vodaxa_500["runs"] == [1.0, 2.0, 3.0, 5.0] and vodaxa_500["seconds"] == 2.5
    assert len(search["results"]) == 4  # (vodaxa, loop) x (500, 5000)
    check_500 = next(c for c in search["checks"] if c["label"] == "positions=500")
    assert check_500["ok"] is False  # it failed in one of the two runs
    assert check_500["values"] == [40.0, 8.0] and check_500["value"] == 24.0
    assert check_500["runs"] == [40.0, 20.0, 40 / 3, 8.0]
    assert next(c for c in search["checks"] if c["label"] == "positions=5000")["ok"] is True
    download = merged["download"]["results"]
    assert next(r for r in download if r["tool"] == "vodaxa" and r["work"] == 250)["runs"] == [
        250 / 400
    ]  # no runs given
    assert merged["resolve"] == {"results": [], "checks": [], "failed": [
        {"label": "observations=1000", "error": "no JSON figures (crashed)"}]}  # fmt: skip


def test_readme_section_between_markers(run_all, tmp_path):
    merged = run_all.merge(_records())
    about = {"date": "2030-01-02 03:04 UTC", "host": "box", "system": "Linux", "cores": 2, "python": "3.11.7"}
    section = run_all.figures_section(merged, about, "growth.png", "python benchmarks/run_all.py")
    assert "2030-01-02 03:04 UTC" in section and "2 cores" in section and "![" in section and "(growth.png)" in section
    assert "| search | positions=500 | pyvo loop / vodaxa | 24 | >= 20 | **no** | 8 - 40 (4) |" in section
    assert "| download | files=250 | vodaxa / floor | 1.25 | <= 1.2 | **no** |" in section
    assert "| startup | runs=1 | import vodaxa, warm (s) | 0.1 | < 0.4 | yes |" in section
    assert "observations=1000 | (no figures: no JSON figures (crashed))" in section
    assert "| search | 5000 positions | vodaxa | one TAP upload query | 4 | 1 |" in section

    readme = tmp_path / "README.md"
    readme.write_text(f"# Benchmarks\n\nintro\n\n{run_all.START}\nold figures\n{run_all.END}\n\n## After\nkept\n")
    first = run_all.rewrite_readme(readme, section)
    assert (
        "old figures" not in first
        and first.startswith("# Benchmarks\n\nintro\n\n")
        and first.endswith("## After\nkept\n")
    )
    assert first.count(run_all.START) == 1 and section in first
    assert run_all.rewrite_readme(readme, section) == first  # idempotent

    bare = tmp_path / "BARE.md"
    bare.write_text("# Benchmarks\n")
    text = run_all.rewrite_readme(bare, "figures")
    assert text == f"# Benchmarks\n\n## Current figures\n\n{run_all.START}\nfigures\n{run_all.END}\n"


def test_plot_is_drawn(run_all, tmp_path):
    pytest.importorskip("matplotlib")
    path = run_all.draw(run_all.merge(_records()), tmp_path / "growth.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


STUB = textwrap.dedent(
    """
    import argparse, json, sys
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--crash", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.crash:
        sys.exit(3)
    seconds = args.files / 100
    json.dump({"benchmark": "download", "params": {"files": args.files},
               "results": [{"tool": "vodaxa", "case": "small files", "work": args.files, "unit": "files",
                            "seconds": seconds, "runs": [seconds]}],
               "checks": [{"name": "vodaxa / floor", "value": 1.1, "target": "<= 1.2", "ok": True, "runs": [1.1]}]},
              open(args.json, "w"))
    sys.exit(0)
    """
)


def test_jobs_run_as_subprocesses_and_publish(run_all, tmp_path):
    """run_all against stub scripts that keep the JSON contract: records, merged figures, the three outputs."""
    pytest.importorskip("matplotlib")
    stub = tmp_path / "stub.py"
    stub.write_text(STUB)
    jobs = [run_all.Job("download", f"files={n}", ("--files", str(n)), script=stub) for n in (100, 300)]
    jobs.append(run_all.Job("download", "crash", ("--crash",), script=stub))
    records = run_all.run_jobs(jobs, repeat=2, log=lambda *a, **k: None)
    assert [r["returncode"] for r in records] == [0, 0, 3] * 2
    assert "error" in records[2] and "document" not in records[2]
    merged = run_all.merge(records)
    assert [r["runs"] for r in merged["download"]["results"]] == [[1.0, 1.0], [3.0, 3.0]]
    assert len(merged["download"]["failed"]) == 2

    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n")
    document = {"machine": run_all.machine(), "command": "python benchmarks/run_all.py", "runs": records,
                "benchmarks": merged}  # fmt: skip
    run_all.publish(document, tmp_path, readme, "python benchmarks/run_all.py")
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["benchmarks"] == json.loads(json.dumps(merged))
    assert (tmp_path / "growth.png").stat().st_size > 0
    assert "| download | files=100 | vodaxa / floor | 1.1 | <= 1.2 | yes | 1.1 - 1.1 (2) |" in readme.read_text()
    # --redraw rebuilds the same figures from results.json alone
    assert run_all.main(["--redraw", "--out", str(tmp_path), "--readme", str(readme)]) == 1  # the crashed runs
    assert json.loads((tmp_path / "results.json").read_text())["benchmarks"] == saved["benchmarks"]


def test_plans_name_the_scripts_and_sizes(run_all):
    full, quick = run_all.plan(False), run_all.plan(True)
    for jobs in (full, quick):
        assert {j.benchmark for j in jobs} == {"download", "resolve", "search", "startup"}
        for job in jobs:
            assert (ROOT / "benchmarks" / f"{job.benchmark}.py").exists()
    sizes = {b: [j.label for j in full if j.benchmark == b] for b in ("download", "resolve", "search")}
    assert sizes["search"] == ["positions=500", "positions=5000", "positions=50000"]
    assert sizes["resolve"] == [f"observations={n}" for n in (1000, 2500, 5000, 10000)]
    assert sizes["download"] == [f"files={n}" for n in (250, 500, 1000, 2000)]


def test_the_growth_plot_leaves_no_pyplot_behind(run_all, tmp_path):
    if "matplotlib.pyplot" in sys.modules:
        pytest.skip("pyplot was imported by another test")
    run_all.draw({"resolve": {"results": [
        {"tool": "vodaxa", "case": "", "work": 1000, "unit": "observations", "seconds": 0.1, "runs": [0.1]},
        {"tool": "vodaxa", "case": "", "work": 10000, "unit": "observations", "seconds": 1.0, "runs": [1.0]},
    ]}}, tmp_path / "growth.png")  # fmt: skip
    assert (tmp_path / "growth.png").stat().st_size > 0 and "matplotlib.pyplot" not in sys.modules


def test_growth_is_checked_across_the_sizes_of_separate_runs(run_all):
    merged = run_all.merge(_records())
    (growth,) = [c for c in merged["download"]["checks"] if c["label"] == "growth"]
    assert growth["value"] == pytest.approx(1.0) and growth["ok"] and "250 to 1,000 files" in growth["name"]
    (search,) = [c for c in merged["search"]["checks"] if c["label"] == "growth"]
    assert search["value"] == pytest.approx((4.0 / 2.5) / 10) and search["ok"]
    assert not [c for c in merged["startup"]["checks"] if c["label"] == "growth"]  # one size: nothing to compare
    slow = run_all.growth_checks([{"tool": "vodaxa", "case": "c", "work": w, "unit": "files", "seconds": w * w}
                                  for w in (10, 20)])  # fmt: skip
    assert slow[0]["value"] == pytest.approx(2.0) and not slow[0]["ok"]
