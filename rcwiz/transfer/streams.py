"""The threads of rcwiz.transfer.bigfiles: byte ranges of big files, STREAMS at once.

`Streams` takes pieces in file order, opening each file (rcwiz.transfer.partial_file) when its
turn comes, and reports every piece's end as an Event to the main thread (bigfiles._Loop),
which decides what follows. Its requests go out together, except to PHP's built-in server,
which needs them a one-way trip apart (see spacing). STREAMS run at first; more run while each
is slow and much is left (Growth), and a stream without work takes the second half of a
running piece (Streams._steal).
"""

from __future__ import annotations

import collections
import contextlib
import math
import queue
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rcwiz.http import Client, Seen
from rcwiz.nextcloud import ranged
from rcwiz.nextcloud.account import Account
from rcwiz.transfer import unzip
from rcwiz.transfer.partial_file import Download
from rcwiz.transfer.partials import Span

if TYPE_CHECKING:
    from rcwiz.body_to_file import Target

# Bytes per ranged request: the file shared among the STREAMS, within these bounds. Each request
# costs the server a start-up of Nextcloud (measured: ~0.1 s on a quiet server, ~1 s on a
# loaded one) and may wait its turn to be sent (spacing), so pieces are big; what a piece had
# written when a run stopped is kept anyway. At rclone's 64 MiB a 1 GB file took 16 requests
# whose turns cost more than their bytes (uncapped on loopback, issue 26: waits of 0.05-1.5 s
# for pieces moved in 0.3 s); at 256 MiB it takes 4, one per stream. Streams added later
# take a share of a running piece instead (Streams._steal).
MIN_PIECE = 8 * 1024 * 1024
MAX_PIECE = 256 * 1024 * 1024
STREAMS = 4  # ranged requests at once to begin with (benchmarks/resume_download.py)
MAX_STREAMS = 16  # ranged requests at once at most (Growth)
SPLIT_MIN = 32 * 1024 * 1024  # bytes a running piece must still lack to be split (steal)
STEAL_AFTER = 0.5  # seconds a running piece must still need, at its rate, to be split
TICK = 0.1  # seconds between two looks at the streams' rate (Streams._watch)
# Growth's rate is measured over WINDOW (the first window after the start only warms up), and
# streams are added only when GROW_LEFT seconds at that rate are still to come. Measured (1 GB
# at 30 ms, php -S, load 5-7): with 0.5 s, no warm-up and 2 s, a loaded uncapped download
# (its rate low in its first half second, and noisy) grew once to 16 streams on the 2-core
# machine, 5.1 s against rclone's 2.8-3.3 s; with 1 s windows the capped one fell from 2.95x
# rclone to 1.93x (the streams came a second later).
WINDOW = 0.5  # seconds over which every stream must answer before their rate counts (Growth)
GROW_LEFT = 3.0  # seconds still needed at the rate measured for more streams to be worth it
PAYS = 0.5  # of the share of streams added, the rise in rate that says they paid (Growth)
PROMPT = 1.0  # seconds within which a probe's answer begins when the server has a free worker
WAKE = 0.25  # seconds between looks at `stop` while a request waits its turn
MARGIN = 0.005  # seconds added to the one-way trip between two requests to PHP's server (spacing)


def piece_size(size: int) -> int:
    """Bytes per ranged request for a file of SIZE: at most MAX_PIECE, and as many pieces as
    make a multiple of STREAMS (no stream left alone with the last one), at least MIN_PIECE."""
    count = -(-size // MAX_PIECE)
    count = -(-count // STREAMS) * STREAMS
    return max(MIN_PIECE, -(-size // count))


def spacing(seen: Seen, unanswered: bool, serving: bool = False) -> float:
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
    begin (inf), which is always enough; so does one sent while other answers are SERVING
    (streams added, shares taken): then the server's workers are slow to wake (measured at
    load 8: two capped rounds of 10.1 and 12.5 s against 6.3-7.6 s, ranges queued on one
    worker), and the streams already running carry the transfer meanwhile.
    """
    if not unanswered or (seen.quickest < math.inf and not seen.one_by_one):
        return 0.0
    if serving:
        return math.inf
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
        self.wanted = STREAMS  # threads to keep running (Growth raises it)
        self.shares: set[Share] = set()  # the pieces on their way (under lock)
        self.moved = 0  # bytes landed by the pieces that ended (under lock)
        self.growth = Growth()
        # The last request sent whose answer has not begun (Download.piece calls _answered
        # at its first bytes), and when it was sent: the next one waits for it (_ask).
        self.turn = threading.Condition()
        self.unanswered: object | None = None
        self.sent_at = 0.0
        self._local = threading.local()  # .request: this thread's request, while unanswered

    def start(self) -> None:
        with self.lock:
            self._top_up()
        watcher = threading.Thread(target=self._watch, daemon=True)
        self.threads.append(watcher)
        watcher.start()

    def _top_up(self) -> None:
        """Start threads until `wanted` run (the lock held): a thread that found nothing to do
        has ended, and work queued again after that needs one."""
        while self.running < self.wanted:
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
                    if (stolen := self._steal()) is not None:
                        return stolen
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

    def _steal(self) -> tuple[Download, Span] | None:
        """The second half of what the running piece with the most left still lacks, which
        that piece no longer writes (the lock held): a thread that found no work, or one
        Growth added, shares a piece that would otherwise end alone (aria2's work stealing).
        None when no piece has SPLIT_MIN bytes and STEAL_AFTER seconds left."""
        now = time.monotonic()
        worth = [
            s
            for s in self.shares
            if s.left >= SPLIT_MIN
            and s.seconds_left(now) >= STEAL_AFTER
            and not s.download.stop.is_set()
        ]
        if not worth:
            return None
        share = max(worth, key=lambda s: s.left)
        cut = share.reached + share.left // 2
        stolen = (cut, share.limit)
        share.limit = cut
        self.events.put(("split", share.download, stolen, None))
        return share.download, stolen

    def _work(self) -> None:
        while (item := self._next()) is not None:
            download, span = item
            assert download.record is not None
            version = ranged.Version(download.record.etag, download.size)
            if not self._ask():
                continue  # the run stops: _next says so, and this thread ends
            failure: BaseException | None = None
            share = Share(download, span, download.piece(span[0], self._answered))
            with self.lock:
                self.shares.add(share)
            try:
                ranged.fetch(
                    self.client, self.dav_user, download.remote, span, version, share, download.stop
                )
            except BaseException as exc:  # the main thread decides
                failure = exc
            finally:
                self._answered()
                with self.lock:
                    self.shares.discard(share)
                    self.moved += share.moved
            download.piece_ended(span)
            self.events.put(("piece", download, (span[0], share.limit), failure))

    def _watch(self) -> None:
        """Every TICK while pieces are on their way: more streams, when Growth says so."""
        while not self.stop.wait(TICK) and self.busy:
            with self.lock:
                moved = self.moved + sum(s.moved for s in self.shares)
                answering = sum(1 for s in self.shares if s.answering)
                left = sum(s.left for s in self.shares)
                left += sum(end - start for _, (start, end) in self.pieces)
                left += sum(d.size for d in self.waiting)
                now, probe = time.monotonic(), self.client.seen.one_by_one
                more = self.growth.more(now, moved, left, answering, self.wanted, probe)
                if more:
                    self.wanted += more
                    self._top_up()

    def _ask(self) -> bool:
        """Wait until the next request may be sent (False: the run stops): see spacing."""
        with self.turn:
            while not self.stop.is_set():
                now = time.monotonic()
                with self.lock:  # (taken within `turn`, never the other way round)
                    serving = any(share.answering for share in self.shares)
                wait = spacing(self.client.seen, self.unanswered is not None, serving)
                left = wait - (now - self.sent_at)
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


class Share:
    """One ranged request's way into its Download (an rcwiz.body_to_file.Target, in front
    of partial_file.Piece): it counts what landed, and writes nothing from `limit` on once
    another stream took the rest (Streams._steal; the bytes of the chunk in hand when the
    limit is reached may still land beyond it: the same version's, so kept)."""

    def __init__(self, download: Download, span: Span, piece: Target) -> None:
        self.download = download
        self.limit = span[1]
        self.reached = span[0]
        self.moved = 0
        self.first = 0.0  # when its first bytes landed (0: not yet)
        self.piece = piece

    @property
    def answering(self) -> bool:
        return self.first > 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.reached)

    def seconds_left(self, now: float) -> float:
        """At its rate so far (inf: none yet)."""
        if not self.moved or now <= self.first:
            return math.inf
        return self.left / (self.moved / (now - self.first))

    @contextlib.contextmanager
    def held(self) -> Iterator[int]:
        if self.reached >= self.limit:
            yield -1
            return
        with self.piece.held() as fd:
            yield fd

    def landed(self, at: int, count: int) -> None:
        if not self.first:
            self.first = time.monotonic()
        self.piece.landed(at, count)
        self.reached = max(self.reached, at + count)
        self.moved += count


class Growth:
    """When to run more streams than STREAMS: one TCP stream's rate is often the limit of a
    distant server (its window over the round trip), the machine's own (CPU, disk) on a
    near one. So while every stream is answering, the total rate is measured over WINDOW
    (once a first window has passed);
    the streams are doubled (up to MAX_STREAMS) when what is left would take more than
    GROW_LEFT seconds at that rate, and no more once a doubling did not raise the rate by
    PAYS of its share (the machine, or the server's workers, are the limit: a doubling that
    did not pay costs only its requests' start).

    To PHP's built-in server the first step adds one stream, a probe: when all its workers
    are busy, the connections that wait for one are all accepted by the first that is free,
    which serves them one after the other (see spacing); one waits at most for a piece to
    end, four could wait for each other. A probe answered within PROMPT found a free worker:
    the doubling follows at once (the rate before the probe stands for the streams before
    it); one answered later waited for a piece to end: no more streams.
    """

    def __init__(self) -> None:
        self.since: float | None = None  # since when every stream answers (None: not all do)
        self.mark = 0  # bytes moved then
        self.before: tuple[float, int] | None = None  # the rate and streams before a doubling
        self.probed: float | None = None  # when the probe went out, until it answers
        self.warm = False  # a first window has passed (the streams' start is not their rate)
        self.done = False  # streams are no longer added

    def more(
        self, now: float, moved: int, left: int, answering: int, streams: int, probe: bool
    ) -> int:
        """Streams to add now (0: none), given the bytes MOVED so far, those LEFT, the
        streams ANSWERING of the STREAMS wanted; PROBE: the server is PHP's built-in one."""
        if self.done or streams >= MAX_STREAMS:
            return 0
        if answering < streams:
            self.since = None
            return 0
        if self.probed is not None:  # the probe answers
            self.done = now - self.probed > PROMPT
            self.probed = None
            return 0 if self.done else min(streams, MAX_STREAMS - streams)
        if self.since is None:
            self.since, self.mark = now, moved
            return 0
        if now - self.since < WINDOW:
            return 0
        rate = (moved - self.mark) / (now - self.since)
        if not self.warm:
            self.warm, self.since, self.mark = True, now, moved
            return 0
        if self.before is not None:
            rate_before, streams_before = self.before
            added = (streams - streams_before) / streams_before
            if rate < rate_before * (1 + PAYS * added):
                self.done = True
                return 0
        if left <= rate * GROW_LEFT:
            return 0  # more streams would not pay for their start
        first = self.before is None
        self.before, self.since = (rate, streams), None
        if probe and first:
            self.probed = now
            return 1
        return min(streams, MAX_STREAMS - streams)
