"""Which files go in which bulk request, and which request may start: never two in flight that
write into the same folder.

A Nextcloud with a locking memcache (Redis, as production servers run) can refuse a file when
two bulk requests write into one folder at once (`"FOLDER" is locked`: each request's write
changes the folder under the other, whose scan of it then finds the folder's lock taken). So
a folder's files travel together (a folder too big for one request gets requests of its own,
small folders share one), and a request starts only when no request in flight writes into any
of its folders. Pure functions: rcwiz.transfer.bulk runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    waiting: list[list[LocalFile]], running: Sequence[list[LocalFile]], most_bytes: int
) -> list[LocalFile] | None:
    """Take from WAITING the next request that may start beside RUNNING: one into folders none
    of them writes into, with MOST_BYTES in flight at most (the first may exceed it alone);
    None when there is none."""
    busy = set().union(*(folders(batch) for batch in running))
    index = startable(waiting, busy)
    if index is None:
        return None
    in_flight = sum(item.size for batch in running for item in batch)
    if running and in_flight + sum(item.size for item in waiting[index]) > most_bytes:
        return None
    return waiting.pop(index)
