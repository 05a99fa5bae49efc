"""One big file on its way from Nextcloud: its partial file, its record, its ranges.

Used by rcwiz.transfer.bigfiles, which runs several of these at once. A `Download` opens (or
continues) `.NAME.rcwiz-partial` beside the destination (0600, no link followed: the folder is
opened through unzip.Destination), asks the server which version it holds now
(the listing's ETag, taken in the same run; rcwiz.nextcloud.ranged.version when the listing
gave none) and keeps the bytes on disk only when its record (rcwiz.transfer.partials) came from
that very version (path, ETag, size); otherwise it starts from zero. Every ranged request
carries that ETag (If-Range), so a file replaced after the listing is never mixed in.

Its ranges are written where they belong (pwrite) by any thread; `save` syncs them and then
records them; `finish` checks the whole file (size, and the server's checksum where it keeps
one) and renames it into place with the listing's time. The checksum may come later than
the first bytes (bigfiles asks for it while they already come: `Expected`); a thread hashes
the file in order as its bytes land (the contiguous part from byte 0, read back from the page
cache), so that when the last piece lands only what came after that part is left to hash;
another syncs what has landed (SYNC_BYTES or more, looked at every SYNC_EVERY seconds), so
that the fsync before the rename is left with the last few bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rcwiz import errors
from rcwiz.http import Client
from rcwiz.nextcloud import ranged
from rcwiz.transfer import partials, unzip
from rcwiz.transfer.partials import Record, Span
from rcwiz.transfer.verify import checksums

HASH_READ = 4 * 1024 * 1024
WAKE = 0.25  # seconds between looks at `stop` while a thread waits (a checksum, more bytes)
# Seconds between two syncs of a partial while its bytes land. What `finish`'s fsync (before
# the rename) has left to write is what came since the last one: measured (strace, 400 MB at
# 30 ms, loopback), 50-60 ms when only the periodic record's sync (bigfiles.SAVE_EVERY) had
# run, 4-11 ms with this.
SYNC_EVERY = 0.05
# ...and only once this many bytes have landed since the last: on a slow link, or a home
# folder on NFS or Lustre where each sync is a round trip to the file server, a sync every
# 50 ms would cost more than the end's fsync it saves (at 20 MB/s: one sync every 0.4 s
# instead of 20 a second).
SYNC_BYTES = 8 * 1024 * 1024


class Expected:
    """The checksum the server keeps of a file (its `oc:checksum` text, "" when none), known
    at once or once a request running meanwhile has answered (`give`)."""

    def __init__(self, text: str | None = None) -> None:
        self._text = text or ""
        self._known = threading.Event()
        if text is not None:
            self._known.set()

    def give(self, text: str) -> None:
        self._text = text
        self._known.set()

    @property
    def known(self) -> bool:
        """Whether the text has come (then `wait` returns at once)."""
        return self._known.is_set()

    def wait(self, *stops: threading.Event) -> str | None:
        """The text once known; None when one of STOPS is set first. The request that gives
        it ends within the stall timeout (and gives "" when it fails); the main thread calls
        this only once it is `known` (rcwiz.transfer.bigfiles._Loop holds a file back till then)."""
        while not self._known.wait(WAKE):
            if any(stop.is_set() for stop in stops):
                return None
        return self._text


class Spoiled(errors.RcwizError):
    """The whole file is not what the server holds (size or checksum): it is not kept."""


@dataclass
class Download:
    """One file: where it goes, what the listing says, what is on disk, what is on its way."""

    relative: str  # path in the transfer (the local folder and the remote one alike)
    remote: str  # path on the server, relative to the user's home
    destination: str  # absolute local path
    size: int
    mtime: float
    checksum: Expected  # the server's oc:checksum text ("" when it keeps none)
    etag: str = ""  # the listing's ETag of the file ("": not given, HEAD asks for it)
    record: Record | None = None
    resumed: int = 0  # bytes kept from an earlier run
    moved: int = 0  # bytes that came in this run
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)
    _hash: Any = None  # the hashlib object for the server's checksum, if it keeps one
    _expected: str = ""
    _hashed: int = 0  # bytes from 0 on that went into _hash
    _fd: int = -1
    _folder: int = -1
    _writing: dict[int, int] = field(default_factory=dict)  # piece start -> written up to
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _landed: threading.Event = field(default_factory=threading.Event)  # wakes the hasher
    _over: threading.Event = field(default_factory=threading.Event)  # its threads end
    _threads: list[threading.Thread] = field(default_factory=list)  # the syncer, the hasher
    synced: int = 0  # bytes that had come this run when the syncer's last sync began

    def afresh(self) -> Download:
        """The same file, to fetch again from zero (nothing of this one carried over; the
        version it changed to is asked for by HEAD, the listing's ETag is no longer it)."""
        return Download(
            self.relative, self.remote, self.destination, self.size, self.mtime, self.checksum
        )

    @property
    def name(self) -> str:
        return self.relative.rpartition("/")[2]

    @property
    def temp(self) -> str:
        return partials.partial_name(self.name)

    def open(self, dest: unzip.Destination, client: Client, dav_user: str) -> list[Span]:
        """Open the partial (continued when its record still holds) and return the ranges
        still to fetch. A file whose size on the server is not the listing's is Changed."""
        parent = self.relative.rpartition("/")[0]
        self._folder = dest.folder(parent)
        now = ranged.Version(self.etag, self.size)
        if not self.etag:
            now = ranged.version(client, dav_user, self.remote)
        if now.size != self.size:
            raise ranged.Changed(f"{self.remote} changed on the server since it was listed.")
        old = partials.load(self.destination)
        good = self._kept(old, now)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
        if not good:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp, dir_fd=self._folder)
            flags |= os.O_EXCL
        self._fd = os.open(self.temp, flags, partials.files.FILE_MODE, dir_fd=self._folder)
        os.fchmod(self._fd, partials.files.FILE_MODE)
        self.resumed = sum(end - start for start, end in good)
        partial = os.path.join(os.path.dirname(self.destination), self.temp)
        self.record = Record(
            self.destination, partial, self.remote, client.server, now.etag, self.size, good
        )
        self.save()
        self._thread(self._follow, f"hasher {self.relative}")
        self._thread(self._sync, f"syncer {self.relative}")
        return partials.missing(good, self.size, 1 << 62)

    def _kept(self, old: Record | None, now: ranged.Version) -> list[Span]:
        """The good ranges of the partial on disk, if it is the version NOW of this file (the
        same path, ETag and size; the server's address may differ: a proxy, another name)."""
        if old is None or (old.remote, old.etag, old.size) != (self.remote, now.etag, now.size):
            return []
        try:
            there = os.stat(self.temp, dir_fd=self._folder, follow_symlinks=False)
        except OSError:
            return []  # removed on disk: nothing to keep
        return partials.clipped(old.good, there.st_size)  # truncated: keep what is still there

    def piece(self, start: int, begun: Callable[[], None]) -> Piece:
        """Where the piece that starts at START is written (an rcwiz.body_to_file.Target);
        BEGUN is called at its first bytes on disk."""
        return Piece(self, start, begun)

    @contextlib.contextmanager
    def held(self) -> Iterator[int]:
        """The partial's descriptor while held (-1: closed, or the download stopped): never a
        write into a descriptor closed (and reused) meanwhile by another thread."""
        with self._lock:
            yield -1 if self._fd < 0 or self.stop.is_set() else self._fd

    def landed(self, piece: int, at: int, count: int) -> None:
        """COUNT bytes from AT of the piece that starts at PIECE are on disk (while held)."""
        self._writing[piece] = at + count
        self.moved += count
        self._landed.set()

    def piece_ended(self, span: Span) -> None:
        """The piece SPAN is over (whole, or cut short): what of it was written is good."""
        with self._lock:
            upto = self._writing.pop(span[0], span[0])
            if self.record is not None:
                self.record.good = partials.add_span(self.record.good, (span[0], upto))

    def left(self, span: Span) -> Span | None:
        """What of the piece SPAN is not on disk yet (None: all of it is)."""
        assert self.record is not None
        with self._lock:
            gaps = partials.missing(self.record.good, self.size, 1 << 62)
        for start, end in gaps:
            if start < span[1] and end > span[0]:
                return max(start, span[0]), min(end, span[1])
        return None

    @property
    def whole(self) -> bool:
        with self._lock:
            return self.record is not None and self.record.good == [(0, self.size)]

    @property
    def done_bytes(self) -> int:
        """Bytes on disk now (kept and fetched), for progress."""
        return self.resumed + self.moved

    def save(self) -> None:
        """Sync the partial, then record what it holds (pieces on their way count as far as
        they were written before the sync)."""
        if self.record is None or self._fd < 0:
            return
        with self._lock:
            good = self.record.good
            for start, upto in self._writing.items():
                good = partials.add_span(good, (start, upto))
        os.fdatasync(self._fd)
        snapshot = Record(**{**self.record.__dict__, "good": good})
        snapshot.save()

    def finish(self) -> None:
        """Check the whole file and rename it into place with the listing's time; Spoiled (and
        nothing kept) when it is not what the server holds."""
        assert self.record is not None
        os.fsync(self._fd)
        length = os.fstat(self._fd).st_size
        problem = None
        if length != self.size:
            problem = f"{length} bytes arrived, the server has {self.size}"
        elif self._hashed_whole() and self._hash.hexdigest() != self._expected:
            problem = f"its {self._hash.name.upper()} is not the one the server keeps"
        if problem is not None:
            self.discard()
            raise Spoiled(f"{self.relative}: {problem}.")
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(self._fd, 0o666 & ~umask)  # what rclone gives a downloaded file
        os.utime(self._fd, ns=(round(self.mtime * 1e9),) * 2)
        os.rename(self.temp, self.name, src_dir_fd=self._folder, dst_dir_fd=self._folder)
        self.close()
        self.record.forget(partial=False)

    @property
    def hashed(self) -> int:
        """Bytes from 0 on that went into the hash of the server's checksum so far."""
        return self._hashed

    def frontier(self) -> int:
        """Bytes from 0 on that are on disk without a gap (pieces on their way count as far
        as they were written)."""
        with self._lock:
            good = self.record.good if self.record is not None else []
            for start, upto in self._writing.items():
                good = partials.add_span(good, (start, upto))
        return good[0][1] if good and good[0][0] == 0 else 0

    def _follow(self, fd: int) -> None:
        """The hasher thread: once the server's checksum is known, hash the file in order as
        its bytes land, through FD (its own descriptor: the download's may be closed at any
        time), until `finish` takes over or the download ends (stopped, or closed)."""
        try:
            self._expect(self.checksum.wait(self.stop, self._over))
            while self._hash is not None and not (self._over.is_set() or self.stop.is_set()):
                self._landed.clear()
                if not self._hash_upto(fd, self.frontier(), HASH_READ):
                    self._landed.wait(WAKE)
        finally:
            os.close(fd)

    def _thread(self, target: Callable[[int], None], name: str) -> None:
        """Start TARGET in a thread of its own with a descriptor of its own of the partial
        (the download's may be closed at any time); it ends with the download (_over)."""
        thread = threading.Thread(target=target, args=(os.dup(self._fd),), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _sync(self, fd: int) -> None:
        """The syncer thread: what has landed goes to disk (every SYNC_EVERY seconds, once
        SYNC_BYTES have come since the last) while the rest comes, so that `finish`'s fsync is
        left with the last few bytes."""
        try:
            while not (self._over.wait(SYNC_EVERY) or self.stop.is_set()):
                moved = self.moved
                if moved - self.synced >= SYNC_BYTES:
                    os.fdatasync(fd)
                    self.synced = moved
        except OSError:
            pass  # a full disk, say: the next save says so, finish's fsync fails
        finally:
            os.close(fd)

    def _expect(self, text: str | None) -> None:
        """Hash by the best of the checksums in TEXT (the server's oc:checksum), if any."""
        for algorithm, expected in checksums(text or "").items():  # the best one only
            self._hash, self._expected = hashlib.new(algorithm), expected
            return

    def _hash_upto(self, fd: int, end: int, budget: int) -> int:
        """Hash up to BUDGET more bytes of the file from where the hash is, up to END; the
        bytes hashed (0: none there yet)."""
        done = 0
        while self._hashed < end and done < budget:
            piece = os.pread(fd, min(HASH_READ, end - self._hashed, budget - done), self._hashed)
            if not piece:
                break
            self._hash.update(piece)
            self._hashed += len(piece)
            done += len(piece)
        return done

    def _hashed_whole(self) -> bool:
        """Whether the server keeps a checksum of the file: then, the whole file hashed (what
        the hasher thread left, hashed here once the checksum is known and the thread ended).
        Spoiled when the download was stopped before the checksum came."""
        text = self.checksum.wait(self.stop)
        if text is None:
            raise Spoiled(f"{self.relative}: stopped before its checksum came.")
        self._end_threads()
        if self._hash is None:  # the thread ended before it came
            self._expect(text)
        if self._hash is None:
            return False
        self._hash_upto(self._fd, self.size, self.size)
        return True

    def discard(self) -> None:
        """Drop the partial and its record (a changed or spoiled file)."""
        self.stop.set()
        if self._folder >= 0:
            with contextlib.suppress(OSError):
                os.unlink(self.temp, dir_fd=self._folder)
        self.close()
        if self.record is not None:
            self.record.forget(partial=False)

    def _end_threads(self) -> None:
        """End the hasher and the syncer after the read or sync each is at (one waiting for
        more bytes or for the checksum ends now, not WAKE later)."""
        self._over.set()
        for thread in self._threads:
            while thread.is_alive():
                self._landed.set()
                thread.join(WAKE)

    def close(self) -> None:
        self._end_threads()
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


@dataclass
class Piece:
    """One ranged request's way into a Download's partial (an rcwiz.body_to_file.Target)."""

    download: Download
    start: int  # where the piece starts: what it wrote is recorded under it
    begun: Callable[[], None]  # called at its first bytes on disk (rcwiz.transfer.streams)

    def held(self) -> contextlib.AbstractContextManager[int]:
        return self.download.held()

    def landed(self, at: int, count: int) -> None:
        self.begun()
        self.download.landed(self.start, at, count)
