"""`rcwiz setup`: create a Nextcloud or WebDAV remote that works, verified before it is saved.

The conversation is a list of Questions (rcwiz.wizard): preset, remote name, server or URL,
vendor, user, password. Each has a flag, so the same code path serves a person at a terminal
and a script on a login node. The password arrives hidden or on stdin, is obscured through
`rclone obscure -` (stdin), travels to rclone only in the environment, and is written only in
obscured form. Nothing is written before verification passes (unless --no-verify).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from rcwiz import errors
from rcwiz.console import escape
from rcwiz.nextcloud import capabilities, loginflow
from rcwiz.nextcloud.account import Account, account
from rcwiz.nextcloud.http import Client
from rcwiz.presets import Preset, load_all
from rcwiz.quota import Usage, about
from rcwiz.rclone.conf import (
    ENCRYPTED_MARKER,
    add_remote,
    config_path,
    list_remotes,
    obscure,
    section,
)
from rcwiz.rclone.execute import Rclone
from rcwiz.ui import format as fmt
from rcwiz.wizard import Answers, Invalid, Question, Wizard, terminal_available

if TYPE_CHECKING:
    from rcwiz.cli import Context

APP_PASSWORD_HINT = (
    "For Nextcloud an app password is best: in the web page, Settings > Security > "
    "'Create new app password'. It can be revoked later without changing your main password."
)
# Enough for a slow login node, short enough that a dead server is noticed.
VERIFY_FLAGS = ("--contimeout", "15s", "--timeout", "30s", "--low-level-retries", "1",
                "--retries", "1")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="alliance, nextcloud or webdav (see templates/presets)")
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
        type=float,
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


# ------------------------------------------------------------------------------- URLs


@dataclass(frozen=True)
class Corrected:
    value: str
    note: str | None = None


def nextcloud_server(text: str) -> Corrected:
    """The base address of a Nextcloud from whatever was typed or pasted.

    Accepts a bare host, a server address, or a WebDAV URL (legacy /remote.php/webdav/ or
    /remote.php/dav/files/[USER]/), and explains in one line what it changed.
    """
    raw = text.strip()
    if not raw:
        raise Invalid("The server address is empty.")
    note = None
    if "://" not in raw:
        raw = "https://" + raw
        note = f"No scheme given: using {raw}."
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"'{text.strip()}' is not a server address like https://cloud.example.org.")
    path = parts.path
    if "/remote.php/" in path or path.rstrip("/").endswith("/remote.php"):
        path, _, dav = path.partition("/remote.php")
        dav = dav.strip("/")
        if dav.startswith("webdav"):
            note = (
                "That is Nextcloud's legacy WebDAV address (/remote.php/webdav/); rclone's "
                "Nextcloud mode needs /remote.php/dav/files/USER/, which rcwiz builds."
            )
        elif re.fullmatch(r"dav/files/?", dav) or dav == "dav":
            note = (
                "That WebDAV address lacks the user name; rcwiz builds the full one, "
                "/remote.php/dav/files/USER/."
            )
        else:
            note = "rcwiz builds the WebDAV address itself from the server and the user name."
    elif "/index.php" in path:
        path = path.partition("/index.php")[0]
        note = "Using the server's base address (the part before /index.php)."
    base = urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))
    return Corrected(base, note)


def nextcloud_url(server: str, user: str) -> str:
    """The WebDAV URL rclone's Nextcloud vendor needs: {server}/remote.php/dav/files/{user}/."""
    return f"{server.rstrip('/')}/remote.php/dav/files/{quote(user, safe='@')}/"


def webdav_url(text: str) -> str:
    raw = text.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"'{raw}' is not a URL like https://dav.example.org/path/.")
    return raw


# ------------------------------------------------------------------------------- questions


def _remote_name(value: str, answers: Answers) -> str:
    name = value.strip()
    if not re.fullmatch(r"[\w.+@-][\w.+@ -]*", name) or name != name.rstrip():
        raise Invalid(f"'{value}' cannot be a remote name: use letters, digits, _ - . + @.")
    return name


def _user(value: str, answers: Answers) -> str:
    user = value.strip()
    if not user or any(c in user for c in "/\n\r"):
        raise Invalid("The user name is empty or contains '/'.")
    return user


def _password(value: str, answers: Answers) -> str:
    if not value:
        raise Invalid("The password is empty.")
    return value


def questions(presets: dict[str, Preset], notes: list[str]) -> list[Question]:
    """The setup conversation as data. NOTES collects one-line explanations of corrections."""

    def preset(answers: Answers) -> Preset:
        return presets[answers["preset"]]

    def server(value: str, answers: Answers) -> str:
        corrected = nextcloud_server(value)
        if corrected.note:
            notes.append(corrected.note)
        return corrected.value

    def typed(answers: Answers) -> bool:
        return answers.get("signin") != "login-flow"

    def app_password_hint(answers: Answers) -> str | None:
        return APP_PASSWORD_HINT if preset(answers).kind == "nextcloud" else None

    return [
        Question("preset", "--preset", "Which service?", kind="select",
                 choices=lambda a: [(p.name, p.title) for p in presets.values()]),
        Question("name", "--name", "Name of the remote", default=lambda a: preset(a).remote_name,
                 check=_remote_name),
        Question("server", "--server", "Nextcloud server address (e.g. https://cloud.example.org)",
                 check=server,
                 when=lambda a: preset(a).kind == "nextcloud" and not preset(a).server),
        Question("url", "--url", "WebDAV URL", check=lambda v, a: webdav_url(v),
                 when=lambda a: preset(a).kind == "webdav"),
        Question("vendor", "--vendor", "Server software (rclone's vendor)", kind="select",
                 choices=lambda a: [(v, v) for v in preset(a).vendors or (preset(a).vendor,)],
                 default=lambda a: preset(a).vendor,
                 when=lambda a: preset(a).kind == "webdav"),
        Question("signin", "--login-flow", "How do you want to sign in?", kind="select",
                 choices=lambda a: [("login-flow", "In a browser (login flow; recommended)"),
                                    ("password", "Type a password or app password")],
                 default=lambda a: "password",
                 when=lambda a: preset(a).kind == "nextcloud"),
        Question("user", "--user", "User name", check=_user, when=typed),
        Question("password", "--password-stdin", "Password or app password", kind="password",
                 when=typed,
                 check=_password, instruction=app_password_hint),
    ]  # fmt: skip


# ------------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    vendor: str
    user: str

    def settings(self, obscured: str) -> dict[str, str]:
        return {"type": "webdav", "url": self.url, "vendor": self.vendor, "user": self.user,
                "pass": obscured}  # fmt: skip


def verify(rclone: Rclone, remote: Remote, obscured: str) -> Usage | None:
    """List the root and read the quota through an on-the-fly :webdav: remote.

    Everything, the obscured password included, reaches rclone through RCLONE_WEBDAV_*
    environment variables, so nothing about the account shows in argv.
    """
    env = {"RCLONE_WEBDAV_URL": remote.url, "RCLONE_WEBDAV_VENDOR": remote.vendor,
           "RCLONE_WEBDAV_USER": remote.user, "RCLONE_WEBDAV_PASS": obscured}  # fmt: skip
    try:
        rclone.run(
            ["lsjson", ":webdav:", "--max-depth", "1", *VERIFY_FLAGS],
            secret_env=env,
            target=remote.url,
        )
    except errors.DirectoryNotFound as exc:
        raise errors.DirectoryNotFound(
            f"The server has no WebDAV folder at {remote.url} (404 Not Found).",
            "Check the address and the user name (for Nextcloud, the user id).",
            detail=exc.detail,
        ) from exc
    try:
        return about(rclone, ":webdav:", secret_env=env, extra=VERIFY_FLAGS)
    except errors.RcloneFailed:
        return None  # listing works; some servers simply cannot report a quota


# What to ask again after each kind of failure, as (answer key, menu label).
RETRY = {
    errors.AuthenticationFailed: [("password", "Enter the password again"),
                                  ("user", "Enter the user name again")],
    errors.ServerUnreachable: [("server", "Change the server address"), ("url", "Change the URL")],
    errors.DirectoryNotFound: [("user", "Enter the user name again"), ("server", "Change the "
                               "server address"), ("url", "Change the URL")],
}  # fmt: skip


# ------------------------------------------------------------------------------- the action


def run(ctx: Context, args: argparse.Namespace) -> int:
    console = ctx.console
    rclone = ctx.rclone
    conf = Path(config_path(rclone)).expanduser()
    if conf.exists() and ENCRYPTED_MARKER in conf.read_text(encoding="utf-8", errors="replace"):
        raise errors.ConfigError(
            f"rclone.conf at {conf} is encrypted; rcwiz setup cannot write to it yet.",
            "Add the remote with 'rclone config', or remove the encryption with "
            "'rclone config encryption remove' first.",
        )
    presets = load_all()
    wizard = Wizard(
        console, given=_given(args, presets), interactive=terminal_available(), assume_yes=args.yes
    )
    notes: list[str] = []
    answers: Answers = {}
    asked = questions(presets, notes)
    replace = False
    while True:
        wizard.ask_all(asked[:2], answers)  # preset and name
        replace = _settle_name(wizard, rclone, answers, args.replace)
        if replace is not None:
            break
    while True:
        wizard.ask_all(asked, answers)
        for note in notes:
            console.note(f"[yellow]note:[/] {escape(note)}")
        notes.clear()
        preset = presets[answers["preset"]]
        if answers.get("signin") == "login-flow" and "password" not in answers:
            _login_flow(ctx, preset, answers, args.login_timeout)
        remote = _remote(preset, answers)
        obscured = obscure(rclone, answers["password"])
        if args.no_verify:
            console.note("[yellow]Not verified[/] (--no-verify): the credentials were not tested.")
            usage = None
            break
        console.note(f"Checking {escape(remote.user)} at {escape(remote.url)} …")
        try:
            usage = verify(rclone, remote, obscured)
            break
        except (
            errors.AuthenticationFailed,
            errors.ServerUnreachable,
            errors.DirectoryNotFound,
        ) as exc:
            if not wizard.interactive:
                raise type(exc)(
                    exc.message, f"{exc.hint} Nothing was saved.", detail=exc.detail
                ) from exc
            console.error(exc.message)
            options = [(k, label) for k, label in RETRY[type(exc)] if k in answers]
            key = wizard.choose("What now?", [*options, ("cancel", "Cancel (nothing is saved)")])
            if key == "cancel":
                raise errors.Interrupted("Cancelled: nothing was saved.") from exc
            wizard.forget(answers, key)
    previous = login_flow_account(rclone, remote.name) if replace else None
    settings = remote.settings(obscured)
    if answers.get("signin") == "login-flow":
        settings["description"] = LOGIN_FLOW_MARK
    backup = add_remote(conf, remote.name, settings, replace=replace)
    _report(ctx, preset, remote, conf, backup, usage, verified=not args.no_verify)
    if preset.kind == "nextcloud":
        _keep_capabilities(rclone, remote.name)
    if previous is not None:
        offer_revoke(ctx, wizard, previous)
    return 0


LOGIN_FLOW_MARK = "app password from rcwiz login flow"


def _login_flow(ctx: Context, preset: Preset, answers: Answers, timeout: float) -> None:
    """Sign in through the browser; fill in user, password and the WebDAV user id."""
    server = answers.get("server") or preset.server or ""
    flow = loginflow.start(server)
    out = ctx.console.err if ctx.console.json else ctx.console.out
    out.print("Open this address in a browser (on any computer), sign in and grant access:")
    out.print(f"  {flow.login_url}", markup=False, soft_wrap=True)
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        webbrowser.open(flow.login_url)
    out.print(f"Waiting up to {timeout / 60:.0f} minutes (Ctrl-C to stop) …", markup=False)
    granted = loginflow.poll(flow, timeout=timeout)
    answers["user"] = granted.login_name
    answers["password"] = granted.app_password
    answers["server"] = granted.server.rstrip("/") or server
    try:  # the user id in WebDAV URLs may differ from the login name (e.g. an e-mail)
        data = Client(answers["server"], granted.login_name, granted.app_password).ocs(
            "GET", "/ocs/v1.php/cloud/user"
        )
        answers["dav_user"] = str((data or {}).get("id") or granted.login_name)
    except errors.RcwizError:
        answers["dav_user"] = granted.login_name
    out.print(
        f"Signed in as {granted.login_name}; an app password was created for rcwiz.", markup=False
    )


def login_flow_account(rclone: Rclone, name: str) -> Account | None:
    """The account of remote NAME if it holds a login-flow app password (to offer revoking)."""
    try:
        if section(rclone, name).get("description") != LOGIN_FLOW_MARK:
            return None
        return account(rclone, name)
    except errors.RcwizError:
        return None


def offer_revoke(ctx: Context, wizard: Wizard, old: Account, *, revoke: bool | None = None) -> None:
    """Ask (or, with REVOKE set, just do as told) whether to revoke an app password."""
    if revoke is None:
        revoke = wizard.confirm(
            f"Revoke the old app password of {old.user} on {old.server}?", default=True
        )
    if not revoke:
        ctx.console.note(
            "The old app password stays valid; revoke it in Nextcloud's settings "
            "(Security > Devices & sessions) if it is no longer needed."
        )
        return
    try:
        loginflow.revoke(old.server, old.user, old.password)
        ctx.console.note(f"The app password of {old.user} on {old.server} was revoked.")
    except errors.RcwizError as exc:
        ctx.console.warn(f"Could not revoke the old app password: {exc.message}")


def _keep_capabilities(rclone: Rclone, name: str) -> None:
    """Read the server's capabilities once now; transfers use them later (best effort)."""
    with contextlib.suppress(errors.RcwizError):
        capabilities.save(name, capabilities.fetch(account(rclone, name).client()))


def _given(args: argparse.Namespace, presets: dict[str, Preset]) -> dict[str, str | None]:
    given: dict[str, str | None] = {
        "preset": args.preset, "name": args.name, "server": args.server or None,
        "url": args.url, "vendor": args.vendor, "user": args.user,
    }  # fmt: skip
    preset = presets.get(args.preset or "")
    if preset is not None and preset.kind == "nextcloud" and args.url and not args.server:
        given["server"] = args.url  # a pasted WebDAV URL: the server part is used
    if args.login_flow:
        given["signin"] = "login-flow"
    elif args.password_stdin:
        given["signin"] = "password"
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise errors.UsageError(
                "--password-stdin was given but stdin is empty.",
                "Pipe the password in: printf '%s\\n' \"$PW\" | rcwiz setup …",
            )
        given["password"] = line.rstrip("\r\n")
    return given


def _settle_name(wizard: Wizard, rclone: Rclone, answers: Answers, replace: bool) -> bool | None:
    """Decide what to do when the name is taken: True replace, False new, None ask again."""
    taken = {r.name for r in list_remotes(rclone) if r.source == "file"}
    name = answers["name"]
    if name not in taken:
        return False
    if replace:
        return True
    if not wizard.interactive:
        raise errors.UsageError(
            f"A remote named '{name}' already exists.",
            "Choose another --name, or add --replace to replace it.",
        )
    choice = wizard.choose(f"A remote named '{name}' already exists. What now?", [
        ("rename", "Choose another name"), ("replace", f"Replace '{name}'"), ("cancel", "Cancel"),
    ])  # fmt: skip
    if choice == "replace" and wizard.confirm(
        f"Replace the settings of '{name}'? (rclone.conf is backed up first)"
    ):
        return True
    if choice == "cancel":
        raise errors.Interrupted("Cancelled: nothing was saved.")
    wizard.forget(answers, "name")
    return None


def _remote(preset: Preset, answers: Answers) -> Remote:
    if preset.kind == "nextcloud":
        server = answers.get("server") or preset.server
        assert server is not None
        url = nextcloud_url(server, answers.get("dav_user") or answers["user"])
        return Remote(answers["name"], url, preset.vendor, answers["user"])
    return Remote(answers["name"], answers["url"], answers["vendor"], answers["user"])


def _report(
    ctx: Context,
    preset: Preset,
    remote: Remote,
    conf: Path,
    backup: Path | None,
    usage: Usage | None,
    *,
    verified: bool,
) -> None:
    console = ctx.console
    if console.json:
        console.emit_json({
            "remote": remote.name, "url": remote.url, "vendor": remote.vendor,
            "user": remote.user, "config": str(conf), "backup": str(backup) if backup else None,
            "verified": verified, "quota": usage.as_dict() if usage else None,
        })  # fmt: skip
        return
    out = console.out
    out.print(f"[bold green]Saved[/] remote [bold]{escape(remote.name)}:[/] in {escape(str(conf))}")
    if backup:
        out.print(f"  previous file kept as {escape(str(backup))}")
    for label, value in (
        ("url", remote.url),
        ("vendor", remote.vendor),
        ("user", remote.user),
        ("password", "stored obscured (reversible; see README, Security)"),
    ):
        out.print(f"  {label:9} {escape(value)}")
    if usage is not None and usage.reported:
        out.print(
            f"  quota     {fmt.size(usage.used)} used of {fmt.size(usage.total)}, "
            f"{fmt.size(usage.free)} free"
        )
    for line in preset.notes():
        out.print(f"  [dim]{escape(line)}[/]")
    out.print("Next, try:")
    for command in (
        f"rcwiz quota {remote.name}:",
        f"rcwiz copy ./results {remote.name}:results",
        "rcwiz job add",
    ):
        out.print(f"  {escape(command)}")
