"""`rcwiz trash list|restore|rm|empty REMOTE:`: Nextcloud's trash bin (deleted files).

What `rclone delete`, `rclone purge`, a sync and the web interface delete goes to the trash
bin first; it does not count in the quota's "used" but the server keeps it until its
background jobs make room (rcwiz.nextcloud.trash says when). `list` shows each item with where
it was, when it was deleted and its size; `restore ITEM` puts a file or folder back where it
was; `rm ITEM` and `empty` delete for good, asking first. ITEM is an id from `list` or the
path an item was deleted from.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.commands import remote_names
from rcwiz.nextcloud import trash
from rcwiz.nextcloud.account import Account, account, usage
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context

AddCommand = Callable[..., argparse.ArgumentParser]


def add_arguments(parser: argparse.ArgumentParser, add_command: AddCommand) -> None:
    sub = parser.add_subparsers(dest="trash_command", metavar="ACTION", required=True)
    listing = add_command(
        sub, "list", "what the trash holds: where it was, when, its size", run_list
    )
    listing.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
    for name, help, action in (
        ("restore", "put an item (a file or a whole folder) back where it was", run_restore),
        ("rm", "delete an item for good (asks first)", run_rm),
    ):
        p = add_command(sub, name, help, action)
        p.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
        p.add_argument("item", metavar="ITEM", help="an id from 'trash list', or the old path")
        if name == "rm":
            p.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    empty = add_command(
        sub, "empty", "delete everything in the trash for good (asks first)", run_empty
    )
    empty.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
    empty.add_argument("--yes", "-y", action="store_true", help="empty it without asking")


def _account(ctx: Context, remote: str) -> Account:
    (name,) = remote_names([remote])
    return account(ctx.rclone, name)


def run_list(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    found = trash.items(acct)
    held = sum(i.bytes for i in found)
    space = usage(acct)
    most = trash.limit(space.total, space.used or 0)
    data = {
        "remote": acct.remote,
        "bytes": held,
        "limit": most,
        "items": [i.as_dict() for i in found],
    }

    def show(console: Console) -> None:
        if not found:
            console.out.print(f"The trash bin of {acct.remote} is empty.", markup=False)
            return
        from rcwiz.ui.review_tables import trash_table

        console.out.print(trash_table(found))
        rule = (
            f"; the server keeps at most {fmt.size(most)} (half the free quota), oldest "
            "removed first"
            if most is not None
            else ""
        )
        console.out.print(
            f"{len(found)} item(s), {fmt.size(held)}, not counted in the quota{rule}.",
            markup=False,
        )
        # Each command on a line of its own, never wrapped by rich: it is copied whole.
        for what, command in (
            ("restore one", f"rcwiz trash restore {acct.remote} ID"),
            ("empty it", f"rcwiz trash empty {acct.remote}"),
        ):
            console.out.print(f"    {what}: {command}", markup=False, soft_wrap=True)

    return Output(data, show)


def run_restore(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    item = trash.find(trash.items(acct), args.item, acct.remote)
    trash.restore(acct, item)
    what = "folder" if item.folder else "file"
    return Output(
        {"restored": item.as_dict()},
        lambda console: console.out.print(
            f"Restored the {what} {item.original} ({fmt.size(item.bytes)}).", markup=False
        ),
    )


def _ask(ctx: Context, args: argparse.Namespace, lines: list[str], question: str) -> None:
    out = ctx.console.err if ctx.console.json else ctx.console.out
    for line in lines:
        out.print(escape(line))
    from rcwiz.ui.wizard import ask_first

    ask_first(
        ctx.console,
        question,
        yes=args.yes,
        unasked="Deleting from the trash bin needs a yes, and there is no terminal to ask.",
        hint="Check what it holds with 'rcwiz trash list', then add --yes.",
    )


def run_rm(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    item = trash.find(trash.items(acct), args.item, acct.remote)
    line = f"{item.original} (deleted {fmt.when(item.deleted)}, {fmt.size(item.bytes)})"
    _ask(ctx, args, [f"From the trash bin of {acct.remote}: {line}"], "Delete it for good?")
    trash.delete(acct, item)
    return Output(
        {"deleted": item.as_dict()},
        lambda console: console.out.print(f"Deleted {item.original} for good.", markup=False),
    )


def run_empty(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    found = trash.items(acct)
    held = sum(i.bytes for i in found)
    if not found:
        return Output(
            {"deleted": 0, "bytes": 0},
            lambda console: console.out.print("The trash bin is already empty.", markup=False),
        )
    lines = [f"The trash bin of {acct.remote} holds {len(found)} item(s), {fmt.size(held)}."]
    _ask(ctx, args, lines, "Delete everything in it for good?")
    trash.empty(acct)
    left = trash.items(acct)
    if left:
        raise errors.ServerError(f"The server kept {len(left)} item(s) in the trash bin.")
    return Output(
        {"deleted": len(found), "bytes": held},
        lambda console: console.out.print(
            f"Emptied the trash bin: {len(found)} item(s), {fmt.size(held)}.", markup=False
        ),
    )
