"""The trash bin of a Nextcloud account through WebDAV (apps/files_trashbin's dav plugin):

    PROPFIND {server}/remote.php/dav/trashbin/USER/trash/        Depth: 1, the items
    MOVE     .../trash/ITEM   Destination: .../trashbin/USER/restore/ITEM   back where it was
    DELETE   .../trash/ITEM   (one item) or .../trash/ (everything)

ITEM is the server's name for a deleted file or folder: its name, ".d", the deletion time
("results.csv.d1796592584"). Each answers `nc:trashbin-filename`, `-original-location` (the
path it was deleted from, relative to the home) and `-deletion-time`; `oc:size` is its size
(a folder's: everything in it). Nothing in the trash counts in the quota's "used".

How the server limits it (files_trashbin 30.0.1, Trashbin::calculateFreeSpace and
Expiration; checked on the real server by tests/nextcloud/test_nc_trash.py): the trash may
hold at most 50% of the account's free quota (quota minus files; a configured
`trashbin_size` replaces the rule); past that, the oldest items go first. The default
`trashbin_retention_obligation` "auto" removes items only for space, never for their age
alone ("D, auto" or "auto, D" set ages). Both happen only in the server's background jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import raise_for_status
from rcwiz.nextcloud.urls import files_path

TRASHBIN = "/remote.php/dav/trashbin/"
SHARE_LIMIT = 50  # percent of the free quota the trash may hold (files_trashbin DEFAULTMAXSIZE)
_PROPS = (
    f"{dav.NC}trashbin-filename",
    f"{dav.NC}trashbin-original-location",
    f"{dav.NC}trashbin-deletion-time",
    f"{dav.OC}size",
    f"{dav.D}getcontentlength",
    f"{dav.D}resourcetype",
)


@dataclass(frozen=True)
class Item:
    """One deleted file or folder."""

    id: str  # the server's name for it (name.dTIME)
    name: str
    original: str  # where it was, relative to the home ("results/table.csv")
    deleted: int | None  # seconds since the epoch
    bytes: int
    folder: bool

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _base(acct: Account) -> str:
    return f"{TRASHBIN}{quote(acct.dav_user, safe='@')}/"


def items(acct: Account) -> list[Item]:
    """Everything in the trash bin, newest deletion first (one PROPFIND)."""
    entries = dav.propfind(acct.client(), f"{_base(acct)}trash/", "1", *_PROPS) or []
    found = []
    for entry in entries:
        if not entry.props.get(f"{dav.NC}trashbin-filename"):
            continue  # the trash folder itself
        size = entry.number(f"{dav.OC}size")
        if size is None:
            size = entry.number(f"{dav.D}getcontentlength") or 0
        found.append(
            Item(
                id=entry.name,
                name=entry.props[f"{dav.NC}trashbin-filename"],
                original=entry.props.get(f"{dav.NC}trashbin-original-location", ""),
                deleted=entry.number(f"{dav.NC}trashbin-deletion-time"),
                bytes=size,
                folder=entry.folder,
            )
        )
    return sorted(found, key=lambda i: (-(i.deleted or 0), i.id))


def find(found: list[Item], wanted: str, remote: str) -> Item:
    """The item WANTED names: its id, or the path it was deleted from (the latest deletion
    of that path); NotFound naming how to list them otherwise."""
    for item in found:
        if item.id == wanted:
            return item
    path = wanted.strip("/")
    matches = [i for i in found if i.original.strip("/") == path]
    if matches:
        return matches[0]  # newest first
    raise errors.NotFound(
        f"The trash bin holds nothing named {wanted}, so nothing was changed.",
        f"See what it holds with: rcwiz trash list {remote}",
    )


def restore(acct: Account, item: Item) -> None:
    """Put ITEM back where it was deleted from (the server picks another name when that
    place is taken). The folders it was in are made first where they are gone (a sync
    deletes a folder's files, then the folder): the server would put it in the home folder."""
    client = acct.client()
    folders = [p for p in item.original.strip("/").split("/")[:-1] if p]
    for depth in range(1, len(folders) + 1):
        made = client.request("MKCOL", files_path(acct.dav_user, "/".join(folders[:depth])))
        if made.status not in (201, 405):  # 405: it is there
            raise_for_status(made, client.server)
    target = f"{acct.server}{_base(acct)}restore/{quote(item.id)}"
    reply = client.request(
        "MOVE", f"{_base(acct)}trash/{quote(item.id)}", headers={"Destination": target}
    )
    raise_for_status(reply, client.server)


def delete(acct: Account, item: Item) -> None:
    """Delete ITEM for good."""
    client = acct.client()
    raise_for_status(client.request("DELETE", f"{_base(acct)}trash/{quote(item.id)}"), acct.server)


def empty(acct: Account) -> None:
    """Delete everything in the trash bin for good."""
    client = acct.client()
    raise_for_status(client.request("DELETE", f"{_base(acct)}trash/"), acct.server)


def limit(total: int | None, used: int) -> int | None:
    """The most the trash may hold by the server's default rule (SHARE_LIMIT percent of the
    free quota), or None without a quota (then the disk's free space is the rule)."""
    if total is None:
        return None
    return max(0, (total - used) * SHARE_LIMIT // 100)
