"""Nextcloud's addresses: the server's base URL, the WebDAV URLs of a user's files and uploads.

The WebDAV URL rclone's Nextcloud vendor needs is `{server}/remote.php/dav/files/{user}/`;
people paste many other forms (a bare host, the legacy /remote.php/webdav/, a URL without the
user, a page under /index.php/), and `nextcloud_server` finds the base in each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from rcwiz import errors

DAV_FILES = "/remote.php/dav/files/"
DAV_UPLOADS = "/remote.php/dav/uploads/"


@dataclass(frozen=True)
class Corrected:
    value: str
    note: str | None = None
    guessed_https: bool = False  # no scheme was typed: https is a guess, http the fallback


def nextcloud_server(text: str) -> Corrected:
    """The base address of a Nextcloud from whatever was typed or pasted.

    Accepts a bare host, a server address, or a WebDAV URL (legacy /remote.php/webdav/ or
    /remote.php/dav/files/[USER]/), and explains in one line what it changed.
    """
    raw = text.strip()
    if not raw:
        raise errors.Invalid("The server address is empty.")
    note = None
    guessed = "://" not in raw
    if guessed:
        raw = "https://" + raw
        note = f"No scheme given: trying {raw}."
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.Invalid(
            f"'{text.strip()}' is not a server address like https://cloud.example.org."
        )
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
    return Corrected(base, note, guessed)


def nextcloud_url(server: str, user: str) -> str:
    """The WebDAV URL rclone's Nextcloud vendor needs: {server}/remote.php/dav/files/{user}/."""
    return f"{server.rstrip('/')}{DAV_FILES}{quote(user, safe='@')}/"


def files_path(dav_user: str, path: str = "") -> str:
    """The WebDAV path (under the server's base) of PATH in DAV_USER's files, quoted."""
    inside = quote(path.strip("/"))
    return f"{DAV_FILES}{quote(dav_user, safe='@')}/" + (f"{inside}/" if inside else "")


def file_path(dav_user: str, path: str) -> str:
    """The WebDAV path (under the server's base) of the file PATH in DAV_USER's files, quoted."""
    return f"{DAV_FILES}{quote(dav_user, safe='@')}/{quote(path.strip('/'))}"


def uploads_path(dav_user: str) -> str:
    """The WebDAV folder that holds DAV_USER's chunked uploads in progress."""
    return f"{DAV_UPLOADS}{quote(dav_user, safe='@')}/"


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
