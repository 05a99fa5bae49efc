"""`rcwiz copy | move | sync SRC DST`: a checked, watched transfer with progress and a summary.

What it does is rcwiz.actions.transfer.perform (shared with `job run`); this module turns the
command line into TransferOptions and a Guard.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.check import verify_after
from rcwiz.actions.transfer import Guard, perform
from rcwiz.commands import add_guard_options, add_transfer_options, transfer_settings
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("source", metavar="SRC", help="local path or REMOTE:path")
    parser.add_argument("dest", metavar="DST", help="local path or REMOTE:path")
    add_transfer_options(parser)
    add_guard_options(parser)
    if verb == "sync":
        parser.add_argument(
            "--yes", "-y", action="store_true", help="delete at the destination without asking"
        )
    parser.epilog = "Arguments after -- are passed to rclone unchanged."
    parser.set_defaults(verb=verb, accepts_passthrough=True)


def options(args: argparse.Namespace) -> TransferOptions:
    for what, path in (("SRC", args.source), ("DST", args.dest)):
        if not path.strip():
            raise errors.UsageError(f"{what} is empty: name a folder or REMOTE:path.")
    return TransferOptions(
        source=args.source,
        dest=args.dest,
        verb=args.verb,
        extra=tuple(args.passthrough),
        **transfer_settings(args),
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    guard = Guard(
        force=args.force,
        yes=getattr(args, "yes", False),
        log_interval=args.log_interval,
    )
    opts = options(args)
    summary = perform(ctx, opts, guard)
    data = {"event": "summary", **summary.as_dict()}
    report = verify_after(ctx, opts, summary)  # VerifyFailed (exit 14) when it differs
    if report is not None:
        data["verify"] = report.as_dict()
    return Output(data)
