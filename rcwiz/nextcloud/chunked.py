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
`rclone check` compares hashes afterwards; X-OC-Mtime keeps the modification time. When
anything goes wrong (an error, Ctrl-C), the session is deleted, so nothing is left in the
user's upload area; the session's name depends only on the file's path, so a session left by
a killed run is replaced by the next one. While it is written the session is claimed in the
state folder (rcwiz.nextcloud.uploads.claim), so `rcwiz uploads rm` leaves it alone.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

from rcwiz import errors
from rcwiz.clock import INTERRUPTED
from rcwiz.nextcloud import uploads
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
    """A request body: LENGTH bytes of the file at PATH from OFFSET, read a block at a time.

    Each iteration reads the file afresh (a retried request sends the same bytes again).
    """

    def __init__(self, path: str, offset: int, length: int) -> None:
        self.path, self.offset, self.length = path, offset, length

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            left = self.length
            while left > 0:
                block = handle.read(min(BLOCK, left))
                if not block:
                    raise errors.SourceChanged(f"{self.path} became shorter while it was sent.")
                left -= len(block)
                yield block


@dataclass(frozen=True)
class Source:
    """The local file to send, as the walk saw it (a change since then stops the upload)."""

    path: str
    size: int
    mtime: float


class Upload:
    """Send one file to SERVER_PATH (under the user's home) in chunks, PARALLEL at a time.

    `run` raises the named error when the upload did not complete (the session is gone by
    then); QuotaExceeded, AuthenticationFailed and Forbidden mean the server will refuse any
    other way too. Any other error leaves the file to be sent another way.
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

    @property
    def sent(self) -> int:
        """Bytes the server confirmed so far: chunks it answered with success. Bytes written to
        the connection are not counted until then (socket buffers and proxies take hundreds of
        MiB long before the server has them, and a chunk that fails never arrives)."""
        return self._sent

    def _count(self, n: int) -> None:
        with self._lock:
            self._sent += n

    def _headers(self) -> dict[str, str]:
        return {"Destination": self.target, "OC-Total-Length": str(self.source.size)}

    def _start(self) -> None:
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
                self._count(length)  # confirmed: the server has the chunk
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

    def _discard(self, wait: float = DISCARD_TIMEOUT) -> bool:
        """Delete the session (best effort, with a connection of its own, each answer awaited
        WAIT seconds at most); True if it is gone. When it is not (a hung server),
        left_session names it."""
        client = self.account.client(self.account.clock.at_most(wait))
        try:
            for _ in range(3):  # a chunk the server was still writing may get in the way
                client.request("DELETE", self.session)
                if client.request("PROPFIND", self.session, headers={"Depth": "0"}).status == 404:
                    return True
        except errors.RcwizError:
            pass
        finally:
            client.close()
        self.left_session = self.session
        return False

    def run(self, tick: Callable[[int], None] | None = None) -> None:
        """Send the file; TICK gets the bytes the server confirmed so far (`sent`) every TICK
        seconds (this thread). The session is claimed meanwhile (`rcwiz uploads rm` leaves it)."""
        with uploads.claim(self.account, self.name):
            self._run(tick)

    def _run(self, tick: Callable[[int], None] | None) -> None:
        digest: concurrent.futures.Future[str] = concurrent.futures.Future()
        hasher = threading.Thread(target=self._hash, args=(digest,), daemon=True)
        pool = concurrent.futures.ThreadPoolExecutor(self.parallel, "rcwiz-chunk")
        try:
            self._start()
            hasher.start()
            pending = {
                pool.submit(self._put, *part) for part in chunks(self.source.size, self.chunk)
            }
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, TICK, concurrent.futures.FIRST_EXCEPTION
                )
                for future in done:
                    future.result()  # the first failure stops the rest
                if tick is not None:
                    tick(self._sent)
            sha1 = digest.result()
            self._unchanged()
            self._finish(sha1)
        except BaseException as exc:
            self._stop.set()
            self.client.abort()  # requests in flight fail now instead of running on
            pool.shutdown(wait=False, cancel_futures=True)  # threads in I/O end as they fail
            # After Ctrl-C or SIGTERM rcwiz must end within moments, whatever the server does.
            stopping = not isinstance(exc, (Exception, GeneratorExit))
            self._discard(INTERRUPTED if stopping else DISCARD_TIMEOUT)
            raise
        finally:
            pool.shutdown(wait=False)
            self.client.close()

    def _hash(self, digest: concurrent.futures.Future[str]) -> None:
        """The SHA-1 of the whole file, read in order while the chunks travel."""
        sha1 = hashlib.sha1()
        try:
            with open(self.source.path, "rb") as handle:
                while not self._stop.is_set() and (block := handle.read(4 * BLOCK)):
                    sha1.update(block)
            digest.set_result(sha1.hexdigest())
        except OSError as exc:
            digest.set_exception(
                errors.SourceChanged(f"{self.source.path} cannot be read: {exc.strerror}.")
            )
