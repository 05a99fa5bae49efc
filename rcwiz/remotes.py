"""`rcwiz remotes`: the configured remotes with type, vendor, URL and user, never a secret."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.rclone.conf import config_path, list_remotes, remove_remote
from rcwiz.ui.tables import remotes_table

if TYPE_CHECKING:
    from rcwiz.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "verb",
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


def run(ctx: Context, args: argparse.Namespace) -> int:
    if args.verb == "rm":
        return remove(ctx, args)
    remotes = list_remotes(ctx.rclone)
    if ctx.console.json:
        ctx.console.emit_json([r.as_dict() for r in remotes])
        return 0
    if not remotes:
        where = config_path(ctx.rclone)
        ctx.console.out.print(f"No remotes are configured in {where}.", markup=False)
        ctx.console.out.print("Create one with 'rcwiz setup'.", markup=False)
        return 0
    ctx.console.out.print(remotes_table(remotes))
    return 0


def remove(ctx: Context, args: argparse.Namespace) -> int:
    from rcwiz.setup import login_flow_account, offer_revoke
    from rcwiz.wizard import Wizard, terminal_available

    if not args.name:
        raise errors.UsageError("Say which remote to remove: rcwiz remotes rm NAME.")
    name = args.name.rstrip(":")
    old = login_flow_account(ctx.rclone, name)
    path = Path(config_path(ctx.rclone)).expanduser()
    backup = remove_remote(path, name)
    ctx.console.note(f"Removed remote {name}: from {path} (previous version: {backup}).")
    if old is not None:
        wizard = Wizard(ctx.console, interactive=terminal_available())
        offer_revoke(
            ctx,
            wizard,
            old,
            revoke=args.revoke
            if args.revoke is not None
            else (None if wizard.interactive else False),
        )
    return 0
