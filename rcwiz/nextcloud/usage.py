"""Where the space goes on a Nextcloud account, in a handful of requests whatever its size.

Nextcloud keeps every folder's recursive size (`oc:size`) in its file cache, so one
`PROPFIND Depth: 1` sizes a whole level: the tree is walked level by level, and only into
the COUNT biggest folders of each level (DEPTH 2, COUNT 5: six requests). The biggest and
the oldest files come from Nextcloud's WebDAV SEARCH (RFC 5323 basicsearch on
/remote.php/dav/), ordered and limited by the server's database: one request each.

Measured on the suite's server (benchmarks/nextcloud_review.py): the one-request listing of
the whole tree (`Depth: infinity`, rcwiz.nextcloud.listing) took 4-9 s for 10^4 files, so
about a minute for 10^5; these requests do not grow with the number of files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.http import Client, raise_for_status
from rcwiz.nextcloud.urls import files_path

_LEVEL = (f"{dav.OC}size", f"{dav.D}getcontentlength", f"{dav.D}resourcetype")


@dataclass(frozen=True)
class File:
    path: str  # relative to the folder sized
    bytes: int
    modified: float

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Folder:
    path: str  # relative to the folder sized ("" for that folder)
    bytes: int = 0
    files_bytes: int = 0  # the files directly in it
    children: list[Folder] = field(default_factory=list)  # every subfolder, biggest first
    listed: bool = False  # its level was asked for (else children is empty for that reason)

    @property
    def own_bytes(self) -> int:
        """What lies in it outside its subfolders (its own files)."""
        return self.bytes - sum(c.bytes for c in self.children) if self.listed else 0


@dataclass
class Sizes:
    root: Folder
    biggest: list[File]
    oldest: list[File]
    requests: int = 0


def _prefix(client: Client, dav_user: str, path: str) -> str:
    return f"{dav.unquoted_path(client.server)}{files_path(dav_user, '')}{path.strip('/')}"


def level(client: Client, dav_user: str, root: str, folder: Folder) -> None:
    """Fill FOLDER (under ROOT) with its subfolders and its files' bytes: one Depth-1 request."""
    where = "/".join(p for p in (root.strip("/"), folder.path) if p)
    entries = dav.propfind(client, files_path(dav_user, where), "1", *_LEVEL)
    if entries is None:
        raise errors.NotFound(f"There is no folder /{where} to size.")
    me, *inside = entries
    if not me.folder:
        raise errors.UsageError(f"/{where} is a file, not a folder.", "Name a folder, or REMOTE:.")
    folder.bytes = me.number(f"{dav.OC}size") or 0
    for entry in inside:
        if entry.folder:
            path = f"{folder.path}/{entry.name}".lstrip("/")
            folder.children.append(Folder(path, entry.number(f"{dav.OC}size") or 0))
        else:
            folder.files_bytes += entry.number(f"{dav.D}getcontentlength") or 0
    folder.children.sort(key=lambda f: (-f.bytes, f.path))
    folder.listed = True


def tree(client: Client, dav_user: str, path: str, *, depth: int, count: int) -> tuple[Folder, int]:
    """PATH's folders DEPTH levels down, into the COUNT biggest of each; the requests made."""
    root = Folder("")
    todo, requests = [(root, 1)], 0
    while todo:
        folder, at = todo.pop(0)
        level(client, dav_user, path, folder)
        requests += 1
        if at < depth:
            todo += [(child, at + 1) for child in folder.children[:count]]
    return root, requests


def search(
    client: Client,
    dav_user: str,
    path: str,
    *,
    order: str,
    count: int,
    condition: str = "",
) -> list[File]:
    """The COUNT files under PATH first by ORDER ("size desc", "mtime asc") meeting
    CONDITION (basicsearch XML), from the server's database: one SEARCH request."""
    prop, direction = order.split()
    sort_by = "<oc:size/>" if prop == "size" else "<d:getlastmodified/>"
    scope = f"/files/{quote(dav_user, safe='@')}/{quote(path.strip('/'))}".rstrip("/")
    where = "<d:not><d:is-collection/></d:not>" + condition
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><d:searchrequest xmlns:d="DAV:" '
        'xmlns:oc="http://owncloud.org/ns"><d:basicsearch><d:select><d:prop>'
        "<d:getcontentlength/><d:getlastmodified/><d:resourcetype/></d:prop></d:select>"
        f"<d:from><d:scope><d:href>{scope}</d:href><d:depth>infinity</d:depth></d:scope>"
        f"</d:from><d:where><d:and>{where}</d:and></d:where><d:orderby><d:order><d:prop>"
        f"{sort_by}</d:prop><d:{'descending' if direction == 'desc' else 'ascending'}/>"
        f"</d:order></d:orderby><d:limit><d:nresults>{count}</d:nresults></d:limit>"
        "</d:basicsearch></d:searchrequest>"
    ).encode()
    reply = client.request(
        "SEARCH", "/remote.php/dav/", body=body, headers={"Content-Type": "text/xml"}
    )
    raise_for_status(reply, client.server)
    prefix = _prefix(client, dav_user, path).rstrip("/") + "/"
    found = []
    for entry in dav.parse(reply.body):
        if entry.folder or not entry.path.startswith(prefix):
            continue
        size = entry.number(f"{dav.D}getcontentlength") or 0
        found.append(File(entry.path[len(prefix) :], size, entry.time() or 0.0))
    return found


def sizes(
    client: Client,
    dav_user: str,
    path: str,
    *,
    depth: int,
    count: int,
    larger_than: int = 0,
    older_than: float | None = None,
) -> Sizes:
    """Size PATH (relative to DAV_USER's home): folders DEPTH levels down (the COUNT biggest
    of each level opened), the COUNT biggest files above LARGER_THAN bytes and the COUNT
    least recently modified (only those before OLDER_THAN, seconds since the epoch, if given)."""
    root, requests = tree(client, dav_user, path, depth=depth, count=count)
    bigger = f"<d:gt><d:prop><oc:size/></d:prop><d:literal>{larger_than}</d:literal></d:gt>"
    biggest = search(client, dav_user, path, order="size desc", count=count, condition=bigger)
    before = ""
    if older_than is not None:
        stamp = int(older_than)
        before = f"<d:lt><d:prop><d:getlastmodified/></d:prop><d:literal>{stamp}</d:literal></d:lt>"
    oldest = search(client, dav_user, path, order="mtime asc", count=count, condition=before)
    return Sizes(root, biggest, oldest, requests + 2)
