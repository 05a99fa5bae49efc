"""One big file to Nextcloud in chunks sent several at a time: chunked upload v2.

rclone sends a big file's chunks one after another (backend/webdav/chunking.go), so one TCP
connection carries the whole file; on a long or lossy link, where one stream gets a fraction
of the bandwidth, that stream is the limit. Nextcloud assembles the chunks by their names
whatever order they arrive in, so rcwiz sends several at once, each on its own connection.

The protocol (chunked upload v2; a server whose storage cannot write parts directly takes the
same requests as v1):

    MKCOL  {uploads}/{session}/          Destination: the file's URL
    PUT    {uploads}/{session}/{n}       n = 1..10000; Destination, OC-Total-Length
    MOVE   {uploads}/{session}/.file     Destination, OC-Total-Length, X-OC-Mtime, OC-Checksum

The file appears only at the MOVE, complete: the server checks that the chunks add up to
OC-Total-Length (400 otherwise). OC-Total-Length on every chunk lets the server check the
quota at the first chunk (507) rather than after the last. OC-Checksum is what rclone sends
(the SHA-1 of the whole file, computed while the chunks travel), and the server keeps it, so
`rclone check` compares hashes afterwards; X-OC-Mtime keeps the modification time.

Resumes: the session is recorded in the resume ledger (rcwiz.nextcloud.resume) before it is
made, and each chunk as the server confirms it, with the SHA-1 of the bytes sent. A run that
stops (Ctrl-C, SIGTERM, SIGHUP, a dead or hung server, a 507, SIGKILL) after a chunk arrived
keeps the session; the next run of the same unchanged file sends only the chunks the server
does not hold. Every chunk's bytes are hashed again as the whole file is read for its SHA-1:
a chunk sent now, or skipped as held, whose hash differs from the file's bytes now means two
versions of the file would be put together, so the session is discarded and the file sent
afresh (skipped ones) or the upload fails (sent ones). Any other failure deletes the session,
as does a changed source, a stale or lost session. The session's name depends only on the
file's path; while it is written it is claimed in the state folder
(rcwiz.nextcloud.uploads.claim), so `rcwiz uploads rm` leaves it alone.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from rcwiz import errors
from rcwiz.clock import INTERRUPTED
from rcwiz.nextcloud import resume, uploads
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import Client, raise_for_status
from rcwiz.nextcloud.urls import DAV_FILES, uploads_path

PREFIX = uploads.RCWIZ_PREFIX
MAX_CHUNKS = 10000  # chunk names are 1..10000 (chunked upload v2)
MIN_CHUNK = 5 * 1024 * 1024  # object stores refuse smaller parts (but the last)
BLOCK = 1024 * 1024  # read and sent at a time: memory per chunk in flight
ASSEMBLY_RATE = 20e6  # bytes/s the server is given to assemble the file at the MOVE
RETRIES = 1  # a chunk that fails (not for quota, login or permission) is sent once more
TICK = 0.5  # seconds between progress reports while the chunks travel

# Not sent again: the server would refuse any other way too, or it is hung (the stall timeout
# has passed once already).
_FINAL = (errors.QuotaExceeded, errors.AuthenticationFailed, errors.Forbidden, errors.Stalled)
DISCARD_TIMEOUT = 5.0  # seconds the clean-up of a failed session may wait for each answer
# What keeps a session for a resume (with Ctrl-C, SIGTERM, SIGHUP): the run stops, or the
# server is gone or full; the file may be sent again later. Other failures discard it.
_KEEPS = (errors.QuotaExceeded, errors.ServerUnreachable)


class _Mixed(Exception):
    """Chunks the server held from an earlier run are not the file's bytes now: the file
    changed with its size and time kept. The session is discarded and the file sent afresh."""


def session_name(server_path: str) -> str:
    """The upload folder for the file at SERVER_PATH (under the user's home)."""
    return PREFIX + hashlib.md5(server_path.strip("/").encode()).hexdigest()


def chunk_size_for(size: int, most: int, parallel: int = 1) -> int:
    """The chunk size for a SIZE-byte file: at most MOST, small enough that PARALLEL chunks
    can travel at once, never below MIN_CHUNK, and large enough for MAX_CHUNKS chunks."""
    spread = -(-size // max(1, parallel))
    return max(MIN_CHUNK, min(most, spread), -(-size // MAX_CHUNKS))


def chunks(size: int, chunk: int) -> list[tuple[int, int, int]]:
    """(name, offset, length) of each chunk of a SIZE-byte file; names count from 1."""
    return [
        (number, offset, min(chunk, size - offset))
        for number, offset in enumerate(range(0, size, chunk), start=1)
    ]


class FileRange:
    """A request body: LENGTH bytes of the file at PATH from OFFSET, read a block at a time,
    hashed as they go (`sha1`: of the bytes of the last reading).

    Each iteration reads the file afresh (a retried request sends the same bytes again).
    """

    def __init__(self, path: str, offset: int, length: int) -> None:
        self.path, self.offset, self.length = path, offset, length
        self.sha1 = hashlib.sha1()

    def __iter__(self) -> Iterator[bytes]:
        self.sha1 = hashlib.sha1()
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            left = self.length
            while left > 0:
                block = handle.read(min(BLOCK, left))
                if not block:
                    raise errors.SourceChanged(f"{self.path} became shorter while it was sent.")
                left -= len(block)
                self.sha1.update(block)
                yield block


@dataclass(frozen=True)
class Source:
    """The local file to send, as the walk saw it (a change since then stops the upload)."""

    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Digest:
    """The file as read while the chunks travel: its SHA-1, and each chunk's."""

    whole: str
    chunks: dict[int, str]


class Upload:
    """Send one file to SERVER_PATH (under the user's home) in chunks, PARALLEL at a time,
    continuing the session an earlier run left for the same unchanged file.

    `run` raises the named error when the upload did not complete; the session is gone by
    then, or kept for a resume (`kept`). QuotaExceeded, AuthenticationFailed and Forbidden
    mean the server will refuse any other way too. Any other error leaves the file to be sent
    another way. `resumed` is the bytes the server held from an earlier run (not sent again).
    """

    def __init__(
        self, account: Account, server_path: str, source: Source, *, chunk: int, parallel: int
    ) -> None:
        self.account = account
        self.source = source
        self.server_path = server_path.strip("/")
        self.parallel = max(1, parallel)
        self.chunk = chunk_size_for(source.size, chunk, self.parallel)
        self.client: Client = account.client()
        dav_user = quote(account.dav_user, safe="@")
        self.target = f"{account.server}{DAV_FILES}{dav_user}/{quote(server_path.strip('/'))}"
        self.name = session_name(server_path)
        self.session = f"{uploads_path(account.dav_user)}{self.name}/"
        self._sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.left_session: str | None = None  # a session that could not be removed
        self.resumed = 0  # bytes the server held from an earlier run, not sent again
        self.kept = False  # the session stays for a resume (the run stopped)
        self.record: resume.Record | None = None  # the ledger's, when it could be written
        self._held: dict[int, str] = {}  # chunks skipped as held: number -> recorded SHA-1
        self._hashes: dict[int, str] = {}  # chunks sent now: number -> SHA-1 of the bytes
        # The ledger names the file wherever the next run starts from.
        self._where = os.path.abspath(source.path)

    @property
    def sent(self) -> int:
        """Bytes the server confirmed in this run: chunks it answered with success. Bytes
        written to the connection are not counted until then (socket buffers and proxies take
        hundreds of MiB long before the server has them, and a chunk that fails never
        arrives); chunks held from an earlier run are `resumed`, not sent."""
        return self._sent

    def _confirmed(self, number: int, length: int, sha1: str) -> None:
        """The server has chunk NUMBER: counted, and recorded in the ledger (for a resume)."""
        with self._lock:
            self._sent += length
            self._hashes[number] = sha1
            if self.record is not None:
                self.record.chunks[number] = sha1
                resume.save(self.record)

    def _headers(self) -> dict[str, str]:
        return {"Destination": self.target, "OC-Total-Length": str(self.source.size)}

    def _begin(self) -> list[tuple[int, int, int]]:
        """The chunks to send: those the session an earlier run left lacks, when it can be
        continued; else all of them, in a new session (recorded before it is made)."""
        old = resume.load(self.account.server, self.account.dav_user, self.name)
        if old is not None:
            held = self._continuable(old)
            if held is not None:
                self.record, self.chunk, self._held = old, old.chunk, held
                parts = chunks(self.source.size, self.chunk)
                self.resumed = sum(length for n, _, length in parts if n in held)
                return [part for part in parts if part[0] not in held]
            resume.forget(old)
        self._start()
        return chunks(self.source.size, self.chunk)

    def _continuable(self, old: resume.Record) -> dict[int, str] | None:
        """The chunks of OLD's session to trust, or None (then it is deleted): the same file
        by path, size and time, not stale, and still on the server with chunks that agree."""
        if old.same_source(self._where, self.source.size, self.source.mtime) and (not old.stale()):
            on_server = resume.held(self.client, self.account.dav_user, self.name)
            lengths = {n: length for n, _, length in chunks(self.source.size, old.chunk)}
            trusted = resume.trusted(old, on_server or {}, lengths)
            if trusted:
                return trusted
        self._discard()
        return None

    def _start(self) -> None:
        record = resume.Record(
            self.account.server,
            self.account.dav_user,
            self.server_path,
            self.name,
            self._where,
            self.source.size,
            self.source.mtime,
            self.chunk,
            time.time(),
            url=f"{self.account.server}{self.session}",
        )
        # Recorded first: a run killed at any moment after this leaves no session untracked.
        self.record = record if resume.save(record) else None
        reply = self.client.request("MKCOL", self.session, headers=self._headers())
        if reply.status == 405:  # left by a run that was killed: start afresh
            self._discard()
            reply = self.client.request("MKCOL", self.session, headers=self._headers())
        raise_for_status(reply, self.account.server, name=self.server_path)

    def _put(self, number: int, offset: int, length: int) -> None:
        headers = {
            **self._headers(),
            "Content-Length": str(length),
            "Content-Type": "application/octet-stream",
        }
        for attempt in range(RETRIES + 1):
            try:
                body = FileRange(self.source.path, offset, length)
                reply = self.client.request(
                    "PUT", f"{self.session}{number}", body=body, headers=headers
                )
                raise_for_status(reply, self.account.server, name=self.server_path)
                self._confirmed(number, length, body.sha1.hexdigest())
                return
            except errors.RcwizError as exc:
                if isinstance(exc, _FINAL) or attempt == RETRIES or self._stop.is_set():
                    raise

    def _finish(self, sha1: str) -> None:
        headers = {
            **self._headers(),
            "X-OC-Mtime": str(int(self.source.mtime)),
            "OC-Checksum": f"SHA1:{sha1}",
        }
        wait = self.source.size / ASSEMBLY_RATE  # if longer than the stall timeout
        reply = self.client.request("MOVE", f"{self.session}.file", headers=headers, patience=wait)
        raise_for_status(reply, self.account.server, name=self.server_path)

    def _unchanged(self) -> None:
        try:
            now = os.stat(self.source.path)
        except OSError as exc:
            raise errors.SourceChanged(f"{self.source.path} cannot be read: {exc}.") from exc
        if now.st_size != self.source.size or now.st_mtime != self.source.mtime:
            raise errors.SourceChanged(f"{self.source.path} changed while it was sent.")

    def _one_version(self, digest: Digest) -> None:
        """Every chunk the server holds has the bytes the file has now (hashed as the whole
        file was read): _Mixed for a chunk from an earlier run, SourceChanged for one sent now."""
        if any(digest.chunks.get(n) != h for n, h in self._held.items()):
            raise _Mixed
        if any(digest.chunks.get(n) != h for n, h in self._hashes.items()):
            raise errors.SourceChanged(f"{self.source.path} changed while it was sent.")

    def _discard(self, wait: float = DISCARD_TIMEOUT) -> bool:
        """Delete the session (best effort, with a connection of its own, each answer awaited
        WAIT seconds at most) and its record; True if it is gone. When it is not (a hung
        server), left_session names it, and the record is kept so a later run removes it."""
        client = self.account.client(self.account.clock.at_most(wait))
        try:
            for _ in range(3):  # a chunk the server was still writing may get in the way
                client.request("DELETE", self.session)
                if client.request("PROPFIND", self.session, headers={"Depth": "0"}).status == 404:
                    if self.record is not None:
                        resume.forget(self.record)
                    return True
        except errors.RcwizError:
            pass
        finally:
            client.close()
        self.left_session = self.session
        return False

    def run(self, tick: Callable[[int], None] | None = None) -> None:
        """Send the file; TICK gets the bytes the server confirmed in this run so far (`sent`)
        every TICK seconds (this thread). The session is claimed meanwhile (`rcwiz uploads rm`
        leaves it). A resumed session whose chunks prove to be of another version of the file
        is discarded and the file sent again from its first byte, once."""
        with uploads.claim(self.account, self.name):
            try:
                self._run(tick)
            except _Mixed:
                if self.record is not None:
                    resume.forget(self.record)  # never trusted again, even if not deleted
                self._discard()
                self.record, self._held, self._hashes = None, {}, {}
                self.resumed, self._sent = 0, 0
                self._stop.clear()
                self.client = self.account.client()
                try:
                    self._run(tick)  # a new session: nothing in it is from before
                except _Mixed as exc:
                    raise errors.SourceChanged(
                        f"{self.source.path} changed while it was sent."
                    ) from exc

    def _run(self, tick: Callable[[int], None] | None) -> None:
        digest: concurrent.futures.Future[Digest] = concurrent.futures.Future()
        pool = concurrent.futures.ThreadPoolExecutor(self.parallel, "rcwiz-chunk")
        try:
            parts = self._begin()
            hasher = threading.Thread(target=self._hash, args=(digest,), daemon=True)
            hasher.start()
            pending = {pool.submit(self._put, *part) for part in parts}
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, TICK, concurrent.futures.FIRST_EXCEPTION
                )
                for future in done:
                    future.result()  # the first failure stops the rest
                if tick is not None:
                    tick(self._sent)
            whole = digest.result()
            self._unchanged()
            self._one_version(whole)
            self._finish(whole.whole)
            if self.record is not None:
                resume.forget(self.record)  # done: nothing left to resume
        except _Mixed:
            raise
        except BaseException as exc:
            self._stop.set()
            self.client.abort()  # requests in flight fail now instead of running on
            pool.shutdown(wait=False, cancel_futures=True)  # threads in I/O end as they fail
            # After Ctrl-C or SIGTERM rcwiz must end within moments, whatever the server does.
            stopping = not isinstance(exc, (Exception, GeneratorExit))
            if self._keeps(exc, stopping):
                self.kept = True
            else:
                self._discard(INTERRUPTED if stopping else DISCARD_TIMEOUT)
            raise
        finally:
            pool.shutdown(wait=False)
            self.client.close()

    def _keeps(self, exc: BaseException, stopping: bool) -> bool:
        """The session stays for a resume: it is recorded, holds a confirmed chunk, and the
        run stopped (an interruption, a 507, a server gone or hung)."""
        if self.record is None or not self.record.chunks:
            return False
        return stopping or isinstance(exc, _KEEPS)

    def _hash(self, digest: concurrent.futures.Future[Digest]) -> None:
        """The SHA-1 of the whole file and of each chunk, read in order while the chunks
        travel."""
        whole = hashlib.sha1()
        parts: dict[int, str] = {}
        try:
            with open(self.source.path, "rb") as handle:
                for number, _, length in chunks(self.source.size, self.chunk):
                    part = hashlib.sha1()
                    left = length
                    while left > 0 and not self._stop.is_set():
                        block = handle.read(min(4 * BLOCK, left))
                        if not block:
                            break
                        whole.update(block)
                        part.update(block)
                        left -= len(block)
                    parts[number] = part.hexdigest()
            digest.set_result(Digest(whole.hexdigest(), parts))
        except OSError as exc:
            digest.set_exception(
                errors.SourceChanged(f"{self.source.path} cannot be read: {exc.strerror}.")
            )
