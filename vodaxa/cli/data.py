"""The pipeline on the command line: ``missions``, ``search``, ``resolve``, ``download``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, VodaxaError
from .io import (
    FORMATS,
    _terminal,
    human_size,
    output_format,
    plural,
    read_observations,
    read_positions,
    say,
    sizes_of,
    write_table,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..query.mission import Mission

__all__ = ["add_commands", "find_observations"]

LOGIN_HELP = "use your stored ESO/XSA credentials, so proprietary data you may see are included"



def seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value

COLUMNS_HELP = ("columns to show, comma-separated, or 'all' (default on a terminal: the main ones, fitted to its "
                "width; -o file gets every column)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register missions, search, resolve and download."""
    p = sub.add_parser("missions", help="the known missions and their archives")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o's suffix, else a table)")
    p.add_argument("--columns", help=COLUMNS_HELP)
    p.add_argument("-o", "--output", type=Path, help="write to this file instead (.csv, .json, .xml/.vot, .txt)")
    p.set_defaults(func=cmd_missions)

    p = sub.add_parser(
        "search",
        help="observations of one or more missions near a name or positions (run on the archives' servers)",
        description="Examples: vodaxa search nustar_pointed --name '3C 105' --end 2025-01-01;  "
        "vodaxa search chandra xmm_pointed --positions clusters.csv -o obs.csv;  "
        "vodaxa search chandra --where 'exposure > 10000' -o long.csv;  "
        "vodaxa search chandra xmm_pointed --name 'Coma Cluster' --plot coma.png",
    )
    p.add_argument("missions", nargs="+", metavar="MISSION", help="registry names ('vodaxa missions'), or 'all'")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--name", action="append", help="an object name, resolved with Sesame (repeatable)")
    where.add_argument("--ra", type=float, help="right ascension in degrees (ICRS), with --dec")
    where.add_argument("--positions", type=Path, help="a file of positions: 'ra dec' lines or a CSV with ra, dec")
    p.add_argument("--dec", type=float, help="declination in degrees (ICRS), with --ra")
    p.add_argument("--radius", type=float,
                   help="search radius in degrees, at most 180 (default: 1.2 x each mission's FoV)")  # fmt: skip
    p.add_argument("--start", help="observations overlapping this date or later (ISO, e.g. 2015-01-01)")
    p.add_argument("--end", help="observations overlapping this date or earlier")
    p.add_argument("--instrument", action="append",
                   help="search with only these instruments (repeatable); naming a wide one (Swift's BAT) searches "
                   "its field")  # fmt: skip
    p.add_argument("--where", action="append", metavar="CONDITION",
                   help="keep observations meeting a condition on the columns of each mission's table, e.g. "
                   "\"exposure > 10000\" or \"prog_id = '60.A-9700(A)'\" (repeatable; comparisons, in (...), like, "
                   "between, is null, joined by and); run on the server")  # fmt: skip
    p.add_argument("--format", choices=FORMATS, help="output format (default: from -o's suffix, else a table)")
    p.add_argument("--columns", help=COLUMNS_HELP)
    p.add_argument("-o", "--output", type=Path,
                   help="write the observations here (.csv, .xml/.vot, .json; .txt: a text table)")  # fmt: skip
    p.add_argument("--login", action="store_true", help=LOGIN_HELP)
    p.add_argument("--plot", type=Path, metavar="PICTURE",
                   help="also draw the observations, positions and radii on the sky into this file (.png, .pdf, "
                   ".svg; needs matplotlib: pip install 'vodaxa[plot]')")  # fmt: skip
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "resolve",
        help="observations -> a manifest of files (DataLink, archive layouts, ESO calibrations)",
        description="Examples: vodaxa resolve obs.csv -o manifest.json;  "
        "vodaxa resolve --mission chandra --obs-id 22386 --filetypes evt2,asol -o acis.json",
    )
    p.add_argument("observations", nargs="?", type=Path, help="an observation table from 'vodaxa search'")
    p.add_argument("--mission", help="with --obs-id: the mission the ObsIDs belong to")
    p.add_argument("--obs-id", nargs="+", help="ObsIDs of --mission, instead of an observation table")
    p.add_argument("--filetypes", help="Chandra: CIAO file types to keep, comma-separated (e.g. evt2,asol,bpix)")
    p.add_argument("--exclude", help="Chandra: CIAO file types to drop, comma-separated")
    p.add_argument("--calibrations", choices=["raw2master", "raw2raw"], help="ESO: add calibration cascades")
    p.add_argument("--no-products", dest="products", action="store_false", help="raw data only")
    p.add_argument("--instrument", action="append", help="keep only this instrument's files (repeatable)")
    p.add_argument("--semantics", help="DataLink links to keep, comma-separated (default '#this'; '*' for all)")
    p.add_argument("-o", "--output", type=Path, default=Path("manifest.json"), help="manifest file (.json/.parquet)")
    p.add_argument("--login", action="store_true", help=LOGIN_HELP)
    p.add_argument("--budget", type=seconds, help="seconds the whole resolution may take (default: no limit)")
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser(
        "download",
        help="a manifest -> verified files (resumable: run it again after an interruption)",
        description="Example: vodaxa download manifest.json data/",
    )
    p.add_argument("manifest", type=Path, help="a manifest from 'vodaxa resolve' (.json or .parquet)")
    p.add_argument("dest", nargs="?", type=Path, default=Path("vodaxa-data"), help="folder (default: vodaxa-data)")
    p.add_argument("--max-per-host", type=int, help="fewer parallel connections per archive than its default")
    p.add_argument("--splits", type=int, default=4, help="byte ranges per large file (default 4; 1: no split)")
    p.add_argument("--decompress", action="store_const", const=True, default="auto",
                   help="unpack .gz files too (by default only .Z, which astropy cannot open)")  # fmt: skip
    p.add_argument("--no-decompress", dest="decompress", action="store_const", const=False,
                   help="keep every file as the archive sent it (.Z included)")  # fmt: skip
    p.add_argument("--keep-compressed", action="store_true", help="keep the packed file beside the unpacked one")
    p.add_argument("--fits-checksums", action="store_true", help="also check FITS CHECKSUM/DATASUM keywords")
    p.add_argument("--overwrite", action="store_true", help="fetch again even complete files")
    p.add_argument("--mirror", action="append", default=[], metavar="ARCHIVE=URL",
                   help="try this base URL or folder first (repeatable), e.g. heasarc=/data/heasarc/")  # fmt: skip
    p.add_argument("--budget", type=seconds,
                   help="seconds the downloads may take (cut off then; .part files kept to resume)")  # fmt: skip
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.set_defaults(func=cmd_download)


def cmd_missions(args: argparse.Namespace) -> int:
    """Print the mission registry."""
    from ..specs.registry import missions_table

    fmt = output_format(args.output, args.format)
    write_table(missions_table(), fmt, args.output, columns=args.columns)
    return 0


def find_observations(
    missions: list[str],
    *,
    positions: Any = None,
    radius: float | None = None,
    start: str | None = None,
    end: str | None = None,
    instruments: list[str] | None = None,
    where: list[str] | None = None,
    report: Any = print,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """:func:`vodaxa.search` for the command line (``positions`` None: whole tables; ``where``: conditions on every
    mission's columns): one line per mission (how many, within which distance, or why not) through ``report``;
    returns (table, {mission: why it failed})."""
    import warnings

    from ..query.search import empty_observations, search
    from ..specs import registry

    chosen = registry.names() if missions == ["all"] else missions
    for name in chosen:
        registry.get(name)  # an unknown name stops everything before any query, listing the known ones
    asked: dict[str, list[str] | None] = {}
    for name in chosen:  # --instrument applies to the missions that have it
        spec = registry.get(name)
        insts = [i for i in instruments or () if i.upper() in {x.upper() for x in spec.instruments}] or None
        if instruments and not insts:
            report(f"  {name}: none of the instruments {', '.join(instruments)} (it has {', '.join(spec.instruments)})")
            continue
        asked[name] = insts
    if not asked:
        return empty_observations(), {}
    with warnings.catch_warnings():  # said below, one line per mission, rather than as a summary warning
        warnings.filterwarnings("ignore", message="(no observations found by|missions that failed)")
        frame = search(positions, list(asked), radius, start=start, end=end,
                       instruments={k: v for k, v in asked.items() if v}, where=where or None)  # fmt: skip
    failures = dict(frame.attrs.get("errors", {}))
    counts = {str(k): int(v) for k, v in frame["mission"].value_counts().items()}
    when = f" between {start or 'the first'} and {end or 'the last'}" if start or end else ""
    kept = f", where {' and '.join(where)}" if where else ""
    whole = positions is None
    for name in asked:
        within = "in its whole table" if whole else f"within {_radius_text(frame.attrs.get('radius', {}).get(name))}"
        if name in failures:
            report(f"  {name}: failed: {failures[name]}")
        elif name in frame.attrs.get("no_observations", []):
            report(f"  {name}: no observations {within}{when}{kept}")
        else:
            report(f"  {name}: {plural(int(counts.get(name, 0)), 'observation')} (searched {within}{kept})")
    return frame, failures


def _radius_text(used: Any) -> str:
    """The search distance a mission used, for the reader: ``0.236 deg`` or ``ACIS 0.556, HRC 0.99 deg``."""
    if isinstance(used, dict) and len(used) > 3:
        return f"{min(used.values()):g}-{max(used.values()):g} deg, by instrument"
    if isinstance(used, dict):
        return ", ".join(f"{k} {v:g}" for k, v in used.items()) + " deg"
    if isinstance(used, list):
        return f"{min(used):g}-{max(used):g} deg, by position"
    return f"{used:g} deg" if isinstance(used, (int, float)) else "the given distance"


def cmd_search(args: argparse.Namespace) -> int:
    """Search, then print or write the observations; exit 1 if a mission failed."""
    from ..query.mission import MAX_SEARCH_DISTANCE

    if (args.ra is None) != (args.dec is None):
        raise InputError("give both --ra and --dec (degrees), or use --name or --positions")
    positions = None
    if args.ra is not None:
        if not (0 <= args.ra < 360 and -90 <= args.dec <= 90):
            raise InputError(f"--ra {args.ra} --dec {args.dec} is not on the sky (0 <= ra < 360, |dec| <= 90)")
        positions = [[args.ra, args.dec]]
    elif args.positions is not None:
        positions = read_positions(args.positions)
    if args.radius is not None and not 0 < args.radius <= MAX_SEARCH_DISTANCE:  # NaN too
        raise InputError(f"--radius {args.radius:g}: the radius must be positive and at most "
                         f"{MAX_SEARCH_DISTANCE:g} degrees (the whole sky)")  # fmt: skip
    for name in args.name or ():
        if not name.strip():
            raise InputError(f"--name {name!r}: give an object name, e.g. --name '3C 105'")
    _check_window(args.start, args.end)
    _check_where(args.where)
    from ..specs import registry

    for mission in [] if args.missions == ["all"] else args.missions:
        registry.get(mission)  # an unknown mission is bad input before any name is looked up
    fmt = output_format(args.output, args.format)  # all checked before any query: bad input writes nothing
    if args.plot is not None:
        _check_plot(args.plot)

    note = say

    if args.login:
        _log_in(args.missions)
    if args.name:  # every name resolved once, before any mission: an unknown one is bad input, and nothing is written
        from ..query.names import resolve_names

        positions = resolve_names(args.name)
        note(f"  {', '.join(args.name)}: " + "; ".join(
            f"RA {c.ra.deg:.4f}, Dec {c.dec.deg:+.4f}" for c in positions.reshape(-1)) + " (Sesame)")  # fmt: skip
    frame, failures = find_observations(
        args.missions, positions=positions, radius=args.radius, start=args.start,
        end=args.end, instruments=args.instrument, where=args.where, report=note,
    )  # fmt: skip
    write_table(frame, fmt, args.output, columns=args.columns)
    if args.output:
        note(f"{plural(len(frame), 'observation')} written to {args.output}")
    if args.plot is not None:
        from ..plot import sky_plot

        sky_plot(frame, path=args.plot)
        note(f"sky plot of {plural(len(frame), 'observation')} written to {args.plot}")
    return 1 if failures else 0


def _check_plot(path: Path) -> None:
    """InputError unless ``--plot`` names a picture file that can be written (its suffix, not a folder, no file
    where its folder must be); MissingDependencyError without matplotlib.  Before any search."""
    from ..plot import require_matplotlib
    from ..plot.figures import check_target

    check_target(path, "--plot")
    require_matplotlib("--plot")


def _check_window(start: str | None, end: str | None) -> None:
    """InputError unless --start and --end are ISO dates (or times) with the start first."""
    from ..query.arguments import utc
    from ..query.search import EARLIEST, LATEST  # the ends search() gives a window left open

    when = {}
    for option, text in (("--start", start or EARLIEST), ("--end", end or LATEST)):
        try:
            when[option] = utc(text)
        except VodaxaError:
            raise InputError(f"{option} {text!r} is not an ISO date or time; use e.g. 2015-01-01 or "
                             "2015-01-01T12:30:00") from None  # fmt: skip
    if when["--start"] > when["--end"]:
        latest = "" if end else ", the latest date searched"
        raise InputError(f"the time window starts ({start or EARLIEST}) after it ends ({end or LATEST}{latest}); "
                         "give --start before --end")  # fmt: skip


def _check_where(conditions: list[str] | None) -> None:
    """InputError unless every --where is a condition (its columns are checked against each mission's table by the
    search, also before any search runs)."""
    from ..query.conditions import parse_where

    for text in conditions or ():
        try:
            parse_where(text)
        except InputError as err:
            raise InputError(f"--where: {err}") from None


def cmd_resolve(args: argparse.Namespace) -> int:
    """Turn observations into a manifest file and print its summary."""
    import pandas as pd

    from ..resolvers import resolve

    if args.observations is not None and (args.mission or args.obs_id):
        raise InputError("give an observation table or --mission with --obs-id, not both")
    if args.login and args.mission:  # before the ObsIDs are looked up: proprietary ones are only seen logged in
        _log_in([args.mission])
    source: pd.DataFrame | Mission
    if args.observations is not None:
        source = read_observations(args.observations)
    elif args.mission and args.obs_id:
        from ..query.mission import Mission

        mission = Mission(args.mission)
        mission.filter_on_obs_ids([i.strip() for ids in args.obs_id for i in ids.split(",") if i.strip()])
        source = mission
    else:
        raise InputError("what to resolve? give an observation table (from 'vodaxa search'), "
                         "or --mission with --obs-id")  # fmt: skip
    suffix = args.output.suffix.lower()
    if suffix not in (".json", ".parquet"):
        raise InputError(f"{args.output}: a manifest is written as .json or .parquet")
    split = lambda text: [t.strip() for t in text.split(",") if t.strip()] if text else None  # noqa: E731
    if args.login and isinstance(source, pd.DataFrame):  # an observation table (a Mission logged in above)
        _log_in(sorted(set(source["mission"])))
    manifest = resolve(
        source, products=args.products, instruments=args.instrument, filetypes=split(args.filetypes),
        exclude=split(args.exclude), calibrations=args.calibrations, semantics=split(args.semantics) or "#this",
        budget=args.budget,
    )  # fmt: skip
    if suffix == ".json":
        manifest.to_json(args.output)
    else:
        manifest.to_parquet(args.output)
    with pd.option_context("display.width", 160):
        print(manifest.summary().to_string(index=False) if len(manifest.files) else "(no files)")
    unavailable = manifest.unavailable
    for row in unavailable.head(20).itertuples(index=False):
        print(f"  unavailable: {getattr(row, 'mission', '')} {getattr(row, 'obs_id', '')}: {getattr(row, 'note', '')}")
    if len(unavailable) > 20:
        print(f"  ... and {len(unavailable) - 20} more unavailable observations (see the manifest)")
    print(f"{plural(len(manifest.files), 'file')}, {sizes_of(manifest.files)}: manifest written to {args.output}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    """Download a manifest; exit 1 if any file failed (run again to retry and resume)."""
    from .. import download
    from ..manifest import Manifest

    path = args.manifest
    if not path.is_file():
        raise InputError(f"manifest {path} does not exist; make one with 'vodaxa resolve ... -o {path.name}'")
    try:
        manifest = Manifest.from_parquet(path) if path.suffix.lower() == ".parquet" else Manifest.from_json(path)
    except VodaxaError as err:
        raise InputError(f"{path}: {err}") from None
    except Exception as err:
        raise InputError(f"{path} is not a vodaxa manifest ({type(err).__name__}: {err})") from None
    mirrors: dict[str, str] = {}
    for item in args.mirror:
        key, sep, base = item.partition("=")
        if not sep or not key or not base:
            raise InputError(f"--mirror {item!r}: use ARCHIVE=URL or ARCHIVE=FOLDER, e.g. heasarc=/data/heasarc")
        mirrors[key] = base
    if manifest.files.empty:
        closed = len(manifest.unavailable)
        why = f" (only {closed} unavailable observation{'s' * (closed != 1)}: see their notes)" if closed else ""
        raise InputError(f"{path}: the manifest lists no files to download{why}; resolve observations that have "
                         f"files into it ('vodaxa resolve ... -o {path.name}')")  # fmt: skip
    report = download(
        manifest, args.dest, max_per_host=args.max_per_host, splits=args.splits, decompress=args.decompress,
        keep_compressed=args.keep_compressed, verify="fits" if args.fits_checksums else True,
        overwrite=args.overwrite, mirrors=mirrors or None, budget=args.budget, progress=args.progress and _terminal(),
    )  # fmt: skip
    print(f"{len(report.ok)} downloaded, {len(report.skipped)} already complete, {len(report.failed)} failed; "
          f"{human_size(report.bytes)} in {report.elapsed:.1f} s into {args.dest}/")  # fmt: skip
    for line in report.errors:
        print(f"  failed: {line}", file=sys.stderr)
    if len(report.failed):
        print("run the same command again to retry the failed files (complete ones are skipped)", file=sys.stderr)
    return 1 if len(report.failed) else 0


def _log_in(missions: list[str]) -> None:
    """Activate the stored credentials of the archives behind ``missions`` that take them (ESO, the XSA)."""
    from .. import archives, auth
    from ..errors import AuthError
    from ..specs import registry

    names = registry.names() if missions == ["all"] else missions
    with_credentials = {a.name for a in archives.archives() if a.credentials}
    for archive in sorted({registry.get(str(m)).archive for m in names} & with_credentials):
        if not auth.ensure(archive):
            name = archive.upper()
            raise AuthError(f"--login: no {name} credentials are stored; run 'vodaxa login {archive} --store' "
                            f"or set VODAXA_{name}_USERNAME and VODAXA_{name}_PASSWORD")  # fmt: skip
        say(f"logged in to {archive}")
