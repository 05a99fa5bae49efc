"""From an rclone remote to a Nextcloud account: server address, user, password.

The password is the remote's own (no second store): read obscured from rclone.conf through
`rclone config dump` and revealed in-process (rcwiz.rclone.obscure), so it never appears in
any process's argv.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from rcwiz import errors
from rcwiz.nextcloud.http import Client
from rcwiz.rclone.conf import section
from rcwiz.rclone.execute import Rclone
from rcwiz.rclone.obscure import reveal

DAV_FILES = "/remote.php/dav/files/"


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


def split_dav_url(url: str) -> tuple[str, str, str]:
    """https://x/nc/remote.php/dav/files/jdoe/sub/ -> ("https://x/nc", "jdoe", "/sub/")."""
    parts = urlsplit(url)
    head, found, tail = parts.path.partition(DAV_FILES)
    if not found or not tail.strip("/"):
        raise errors.UsageError(
            f"{url} is not a Nextcloud WebDAV address (…/remote.php/dav/files/USER/).",
            "Nextcloud features need a remote made with 'rcwiz setup' (a Nextcloud preset).",
        )
    server = urlunsplit((parts.scheme, parts.netloc, head.rstrip("/"), "", ""))
    user, _, rest = tail.strip("/").partition("/")
    return server, unquote(user), "/" + (unquote(rest) + "/" if rest else "")


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
