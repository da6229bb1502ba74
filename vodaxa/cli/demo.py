"""``vodaxa demo``: the whole pipeline in one command, on the embedded sandbox (offline) or, with
``--real``, on the real archives: a named source -> observations of several missions -> a manifest ->
verified files -> images, with pictures (a sky plot of the search, a quick-look of each image and an overview;
matplotlib, the ``plot`` extra) and a summary of what landed where.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NoObservationsError
from .io import _terminal, csv_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEMO_MISSIONS", "add_commands", "cmd_demo", "run_demo"]

DEMO_MISSIONS = ("nustar_pointed", "chandra", "eso")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``demo``."""
    p = sub.add_parser(
        "demo",
        help="the whole pipeline on the embedded sandbox archive (offline): search, resolve, download, process",
        description="Searches NuSTAR, Chandra and ESO around a named source, resolves the public observations "
        "into files, downloads and verifies them, reduces the event lists natively, draws a sky plot of the search "
        "and a quick-look PNG of each image (with matplotlib: pip install 'vodaxa[plot]'), and prints where they "
        "are.",
    )
    p.add_argument("--target", default="Sgr A*", help="object name (default: %(default)s)")
    p.add_argument("--missions", nargs="+", default=list(DEMO_MISSIONS), help="default: %(default)s")
    p.add_argument("--max-obs", type=int, default=2, help="public observations per mission to fetch (default 2)")
    p.add_argument("--dest", type=Path, default=Path("vodaxa-demo"), help="folder (default: %(default)s)")
    p.add_argument("--real", action="store_true", help="use the real archives (needs the network)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the demo; exit 1 if a mission or a file failed (the summary says which)."""
    from ..errors import InputError

    if args.max_obs < 1:
        raise InputError(f"--max-obs {args.max_obs}: fetch at least one observation per mission")
    with contextlib.ExitStack() as stack:
        if args.real:
            print("Using the real archives (HEASARC, CXC, ESO, CDS Sesame).")
        else:
            from ..sandbox import SandboxConfig, serve
            from ..sandbox.offline import loopback_only

            stack.enter_context(loopback_only("vodaxa demo (use --real for the real archives)"))
            sandbox = stack.enter_context(serve(SandboxConfig(rows=200, seed=0)))
            print(f"Started the sandbox archive on 127.0.0.1 ({', '.join(sorted(sandbox.endpoints))} shapes); "
                  "nothing leaves this machine.")  # fmt: skip
        summary = run_demo(args.target, list(args.missions), args.dest, max_obs=args.max_obs,
                           progress=args.progress and _terminal())
    return 0 if summary["ok"] else 1


def run_demo(
    target: str, missions: list[str], dest: Path, *, max_obs: int = 2, progress: bool = True
) -> dict[str, Any]:
    """Search ``missions`` around ``target``, resolve ``max_obs`` public observations of each, download them
    into ``dest``, process them, draw the pictures and print a summary; returns what happened (per mission, the
    pictures written, and ``ok``).  Without matplotlib the pictures are skipped, and the summary says why; a
    picture that cannot be drawn is named in the summary, with the reason.  A ``~`` in ``dest`` is expanded here,
    once, so every file goes to the same folder."""
    import pandas as pd

    from .. import download, resolve
    from ..query.names import resolve_names
    from .data import find_observations
    from .io import human_size

    dest = Path(dest).expanduser()  # one destination: the downloader and Workspace expand it too
    where = resolve_names(target)[0]
    print(f"\n1. {target} is at RA {where.ra.deg:.4f}, Dec {where.dec.deg:+.4f} (Sesame).")
    print(f"2. Searching {', '.join(missions)} on the archives' TAP services:")
    found, failures = find_observations(missions, positions=where)
    if not len(found):
        raise NoObservationsError(f"no mission has observations of {target}; try another --target")
    usable = found[found["proprietary_usable"].astype(bool) & found["science_usable"].astype(bool)]
    chosen = usable.groupby("mission", sort=False).head(max_obs)
    print(f"3. Resolving {len(chosen)} public observations ({max_obs} per mission at most) into files:")
    manifest = resolve(chosen)
    dest.mkdir(parents=True, exist_ok=True)
    manifest.to_json(dest / "manifest.json")
    (dest / "observations.csv").write_bytes(csv_text(found).encode())
    totals = (
        manifest.summary()
        .groupby("mission")
        .agg(files=("files", "sum"), sized=("sized", "sum"), bytes=("bytes", "sum"))
    )
    for name, files, sized, volume in zip(totals.index, totals["files"].tolist(), totals["sized"].tolist(),
                                          totals["bytes"].tolist()):  # fmt: skip
        if sized == files:
            sizes = human_size(volume)
        elif sized:
            sizes = f"{human_size(volume)} known for {sized} of them"
        else:
            sizes = "sizes not listed by the archive"
        print(f"   {name}: {files} files, {sizes}")
    print(f"4. Downloading into {dest}/ (verified, resumable):")
    report = download(manifest, dest, progress=progress)
    processed = _process(dest, missions)
    pictures = _pictures(dest, missions, found)
    on_disk: dict[str, list[Path]] = {}  # the report's final paths: a .fits.Z unpacked to .fits counts as itself
    for path in [*report.ok, *report.skipped]:  # paths as the downloader wrote them: under dest, as dest was given
        path = Path(path)
        with contextlib.suppress(ValueError):
            on_disk.setdefault(path.resolve().relative_to(dest.resolve()).parts[0], []).append(path)
    per_mission = []
    for mission in missions:
        fetched = [p for p in on_disk.get(mission, []) if p.exists()]
        per_mission.append({
            "mission": mission,
            "found": int((found["mission"] == mission).sum()),
            "fetched obs": int(chosen["mission"].eq(mission).sum()),
            "files": len(fetched),
            "volume": human_size(sum(p.stat().st_size for p in fetched)),
            "images": processed.get(mission, 0),
            "folder": str(dest / mission) if fetched else "-",
            "note": failures.get(mission, ""),
        })  # fmt: skip
    table = pd.DataFrame(per_mission)
    print("\nSummary:")
    print(table.to_string(index=False))
    print(f"\n{len(report.ok)} files downloaded, {len(report.skipped)} already there, {len(report.failed)} failed, "
          f"{human_size(report.bytes)} in {report.elapsed:.1f} s.")  # fmt: skip
    for line in report.errors:
        print(f"  failed: {line}", file=sys.stderr)
    print(f"The observations are in {dest / 'observations.csv'}, the manifest in {dest / 'manifest.json'};\n"
          f"'vodaxa download {dest / 'manifest.json'} {dest}' resumes or re-checks the files.")  # fmt: skip
    print(f"Processed products (cleaned events, images, rate maps) are under {dest / 'processed'}/.")
    _say_pictures(pictures)
    ok = not failures and not len(report.failed) and not processed.get("failed")
    return {"missions": table, "report": report, "manifest": manifest, "pictures": pictures, "ok": ok}


def _process(dest: Path, missions: list[str]) -> dict[str, int]:
    """Step 5: native reductions of every event list (and the CIAO chain for Chandra when CIAO is here);
    returns the rate maps made per mission, and ``failed``."""
    import shutil

    from ..errors import ProcessingError
    from ..process import Workspace, chandra, native

    ws = Workspace(dest)
    lists = native.find_event_lists(ws, missions)
    print(f"5. Processing {len(lists)} event lists without CIAO (flare GTIs, cleaned events, images, rate maps):")
    if not lists:
        print("   no event lists among the downloads")
        return {}
    report = native.reduce(ws, missions)
    if "chandra" in missions and shutil.which("ciaover"):
        print("   CIAO is here: running the Chandra chain too (chandra_repro, deflare, fluximage)")
        try:
            report = report + chandra.full_process_chandra(ws)
        except ProcessingError as err:
            print(f"   the CIAO chain did not run: {err}")
    done: dict[str, int] = {}
    for entry in ws.ledger.entries("native_reduce"):
        if entry.ok:
            mission = entry.uid.split("-", 1)[0]
            done[mission] = done.get(mission, 0) + 1
    for line in report.summary().splitlines():
        print(f"   {line}")
    return {**done, "failed": len(report.failed)}


def _pictures(dest: Path, missions: list[str], found: pd.DataFrame) -> dict[str, Any]:
    """Step 6: a sky plot of the search, a quick-look PNG of every image processing made, and an overview of them;
    ``{"sky": path or None, "quicklooks": [paths], "overview": path or None, "failed": [why]}`` (a picture that
    could not be drawn never stops the others), or ``{"skipped": why}`` without matplotlib."""
    import warnings

    from .. import plot
    from ..errors import MissingDependencyError, PartialResultWarning
    from ..plot.batch import skipped
    from ..process import Workspace

    print("6. Drawing pictures (a sky plot of the search, a quick-look of each image, an overview):")
    try:
        plot.require_matplotlib("drawing the demo's pictures")
    except MissingDependencyError as err:
        print(f"   skipped: {err}")
        return {"skipped": str(err)}
    sky: Path | None = dest / "sky.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:  # pictures are a bonus: the data and products are there whatever happens
            plot.sky_plot(found, path=sky)
        except Exception as err:
            skipped("the sky plot of the search", err)
            sky = None
        try:
            drawn = Workspace(dest).quicklooks(missions)
        except Exception as err:
            skipped("the quick-looks", err)
            drawn = []
    failed = [str(w.message) for w in caught if issubclass(w.category, PartialResultWarning)]
    for w in caught:
        if not issubclass(w.category, PartialResultWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    drawn = [_as_given(p, dest) for p in drawn]  # under dest as it was given, as printed above
    target = (dest / "processed" / "overview.png").resolve()
    overview = next((p for p in drawn if p.resolve() == target), None)
    quicklooks = [p for p in drawn if p != overview]
    made = [f"{len(quicklooks)} quick-look{'s' * (len(quicklooks) != 1)}"] + ["an overview"] * bool(overview) + [
        "a sky plot"] * bool(sky)  # fmt: skip
    print(f"   {', '.join(made[:-1])} and {made[-1]}" if len(made) > 1 else f"   {made[0]}", end="")
    print(f"; {len(failed)} could not be drawn (see the summary)" if failed else "")
    return {"sky": sky, "quicklooks": quicklooks, "overview": overview, "failed": failed}


def _as_given(path: Path, dest: Path) -> Path:
    """``path`` (absolute, from the Workspace) under ``dest`` as it was given, when it lies there."""
    try:
        return dest / path.relative_to(dest.resolve())
    except ValueError:
        return path


def _say_pictures(pictures: Mapping[str, Any]) -> None:
    """The summary's lines naming every picture (or why there are none), and those that could not be drawn."""
    if "skipped" in pictures:
        print(f"Pictures were skipped: {pictures['skipped']}")
        return
    sky = pictures["sky"]
    print(f"Pictures: the sky plot of the search is {sky}" if sky else "Pictures: no sky plot", end="")
    quicklooks, overview = pictures["quicklooks"], pictures["overview"]
    if not quicklooks:
        print("; processing made no images to look at." if not pictures.get("failed") else ".")
    else:
        print(f", the overview of the images {overview};" if overview else ";")
        print(f"quick-looks of the {len(quicklooks)} image{'s' * (len(quicklooks) != 1)}:")
        for path in quicklooks:
            print(f"  {path}")
    for why in pictures.get("failed", []):
        print(f"  could not draw: {why}")
