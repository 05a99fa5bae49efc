"""Proof by content: a local folder and a Nextcloud folder compared file by file.

`rclone check` compares hashes where both sides have one; Nextcloud keeps one only for files
sent with a checksum (rclone's uploads, rcwiz's chunked uploads: `oc:checksums`, SHA-1/MD5),
not for bulk-uploaded ones, so for those it compares sizes alone, and `rclone check
--download` fetches every file with its own request. Here each file is compared the cheapest
way that proves its content:

* "size": the sizes differ (nothing more to read);
* "hash": the server keeps a checksum, compared with the local file's;
* "content": the server keeps none (or `--download` asked not to trust it): the remote
  bytes come through Nextcloud's archive download (a few requests for a whole tree,
  rcwiz.nextcloud.archive), are hashed as they arrive (rcwiz.transfer.zipstream; nothing
  written to disk) and compared with the local file's hash.

A checksum the server keeps is what its uploader said: a file changed on the server's disk
behind Nextcloud's back keeps its old one (rclone's check trusts it too); --download reads
every file instead.

Which side was the source only names what is missing (in SRC, not in DST) and what is extra
(in DST, not in SRC). A file that could not be read is reported as such and counts as a
difference, as rclone's check counts an error.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Literal, cast

from rcwiz import errors
from rcwiz.nextcloud import archive
from rcwiz.nextcloud.account import Account
from rcwiz.rclone.lsjson import Listing
from rcwiz.transfer.walk import Tree
from rcwiz.transfer.zipstream import Entry, Reader, Unreadable
from rcwiz.ui.console import escape_control

if TYPE_CHECKING:
    from rcwiz.nextcloud.listing import ListedBy

Way = Literal["hash", "content", "size"]
ALGORITHMS = {"SHA1": "sha1", "MD5": "md5"}  # oc:checksums names -> hashlib's, best first
CONTENT = "sha1"  # how content that came by archive is compared
IN_FLIGHT = 2  # archive requests at once
CHUNK = 1024 * 1024


@dataclass
class Report:
    """What a verification found; every list holds relative paths, sorted."""

    source: str
    dest: str
    missing: list[str] = field(default_factory=list)  # in SRC, not in DST
    extra: list[str] = field(default_factory=list)  # in DST, not in SRC
    differ: list[tuple[str, Way]] = field(default_factory=list)  # and how it was seen
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # and why
    # Files found the same, by how (never by size alone: a size that agrees proves nothing).
    same: dict[Way, int] = field(default_factory=lambda: {"hash": 0, "content": 0})
    how: dict[str, Way] = field(default_factory=dict)  # every file compared, and how
    listed_by: ListedBy = "search"
    requests: int = 0  # archive requests

    @property
    def identical(self) -> bool:
        return not (self.missing or self.extra or self.differ or self.unreadable)

    @property
    def compared(self) -> int:
        return sum(self.same.values()) + len(self.differ)

    def differences(self, most: int) -> list[str]:
        """What differs: a heading per kind, at most MOST names under each, indented (plain
        text, control characters shown as escapes)."""
        shown = []
        groups = [
            (self.missing, f"missing at {self.dest} (in SRC only)"),
            (self.extra, f"extra at {self.dest} (not in SRC)"),
            ([f"{p}  [by {w}]" for p, w in self.differ], "differ"),
            ([f"{p}  ({why})" for p, why in self.unreadable], "could not be compared"),
        ]
        for names, what in groups:
            if not names:
                continue
            shown.append(f"{len(names)} file(s) {escape_control(what)}:")
            shown += [f"  {escape_control(name)}" for name in names[:most]]
            if len(names) > most:
                shown.append(f"  … and {len(names) - most} more (--json lists them all)")
        return shown

    def as_dict(self) -> dict[str, object]:
        """The report as --json shows it."""
        return {
            "source": self.source,
            "dest": self.dest,
            "identical": self.identical,
            "matching": sum(self.same.values()),
            "compared_by": dict(self.same),
            "compared": dict(sorted(self.how.items())),
            "missing": self.missing,
            "extra": self.extra,
            "differ": [{"path": path, "by": way} for path, way in self.differ],
            "unreadable": [{"path": path, "reason": why} for path, why in self.unreadable],
            "listed_by": self.listed_by,
            "archive_requests": self.requests,
        }


def checksums(text: str) -> dict[str, str]:
    """Nextcloud's `oc:checksum` text ("SHA1:ab.. MD5:cd..") as hashlib name -> hex."""
    found = {}
    for item in text.split():
        kind, _, value = item.partition(":")
        name = ALGORITHMS.get(kind.upper())
        if name and value:
            found[name] = value.lower()
    return found


def file_digest(path: str, algorithm: str) -> str:
    """The hex digest of the local file at PATH (OSError when it cannot be read)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def compare(
    local: Tree,
    remote: Listing,
    *,
    local_is_source: bool,
    report: Report,
    fetch: Callable[[Mapping[str, int]], tuple[dict[str, str], dict[str, str]]],
    download: bool = False,
    notice: Callable[[str], None] | None = None,
) -> Report:
    """Fill REPORT from LOCAL against REMOTE; FETCH(wanted: path -> size) gives the digests
    (CONTENT) of remote files without a checksum (with DOWNLOAD, of every file: a checksum
    the server keeps is not trusted), and why the others could not be read. NOTICE is told
    what is about to take time."""
    mine = {f.relative: f for f in local.files}
    only_here = sorted(set(mine) - set(remote.files))
    only_there = sorted(set(remote.files) - set(mine))
    report.missing, report.extra = (
        (only_here, only_there) if local_is_source else (only_there, only_here)
    )
    by_content: dict[str, int] = {}
    for rel in sorted(set(mine) & set(remote.files)):
        size = remote.files[rel][0]
        if mine[rel].size != size:
            report.differ.append((rel, "size"))
            report.how[rel] = "size"
            continue
        sums = {} if download else checksums(remote.checksums.get(rel, ""))
        algorithm = next((a for a in ALGORITHMS.values() if a in sums), None)
        if algorithm is None:
            by_content[rel] = size
            continue
        _judge(report, rel, "hash", mine[rel].path, algorithm, sums[algorithm])
    if by_content:
        if notice is not None:
            notice(
                f"Reading {len(by_content)} file(s) without a checksum on the server through "
                "its archive download …"
            )
        digests, failures = fetch(by_content)
        for rel in sorted(by_content):
            if rel in digests:
                _judge(report, rel, "content", mine[rel].path, CONTENT, digests[rel])
            else:
                report.unreadable.append((rel, failures.get(rel, "the server did not send it")))
    report.differ.sort()
    report.unreadable.sort()
    return report


def _judge(report: Report, rel: str, way: Way, path: str, algorithm: str, theirs: str) -> None:
    """Compare the local file at PATH with the remote digest THEIRS; count it in REPORT."""
    try:
        ours = file_digest(path, algorithm)
    except OSError as exc:
        report.unreadable.append((rel, f"the local file cannot be read ({exc.strerror or exc})"))
        return
    report.how[rel] = way
    if ours == theirs:
        report.same[way] += 1
    else:
        report.differ.append((rel, way))


class Content:
    """Remote files' content digests, through Nextcloud's archive download."""

    def __init__(
        self,
        account: Account,
        root: str,
        listed: Iterable[str],
        major: int | None,
        *,
        whole: bool = True,
    ) -> None:
        """Content under ROOT of ACCOUNT's files (LISTED: every file there), from a server
        of version MAJOR (rcwiz.nextcloud.archive.server_major: which request it takes).
        WHOLE: LISTED is all ROOT holds, so ROOT may be asked for by its name (not so when
        ROOT is the folder of the one file compared)."""
        self.archives = archive.Archives(account, root, major)
        self.whole = whole
        self.listed = list(listed)
        self.planned = 0  # archive requests planned (those asked again come on top)
        self.once_more = archive.OnceMore()
        self._stop = threading.Event()

    @property
    def requests(self) -> int:
        """Archive requests made, those asked for again included."""
        return self.planned + self.once_more.asked

    def __call__(self, wanted: Mapping[str, int]) -> tuple[dict[str, str], dict[str, str]]:
        """WANTED's digests (path -> hex) and, for the files that did not come, why."""
        batches = archive.plan(
            wanted,
            self.listed,
            self.archives.room,
            parallel=IN_FLIGHT,
            root_name=self.archives.root_name if self.whole else None,
        )
        digests: dict[str, str] = {}
        failures: dict[str, str] = {}
        self.planned += len(batches)
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            try:
                for batch, found, why in pool.map(self._one, batches):
                    digests.update(found)
                    for rel in batch.entries.values():
                        if rel not in found:
                            failures[rel] = why or "it was not in the archive"
            except BaseException:  # Ctrl-C, a hung server: the other requests end now too
                self._stop.set()
                self.archives.client.abort()
                raise
        return digests, failures

    def _one(self, batch: archive.Batch) -> tuple[archive.Batch, dict[str, str], str | None]:
        """One batch's digests, and why it failed (None: it did not); a batch that failed is
        asked for once more (archive.OnceMore), what came the first time kept."""
        found: dict[str, str] = {}
        while True:
            came, why = self._ask(batch)
            found.update(came)
            if self._stop.is_set() or not self.once_more.again(batch, why):
                return batch, found, why

    def _ask(self, batch: archive.Batch) -> tuple[dict[str, str], str | None]:
        """One request's digests, and why it failed (None: it did not)."""
        found: dict[str, str] = {}
        single = batch.single
        names = {unicodedata.normalize("NFC", name): rel for name, rel in batch.entries.items()}

        def take(entry: Entry) -> None:
            if entry.name in names:  # not a file added on the server since the listing
                found[names[entry.name]] = entry.digest

        try:
            into: _Digest | Reader = (
                _Digest(CONTENT) if single is not None else Reader(take, CONTENT)
            )
            self.archives.fetch(
                batch,
                cast("IO[bytes]", into),
                stop=self._stop,
                received=lambda _: None,
                folders=len(self.listed),
            )
            into.close()
            if isinstance(into, _Digest) and single is not None:
                found[single] = into.hexdigest()
        except (archive.Failed, Unreadable) as exc:
            return found, str(exc)
        except errors.RcwizError as exc:
            if isinstance(exc, (errors.AuthenticationFailed, errors.ServerUnreachable)):
                raise
            return found, exc.message
        return found, None


class _Digest:
    """A plain file's answer (a one-file batch), hashed as it comes."""

    def __init__(self, algorithm: str) -> None:
        self._hash = hashlib.new(algorithm)

    def write(self, chunk: bytes) -> int:
        self._hash.update(chunk)
        return len(chunk)

    def close(self) -> None:
        pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
