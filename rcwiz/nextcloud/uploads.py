"""Unfinished chunked uploads: what an interrupted or refused transfer leaves on Nextcloud.

rclone sends a file above the chunk size through Nextcloud's chunked upload v2: it creates
`/remote.php/dav/uploads/USER/rclone-chunked-upload-HASH/`, PUTs the chunks there and MOVEs
`.file` into place. When the run stops between those steps (Ctrl-C, a 507 at a chunk), the
folder and its chunks stay until the server's background job removes them (never, where cron
does not run), using space the user cannot see.

HASH is the MD5 of the file's path under the remote's root (rclone's webdav backend,
getChunksUploadDir, checked on Nextcloud 30), so the sessions a run may have started are known
exactly from the files it was sending: only those are removed, never another run's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.urls import uploads_path

PREFIX = "rclone-chunked-upload-"
_LENGTH = re.compile(r"<d:getcontentlength>(\d+)</d:getcontentlength>")
_RESPONSE = re.compile(r"<d:response>.*?</d:response>", re.S)
_HREF_FILE = re.compile(r"<d:href>[^<]*/\.file</d:href>")


def session_name(path: str) -> str:
    """The upload folder rclone makes for the file at PATH (relative to the remote's root)."""
    return PREFIX + hashlib.md5(path.strip("/").encode()).hexdigest()


@dataclass(frozen=True)
class Removed:
    name: str
    bytes: int  # what its chunks held


def _chunk_bytes(multistatus: str) -> int:
    """The bytes of a session's chunks; its virtual `.file` entry (the chunks put together,
    measured: the same size again) is not counted."""
    return sum(
        int(length)
        for block in _RESPONSE.findall(multistatus)
        if not _HREF_FILE.search(block)
        for length in _LENGTH.findall(block)
    )


def remove_sessions(
    acct: Account, paths: Iterable[str], clock: Clock | None = None
) -> list[Removed]:
    """Delete the upload folders rclone may have started for PATHS; return those that were there.

    Best effort: a folder that cannot be read or removed is left as it is. CLOCK, when given,
    is a shorter one than the run's (after Ctrl-C: rcwiz must end within moments).
    """
    client = acct.client(clock)
    base = uploads_path(acct.dav_user)
    removed = []
    for name in sorted({session_name(p) for p in paths}):
        try:
            listing = client.request("PROPFIND", f"{base}{name}/", headers={"Depth": "1"})
            if listing.status != 207:
                continue  # not there (404): this file's upload had not started, or finished
            size = _chunk_bytes(listing.body.decode("utf-8", "replace"))
            if client.request("DELETE", f"{base}{name}/").ok:
                removed.append(Removed(name, size))
        except errors.ServerUnreachable:
            break  # hung or gone: the next one would wait as long
        except errors.RcwizError:
            continue
    return removed
