"""`rcwiz remotes`: the configured remotes with type, vendor, URL and user, never a secret."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz.rclone.conf import config_path, list_remotes
from rcwiz.ui.tables import remotes_table

if TYPE_CHECKING:
    from rcwiz.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`remotes` takes only the global options for now (remove comes with login flow)."""


def run(ctx: Context, args: argparse.Namespace) -> int:
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
