"""Many small files from Nextcloud in a few requests: its archive (zip) download.

rclone fetches one file per GET, and a distant Nextcloud costs a round trip and its own
start-up per request (1000 files of 2 kB: 31 s at a 30 ms round trip). The server also sends
a list of files, or whole folders, of one folder as one zip:

* Nextcloud 30 and older: GET {server}/index.php/apps/files/ajax/download.php?dir=/DIR&
  files=["a","b"] (basic auth with the remote's app password);
* Nextcloud 31 removed that endpoint and serves the same through WebDAV:
  GET {server}/remote.php/dav/files/USER/DIR/?accept=zip&files=[...], Accept: application/zip.
  Which one a server has is read from its major version (/status.php).

How the server answers (checked on a real Nextcloud 30.0.1, and read in its source):

* names are looked up in DIR; on 30 a name with a subpath comes back as its basename, so a
  request asks for names of one folder only. A folder's name brings its whole tree
  ("name/...", folders included), which is how most of a tree comes in a few requests;
* a missing name is left out silently (30) or fails the request (31): the caller checks the
  entries against what it asked for. One file name alone is answered on 30 with the file
  itself, not a zip: such a batch is a plain WebDAV GET of that file;
* errors come as HTTP 200 with an HTML page: only Content-Type application/zip is an archive;
* there is no Content-Length, and the sizes are only in data descriptors and the central
  directory at the end: the answer is written to a file (never more than the batch can
  take) and read from its end (rcwiz.transfer.unzip);
* a User-Agent that looks like a Mac gets tar instead of zip: rcwiz sends its own;
* Apache's and nginx's default request-line limit is 8 KiB: a request stays under MAX_TARGET.
"""

from __future__ import annotations

import json
import posixpath
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import quote_plus, urlencode, urlsplit

from rcwiz import errors
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import file_path, files_path

LEGACY = "/index.php/apps/files/ajax/download.php"
MAX_TARGET = 7000  # bytes of request target (path and query) a request may take
BATCH_BYTES = 32 * 1024 * 1024  # an archive is written to disk whole before it is read
BATCH_FILES = 1000
MIN_BATCH_FILES = 100  # below this, splitting for parallel requests costs more than it gains
CHUNK = 1024 * 1024
ENTRY_OVERHEAD = 256  # bytes an entry takes besides its name and data (headers, ZIP64, index)
WEBDAV_ZIP_SINCE = 31


class Failed(Exception):
    """The server did not send what was asked for; the message says how, in a few words."""


class OnceMore:
    """THE rule for an archive that did not come whole (its request failed, or its answer
    was cut or no zip): it is asked for once more, and only then are its files given up (a
    download leaves them to rclone, `rcwiz check` reports them unreadable).

    A Nextcloud with Redis locking at times ends an archive in the middle when several are
    in flight (a file's lock is refused, and formatting that error fails: seen in
    benchmarks/floor_speed.py on the production-like server, for the floor's requests and
    rcwiz's alike); the same request a moment later comes whole. Any thread may ask.
    """

    def __init__(self) -> None:
        self._asked: set[int] = set()  # the batches asked for again (by id)
        self._lock = threading.Lock()

    @property
    def asked(self) -> int:
        """How many batches were asked for again (each a request more)."""
        with self._lock:
            return len(self._asked)

    def again(self, batch: Batch, failure: str | None) -> bool:
        """BATCH failed (FAILURE, None: it did not) and is to be asked for once more now."""
        if failure is None:
            return False
        with self._lock:
            if id(batch) in self._asked:
                return False
            self._asked.add(id(batch))
            return True


@dataclass
class Batch:
    """One request: names in one folder (files, and whole folders by their name)."""

    folder: str  # relative to the remote's root ("" is the root itself)
    names: list[str] = field(default_factory=list)  # what goes into `files`
    entries: dict[str, str] = field(default_factory=dict)  # archive entry -> relative path
    whole: set[str] = field(default_factory=set)  # names that are folders
    bytes: int = 0
    # The remote's folder itself, asked for by its name in its parent folder (FOLDER is then
    # ""): the cheapest request for a whole tree (see plan).
    above: bool = False

    @property
    def single(self) -> str | None:
        """The relative path when this batch is one file (fetched by a plain GET)."""
        if len(self.names) == 1 and not self.whole:
            return next(iter(self.entries.values()))
        return None

    def bound(self, folders: int = 0) -> int:
        """The most bytes an answer may have: the files, their names, the entries' overhead
        for them and for FOLDERS folder entries, and some slack."""
        names = sum(len(entry.encode()) for entry in self.entries)
        return self.bytes + 2 * names + ENTRY_OVERHEAD * (len(self.entries) + folders) + 65536


def name_cost(name: str) -> int:
    """What NAME adds to the encoded `files` parameter, its comma included."""
    return len(quote_plus(json.dumps(name, ensure_ascii=False))) + 3


def _parents(relative: str) -> Iterable[str]:
    parts = relative.split("/")
    return ("/".join(parts[:depth]) for depth in range(1, len(parts)))


def plan(
    wanted: Mapping[str, int],
    listed: Iterable[str],
    room: Callable[[str], int],
    *,
    parallel: int = 1,
    root_name: str | None = None,
) -> list[Batch]:
    """WANTED (relative path -> size) as batches of requests.

    When every file LISTED is wanted, they fit one batch and are too few to share among
    PARALLEL requests (fewer than 2 * MIN_BATCH_FILES), the remote's folder itself is asked
    for by its name ROOT_NAME (None: it has none, being the user's home), in one request:
    Nextcloud 30 spends about 0.15 s on each folder a request names, on top of its work per
    file. More files are shared among requests in flight: on a server with Redis locking
    (production-like) one request for 1000 files took 11.7 s where five at once took 7.5 s,
    while on the SQLite test server, whose file locks serialise archives, both took the same
    (benchmarks/README.md). Otherwise a folder is asked for by its name when every file
    LISTED under it is wanted and it fits one batch; other files by their own names, batched
    per folder. A batch holds at most BATCH_BYTES, about len(WANTED) / PARALLEL files (at
    least MIN_BATCH_FILES, at most BATCH_FILES: PARALLEL requests share the work) and
    ROOM(folder) bytes of names.
    """
    listed = list(listed)
    total = sum(wanted.values())
    if (
        root_name
        and wanted
        and (parallel <= 1 or len(wanted) < 2 * MIN_BATCH_FILES)
        and len(wanted) <= BATCH_FILES
        and total <= BATCH_BYTES
        and set(wanted) == set(listed)
    ):
        entries = {f"{root_name}/{rel}": rel for rel in sorted(wanted)}
        return [Batch("", [root_name], entries, {root_name}, total, above=True)]
    most = min(BATCH_FILES, max(MIN_BATCH_FILES, -(-len(wanted) // max(1, parallel))))
    under = Counter(folder for rel in listed for folder in _parents(rel))
    count: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for rel, nbytes in wanted.items():
        for folder in _parents(rel):
            count[folder] += 1
            size[folder] += nbytes

    def whole(folder: str) -> bool:
        return under[folder] == count[folder] <= most and size[folder] <= BATCH_BYTES

    items: dict[str, dict[str, Batch]] = {}  # folder -> name -> what the name brings
    for rel in sorted(wanted):
        parts = rel.split("/")
        depth = next((d for d in range(1, len(parts)) if whole("/".join(parts[:d]))), len(parts))
        folder, name = "/".join(parts[: depth - 1]), parts[depth - 1]
        item = items.setdefault(folder, {}).setdefault(name, Batch(folder, [name]))
        item.entries["/".join(parts[depth - 1 :])] = rel
        item.bytes += wanted[rel]
        if depth < len(parts):
            item.whole.add(name)
    return [batch for name in sorted(items) for batch in _split(name, items[name], room, most)]


def _split(folder: str, items: Mapping[str, Batch], room: Callable[[str], int], most: int):
    """The ITEMS of one FOLDER in batches within the limits."""
    space = room(folder)
    current, used = Batch(folder), 0
    for name, item in items.items():
        cost = name_cost(name)
        full = (
            current.bytes + item.bytes > BATCH_BYTES
            or len(current.entries) + len(item.entries) > most
            or used + cost > space
        )
        if current.names and full:
            yield current
            current, used = Batch(folder), 0
        current.names.append(name)
        current.entries.update(item.entries)
        current.whole |= item.whole
        current.bytes += item.bytes
        used += cost
    if current.names:
        yield current


def server_major(client: Client) -> int | None:
    """The server's major version from /status.php (None when it does not say)."""
    try:
        reply = client.request("GET", "/status.php", auth=False)
        status = reply.json() if reply.ok else None
        return int(str(status["version"]).split(".")[0]) if isinstance(status, dict) else None
    except (errors.RcwizError, KeyError, ValueError):
        return None


class Archives:
    """Archive requests for files under one folder of one Nextcloud account."""

    def __init__(self, account: Account, root: str, major: int | None) -> None:
        self.client = account.client()
        self.dav_user = account.dav_user
        self.root = root.strip("/")  # the remote path's folder, relative to the user's home
        self.webdav = major is not None and major >= WEBDAV_ZIP_SINCE
        self._prefix = len(urlsplit(account.server).path.rstrip("/"))

    @property
    def root_name(self) -> str | None:
        """The name of the remote's folder in its parent (None for the user's home)."""
        return posixpath.basename(self.root) or None

    def request(self, batch: Batch) -> tuple[str, dict[str, str], dict[str, str]]:
        """The path, query and headers of BATCH's archive request."""
        folder = posixpath.join(self.root, batch.folder).strip("/")
        if batch.above:
            folder = posixpath.dirname(self.root)
        files = json.dumps(batch.names, ensure_ascii=False, separators=(",", ":"))
        if self.webdav:
            query = {"accept": "zip", "files": files}
            return files_path(self.dav_user, folder), query, {"Accept": "application/zip"}
        return LEGACY, {"dir": f"/{folder}", "files": files}, {}

    def room(self, folder: str) -> int:
        """Bytes of encoded names a request for FOLDER may still take."""
        path, query, _ = self.request(Batch(folder))
        return MAX_TARGET - self._prefix - len(path) - 1 - len(urlencode(query))

    def fetch(
        self,
        batch: Batch,
        into: IO[bytes],
        *,
        stop: threading.Event,
        received: Callable[[int], None],
        folders: int = 0,
    ) -> None:
        """Write BATCH's answer to INTO: the archive, or the file of a single-file batch.

        Raises Failed when the answer is not what was asked for, ServerUnreachable when
        none comes; stops (Failed) soon after STOP is set.
        """
        single = batch.single
        if single is not None:
            path = file_path(self.dav_user, posixpath.join(self.root, single))
            query: dict[str, str] = {}
            headers: dict[str, str] = {}
            limit = batch.bytes
        else:
            path, query, headers = self.request(batch)
            limit = batch.bound(folders)
        with self.client.stream("GET", path, params=query, headers=headers) as reply:
            kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
            if reply.status != 200:
                raise Failed(f"the server answered HTTP {reply.status}")
            if single is None and kind != "application/zip":
                raise Failed(f"the server answered {kind or 'without a type'}, not a zip")
            total = 0
            while chunk := reply.read(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise Failed("the answer was larger than the files asked for")
                if stop.is_set():
                    raise Failed("stopped")
                into.write(chunk)
                received(len(chunk))
        if single is not None and total != batch.bytes:
            raise Failed(f"{total} bytes came, the listing says {batch.bytes}")
