"""The threads of rcwiz.transfer.bigfiles: byte ranges of big files, STREAMS at once.

`Streams` takes pieces in file order, opening each file (rcwiz.transfer.partial_file) when its
turn comes, and reports every piece's end as an Event to the main thread (bigfiles._Loop),
which decides what follows. Its requests go out together, except to PHP's built-in server,
which needs them a one-way trip apart (see spacing).
"""

from __future__ import annotations

import collections
import math
import queue
import threading
import time

from rcwiz.http import Client, Seen
from rcwiz.nextcloud import ranged
from rcwiz.nextcloud.account import Account
from rcwiz.transfer import unzip
from rcwiz.transfer.partial_file import Download
from rcwiz.transfer.partials import Span

# Bytes per ranged request: the file shared among the STREAMS, within these bounds. Each request
# costs the server a start-up of Nextcloud (measured: ~0.1 s on a quiet server, ~1 s on a
# loaded one) and may wait its turn to be sent (spacing), so pieces are big; what a piece had
# written when a run stopped is kept anyway. At rclone's 64 MiB a 1 GB file took 16 requests whose turns cost
# more than their bytes (uncapped on loopback, issue 26: waits of 0.05-1.5 s for pieces moved
# in 0.3 s); at 256 MiB it takes 4, one per stream.
MIN_PIECE = 8 * 1024 * 1024
MAX_PIECE = 256 * 1024 * 1024
STREAMS = 4  # ranged requests at once (benchmarks/resume_download.py)
WAKE = 0.25  # seconds between looks at `stop` while a request waits its turn
MARGIN = 0.005  # seconds added to the one-way trip between two requests to PHP's server (spacing)


def piece_size(size: int) -> int:
    """Bytes per ranged request for a file of SIZE: at most MAX_PIECE, and as many pieces as
    make a multiple of STREAMS (no stream left alone with the last one), at least MIN_PIECE."""
    count = -(-size // MAX_PIECE)
    count = -(-count // STREAMS) * STREAMS
    return max(MIN_PIECE, -(-size // count))


def spacing(seen: Seen, unanswered: bool) -> float:
    """Seconds from one ranged request sent to the next, while the last one's answer has not
    begun (UNANSWERED; once it has, none), for a server whose answers showed SEEN.

    Most servers serve a burst of requests in parallel (Apache, nginx with php-fpm: an idle
    worker takes the next connection): none. PHP's built-in server (SEEN.one_by_one) does
    not: each of its workers accepts every connection that arrives while it is idle, and
    serves them one after the other once a request is read. So a request must reach it after
    the last one was read (by then that worker runs PHP and accepts nothing), which takes
    the one-way trip: measured at a 30 ms round trip (15 ms each way, 4 ranges), sent 0-10 ms
    apart 7 of 12 bursts had a range wait for another's whole answer, 15 ms apart 1 of 4,
    20 ms or more apart none of 32. Half the quickest answer the server gave (SEEN.quickest:
    a round trip and its shortest work) bounds the one-way trip; MARGIN covers the server's
    wake-up. Before any answer is seen, the next request waits for the last one's answer to
    begin (inf), which is always enough.
    """
    if not unanswered or (seen.quickest < math.inf and not seen.one_by_one):
        return 0.0
    return seen.quickest / 2 + MARGIN


Event = tuple[str, Download, Span | None, BaseException | None]


class Streams:
    """STREAMS threads that take pieces in file order, opening each file when its turn comes."""

    def __init__(self, account: Account, dest: unzip.Destination, downloads: list[Download]):
        self.client: Client = account.client()
        self.dav_user = account.dav_user
        self.dest = dest
        self.waiting = collections.deque(downloads)
        self.pieces: collections.deque[tuple[Download, Span]] = collections.deque()
        self.events: queue.Queue[Event] = queue.Queue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.running = 0  # threads that have not found the queue empty (changed under lock)
        # The last request sent whose answer has not begun (Download.piece calls _answered
        # at its first bytes), and when it was sent: the next one waits for it (_ask).
        self.turn = threading.Condition()
        self.unanswered: object | None = None
        self.sent_at = 0.0
        self._local = threading.local()  # .request: this thread's request, while unanswered

    def start(self) -> None:
        with self.lock:
            self._top_up()

    def _top_up(self) -> None:
        """Start threads until STREAMS run (the lock held): a thread that found nothing to do
        has ended, and work queued again after that needs one."""
        while self.running < STREAMS:
            thread = threading.Thread(target=self._work, daemon=True)
            self.threads.append(thread)
            self.running += 1
            thread.start()

    @property
    def busy(self) -> bool:
        """Some thread may still take work or report on it."""
        with self.lock:
            return self.running > 0

    def again(self, download: Download, span: Span | None = None) -> None:
        """Queue DOWNLOAD's piece SPAN first (a cut connection), or DOWNLOAD itself (afresh)."""
        with self.lock:
            if span is not None:
                self.pieces.appendleft((download, span))
            else:
                self.waiting.appendleft(download)
            if not self.stop.is_set():
                self._top_up()

    def _next(self) -> tuple[Download, Span] | None:
        with self.lock:
            while not self.stop.is_set():
                while self.pieces:
                    download, span = self.pieces.popleft()
                    if not download.stop.is_set():
                        return download, span
                if not self.waiting:
                    break
                download = self.waiting.popleft()
                try:
                    gaps = download.open(self.dest, self.client, self.dav_user)
                except BaseException as exc:  # the main thread decides
                    self.events.put(("open", download, None, exc))
                    continue
                piece = piece_size(download.size)
                pieces = [
                    (a, min(a + piece, end))
                    for start, end in gaps
                    for a in range(start, end, piece)
                ]
                self.pieces.extend((download, p) for p in pieces)
                self.events.put(("opened", download, (len(pieces), 0), None))
            self.running -= 1  # its events are all queued: the main thread sees them first
            return None

    def _work(self) -> None:
        while (item := self._next()) is not None:
            download, span = item
            assert download.record is not None
            version = ranged.Version(download.record.etag, download.size)
            if not self._ask():
                continue  # the run stops: _next says so, and this thread ends
            failure: BaseException | None = None
            try:
                into = download.piece(span[0], self._answered)
                ranged.fetch(
                    self.client, self.dav_user, download.remote, span, version, into, download.stop
                )
            except BaseException as exc:  # the main thread decides
                failure = exc
            finally:
                self._answered()
            download.piece_ended(span)
            self.events.put(("piece", download, span, failure))

    def _ask(self) -> bool:
        """Wait until the next request may be sent (False: the run stops): see spacing."""
        with self.turn:
            while not self.stop.is_set():
                now = time.monotonic()
                left = spacing(self.client.seen, self.unanswered is not None) - (now - self.sent_at)
                if left <= 0:
                    self._local.request = self.unanswered = object()
                    self.sent_at = now
                    return True
                self.turn.wait(min(left, WAKE))
        return False

    def _answered(self) -> None:
        """This thread's request is answered (or over): the next need not wait for it."""
        request = getattr(self._local, "request", None)
        if request is not None:
            self._local.request = None
            with self.turn:
                if self.unanswered is request:
                    self.unanswered = None
                    self.turn.notify_all()

    def end(self) -> None:
        """Stop every thread (cutting their requests) and wait for them briefly."""
        self.stop.set()
        self.client.abort()
        for thread in self.threads:
            thread.join(timeout=5)
