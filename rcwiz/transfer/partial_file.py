"""One big file on its way from Nextcloud: its partial file, its record, its ranges.

Used by rcwiz.transfer.bigfiles, which runs several of these at once. A `Download` opens (or
continues) `.NAME.rcwiz-partial` beside the destination (0600, no link followed: the folder is
opened through unzip.Destination), asks the server which version it holds now
(rcwiz.nextcloud.ranged.version) and keeps the bytes on disk only when its record
(rcwiz.transfer.partials) came from that very version (path, ETag, size);
otherwise it starts from zero. Its ranges are written where they belong (pwrite) by any thread;
`save` syncs them and then records them; `finish` checks the whole file (size, and the server's
checksum where it keeps one) and renames it into place with the listing's time.
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
HASH_STEP = 64 * 1024 * 1024  # bytes hashed at most between two events


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
    checksum: str  # the listing's oc:checksum text ("" when the server keeps none)
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

    def afresh(self) -> Download:
        """The same file, to fetch again from zero (nothing of this one carried over)."""
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
        for algorithm, expected in checksums(self.checksum).items():  # the best one only
            self._hash, self._expected = hashlib.new(algorithm), expected
            break
        partial = os.path.join(os.path.dirname(self.destination), self.temp)
        self.record = Record(
            self.destination, partial, self.remote, client.server, now.etag, self.size, good
        )
        self.save()
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
        elif self._hash is not None:
            self.hash_some(self.size)
            if self._hash.hexdigest() != self._expected:
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

    def hash_some(self, budget: int = HASH_STEP) -> None:
        """Hash up to BUDGET more bytes of the part on disk from byte 0 on (the main thread,
        between events: the file's checksum is ready when its last piece lands, instead of
        costing a second read of the whole file then)."""
        if self._hash is None or self.record is None or self._fd < 0:
            return
        with self._lock:
            first = self.record.good[0] if self.record.good else (0, 0)
        end = first[1] if first[0] == 0 else 0
        while self._hashed < end and budget > 0:
            piece = os.pread(self._fd, min(HASH_READ, end - self._hashed, budget), self._hashed)
            if not piece:
                return
            self._hash.update(piece)
            self._hashed += len(piece)
            budget -= len(piece)

    def discard(self) -> None:
        """Drop the partial and its record (a changed or spoiled file)."""
        self.stop.set()
        if self._folder >= 0:
            with contextlib.suppress(OSError):
                os.unlink(self.temp, dir_fd=self._folder)
        self.close()
        if self.record is not None:
            self.record.forget(partial=False)

    def close(self) -> None:
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
