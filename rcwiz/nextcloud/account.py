"""From an rclone remote to a Nextcloud account: server address, user, password.

The password is the remote's own (no second store): read obscured from rclone.conf through
`rclone config dump` and revealed in-process (rcwiz.rclone.obscure), so it never appears in
any process's argv.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rcwiz import errors
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import split_dav_url
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

    def client(self) -> Client:
        return Client(self.server, self.user, self.password)

    def path_of(self, remote_path: str) -> str:
        """REMOTE:sub/file -> "/sub/file" relative to the user's home (what OCS wants)."""
        inside = remote_path.split(":", 1)[1] if ":" in remote_path else remote_path
        return "/" + (self.root.strip("/") + "/" + inside.strip("/")).strip("/")


def account(rclone: Rclone, remote: str) -> Account:
    """The Nextcloud account behind REMOTE ("name" or "name:")."""
    name = remote.rstrip(":").split(":")[0]
    settings = section(rclone, name)
    if settings.get("type") != "webdav":
        raise errors.UsageError(f"'{name}:' is not a WebDAV remote, so not a Nextcloud one.")
    server, dav_user, root = split_dav_url(settings.get("url", ""))
    obscured = settings.get("pass", "")
    try:
        password = reveal(obscured) if obscured else ""
    except ValueError as exc:
        raise errors.ConfigError(
            f"The password of '{name}:' in rclone.conf cannot be read.",
            "Enter it again with 'rcwiz setup --replace'.",
        ) from exc
    return Account(f"{name}:", server, settings.get("user", ""), dav_user, password, root)
