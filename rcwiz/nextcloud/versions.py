"""Old versions of a file on Nextcloud (apps/files_versions through WebDAV):

    PROPFIND {server}/remote.php/dav/files/USER/PATH           Depth: 0, oc:fileid
    PROPFIND {server}/remote.php/dav/versions/USER/versions/ID Depth: 1, the versions
    MOVE     .../versions/ID/VERSION  Destination: .../versions/USER/restore/target

VERSION is the time the version was made (seconds since the epoch). Nextcloud 30 lists the
current content too, as the newest entry: it is marked `current` here. A restore makes the
chosen version the file's content; the content it replaces becomes a version in turn, so a
restore can be undone the same way. Versions do not count in the quota's "used"; the server
keeps them within half the free quota and thins them out with age (its background jobs).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import quote

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import raise_for_status
from rcwiz.nextcloud.urls import file_path

VERSIONS = "/remote.php/dav/versions/"


@dataclass(frozen=True)
class Version:
    id: str  # its time as the server names it
    time: float | None
    bytes: int
    current: bool  # the file's content now

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _base(acct: Account) -> str:
    return f"{VERSIONS}{quote(acct.dav_user, safe='@')}/"


def file_info(acct: Account, path: str) -> tuple[str, int, float | None]:
    """(file id, size, modification time) of the file PATH (relative to the home)."""
    props = (
        f"{dav.OC}fileid",
        f"{dav.D}getcontentlength",
        f"{dav.D}getlastmodified",
        f"{dav.D}resourcetype",
    )
    found = dav.propfind(acct.client(), file_path(acct.dav_user, path), "0", *props)
    if not found:
        raise errors.NotFound(f"There is no file {path} on {acct.remote}.")
    (entry,) = found[:1]
    if entry.folder:
        raise errors.UsageError(
            f"{path} is a folder: versions are kept per file.", "Name a file in it."
        )
    return (
        entry.props.get(f"{dav.OC}fileid", ""),
        entry.number(f"{dav.D}getcontentlength") or 0,
        entry.time(),
    )


def versions(acct: Account, path: str) -> list[Version]:
    """The versions of the file PATH, newest first, the current content marked."""
    file_id, size, mtime = file_info(acct, path)
    props = (f"{dav.D}getcontentlength", f"{dav.D}getlastmodified", f"{dav.D}resourcetype")
    entries = dav.propfind(acct.client(), f"{_base(acct)}versions/{file_id}/", "1", *props) or []
    found = [
        (e.name, e.time(), e.number(f"{dav.D}getcontentlength") or 0)
        for e in entries
        if not e.folder
    ]
    found.sort(key=lambda v: -(int(v[0]) if v[0].isdigit() else 0))
    listed = []
    for index, (name, when, length) in enumerate(found):
        current = index == 0 and length == size and when == mtime
        listed.append(Version(name, when, length, current))
    return listed


def restore(acct: Account, path: str, version: str) -> Version:
    """Make VERSION (an id from `versions`) the content of the file PATH."""
    file_id = file_info(acct, path)[0]
    chosen = next((v for v in versions(acct, path) if v.id == version), None)
    if chosen is None:
        raise errors.NotFound(
            f"{path} has no version {version}, so nothing was changed.",
            f"See its versions with: rcwiz versions {shlex.quote(acct.remote + path.lstrip('/'))}",
        )
    client = acct.client()
    target = f"{acct.server}{_base(acct)}restore/target"
    source = f"{_base(acct)}versions/{file_id}/{quote(version)}"
    raise_for_status(client.request("MOVE", source, headers={"Destination": target}), acct.server)
    return chosen
