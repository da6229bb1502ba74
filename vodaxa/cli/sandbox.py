"""``vodaxa sandbox serve|query``: the offline sandbox archive on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .io import _terminal

if TYPE_CHECKING:
    from ..sandbox import SandboxConfig

__all__ = ["DEFAULT_QUERY", "add_commands", "sandbox_config", "sandbox_options"]

DEFAULT_QUERY = (
    "SELECT __row, obsid, name, ra, dec, exposure_a, public_date FROM numaster "
    "WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61.8232, 3.7099, 0.5)) = 1 "
    "AND exposure_a < 10000 ORDER BY obsid"
)


def sandbox_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``sandbox serve`` and ``sandbox query`` (size, seed, latency, DataLink)."""
    parser.add_argument("--rows", type=int, default=200, help="rows per master table (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    parser.add_argument("--cache", type=Path, default=None, help="where generated files go")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer (default 0)")
    parser.add_argument("--datalink-max-ids", type=int, default=1000, help="DataLink IDs per request (default 1000)")
    parser.add_argument("--no-sizes", action="store_true", help="DataLink gives no directory sizes (faster)")
    parser.add_argument("--heasarc-datalink", choices=["current", "legacy", "files"], default="current",
                        help="HEASARC's DataLink shape: today's (default), the one before 2026, or 'files' (three "
                             "#this file links per observation, for benchmarks)")  # fmt: skip
    parser.add_argument("--calselector-trees", action="store_true",
                        help="ESO's calSelector answers association trees even when asked for a VOTable")  # fmt: skip


def consecutive_ports(first: int) -> dict[str, int]:
    """``--port N``: HEASARC on N and every other archive on the ports after it, in a fixed order, so an endpoints
    file written once stays right across restarts (0: any free ports)."""
    from ..sandbox.shapes import SHAPES

    if not first:
        return {}
    if not 0 < first <= 65536 - len(SHAPES):
        from ..errors import InputError

        raise InputError(f"--port {first}: give a port from 1 to {65536 - len(SHAPES)} (the archives take "
                         f"{len(SHAPES)} consecutive ports from it), or 0 for any free ports")  # fmt: skip
    return {name: first + i for i, name in enumerate(SHAPES)}


def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The SandboxConfig those options describe."""
    from ..sandbox import Faults, SandboxConfig

    return SandboxConfig(
        faults=Faults(latency=args.latency),
        datalink_max_ids=args.datalink_max_ids,
        datalink_sizes=not args.no_sizes,
        heasarc_datalink=args.heasarc_datalink,
        calselector_trees=args.calselector_trees,
        rows=args.rows,
        seed=args.seed,
        cache=args.cache,
        ports=consecutive_ports(getattr(args, "port", 0) or 0),
    )


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; print the endpoints (and write them to a file if asked)."""
    from ..config import cache_dir
    from ..errors import InputError
    from ..sandbox import Sandbox

    wanted = args.endpoints_file
    if wanted is not None and (wanted.is_dir() or not wanted.parent.is_dir()):
        raise InputError(f"--endpoints-file {wanted}: give a file name in an existing folder")
    with Sandbox(sandbox_config(args)) as sandbox:
        print(json.dumps(sandbox.endpoints, indent=2))
        port = sandbox.url.rsplit(":", 1)[1]
        target = args.endpoints_file or cache_dir() / f"sandbox-endpoints-{port}.json"
        path = sandbox.write_endpoints(target).resolve()
        print(f"endpoints file: {path}\nin another shell: export VODAXA_ENDPOINTS={path}")
        print("sandbox running on 127.0.0.1; press Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
            return 130  # as every vodaxa command interrupted with Ctrl-C
    return 0


def cmd_sandbox_query(args: argparse.Namespace) -> int:
    """Start a sandbox, run ADQL on its TAP service with pyvo, resolve DataLink, list one directory."""
    import pyvo

    from .. import net
    from ..sandbox import serve

    with serve(sandbox_config(args)) as sandbox:
        session = net.session(credentials=False)
        tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"], session=session)
        print(f"sandbox HEASARC at {sandbox.url}\nADQL: {args.adql}\n")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = tap.run_sync(args.adql)
        result.to_table().pprint(max_lines=40, max_width=140)
        if "__row" not in result.fieldnames:
            return 0
        print("\nDataLink (as HEASARC's tutorial does it: getdatalink() per row, first 5 rows):")
        directories = []
        for row in list(result)[:5]:
            links = row.getdatalink()
            if not len(links):
                print(f"  {row['__row']}: no links (HEASARC's answer for data that are not public yet)")
            for link in links:
                url = link.access_url or ""
                if link.error_message:
                    print(f"  {link['ID']}: {link.error_message}")
                elif "/FTP/" in url and "content=datalink" not in (link.content_type or ""):
                    print(f"  {link['ID']}: {url}  ({link.content_type})")
                    directories.append(url)
        if directories:
            from ..resolvers.listing import parse_listing

            print(f"\nListing of {directories[0]}:")
            folders, files = parse_listing(session.get(directories[0]).text)
            for name in [*(f + "/" for f in folders), *files]:
                print("  " + name)
        if args.dest is None:
            return 0
        from .. import download, resolve
        from ..config import endpoints

        with endpoints.override(sandbox.endpoints):
            manifest = resolve(result)
            print(f"\nManifest: {len(manifest.files)} files; downloading into {args.dest}/ (resumable, verified)")
            report = download(manifest, args.dest, progress=args.progress and _terminal())
        print(report)
        for line in report.errors:
            print("  failed:", line)
        return 1 if report.errors else 0
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``sandbox serve`` and ``sandbox query``."""
    sandbox = sub.add_parser("sandbox", help="the offline sandbox archive on 127.0.0.1")
    sandbox_sub = sandbox.add_subparsers(dest="action", required=True)
    serve_p = sandbox_sub.add_parser("serve", help="serve until Ctrl-C and print the endpoints")
    sandbox_options(serve_p)
    serve_p.add_argument("--port", type=int, default=0,
                         help="first of consecutive ports: HEASARC on it, then eROSITA, ESO, XSA, CXC, CDS, "
                         "the registry (default: any free)")  # fmt: skip
    serve_p.add_argument("--endpoints-file", type=Path, default=None, help="write the endpoints JSON here")
    serve_p.set_defaults(func=cmd_sandbox_serve)
    query_p = sandbox_sub.add_parser("query", help="start a sandbox, run ADQL on it, resolve DataLink")
    sandbox_options(query_p)
    query_p.add_argument("adql", nargs="?", default=DEFAULT_QUERY, help="the ADQL (default: NuSTAR near 3C 105)")
    query_p.add_argument("--dest", default="vodaxa-sandbox-data", help="download the files here (default: %(default)s)")
    query_p.add_argument("--no-download", dest="dest", action="store_const", const=None, help="stop at the listing")
    query_p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    query_p.set_defaults(func=cmd_sandbox_query)
