"""`rcwiz share REMOTE:path`: a share link, or a share with a user or group, on Nextcloud."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.nextcloud import shares
from rcwiz.nextcloud.account import account
from rcwiz.ui.console import Console
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.cli import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="REMOTE:path",
        nargs="?",
        help="what to share (a file or folder on a Nextcloud remote)",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--link", action="store_true", help="a public link (the default)")
    what.add_argument("--user", metavar="USER", help="share with a Nextcloud user")
    what.add_argument("--group", metavar="GROUP", help="share with a Nextcloud group")
    what.add_argument("--list", action="store_true", help="list the shares of REMOTE:path")
    what.add_argument("--unshare", metavar="ID", help="delete the share with this id")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="protect the link with a password read from stdin",
    )
    parser.add_argument("--expire", metavar="YYYY-MM-DD", help="the share ends on this day")
    parser.add_argument("--permissions", choices=sorted(shares.PERMISSIONS), default="read")


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if not args.target or ":" not in args.target:
        raise errors.UsageError("Say what to share as REMOTE:path, e.g. nextcloud:results.")
    if args.expire:
        _check_expiry(args.expire)
    acct = account(ctx.rclone, args.target)
    client = acct.client()
    path = acct.path_of(args.target)
    if args.unshare:
        # The id must be one of PATH's shares: a mistyped id must not delete another share.
        if not any(s.id == args.unshare for s in shares.list_for(client, path)):
            raise errors.NotFound(
                f"{path} has no share with id {args.unshare}, so nothing was deleted.",
                f"See its shares with: rcwiz share {args.target} --list",
            )
        shares.delete(client, args.unshare)
        unshared = args.unshare
        return Output(
            {"deleted": unshared},
            lambda console: console.out.print(f"Deleted share {unshared}.", markup=False),
        )
    if args.list:
        found = shares.list_for(client, path)
        data = {"path": path, "shares": [s.as_dict() for s in found]}
        return Output(data, lambda console: _table(console, path, found))
    password = None
    if args.password_stdin:
        password = (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")
        if not password:
            raise errors.UsageError("--password-stdin was given but stdin is empty.")
    kind = "user" if args.user else "group" if args.group else "link"
    share = shares.create(
        client,
        path,
        kind,
        share_with=args.user or args.group,
        password=password,
        expire=args.expire,
        permissions=args.permissions,
    )

    def show(console: Console) -> None:
        if share.url:
            console.out.print(share.url, markup=False, soft_wrap=True)
            # On stderr: `link=$(rcwiz share ...)` still gets the link alone.
            console.err.print(_link_terms(share), markup=False)
        else:
            console.out.print(
                f"Shared {path} with {kind} {share.share_with} (share id {share.id}).",
                markup=False,
            )

    return Output({"share": share.as_dict()}, show)


def _check_expiry(text: str) -> None:
    """--expire is a real day after today, checked before the server is asked (Nextcloud
    calls today "in the past": a share ends at the start of its day)."""
    try:
        day = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else None
    except ValueError:
        day = None
    if day is None:
        raise errors.UsageError(
            f"--expire {text} is not a date.", "Write the day as YYYY-MM-DD, e.g. 2027-01-31."
        )
    if day <= date.today():
        raise errors.UsageError(
            f"--expire {text} is not after today ({date.today()}): a share ends on a later day.",
            "Give a day after today, or leave --expire out for a share that does not end.",
        )


def _link_terms(share: shares.Share) -> str:
    """What a new link allows, in one line: until when, and whether it needs a password."""
    until = f"Expires on {share.expiration[:10]}" if share.expiration else "Does not expire"
    password = "needs the password you gave" if share.password_protected else "has no password"
    return f"{until}; {password}; {shares.describe_permissions(share.permissions)}."


def _table(console: Console, path: str, found: list[shares.Share]) -> None:
    if not found:
        console.out.print(f"No shares of {path}.", markup=False)
        return
    from rcwiz.ui.tables import shares_table

    console.out.print(shares_table(found))
