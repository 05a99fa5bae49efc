"""`rcwiz share REMOTE:path`: a share link, or a share with a user or group, on Nextcloud.

`--list` on REMOTE: alone lists every share the account made (in any folder), on REMOTE:path
those of that path and of everything under it, each public link checked for what the
service page asks users to check (no password, no expiry, edit rights, old), with the command
that fixes it. `--unshare ID` and `--update ID` need only the remote.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.commands import days
from rcwiz.nextcloud import shares
from rcwiz.nextcloud.account import account
from rcwiz.ui.console import Console, escape, shell_join
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


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
    what.add_argument(
        "--list",
        action="store_true",
        help="list the shares of REMOTE:path and everything under it (REMOTE: alone: all)",
    )
    what.add_argument("--unshare", metavar="ID", help="delete the share with this id")
    what.add_argument(
        "--update",
        metavar="ID",
        help="change the share with this id (--password-stdin, --expire, --permissions)",
    )
    parser.add_argument(
        "--shared-with-me",
        action="store_true",
        help="with --list: also what other users share with this account",
    )
    parser.add_argument(
        "--older-than",
        type=days,
        default=shares.OLD_LINK_DAYS,
        metavar="AGE",
        help="with --list: flag links older than AGE "
        f"(90d, 12w, 1y; default {shares.OLD_LINK_DAYS:.0f}d)",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="protect the link with a password read from stdin",
    )
    parser.add_argument("--expire", metavar="YYYY-MM-DD", help="the share ends on this day")
    parser.add_argument(
        "--permissions", choices=sorted(shares.PERMISSIONS), help="read (the default) or edit"
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if not args.target or ":" not in args.target:
        raise errors.UsageError("Say what to share as REMOTE:path, e.g. nextcloud:results.")
    if args.expire:
        _check_expiry(args.expire)
    acct = account(ctx.rclone, args.target)
    client = acct.client()
    path = acct.path_of(args.target)
    if args.unshare or args.update:
        return _change(client, args, path)
    if args.list:
        return _list(client, args, path, acct.remote)
    password = _password(args)
    kind = "user" if args.user else "group" if args.group else "link"
    share = shares.create(
        client,
        path,
        kind,
        share_with=args.user or args.group,
        password=password,
        expire=args.expire,
        permissions=args.permissions or "read",
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


def _password(args: argparse.Namespace) -> str | None:
    """The password --password-stdin reads (one line), or None without that flag."""
    if not args.password_stdin:
        return None
    password = (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")
    if not password:
        raise errors.UsageError("--password-stdin was given but stdin is empty.")
    return password


def _change(client: shares.Client, args: argparse.Namespace, path: str) -> Output:
    """--unshare ID or --update ID: only a share of PATH or under it (all of the account's
    for REMOTE: alone), so a mistyped id never touches another share."""
    share_id = args.unshare or args.update
    if not any(s.id == share_id for s in shares.list_for(client, path)):
        where = "This account" if path == "/" else path
        done = "deleted" if args.unshare else "changed"
        raise errors.NotFound(
            f"{where} has no share with id {share_id}, so nothing was {done}.",
            "See its shares with: " + shell_join(["rcwiz", "share", args.target, "--list"]),
        )
    if args.unshare:
        shares.delete(client, share_id)
        return Output(
            {"deleted": share_id},
            lambda console: console.out.print(f"Deleted share {share_id}.", markup=False),
        )
    changes = {}
    password = _password(args)
    if password:
        changes["password"] = password
    if args.expire:
        changes["expireDate"] = args.expire
    if args.permissions:
        changes["permissions"] = str(shares.PERMISSIONS[args.permissions])
    if not changes:
        raise errors.UsageError(
            "--update changes nothing by itself.",
            "Add --password-stdin, --expire YYYY-MM-DD or --permissions read.",
        )
    share = shares.update(client, share_id, changes)
    words = {"password": "password", "expireDate": "expiry", "permissions": "permissions"}
    said = ", ".join(words[k] for k in changes)
    return Output(
        {"share": share.as_dict()},
        lambda console: console.out.print(f"Updated share {share_id} ({said}).", markup=False),
    )


def _list(client: shares.Client, args: argparse.Namespace, path: str, remote: str) -> Output:
    """Every share of PATH and under it, the risky links' findings, and (asked for) what
    others share with this account."""
    found = shares.list_for(client, path)
    now = time.time()
    findings = [
        f for s in found for f in shares.risks(s, remote, now=now, old_days=args.older_than)
    ]
    incoming = shares.shared_with_me(client) if args.shared_with_me else []
    data: dict[str, object] = {
        "path": path,
        "shares": [s.as_dict() for s in found],
        "risks": [
            {"id": f.share.id, "path": f.share.path, "risk": f.risk, "text": f.text, "fix": f.fix}
            for f in findings
        ],
    }
    if args.shared_with_me:
        data["shared_with_me"] = [s.as_dict() for s in incoming]

    def show(console: Console) -> None:
        _table(console, path, found)
        for f in findings:
            line = f"share {f.share.id} ({f.share.path}): {f.text}"
            console.out.print(f"[yellow]{escape(line)}[/]")
            # The fix on its own line, never wrapped by rich: it is copied whole.
            console.out.print(f"    fix: {f.fix}", markup=False, soft_wrap=True)
        if args.shared_with_me:
            if not incoming:
                console.out.print("Nobody shares anything with this account.", markup=False)
                return
            from rcwiz.ui.tables import shares_table

            console.out.print("Shared with this account:", markup=False)
            console.out.print(shares_table(incoming, incoming=True))

    return Output(data, show)


def _table(console: Console, path: str, found: list[shares.Share]) -> None:
    if not found:
        where = "this account's files" if path == "/" else f"{path} or anything under it"
        console.out.print(f"No shares of {where}.", markup=False)
        return
    from rcwiz.ui.tables import shares_table

    console.out.print(shares_table(found))
