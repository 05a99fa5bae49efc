"""`rcwiz remotes [rm NAME]`: the configured remotes (type, vendor, URL, user), never a secret."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.remotes import remove
from rcwiz.rclone.config import config_path, list_remotes
from rcwiz.ui.console import Console
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "subaction",  # rcwiz.cli names the command "remotes rm" after it
        nargs="?",
        choices=["rm"],
        metavar="rm",
        help="rm NAME: remove a remote (offers to revoke a login-flow app password)",
    )
    parser.add_argument("name", nargs="?", help="the remote to remove")
    revoke = parser.add_mutually_exclusive_group()
    revoke.add_argument(
        "--revoke",
        action="store_true",
        default=None,
        help="with rm: revoke its Nextcloud app password without asking",
    )
    revoke.add_argument(
        "--keep-app-password",
        dest="revoke",
        action="store_false",
        help="with rm: leave its Nextcloud app password valid",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if args.subaction == "rm":
        if not args.name:
            raise errors.UsageError("Say which remote to remove: rcwiz remotes rm NAME.")
        name = args.name.rstrip(":")
        path, backup = remove(ctx, name, revoke=args.revoke)
        return Output(
            {"removed": name, "config": str(path), "backup": str(backup) if backup else None}
        )
    remotes = list_remotes(ctx.rclone)

    def show(console: Console) -> None:
        if not remotes:
            where = config_path(ctx.rclone)
            console.out.print(f"No remotes are configured in {where}.", markup=False)
            console.out.print("Create one with 'rcwiz setup'.", markup=False)
            return
        from rcwiz.ui.tables import remotes_table

        console.out.print(remotes_table(remotes))

    return Output({"remotes": [r.as_dict() for r in remotes]}, show)
