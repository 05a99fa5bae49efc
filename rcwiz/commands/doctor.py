"""`rcwiz doctor [REMOTE: ...]`: check rclone, rclone.conf, each remote, the disk and the jobs file.

The checks are rcwiz.actions.doctor's; this module shows them: a table, the hints of what
failed or warned, and one line counting both. The exit code is 0 when nothing failed
(warnings pass) and 1 when a check failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.doctor import checks
from rcwiz.actions.doctor_check import FAIL, WARN, Check
from rcwiz.commands import add_remote_names, remote_names
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_remote_names(parser, "remotes to check (default: every configured remote)")


def run(ctx: Context, args: argparse.Namespace) -> Output:
    rows = checks(ctx, remote_names(args.remotes))
    failed = [row for row in rows if row.status == FAIL]

    def show(console: Console) -> None:
        _show(console, rows)

    data = {"ok": not failed, "checks": [row.as_dict() for row in rows]}
    code = errors.ExitCode.FAILURE if failed else errors.ExitCode.OK
    return Output(data, show, int(code))


def _show(console: Console, rows: Sequence[Check]) -> None:
    failed = [row for row in rows if row.status == FAIL]
    warned = [row for row in rows if row.status == WARN]
    out = console.out
    out.print(_checks_table(rows))
    for row in [*failed, *warned]:
        if row.hint:
            out.print(f"[{CHECK_STYLE[row.status]}]{escape(row.check)}:[/] {escape(row.hint)}")
    if failed:
        summary = f"{len(failed)} check{'' if len(failed) == 1 else 's'} failed"
    else:
        summary = "All checks passed"
    if warned:
        summary += f", {len(warned)} warning{'' if len(warned) == 1 else 's'}"
    out.print(summary + ".", markup=False)


CHECK_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def _checks_table(rows: Sequence[Check]) -> object:
    """One row per check (rich, imported only when the table is drawn)."""
    from rich.table import Table
    from rich.text import Text

    from rcwiz.ui.tables import Fitted

    out = Table(header_style="bold")
    out.add_column("check", no_wrap=True)
    out.add_column("status")
    out.add_column("detail", overflow="fold")
    for row in rows:
        out.add_row(row.check, Text(row.status, style=CHECK_STYLE[row.status]), row.detail)
    return Fitted(out, prose={"check", "detail"})
