"""`rcwiz setup`: create a Nextcloud or WebDAV remote that works, verified before it is saved.

The conversation, the check and the save are rcwiz.actions.setup; this module takes the
answers given as flags (the password from stdin) and shows what was saved.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rcwiz import errors, paths
from rcwiz.actions.setup import Choices, Saved, create, offer_revoke
from rcwiz.commands import positive_float
from rcwiz.nextcloud import loginflow
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", help=f"the kind of server: {', '.join(paths.shipped('presets'))}"
    )
    parser.add_argument("--name", help="name of the remote (default from the preset)")
    parser.add_argument("--server", help="Nextcloud server address, e.g. https://cloud.example.org")
    parser.add_argument("--url", help="WebDAV URL (preset webdav); for Nextcloud, same as --server")
    parser.add_argument("--vendor", help="WebDAV server software: other, owncloud, sharepoint...")
    parser.add_argument("--user", help="user (login) name")
    parser.add_argument(
        "--login-flow",
        action="store_true",
        help="Nextcloud: sign in in a browser and get an app password (nothing typed)",
    )
    parser.add_argument(
        "--login-timeout",
        type=positive_float,
        default=loginflow.TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for the browser sign-in (default 600)",
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password (or app password) from the first line of stdin",
    )
    parser.add_argument(
        "--yes", "-y", action="store_true", help="accept defaults and confirmations without asking"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace a remote of the same name (a backup of the file is kept)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="save without testing the credentials against the server",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    choices = Choices(
        yes=args.yes,
        replace=args.replace,
        verify=not args.no_verify,
        login_timeout=args.login_timeout,
    )
    saved, wizard = create(ctx, _given(args), choices)

    def then() -> None:
        if saved.previous is not None:
            offer_revoke(ctx, wizard, saved.previous)

    return Output(saved.as_dict(), lambda console: _show(console, saved), then=then)


def _given(args: argparse.Namespace) -> dict[str, str | None]:
    """The answers given as flags (and the password from stdin)."""
    given: dict[str, str | None] = {
        "preset": args.preset,
        "name": args.name,
        "server": args.server or None,
        "url": args.url,
        "vendor": args.vendor,
        "user": args.user,
    }
    if args.login_flow:
        given["signin"] = "login-flow"
    elif args.password_stdin:
        given["signin"] = "password"
    if args.password_stdin:
        line = sys.stdin.readline() if sys.stdin is not None else ""  # None: stdin closed
        if not line:
            raise errors.UsageError(
                "--password-stdin was given but stdin is empty.",
                "Pipe the password in: printf '%s\\n' \"$PW\" | rcwiz setup …",
            )
        given["password"] = line.rstrip("\r\n")
    return given


def _show(console: Console, saved: Saved) -> None:
    out = console.out
    remote = saved.remote
    conf = escape(str(saved.config))
    out.print(f"[bold green]Saved[/] remote [bold]{escape(remote.name)}:[/] in {conf}")
    if saved.backup:
        out.print(f"  previous file kept as {escape(str(saved.backup))}")
    for label, value in (
        ("url", remote.url),
        ("vendor", remote.vendor),
        ("user", remote.user),
        ("password", "stored obscured (reversible; see README, Security)"),
    ):
        out.print(f"  {label:9} {escape(value)}")
    usage = saved.usage
    if usage is not None and usage.reported:
        out.print(
            f"  quota     {fmt.size(usage.used)} used of {fmt.size(usage.total)}, "
            f"{fmt.size(usage.free)} free"
        )
    for line in saved.preset.notes():
        out.print(f"  [dim]{escape(line)}[/]")
    out.print("Next, try:")
    for command in (
        f"rcwiz quota {remote.name}:",
        f"rcwiz copy ./results {remote.name}:results",
        "rcwiz job add",
    ):
        out.print(f"  {escape(command)}")
