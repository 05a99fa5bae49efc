"""From an rclone remote to a Nextcloud account: server address, user, password.

The password is the remote's own (no second store): read obscured from rclone.conf
(rcwiz.rclone.config: in-process, or `rclone config dump` for an encrypted file) and revealed
in-process (rcwiz.rclone.obscure), so it never appears in any process's argv.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.http import Seen
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import split_dav_url
from rcwiz.rclone.about import Usage
from rcwiz.rclone.config import section
from rcwiz.rclone.obscure import reveal
from rcwiz.rclone.run import Rclone


@dataclass(frozen=True)
class Account:
    remote: str
    server: str  # base URL (before /remote.php)
    user: str  # the login name (basic auth)
    dav_user: str  # the user id in the WebDAV URL (may differ from the login name)
    password: str = field(repr=False)
    root: str = "/"  # where the remote starts inside the user's files ("/" or "/sub/")
    clock: Clock = field(default_factory=Clock, compare=False)  # the run's (rcwiz.clock)
    seen: Seen = field(default_factory=Seen, compare=False)  # its answers, for all its clients

    def client(self, clock: Clock | None = None) -> Client:
        """A client for this account, on the run's clock (or CLOCK, a shorter one)."""
        return Client(
            self.server, self.user, self.password, clock=clock or self.clock, seen=self.seen
        )

    def path_of(self, remote_path: str) -> str:
        """REMOTE:sub/file -> "/sub/file" relative to the user's home (what OCS wants)."""
        inside = remote_path.split(":", 1)[1] if ":" in remote_path else remote_path
        return "/" + (self.root.strip("/") + "/" + inside.strip("/")).strip("/")


def account(rclone: Rclone, remote: str) -> Account:
    """The Nextcloud account behind REMOTE ("name" or "name:"), from rclone.conf."""
    name = remote.rstrip(":").split(":")[0]
    return account_from(name, section(rclone, name), rclone.clock)


def account_from(name: str, settings: Mapping[str, str], clock: Clock) -> Account:
    """The Nextcloud account of remote NAME, from its rclone.conf SETTINGS; its requests run
    on CLOCK (the run's)."""
    if settings.get("type") != "webdav":
        raise errors.UsageError(f"'{name}:' is not a WebDAV remote, so not a Nextcloud one.")
    server, dav_user, root = split_dav_url(settings.get("url", ""))
    obscured = settings.get("pass", "")
    try:
        password = reveal(obscured) if obscured else ""
    except ValueError as exc:
        raise errors.ConfigError(
            f"The password of '{name}:' in rclone.conf cannot be read.",
            f"Enter it again with '{errors.setup_replace(name)}'.",
        ) from exc
    user = settings.get("user", "")
    return Account(f"{name}:", server, user, dav_user, password, root, clock)


USER_API = "/ocs/v2.php/cloud/user"


def usage(acct: Account) -> Usage:
    """Used and free space from Nextcloud's OCS API (`cloud/user`), as the server knows it now.

    The WebDAV quota properties (what `rclone about` reads) are served from a cache for
    minutes on servers with a memcache, as production servers have: after a quota change or
    a deletion they still give the old figures, while OCS gives the new ones at once. A
    quota of -3 means none: then total and free are unknown, as `rclone about` reports it.
    """
    data = acct.client().ocs("GET", USER_API) or {}
    quota = data.get("quota") if isinstance(data, dict) else None
    figures = {
        k: v
        for k, v in (quota or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    if "used" not in figures or "quota" not in figures:
        raise errors.ServerError("Nextcloud's cloud/user answer has no quota figures.")
    used, limit = int(figures["used"]), int(figures["quota"])
    if limit < 0:  # -3: no quota (the disk is the limit)
        return Usage(acct.remote, used=used, source="ocs")
    # A user who never logged in has no storage yet: the answer then lacks total and free.
    total = int(figures.get("total", limit))
    free = int(figures.get("free", max(0, total - used)))
    return Usage(acct.remote, total, used, free, source="ocs")
