"""Where the space goes on a Nextcloud account, from one request.

Nextcloud gives every folder its recursive size (`oc:size`), and answers a PROPFIND with
`Depth: infinity` with the whole tree at once, so one request sizes every folder and lists
every file (size, modification time). The answer is read as it arrives (rcwiz.nextcloud.dav
parses each response) and only what is shown is kept: folders down to DEPTH, and the COUNT
biggest and COUNT oldest files in bounded heaps, so memory does not grow with the files.

The root's `oc:size` is what the quota calls "used" (for a remote at the home folder); the
folders shown and the files directly in each add up to it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.http import Client, Response, raise_for_status
from rcwiz.nextcloud.urls import files_path

_PROPS = (
    f"{dav.OC}size",
    f"{dav.D}getcontentlength",
    f"{dav.D}getlastmodified",
    f"{dav.D}resourcetype",
)
CHUNK = 256 * 1024


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
    files: int = 0  # files anywhere under it
    children: list[Folder] = field(default_factory=list)

    @property
    def own_bytes(self) -> int:
        """What lies in this folder outside the subfolders listed (its own files)."""
        return self.bytes - sum(c.bytes for c in self.children)


@dataclass
class Sizes:
    """The answer: the tree to DEPTH, and the biggest and oldest files (filtered)."""

    root: Folder
    biggest: list[File]
    oldest: list[File]
    files: int = 0
    folders: int = 0


@dataclass
class _Reader:
    prefix: str  # the folder's own href path, unquoted, ending in "/"
    depth: int
    count: int
    larger_than: int
    older_than: float  # a modification time: files modified before it count as old
    folders: dict[str, Folder] = field(default_factory=dict)
    big: list[tuple[int, str, float]] = field(default_factory=list)  # min-heap
    old: list[tuple[float, str, int]] = field(default_factory=list)  # max-heap by -time
    files: int = 0
    all_folders: int = 0

    def take(self, entry: dav.Entry) -> None:
        if not entry.path.startswith(self.prefix) and entry.path.rstrip("/") + "/" != self.prefix:
            raise errors.ServerError(
                f"The server listed {entry.path} outside the folder asked for."
            )
        relative = entry.path[len(self.prefix) :].strip("/")
        if entry.folder:
            self.all_folders += 1
            if relative.count("/") < self.depth or not relative:
                size = entry.number(f"{dav.OC}size") or 0
                self.folders[relative] = Folder(relative, size)
            return
        size = entry.number(f"{dav.D}getcontentlength") or 0
        modified = entry.time() or 0.0
        self.files += 1
        self._count_in_folders(relative)
        if size > self.larger_than:
            _keep(self.big, (size, relative, modified), self.count)
        if modified < self.older_than:
            _keep(self.old, (-modified, relative, size), self.count)

    def _count_in_folders(self, relative: str) -> None:
        parts = relative.split("/")[:-1]
        for level in range(min(len(parts), self.depth) + 1):
            folder = self.folders.get("/".join(parts[:level]))
            if folder is not None:
                folder.files += 1

    def sizes(self) -> Sizes:
        root = self.folders.get("")
        if root is None:
            raise errors.ServerError("The server's listing lacks the folder asked for.")
        for path, folder in self.folders.items():
            if path:
                self.folders[path.rpartition("/")[0]].children.append(folder)
        for folder in self.folders.values():
            folder.children.sort(key=lambda f: (-f.bytes, f.path))
        biggest = [File(p, s, m) for s, p, m in sorted(self.big, key=lambda x: (-x[0], x[1]))]
        oldest = [File(p, s, -t) for t, p, s in sorted(self.old, key=lambda x: (-x[0], x[1]))]
        return Sizes(root, biggest, oldest, self.files, self.all_folders - 1)


def _keep(heap: list, item: tuple, count: int) -> None:
    """Keep the COUNT largest items (by their first value) in HEAP."""
    if len(heap) < count:
        heapq.heappush(heap, item)
    elif count and item > heap[0]:
        heapq.heapreplace(heap, item)


def sizes(
    client: Client,
    dav_user: str,
    path: str,
    *,
    depth: int,
    count: int,
    larger_than: int = 0,
    older_than: float = float("inf"),
) -> Sizes:
    """Size PATH (relative to DAV_USER's home) in one request: folders to DEPTH levels, the
    COUNT biggest files above LARGER_THAN bytes and the COUNT oldest modified before
    OLDER_THAN (seconds since the epoch)."""
    target = files_path(dav_user, path)
    headers = {"Depth": "infinity", "Content-Type": "application/xml; charset=utf-8"}
    with client.stream("PROPFIND", target, headers=headers, body=dav.body(*_PROPS)) as answer:
        if answer.status == 404:
            raise errors.NotFound(f"There is no folder {path or '/'} to size.")
        if answer.status != 207:
            raise_for_status(Response(answer.status, {}, b""), client.server)
            raise errors.ServerError(f"The server answered the listing with HTTP {answer.status}.")
        prefix = unquote(urlsplit(client.server).path.rstrip("/") + target)
        reader = _Reader(prefix, depth, count, larger_than, older_than)
        _read(iter(lambda: answer.read(CHUNK), b""), reader)
    return reader.sizes()


def _read(chunks: Iterable[bytes], reader: _Reader) -> None:
    """Feed the multistatus CHUNKS to READER one response at a time (memory stays flat)."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    top: Element | None = None
    try:
        for chunk in chunks:
            parser.feed(chunk)
            for item in parser.read_events():
                event, element = item[0], item[-1]
                if not isinstance(element, Element):
                    continue
                if top is None:
                    top = element
                elif event == "end" and element.tag == f"{dav.D}response":
                    reader.take(dav.entry(element))
                    top.remove(element)
        parser.close()
    except (ParseError, ValueError) as exc:
        raise errors.ServerError(f"The server's listing broke off ({exc}).") from None
