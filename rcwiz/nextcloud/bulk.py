"""Many small files to Nextcloud in a few requests: the WebDAV bulk upload API.

rclone spends three requests per new file on Nextcloud (MKCOL, PUT, PROPFIND), and a real
Nextcloud 30 manages about ten a second: 300 files of 10 kB took 97 s. The bulk endpoint
(capability dav.bulkupload) takes a hundred files per request: the same 300 took 4.2 s.

POST {server}/remote.php/dav/bulk, Content-Type: multipart/related; boundary=B. Each part:
X-File-Path (under the user's home), X-File-MD5 (lowercase hex, required), X-File-Mtime
(seconds), Content-Length, then the bytes. The reply is HTTP 200 with JSON keyed by path:
{"error": false, "etag", "fileid", ...} or {"error": true, "message"}: per-file failures come
with a 200, so every entry is read. Parent folders must exist (MKCOL first; 405 = exists).
Existing files are overwritten, so what is already there is decided before sending.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import Client, raise_for_status
from rcwiz.nextcloud.urls import files_path

ENDPOINT = "/remote.php/dav/bulk"
SMALL_FILE = 1024 * 1024  # files below this go through bulk upload
BATCH_FILES = 100  # what Nextcloud's desktop client sends per request
BATCH_BYTES = 16 * 1024 * 1024  # each part is held in server memory: bound the request too
SPLIT_FROM = 25  # files per request at least, when a batch is split to keep requests in flight
MIN_MTIME = 86401  # the server rejects X-File-Mtime values of 86400 or less


class Sendable(Protocol):
    """A local file as a bulk upload needs it: rcwiz.transfer.walk.LocalFile is one. Named
    here by what it offers, so Nextcloud's protocol knows nothing of how the local side was
    walked (nextcloud is below transfer: it must not import it)."""

    @property
    def relative(self) -> str: ...  # POSIX path under the folder sent ("sub/file.txt")
    @property
    def path(self) -> str: ...  # the path to open
    @property
    def size(self) -> int: ...
    @property
    def mtime(self) -> float: ...


File = TypeVar("File", bound=Sendable)


@dataclass(frozen=True)
class Result:
    relative: str
    ok: bool
    size: int
    message: str = ""


# Characters rclone's name encoding maps or escapes (controls become their Unicode pictures,
# U+2400-U+243F; invalid UTF-8 and the characters it replaces are quoted with U+201B; '/' and
# others become their fullwidth forms): a file named with one is stored under another name by
# rclone than the bytes say, and its name may not travel safely in a part header.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2400-\u243f\u201b\ufeff\uff00-\uffef\ufffd\ud800-\udfff]"
)


def safe_name(relative: str) -> bool:
    """RELATIVE can go by bulk upload: valid UTF-8 in NFC, no character rclone would encode.

    Every other name goes to rclone, which stores it the way it will find it again. No byte of
    a name may reach a part header unless it is one of these (a CR LF would start a header).
    """
    if relative != relative.rstrip():  # a header value loses its trailing spaces: "a.txt "
        return False  # would be stored as "a.txt"
    return not _UNSAFE.search(relative) and unicodedata.normalize("NFC", relative) == relative


def batches(files: Iterable[File], parts: int = 1) -> Iterator[list[File]]:
    """Groups of at most BATCH_FILES files and about BATCH_BYTES bytes, and PARTS groups at
    least where each still gets SPLIT_FROM files (requests in flight need something to carry;
    a request has a cost of its own on the server)."""
    files = list(files)
    most = files_per_batch(len(files), parts)
    batch: list[File] = []
    size = 0
    for item in files:
        if batch and (len(batch) >= most or size + item.size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += item.size
    if batch:
        yield batch


def files_per_batch(count: int, parts: int = 1) -> int:
    """The most files one request of COUNT files in PARTS requests carries (batches)."""
    return min(BATCH_FILES, max(SPLIT_FROM, -(-count // max(1, parts))))


def multipart(parts: Iterable[tuple[str, bytes, float]], boundary: str) -> bytes:
    """The request body for (server path, content, mtime) parts, exactly as documented."""
    return b"".join(multipart_pieces(parts, boundary))


def multipart_pieces(parts: Iterable[tuple[str, bytes, float]], boundary: str) -> list[bytes]:
    """That body as the pieces it is made of (sent one after another, never joined)."""
    pieces = []
    for server_path, content, mtime in parts:
        if not safe_name(server_path):
            raise ValueError(f"not a name for a part header: {server_path!r}")
        headers = (
            f"--{boundary}\r\n"
            f"X-File-Path: {server_path}\r\n"
            f"X-File-MD5: {hashlib.md5(content).hexdigest()}\r\n"
            f"X-File-Mtime: {max(MIN_MTIME, int(mtime))}\r\n"
            f"Content-Length: {len(content)}\r\n\r\n"
        )
        pieces += [headers.encode(), content, b"\r\n"]
    pieces.append(f"--{boundary}--\r\n".encode())
    return pieces


def existing_folders(there: Iterable[str]) -> set[str]:
    """The folders a listing of files proves exist ("" is the destination itself)."""
    found = set()
    for name in there:
        found.add("")
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return found


def folders_to_make(files: Iterable[Sendable], existing: Iterable[str]) -> list[list[str]]:
    """The folders (relative to the destination, "" for itself) FILES need that EXISTING
    (folders known to be there) lacks, grouped by depth: each group can be made at once."""
    there = set(existing)
    needed: set[str] = set()
    for item in files:
        parts = item.relative.split("/")[:-1]
        for depth in range(len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in there:
                needed.add(folder)
    levels: dict[int, list[str]] = {}
    for folder in needed:
        levels.setdefault(folder.count("/") + 1 if folder else 0, []).append(folder)
    return [sorted(levels[depth]) for depth in sorted(levels)]


class Uploader:
    """Bulk-uploads files into one folder of one account; safe to call from several threads
    at once (each thread has its own connection)."""

    def __init__(self, account: Account, dest_path: str) -> None:
        self.account = account
        self.client: Client = account.client()
        self.base = account.path_of(dest_path).rstrip("/")  # e.g. "/results"

    def server_path(self, relative: str) -> str:
        return f"{self.base}/{relative}"

    def mkcol(self, folder: str) -> None:
        """Create FOLDER (relative to the destination; its parent must exist); 405: it exists.

        The destination itself ("") is made with every folder above it that is missing.
        """
        if folder:
            self._mkcol(self.server_path(folder))
            return
        parts = [p for p in self.base.split("/") if p]
        for depth in range(1, len(parts) + 1):
            self._mkcol("/".join(parts[:depth]))

    def _mkcol(self, server_path: str) -> None:
        reply = self.client.request("MKCOL", files_path(self.account.dav_user, server_path))
        if reply.status not in (201, 405):
            raise_for_status(reply, self.account.server)

    def found(self, batch: Sequence[Sendable]) -> dict[str, tuple[int, float]]:
        """(size, mtime) of what the server holds under BATCH's names: one PROPFIND (depth 1)
        per folder of the batch. Asked after a request got no answer in time: the server may
        have written its files all the same (it answers only when it has written them all)."""
        held: dict[str, tuple[int, float]] = {}
        for folder in sorted({item.relative.rpartition("/")[0] for item in batch}):
            where = self.server_path(folder) if folder else self.base
            entries = dav.propfind(
                self.client,
                files_path(self.account.dav_user, where),
                "1",
                f"{dav.D}getcontentlength",
                f"{dav.D}getlastmodified",
            )
            for entry in entries or []:
                size, mtime = entry.number(f"{dav.D}getcontentlength"), entry.time()
                if not entry.folder and size is not None and mtime is not None:
                    held[f"{folder}/{entry.name}" if folder else entry.name] = (size, mtime)
        return held

    def upload(self, batch: Sequence[Sendable]) -> list[Result]:
        """Send one batch (its folders made already); a result per file (per-file failures
        arrive with HTTP 200). A file that cannot be read is refused here, not sent."""
        results: dict[str, Result] = {}
        parts = []
        for item in batch:
            try:
                content = Path(item.path).read_bytes()
            except OSError as exc:
                results[item.relative] = Result(
                    item.relative, False, item.size, f"cannot be read: {exc.strerror or exc}"
                )
                continue
            parts.append((item, content))
        if parts:
            boundary = "rcwiz-" + secrets.token_hex(12)
            body = multipart_pieces(
                ((self.server_path(f.relative), content, f.mtime) for f, content in parts),
                boundary,
            )
            reply = self.client.request(
                "POST",
                ENDPOINT,
                body=body,
                headers={
                    "Content-Type": f"multipart/related; boundary={boundary}",
                    "Content-Length": str(sum(len(piece) for piece in body)),
                },
            )
            raise_for_status(reply, self.account.server)
            answers = reply.json()
            if not isinstance(answers, dict):
                raise errors.ServerError("The bulk upload answer was not a JSON object.")
            for item, content in parts:
                results[item.relative] = _result(item, len(content), answers, self.server_path)
        return [results[item.relative] for item in batch]


def _result(
    item: Sendable, size: int, answers: dict[str, object], server_path: Callable[[str], str]
) -> Result:
    path = server_path(item.relative)
    entry = answers.get(path) or answers.get(path.lstrip("/"))
    if not isinstance(entry, dict):
        return Result(item.relative, False, size, "no answer for this file")
    if entry.get("error"):
        return Result(item.relative, False, size, str(entry.get("message") or "refused"))
    return Result(item.relative, True, size)
