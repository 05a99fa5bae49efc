"""`rcwiz versions REMOTE:path [--restore VERSION]`: the way back after a sync or a job
overwrote a file on Nextcloud: its versions (time, size), and one of them made current."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.nextcloud import versions
from rcwiz.nextcloud.account import account
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, shell_join
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="REMOTE:path", help="a file on a Nextcloud remote")
    parser.add_argument(
        "--restore",
        metavar="VERSION",
        help="make this version (an id from the list) the file's content; the content it "
        "replaces is kept as a version",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if ":" not in args.target or not args.target.split(":", 1)[1].strip("/"):
        raise errors.UsageError("Name a file as REMOTE:path, e.g. nextcloud:results/table.csv.")
    acct = account(ctx.rclone, args.target)
    path = acct.path_of(args.target)
    if args.restore:
        chosen = versions.restore(acct, path, args.restore)
        return Output(
            {"path": path, "restored": chosen.as_dict()},
            lambda console: console.out.print(
                f"Restored {path} to its version of {fmt.when(chosen.time)} "
                f"({fmt.size(chosen.bytes)}).",
                markup=False,
            ),
        )
    found = versions.versions(acct, path)
    data = {"path": path, "versions": [v.as_dict() for v in found]}

    def show(console: Console) -> None:
        older = [v for v in found if not v.current]
        if not older:
            console.out.print(f"{path} has no older versions.", markup=False)
            return
        from rcwiz.ui.review_tables import versions_table

        console.out.print(versions_table(found))
        console.out.print(
            "Restore one with: "
            + shell_join(["rcwiz", "versions", args.target, "--restore", "VERSION"]),
            markup=False,
            soft_wrap=True,
        )

    return Output(data, show)
