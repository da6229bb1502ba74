"""``vodaxa process``: reduce downloaded data, natively (no CIAO) or through the Chandra CIAO chain."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_commands", "cmd_process"]


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``process``."""
    p = sub.add_parser(
        "process",
        help="reduce downloaded data: flare GTIs, cleaned events, images, rate maps (native, or CIAO for Chandra)",
        description="Example: vodaxa process data/ (run it again: only what is missing runs; the ledger and logs "
        "are in data/processed/)",
    )
    p.add_argument("dest", type=Path, help="the folder 'vodaxa download' filled")
    p.add_argument("--ciao", action="store_true", help="run DAXA's Chandra CIAO chain instead (needs CIAO)")
    p.add_argument("--missions", nargs="+", help="only these missions' event lists (native)")
    p.add_argument("--energy", nargs=2, type=float, default=[0.5, 7.0], metavar=("LO", "HI"),
                   help="energy range in keV for cleaned events (native; default 0.5 7)")  # fmt: skip
    p.add_argument("--bin-size", type=float, default=4, help="image pixels per side, in sky pixels (native; 4)")
    p.add_argument("--timeout", type=float, help="seconds allowed per CIAO command")
    p.add_argument("--rerun", action="store_true", help="run again even what is already done")
    p.set_defaults(func=cmd_process)


def cmd_process(args: argparse.Namespace) -> int:
    """Run the reductions and print what failed and where its log is; exit 1 if anything failed."""
    from ..errors import CiaoNotFoundError
    from ..process import Workspace, chandra, native

    workspace = Workspace(args.dest)
    if args.ciao:
        try:
            report = chandra.full_process_chandra(workspace, timeout=args.timeout)
        except CiaoNotFoundError as err:  # the advice as a command that works here
            raise CiaoNotFoundError(str(err).replace(
                chandra.NATIVE_ADVICE, f"run 'vodaxa process {args.dest}' without --ciao for the native reductions"
            )) from None  # fmt: skip
    else:
        report = native.reduce(workspace, args.missions, energy=tuple(args.energy), bin_size=args.bin_size,
                               rerun=args.rerun)  # fmt: skip
    print(report.summary())
    print(f"products, ledger and logs: {workspace.root / 'processed'}/")
    if len(report.failed):
        print("fix the cause (see the logs) and run the same command again: completed steps are skipped",
              file=sys.stderr)  # fmt: skip
    return 1 if len(report.failed) else 0
