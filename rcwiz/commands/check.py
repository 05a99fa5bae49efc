"""`rcwiz check SRC DST`: is DST what SRC holds? A local folder against a Nextcloud folder,
either way round, compared by hash where the server keeps one and by content (its archive
download, hashed as it arrives) where it does not (rcwiz.actions.check).

Exits like `rclone check`: 0 identical, 1 differences (missing, extra, differing or unreadable
files); the documented codes for everything else.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.check import SHOWN
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context
    from rcwiz.transfer.verify import Report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="local path or REMOTE:path (the source)")
    parser.add_argument("dest", metavar="DST", help="local path or REMOTE:path (the copy)")
    parser.add_argument(
        "--download",
        action="store_true",
        help="compare every file by content, even where the server keeps a checksum",
    )
    parser.add_argument(
        "--one-way",
        action="store_true",
        help="files only DST holds are not differences (what a copy, unlike a sync, leaves)",
    )
    parser.epilog = (
        "One side is a local folder, the other a folder on a Nextcloud remote. "
        "Exit 0: identical; 1: differences."
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    from rcwiz.actions.check import check

    for what, path in (("SRC", args.source), ("DST", args.dest)):
        if not path.strip():
            raise errors.UsageError(f"{what} is empty: name a folder or REMOTE:path.")
    report = check(ctx, args.source, args.dest, download=args.download, one_way=args.one_way)
    return output(report)


def output(report: Report) -> Output:
    """REPORT as a command's result: its JSON, its text, exit 0 or 1."""
    code = errors.ExitCode.OK if report.identical else errors.ExitCode.FAILURE
    return Output(
        {"event": "check", **report.as_dict()}, lambda c: show(c, report), exit_code=int(code)
    )


def lines(report: Report) -> list[str]:
    """The report for people, one line each (markup escaped)."""
    shown = []
    same = report.same
    ways = [f"{n} by {way}" for way, n in same.items() if n]
    if report.compared or not (report.missing or report.extra):
        how = f" ({', '.join(ways)})" if ways else ""
        shown.append(f"{sum(same.values())} matching file(s){how}.")
    for line in report.differences(SHOWN):
        shown.append(escape(line) if line.startswith(" ") else f"[red]{escape(line)}[/]")
    if report.identical:
        shown.append(f"[green]{escape(report.dest)} holds what {escape(report.source)} holds.[/]")
    return shown


def show(console: Console, report: Report) -> None:
    for line in lines(report):
        console.out.print(line)
