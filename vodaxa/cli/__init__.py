"""The ``vodaxa`` command: the pipeline (missions, search, resolve, download, process), ``demo``, credentials,
settings and the sandbox.  Errors end as one line on stderr and a non-zero exit code (``--debug``
shows the traceback); 2 means bad input or a refused request, 1 a partial failure, 130 an interrupt.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import VodaxaError
from . import account, data, demo, io, process, sandbox
from .screen import visible

__all__ = ["build_parser", "main"]


def cmd_config_show(args: argparse.Namespace) -> int:
    """Print the effective endpoint table (with ``--registry``, the URLs the VO registry gives first)."""
    from ..config import endpoints

    if args.registry is None:
        endpoints.show()
        return 0
    from ..query.registry import use_registry

    with use_registry(args.registry or None):
        endpoints.show()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``vodaxa`` command."""
    parser = argparse.ArgumentParser(prog="vodaxa", description="Archive data through Virtual Observatory protocols.")
    parser.add_argument("--version", action="version", version=f"vodaxa {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="count", default=0,
                          help="say more: -v what vodaxa does (the 'vodaxa' logger at INFO), -vv everything (DEBUG)")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="say only results and errors: no status lines, progress bars, warnings or log lines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo.add_commands(sub)
    data.add_commands(sub)
    process.add_commands(sub)
    account.add_commands(sub)
    config = sub.add_parser("config", help="settings")
    config_sub = config.add_subparsers(dest="action", required=True)
    show_p = config_sub.add_parser("show", help="print the effective endpoints and where each came from")
    show_p.add_argument(
        "--registry",
        nargs="*",
        metavar="MISSION",
        help="look the missions' services up in the VO registry (registry.tap) first (default: every mission)",
    )
    show_p.set_defaults(func=cmd_config_show)
    sandbox.add_commands(sub)
    return parser


def _one_line(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    """Print a warning as ``vodaxa: warning: <text>`` (vodaxa's own and the libraries' alike)."""
    text = visible(" ".join(str(message).split()))  # a server's text never drives the terminal
    label = "" if issubclass(category, UserWarning) else f"{category.__name__}: "
    print(f"vodaxa: warning: {label}{text}", file=sys.stderr)


class _OneLine(logging.Formatter):
    """vodaxa's log records (a retry, a slow answer; with -v what it does) as the CLI prints warnings:
    ``vodaxa: warning: <text>``, ``vodaxa: info: <text>``."""

    def format(self, record: logging.LogRecord) -> str:
        return f"vodaxa: {record.levelname.lower()}: " + visible(" ".join(record.getMessage().split()))


def _level(args: argparse.Namespace) -> int:
    """The 'vodaxa' logger's level for -q, nothing, -v and -vv."""
    if args.quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the command; errors become one line on stderr and a non-zero exit code."""
    args = build_parser().parse_args(argv)
    logger, handler = logging.getLogger("vodaxa"), logging.StreamHandler(sys.stderr)
    level, before = _level(args), logger.level
    handler.setLevel(level)
    handler.setFormatter(_OneLine())
    if not args.debug:
        logger.addHandler(handler)
    if level < logging.WARNING:
        logger.setLevel(level)
    was_quiet = io.be_quiet(args.quiet)
    try:
        with warnings.catch_warnings():
            if not args.debug:  # a warning is one line for the reader, not Python's source line and location
                warnings.showwarning = _one_line
            if args.quiet:
                warnings.simplefilter("ignore")
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("vodaxa: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except VodaxaError as err:
        if args.debug:
            raise
        print(f"vodaxa: error: {visible(str(err))}", file=sys.stderr)
        return 2
    except Exception as err:  # the CLI's last line of defence: one readable line, not a traceback
        if args.debug:
            raise
        print(f"vodaxa: error: {type(err).__name__}: {visible(str(err))} (rerun with --debug for details)",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        io.be_quiet(was_quiet)
        logger.removeHandler(handler)
        logger.setLevel(before)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
