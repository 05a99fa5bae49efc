"""`rcwiz uploads list|rm REMOTE:`: upload sessions an interrupted upload left on Nextcloud.

A chunked upload (rclone's for files above its chunk size, rcwiz's own for big files, the
desktop client's) keeps its chunks under /remote.php/dav/uploads/USER/ until the file is put
together; a run that stops first leaves them there, using space the user cannot see, until
the server's background job removes them (never, where cron does not run). `list` shows each
session with its size and last change; `rm` removes them (all, or those named), asking first.
A session a running rcwiz of this user is writing is never removed, and one another program
changed in the last RECENT seconds only when named; one rcwiz keeps to resume an interrupted
upload (listed with its file) only when named or stale.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.commands import remote_names
from rcwiz.nextcloud import uploads
from rcwiz.nextcloud.account import Account, account
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context

AddCommand = Callable[..., argparse.ArgumentParser]


def add_arguments(parser: argparse.ArgumentParser, add_command: AddCommand) -> None:
    sub = parser.add_subparsers(dest="uploads_command", metavar="ACTION", required=True)
    listing = add_command(sub, "list", "every upload session, its size and last change", run_list)
    listing.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
    rm = add_command(
        sub, "rm", "remove upload sessions (all, or those named), asking first", run_rm
    )
    rm.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
    rm.add_argument("names", nargs="*", metavar="SESSION", help="only these sessions")
    rm.add_argument("--yes", "-y", action="store_true", help="remove without asking")


def _account(ctx: Context, remote: str) -> Account:
    (name,) = remote_names([remote])
    return account(ctx.rclone, name)


def state(session: uploads.Session, now: float) -> str:
    """Why SESSION is kept by `rm` ("" when nothing keeps it)."""
    if session.writer is not None:
        return f"being written by rcwiz (pid {session.writer})"
    if uploads.kept_for_resume(session):
        return f"kept to resume the upload of {session.resumes}"
    if uploads.may_be_written(session, now):
        return "recent: may still be written (name it to remove)"
    return ""


def run_list(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    found = uploads.sessions(acct)
    now = time.time()
    states = [state(s, now) for s in found]
    total = sum(s.bytes for s in found)
    data = {
        "remote": acct.remote,
        "bytes": total,
        "sessions": [
            {**s.as_dict(), "kept": st or None} for s, st in zip(found, states, strict=True)
        ],
    }

    def show(console: Console) -> None:
        if not found:
            console.out.print(f"No upload sessions on {acct.remote}.", markup=False)
            return
        from rcwiz.ui.review_tables import sessions_table

        console.out.print(sessions_table(found, states, now))
        kept = [s for s in found if uploads.kept_for_resume(s)]
        resumes = (
            f" {len(kept)} of them rcwiz keeps to resume an interrupted upload (the next run "
            "of the same command continues it; `rm` removes it only when named)."
            if kept
            else ""
        )
        console.out.print(
            f"{len(found)} session(s) hold {fmt.size(total)} (not counted in the quota).{resumes} "
            f"Remove them with: rcwiz uploads rm {acct.remote}",
            markup=False,
        )

    return Output(data, show)


def run_rm(ctx: Context, args: argparse.Namespace) -> Output:
    acct = _account(ctx, args.remote)
    found = {s.name: s for s in uploads.sessions(acct)}
    missing = [n for n in args.names if n not in found]
    if missing:
        raise errors.NotFound(
            f"{acct.remote} has no upload session {missing[0]}, so nothing was removed.",
            f"See them with: rcwiz uploads list {acct.remote}",
        )
    now = time.time()
    chosen, kept = [], []
    for name in args.names or sorted(found):
        session = found[name]
        # A running rcwiz's session is never removed; a recent one only when named.
        named = bool(args.names)
        if session.writer is not None or (
            not named and (uploads.may_be_written(session, now) or uploads.kept_for_resume(session))
        ):
            kept.append((session, state(session, now)))
        else:
            chosen.append(session)
    out = ctx.console.err if ctx.console.json else ctx.console.out
    for session, why in kept:
        out.print(f"Kept {escape(session.name)}: {escape(why)}.")
    if chosen:
        size = fmt.size(sum(s.bytes for s in chosen))
        out.print(f"{len(chosen)} upload session(s) of {escape(acct.remote)} hold {size}:")
        for session in chosen:
            out.print(f"  - {escape(session.name)} ({fmt.size(session.bytes)})")
        from rcwiz.ui.wizard import ask_first

        ask_first(
            ctx.console,
            "Remove these upload sessions (their uploads cannot be resumed)?",
            yes=args.yes,
            unasked=f"Removing {len(chosen)} upload session(s) needs a yes, and there is "
            "no terminal to ask.",
            hint="Check the list, then add --yes.",
        )
    removed = []
    for session in chosen:
        uploads.remove(acct, session.name)
        removed.append(session)
    freed = sum(s.bytes for s in removed)
    data = {
        "remote": acct.remote,
        "removed": [s.as_dict() for s in removed],
        "kept": [{**s.as_dict(), "kept": why} for s, why in kept],
        "bytes": freed,
    }

    def show(console: Console) -> None:
        if not removed:
            console.out.print("No upload session was removed.", markup=False)
            return
        console.out.print(
            f"Removed {len(removed)} upload session(s), {fmt.size(freed)}.", markup=False
        )

    return Output(data, show)
