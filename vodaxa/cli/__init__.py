"""The ``vodaxa`` command: ``vodaxa sandbox serve|query`` and ``vodaxa config show`` (more to come)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .errors import VodaxaError

DEFAULT_QUERY = (
    "SELECT __row, obsid, name, ra, dec, exposure_a, public_date FROM numaster "
    "WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61.8232, 3.7099, 0.5)) = 1 "
    "AND exposure_a < 10000 ORDER BY obsid"
)


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=200, help="rows per master table (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    parser.add_argument("--cache", type=Path, default=None, help="where generated files go")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer (default 0)")
    parser.add_argument("--datalink-max-ids", type=int, default=1000, help="DataLink IDs per request (default 1000)")
    parser.add_argument("--no-sizes", action="store_true", help="DataLink gives no directory sizes (faster)")


def _config(args: argparse.Namespace):
    from .sandbox import Faults, SandboxConfig

    return SandboxConfig(
        faults=Faults(latency=args.latency),
        datalink_max_ids=args.datalink_max_ids,
        datalink_sizes=not args.no_sizes,
        rows=args.rows,
        seed=args.seed,
        cache=args.cache,
        ports={"heasarc": args.port} if getattr(args, "port", None) else {},
    )


def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; print the endpoints (and write them to a file if asked)."""
    from .config import cache_dir
    from .sandbox import Sandbox

    with Sandbox(_config(args)) as sandbox:
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
    return 0


def cmd_sandbox_query(args: argparse.Namespace) -> int:
    """Start a sandbox, run ADQL on its TAP service with pyvo, resolve DataLink, list one directory."""
    import pyvo
    import requests

    from .sandbox import serve

    with serve(_config(args)) as sandbox:
        tap = pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])
        print(f"sandbox HEASARC at {sandbox.url}\nADQL: {args.adql}\n")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = tap.run_sync(args.adql)
        result.to_table().pprint(max_lines=40, max_width=140)
        if "__row" not in result.fieldnames:
            return 0
        print("\nDataLink (one batched request per table):")
        directories = []
        for links in result.iter_datalinks():
            for link in links:
                if link.error_message:
                    print(f"  {link['ID']}: {link.error_message}")
                elif link.content_type == "directory":
                    print(f"  {link['ID']}: {link.access_url}  ({link['content_length']} bytes)")
                    directories.append(link.access_url)
        if directories:
            print(f"\nListing of {directories[0]}:")
            page = requests.get(directories[0], timeout=30).text
            for line in page.splitlines():
                if 'alt="[' in line and "PARENTDIR" not in line:
                    print("  " + line.split(">", 2)[-1].split("</a>")[0])
        if args.dest is None:
            return 0
        from . import download, resolve
        from .config import endpoints

        with endpoints.override(sandbox.endpoints):
            manifest = resolve(result)
            print(f"\nManifest: {len(manifest.files)} files; downloading into {args.dest}/ (resumable, verified)")
            report = download(manifest, args.dest, progress=args.progress)
        print(report)
        for line in report.errors:
            print("  failed:", line)
        return 1 if report.errors else 0
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    """Log in (password from the environment, keyring or a prompt), check it with a token, optionally store it."""
    from .auth import login

    token = login(
        args.archive,
        args.username,
        prompt=not args.no_prompt,
        store=args.store,
        allow_http_loopback=args.allow_http_loopback,
    )
    stored = " (password stored in the system keyring)" if args.store else ""
    print(f"logged in to {args.archive} as {token.credential.username}{stored}")
    if args.store:
        from .auth.credentials import remember_username

        remember_username(args.archive, token.credential.username or "")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """Forget the stored password (and username) of an archive."""
    from .auth import logout
    from .auth.credentials import forget, remembered_username

    user = args.username or remembered_username(args.archive)
    logout(args.archive)
    if user:
        forget(args.archive, user)
    print(f"logged out of {args.archive}" + (f" ({user}'s stored password removed)" if user else ""))
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    """Which archives have credentials available to a new vodaxa process, and from where (never the secret)."""
    from .auth.credentials import find, remembered_username

    for archive in ("eso", "xsa"):
        found = find(archive, username=remembered_username(archive))
        print(f"{archive}: " + (f"{found.username or '(token)'} from {found.source}" if found else "no credentials"))
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    """Print the effective endpoint table."""
    from .config import endpoints

    endpoints.show()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vodaxa`` command."""
    parser = argparse.ArgumentParser(prog="vodaxa", description="Archive data through Virtual Observatory protocols.")
    parser.add_argument("--version", action="version", version=f"vodaxa {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    sandbox = sub.add_parser("sandbox", help="the offline sandbox archive on 127.0.0.1")
    sandbox_sub = sandbox.add_subparsers(dest="action", required=True)
    serve_p = sandbox_sub.add_parser("serve", help="serve until Ctrl-C and print the endpoints")
    _sandbox_options(serve_p)
    serve_p.add_argument("--port", type=int, default=0, help="port of the HEASARC shape (default: any free)")
    serve_p.add_argument("--endpoints-file", type=Path, default=None, help="write the endpoints JSON here")
    serve_p.set_defaults(func=cmd_sandbox_serve)
    query_p = sandbox_sub.add_parser("query", help="start a sandbox, run ADQL on it, resolve DataLink")
    _sandbox_options(query_p)
    query_p.add_argument("adql", nargs="?", default=DEFAULT_QUERY, help="the ADQL (default: NuSTAR near 3C 105)")
    query_p.add_argument("--dest", default="vodaxa-sandbox-data", help="download the files here (default: %(default)s)")
    query_p.add_argument("--no-download", dest="dest", action="store_const", const=None, help="stop at the listing")
    query_p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    query_p.set_defaults(func=cmd_sandbox_query)

    login_p = sub.add_parser("login", help="log in to an archive (ESO) and optionally store the password in keyring")
    login_p.add_argument("archive", choices=["eso"])
    login_p.add_argument("--username", default=None)
    login_p.add_argument("--store", action="store_true", help="store the password in the system keyring")
    login_p.add_argument("--no-prompt", action="store_true", help="never ask; fail if no credentials are found")
    login_p.add_argument("--allow-http-loopback", action="store_true", help="allow plain http to 127.0.0.1")
    login_p.set_defaults(func=cmd_login)
    logout_p = sub.add_parser("logout", help="forget an archive's stored credentials")
    logout_p.add_argument("archive", choices=["eso", "xsa"])
    logout_p.add_argument("--username", default=None)
    logout_p.set_defaults(func=cmd_logout)
    whoami_p = sub.add_parser("whoami", help="which credentials vodaxa would use")
    whoami_p.set_defaults(func=cmd_whoami)

    config = sub.add_parser("config", help="settings")
    config_sub = config.add_subparsers(dest="action", required=True)
    show_p = config_sub.add_parser("show", help="print the effective endpoints")
    show_p.set_defaults(func=cmd_config_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the command; errors become one line on stderr and a non-zero exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VodaxaError as err:
        if args.debug:
            raise
        print(f"vodaxa: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # the CLI's last line of defence: one readable line, not a traceback
        if args.debug:
            raise
        print(f"vodaxa: error: {type(err).__name__}: {err} (rerun with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
