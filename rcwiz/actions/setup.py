"""Creating a remote that works: the conversation, the verification, the save.

The conversation is a list of Questions (rcwiz.ui.wizard): preset, remote name, server or
URL, vendor, how to sign in, user, password. Each has a flag, so the same code path serves a
person at a terminal and a script on a login node. The password arrives hidden, on stdin or
from Nextcloud's Login Flow v2, is obscured through `rclone obscure -` (stdin), travels to
rclone only in the environment, and is written only in obscured form. Nothing is written
before verification passes (unless asked not to verify).
"""

from __future__ import annotations

import contextlib
import os
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions import setup_scheme
from rcwiz.actions.setup_questions import questions
from rcwiz.nextcloud import capabilities, loginflow
from rcwiz.nextcloud.account import Account, account
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import nextcloud_url
from rcwiz.presets import Preset, load_all
from rcwiz.rclone.about import Usage, about
from rcwiz.rclone.config import config_path, list_remotes, section
from rcwiz.rclone.config_edit import add_remote, obscure, refuse_encrypted
from rcwiz.rclone.lsjson import lsjson
from rcwiz.rclone.run import Rclone, bounded_flags
from rcwiz.ui.console import escape
from rcwiz.ui.wizard import Answers, Wizard, terminal_available

if TYPE_CHECKING:
    from rcwiz.clock import Clock
    from rcwiz.context import Context
    from rcwiz.ui.console import Console

LOGIN_FLOW_MARK = "app password from rcwiz login flow"


# ------------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Remote:
    name: str
    url: str
    vendor: str
    user: str

    def settings(self, obscured: str) -> dict[str, str]:
        return {
            "type": "webdav",
            "url": self.url,
            "vendor": self.vendor,
            "user": self.user,
            "pass": obscured,
        }


def verify(rclone: Rclone, remote: Remote, obscured: str) -> Usage | None:
    """List the root and read the quota through an on-the-fly :webdav: remote.

    Everything, the obscured password included, reaches rclone through RCLONE_WEBDAV_*
    environment variables, so nothing about the account shows in argv.
    """
    env = {
        "RCLONE_WEBDAV_URL": remote.url,
        "RCLONE_WEBDAV_VENDOR": remote.vendor,
        "RCLONE_WEBDAV_USER": remote.user,
        "RCLONE_WEBDAV_PASS": obscured,
    }
    try:
        # Bounded like `about`: a dead or hung server is noticed within the stall timeout.
        flags = bounded_flags(min(15.0, rclone.timeout), rclone.timeout)
        lsjson(
            rclone,
            ":webdav:",
            "--max-depth",
            "1",
            *flags,
            secret_env=env,
            target=remote.url,
            timeout=rclone.timeout,
        )
    except errors.DirectoryNotFound as exc:
        raise errors.DirectoryNotFound(
            f"The server has no WebDAV folder at {remote.url} (404 Not Found).",
            "Check the address and the user name (for Nextcloud, the user id).",
            detail=exc.detail,
        ) from exc
    try:
        return about(rclone, ":webdav:", secret_env=env)
    except errors.AboutUnsupported:
        return None  # listing works; some servers simply cannot report a quota


# What to do after each kind of failure, when nothing was saved (not errors.py's hints, which
# are for a remote that exists).
SETUP_HINTS = {
    errors.AuthenticationFailed: "Check the user name and the password (for Nextcloud an app "
    "password works too: Settings > Security). Nothing was saved.",
    errors.ServerUnreachable: "Check the address and your network. Nothing was saved.",
    errors.CertificateFailed: f"{errors.CertificateFailed.default_hint} Nothing was saved.",
    errors.NotEncrypted: f"{errors.NotEncrypted.default_hint} Nothing was saved.",
    errors.DirectoryNotFound: "Check the address and the user name (for Nextcloud, the user "
    "id). Nothing was saved.",
}
# What to ask again after each kind of failure, as (answer key, menu label).
RETRY = {
    errors.AuthenticationFailed: [
        ("password", "Enter the password again"),
        ("user", "Enter the user name again"),
    ],
    errors.ServerUnreachable: [("server", "Change the server address"), ("url", "Change the URL")],
    errors.DirectoryNotFound: [
        ("user", "Enter the user name again"),
        ("server", "Change the server address"),
        ("url", "Change the URL"),
    ],
}


# ------------------------------------------------------------------------------- the action


@dataclass(frozen=True)
class Choices:
    """How setup goes, besides the answers: the flags that are not questions."""

    yes: bool = False  # accept defaults without asking
    replace: bool = False  # a remote of the same name may be replaced
    verify: bool = True  # test the credentials before saving
    login_timeout: float = loginflow.TIMEOUT


@dataclass(frozen=True)
class Saved:
    """A remote setup wrote."""

    preset: Preset
    remote: Remote
    config: Path
    backup: Path | None
    usage: Usage | None
    verified: bool
    previous: Account | None  # the login-flow app password it replaced, to offer revoking

    def as_dict(self) -> dict[str, object]:
        return {
            "remote": self.remote.name,
            "url": self.remote.url,
            "vendor": self.remote.vendor,
            "user": self.remote.user,
            "config": str(self.config),
            "backup": str(self.backup) if self.backup else None,
            "verified": self.verified,
            "quota": self.usage.as_dict() if self.usage else None,
        }


def create(ctx: Context, given: dict[str, str | None], choices: Choices) -> tuple[Saved, Wizard]:
    """Ask what is not GIVEN, verify, and save the remote; the wizard is kept for follow-ups."""
    console = ctx.console
    rclone = ctx.rclone
    conf = Path(config_path(rclone)).expanduser()
    refuse_encrypted(conf, "rcwiz setup cannot write to it yet")
    presets = load_all()
    chosen = presets.get(str(given.get("preset")))
    if chosen is not None and chosen.kind == "nextcloud" and given.get("url"):
        # A pasted WebDAV URL: the server part is used.
        given["server"] = given.get("server") or given["url"]
    interactive = terminal_available()
    if not interactive and given.get("signin") is None:
        # A script says how it signs in (--login-flow or --password-stdin); --yes alone must
        # not start a browser login nobody will see.
        given["signin"] = "password"
    wizard = Wizard(console, given=given, interactive=interactive, assume_yes=choices.yes)
    notes: list[str] = []
    guessed: set[str] = set()
    said: set[str] = set()  # notes about the scheme already shown (once each)
    answers: Answers = {}
    # The name offered is a free one, unless --replace says an existing one is meant.
    taken = frozenset() if choices.replace else frozenset(r.name for r in list_remotes(rclone))
    asked = questions(presets, notes, guessed, taken)
    while True:
        wizard.ask_all(asked[:2], answers)  # preset and name
        replace = _settle_name(wizard, rclone, answers, choices.replace)
        if replace is not None:
            break
    while True:
        wizard.ask_all(asked, answers)
        for note in notes:
            console.note(f"[yellow]note:[/] {escape(note)}")
        notes.clear()
        preset = presets[answers["preset"]]
        usage = None
        try:
            _settle_scheme(answers, guessed, rclone.clock, said, console)
            if answers.get("signin") == "login-flow" and "password" not in answers:
                _login_flow(ctx, preset, answers, choices.login_timeout)
            remote = _remote(preset, answers)
            obscured = obscure(rclone, answers["password"])
            if not choices.verify:
                console.note("[yellow]Not verified[/] (--no-verify): credentials not tested.")
                break
            console.note(f"Checking {escape(remote.user)} at {escape(remote.url)} …")
            usage = verify(rclone, remote, obscured)
            break
        except (
            errors.AuthenticationFailed,
            errors.ServerUnreachable,
            errors.DirectoryNotFound,
        ) as exc:
            if not wizard.interactive:
                hint = errors.by_kind(SETUP_HINTS, exc, None)
                raise type(exc)(exc.message, hint, detail=exc.detail) from exc
            console.error(exc.message)
            options = [(k, label) for k, label in errors.by_kind(RETRY, exc, []) if k in answers]
            key = wizard.choose("What now?", [*options, ("cancel", "Cancel (nothing is saved)")])
            if key == "cancel":
                raise errors.Declined("Cancelled: nothing was saved.") from exc
            wizard.forget(answers, key)
    previous = login_flow_account(rclone, remote.name) if replace else None
    settings = remote.settings(obscured)
    if answers.get("signin") == "login-flow":
        settings["description"] = LOGIN_FLOW_MARK
    backup = add_remote(conf, remote.name, settings, replace=replace)
    if preset.kind == "nextcloud":
        _keep_capabilities(rclone, remote.name)
    saved = Saved(preset, remote, conf, backup, usage, choices.verify, previous)
    return saved, wizard


def _settle_scheme(
    answers: Answers, guessed: set[str], clock: Clock, said: set[str], console: Console
) -> None:
    """Decide https or http for the server answered before a password goes to it
    (rcwiz.actions.setup_scheme); say what was decided once. A WebDAV URL is always typed
    with its scheme: only the note about plain http applies to it."""
    key = next((k for k in ("server", "url") if answers.get(k)), None)
    if key is None:
        return
    server = answers[key]
    answers[key], note = setup_scheme.settle(server, server in guessed, clock)
    guessed.discard(server)
    if note and note not in said:
        said.add(note)
        console.note(f"[yellow]note:[/] {escape(note)}")


def _login_flow(ctx: Context, preset: Preset, answers: Answers, timeout: float) -> None:
    """Sign in through the browser; fill in user, password and the WebDAV user id."""
    server = answers.get("server") or preset.server or ""
    flow = loginflow.start(server, ctx.rclone.clock)
    out = ctx.console.err if ctx.console.json else ctx.console.out
    out.print("Open this address in a browser (on any computer), sign in and grant access:")
    out.print(flow.login_url, markup=False, soft_wrap=True)  # alone on its line: copy it whole
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        webbrowser.open(flow.login_url)
    out.print(f"Waiting up to {timeout / 60:.0f} minutes (Ctrl-C to stop) …", markup=False)
    granted = loginflow.poll(flow, ctx.rclone.clock, timeout=timeout)
    answers["user"] = granted.login_name
    answers["password"] = granted.app_password
    answers["server"] = granted.server.rstrip("/") or server
    try:  # the WebDAV URL needs the user id, which may differ from the login name (e.g. an e-mail)
        data = Client(
            answers["server"], granted.login_name, granted.app_password, clock=ctx.rclone.clock
        ).ocs("GET", "/ocs/v1.php/cloud/user")
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
        loginflow.revoke(old.server, old.user, old.password, ctx.rclone.clock)
        ctx.console.note(f"The app password of {old.user} on {old.server} was revoked.")
    except errors.RcwizError as exc:
        ctx.console.warn(f"Could not revoke the old app password: {exc.message}")


def _keep_capabilities(rclone: Rclone, name: str) -> None:
    """Read the server's capabilities once now; transfers use them later (best effort)."""
    with contextlib.suppress(errors.RcwizError, OSError):
        capabilities.save(name, capabilities.fetch(account(rclone, name).client()))


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
    choice = wizard.choose(
        f"A remote named '{name}' already exists. What now?",
        [
            ("rename", "Choose another name"),
            ("replace", f"Replace '{name}'"),
            ("cancel", "Cancel"),
        ],
    )
    if choice == "replace" and wizard.confirm(
        f"Replace the settings of '{name}'? (rclone.conf is backed up first)"
    ):
        return True
    if choice == "cancel":
        raise errors.Declined("Cancelled: nothing was saved.")
    wizard.forget(answers, "name")
    return None


def _remote(preset: Preset, answers: Answers) -> Remote:
    if preset.kind == "nextcloud":
        server = answers.get("server") or preset.server
        assert server is not None
        url = nextcloud_url(server, answers.get("dav_user") or answers["user"])
        return Remote(answers["name"], url, preset.vendor, answers["user"])
    return Remote(answers["name"], answers["url"], answers["vendor"], answers["user"])
