"""Which files go in which bulk request, and which request may start: never two in flight that
write into the same folder.

A Nextcloud with a locking memcache (Redis, as production servers run) can refuse a file when
two bulk requests write into one folder at once (`"FOLDER" is locked`: each request's write
changes the folder under the other, whose scan of it then finds the folder's lock taken). So
a folder's files travel together (a folder too big for one request gets requests of its own,
small folders share one), and a request starts only when no request in flight writes into any
of its folders.

And how many files the next request carries (`Pace`): a bulk request is answered only once the
server has written every file in it, and nothing moves on the wire meanwhile, so a request the
server needs longer for than the stall timeout looks hung. The server's time per file varies a
hundredfold (19 ms on a production-like server, about 100 ms on the suite's under load, more
in a big account on a busy machine: benchmarks/README.md, scale.py), so requests are sized from
the answers: the first ones small (FIRST files), later ones as many files as the server writes
in TARGET_SHARE of the stall timeout by the answers so far, growing at most GROWTH-fold per
answer. Pure functions and a small record: rcwiz.transfer.bulk runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rcwiz.nextcloud import bulk
from rcwiz.transfer.walk import LocalFile


def folder_of(item: LocalFile) -> str:
    """The folder ITEM is written into, relative to the destination ("" for itself)."""
    return item.relative.rpartition("/")[0]


def folders(batch: Iterable[LocalFile]) -> set[str]:
    """The folders a request carrying BATCH writes into."""
    return {folder_of(item) for item in batch}


def _by_folder(files: Iterable[LocalFile]) -> list[list[LocalFile]]:
    """FILES grouped by their folder, in the order each folder first appears."""
    groups: dict[str, list[LocalFile]] = {}
    for item in files:
        groups.setdefault(folder_of(item), []).append(item)
    return list(groups.values())


def batches(files: Sequence[LocalFile], parts: int = 1) -> list[list[LocalFile]]:
    """Requests as bulk.batches makes them (at most bulk.files_per_batch files, about
    bulk.BATCH_BYTES bytes), but a folder's files kept together: a folder that does not fit in
    the request being filled starts a new one, and one bigger than a request gets its own."""
    most = bulk.files_per_batch(len(files), parts)
    out: list[list[LocalFile]] = []
    batch: list[LocalFile] = []
    size = 0
    for group in _by_folder(files):
        if batch and len(batch) + len(group) > most:
            out.append(batch)
            batch, size = [], 0
        for item in group:
            if batch and (len(batch) >= most or size + item.size > bulk.BATCH_BYTES):
                out.append(batch)
                batch, size = [], 0
            batch.append(item)
            size += item.size
    if batch:
        out.append(batch)
    return out


def startable(waiting: Sequence[list[LocalFile]], busy: set[str]) -> int | None:
    """The index of the first of WAITING whose folders no request in flight (writing into
    BUSY) writes into; None when each would share a folder with one."""
    for index, batch in enumerate(waiting):
        if busy.isdisjoint(folders(batch)):
            return index
    return None


def take(
    waiting: list[list[LocalFile]],
    running: Sequence[list[LocalFile]],
    most_bytes: int,
    most_files: int | None = None,
) -> list[LocalFile] | None:
    """Take from WAITING the next request that may start beside RUNNING: one into folders none
    of them writes into, with MOST_BYTES in flight at most (the first may exceed it alone);
    None when there is none. MOST_FILES (the pace) cuts a longer request: its first files go,
    the rest waits in its place for a later request."""
    busy = set().union(*(folders(batch) for batch in running))
    index = startable(waiting, busy)
    if index is None:
        return None
    batch = waiting[index][: max(1, most_files)] if most_files else waiting[index]
    in_flight = sum(item.size for batch in running for item in batch)
    if running and in_flight + sum(item.size for item in batch) > most_bytes:
        return None
    rest = waiting[index][len(batch) :]
    if rest:
        waiting[index] = rest
    else:
        del waiting[index]
    return batch


FIRST = 25  # files per request until the server has answered one (bulk.SPLIT_FROM)
TARGET_SHARE = 0.25  # of the stall timeout: the longest an answer should take
GROWTH = 4  # a request carries at most this many times the files of the largest one answered


@dataclass
class Pace:
    """How many files the next bulk request carries, and how many requests go at once (module
    docstring): STALL is the run's stall timeout, MOST the files a request carries at most
    (bulk.files_per_batch), PARALLEL the requests in flight until one stalls (then one)."""

    stall: float
    most: int
    parallel: int = 1
    per_file: float | None = None  # seconds per file the answers so far took (None: no answer)
    proven: int = 0  # files in the largest request answered
    moved_at: float = float("-inf")  # when the server last showed it writes (time.monotonic)

    def files(self) -> int:
        """The files the next request carries, at most."""
        if self.per_file is None:
            return min(self.most, FIRST)
        fits = int(self.stall * TARGET_SHARE / max(self.per_file, 1e-6))
        return max(1, min(self.most, fits, max(FIRST, self.proven) * GROWTH))

    def answered(self, files: int, seconds: float, now: float) -> None:
        """A request of FILES files was answered in SECONDS, at NOW: a slower server is
        believed at once, a faster one by half (requests in flight at once share the server:
        the time is theirs together)."""
        rate = seconds / max(1, files)
        if self.per_file is None or rate > self.per_file:
            self.per_file = rate
        else:
            self.per_file = (self.per_file + rate) / 2
        self.proven = max(self.proven, files)
        self.moved_at = now

    def stalled(self, files: int, found: int, started: float, now: float) -> bool:
        """A request of FILES files, sent at STARTED, got no answer within the stall timeout,
        and at NOW FOUND of them are on the server. The next requests carry at most a quarter
        as many files (each answered in TARGET_SHARE of the time), one at a time (the server may
        still be writing the one given up on: parallel requests would only queue behind it).
        True: go on; False when the server showed no sign of writing anything while that
        request waited (no answer, none of its files): a server that does not write, where
        another request would wait as long."""
        self.per_file = max(self.per_file or 0.0, self.stall / max(1, files))
        self.proven = min(self.proven, max(1, files // GROWTH))
        self.parallel = 1
        if found:
            self.moved_at = now
        return self.moved_at >= started
