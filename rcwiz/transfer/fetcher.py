"""The archive download's requests (rcwiz.transfer.archive): the batches fetched several at a
time by threads, each answer into an unnamed file on the destination's disk, handed to the
main thread one at a time as they come.
"""

from __future__ import annotations

import functools
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from rcwiz import errors
from rcwiz.nextcloud.archive import Archives, Batch, Failed

TICK = 0.5  # seconds between progress events while an archive is on its way

_Answer = tuple[Batch, IO[bytes] | None, BaseException | None]  # what a fetch gave


class Fetcher:
    """Fetches the batches PARALLEL at a time, each answer into an unnamed file in FOLDER.

    Nothing of an answer is visible on disk until the caller writes it out: an interrupted
    run leaves no trace of one. Threads that are still waiting for an answer when the run
    ends stop at their next chunk (or with the process).
    """

    def __init__(
        self, archives: Archives, batches: list[Batch], folder: Path, parallel: int
    ) -> None:
        self.archives = archives
        self.folder = folder
        self.parallel = parallel
        self.count = len(batches)
        self.todo: queue.Queue[Batch] = queue.Queue()
        for batch in batches:
            self.todo.put(batch)
        # One answer waits here at most: with one per thread and the one being unpacked,
        # PARALLEL + 2 answers are on disk at once, whatever the number of batches.
        self.done: queue.Queue[_Answer] = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._receiving: dict[int, int] = {}
        self._working = 0  # threads taking batches

    def __enter__(self) -> Fetcher:
        self._working = min(self.parallel, self.count)
        for _ in range(self._working):
            threading.Thread(target=self._work, daemon=True).start()
        return self

    def again(self, batch: Batch) -> None:
        """Fetch BATCH once more (its answer comes from answers() like the others)."""
        with self._lock:  # a thread finds it, or has ended and is counted out
            self.count += 1
            self.todo.put(batch)
            start = self._working < self.parallel
            self._working += start
        if start:
            threading.Thread(target=self._work, daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        self.stop.set()

    def _work(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                try:
                    batch = self.todo.get_nowait()
                except queue.Empty:
                    self._working -= 1
                    return
            answer: IO[bytes] | None = None
            try:
                # Handed to the main thread, which closes it: no with-block here.
                answer = tempfile.TemporaryFile(dir=self.folder)  # noqa: SIM115
                counted = functools.partial(self._received, id(batch))
                self.archives.fetch(batch, answer, stop=self.stop, received=counted)
                self._hand_over((batch, answer, None))
            except BaseException as exc:  # handed to the main thread, which decides
                if answer is not None:
                    answer.close()
                self._hand_over((batch, None, exc))

    def _hand_over(self, item: _Answer) -> None:
        """Queue ITEM for the main thread once there is room (dropped if the run ended)."""
        while not self.stop.is_set():
            try:
                self.done.put(item, timeout=TICK)
                return
            except queue.Full:
                continue
        if item[1] is not None:
            item[1].close()

    def _received(self, key: int, count: int) -> None:
        with self._lock:
            self._receiving[key] = self._receiving.get(key, 0) + count

    def answers(
        self, tick: Callable[[int], None]
    ) -> Iterator[tuple[Batch, IO[bytes] | None, str | None]]:
        """Each batch as its answer comes (any order): the answer, or why it failed.

        TICK gets the bytes received so far of answers not yet handed over, every TICK s.
        """
        handed = 0
        while handed < self.count:  # again() may add to it meanwhile
            handed += 1
            while True:
                try:
                    batch, answer, exc = self.done.get(timeout=TICK)
                    break
                except queue.Empty:
                    with self._lock:
                        coming = sum(self._receiving.values())
                    tick(coming)
            with self._lock:
                self._receiving.pop(id(batch), None)
            try:
                yield batch, answer, _failure(exc)
            finally:
                if answer is not None:
                    answer.close()


def _failure(exc: BaseException | None) -> str | None:
    """Why a batch did not come, in a few words; a stall or a bug is raised instead."""
    if exc is None:
        return None
    if isinstance(exc, Failed):
        return str(exc)
    if isinstance(exc, errors.Stalled):
        raise exc  # the server is hung: rclone would wait as long again
    if isinstance(exc, errors.RcwizError):
        return exc.message.rstrip(".")
    if isinstance(exc, OSError):
        return f"its answer could not be kept ({exc.strerror or exc})"
    raise exc
