"""The fast path for uploads to Nextcloud: rcwiz sends what it can itself, rclone the rest.

Used by the transfer commands when the destination is a Nextcloud remote that advertises
dav.bulkupload or dav.chunking and the source is a local folder, or one file (rclone puts it
into the destination folder: rcwiz.transfer.single). One listing of the destination (of that
one name, for a file) decides what to send: files already there with the same size and modification
time are skipped (as rclone decides), so a re-run costs that listing and nothing else. Then:

* small files go by bulk upload (rcwiz.nextcloud.bulk), several requests in flight, the bytes
  in flight bounded (each request is held in the server's memory, and in rcwiz's);
* big files go in chunks sent several at a time (rcwiz.nextcloud.chunked), one file after
  another, where rclone sends the chunks of a file one after another;
* whatever is left (files in between, names the fast path does not carry, anything refused or
  failed) is rclone's, under the same progress display and summary. A copy hands rclone only
  those files (`--files-from-raw`, and `--no-traverse` when they are few: no second listing
  of the destination), and does not start rclone at all when nothing is left. A sync keeps
  its full rclone run, which deletes what the source lacks, unless its dry run (which then
  stands in for the listing) found nothing to delete and nothing is left to send.

A failure of the fast path (other than a full quota or a refused login, which rclone would meet
too) leaves the files concerned to rclone, with a notice; Ctrl-C or a 507 stops the run, and a
chunked upload it stops keeps its session for the next run to resume, or leaves none
(rcwiz.nextcloud.chunked; rcwiz.transfer.resumable).
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass

from rcwiz import errors
from rcwiz.counting import Tally
from rcwiz.events import Expected
from rcwiz.nextcloud import bulk, chunked
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.capabilities import Capabilities
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import batching, bulk_run, fastpath, late, resumable, single
from rcwiz.transfer.bulk_run import Phase, Run
from rcwiz.transfer.walk import LocalFile, Tree

# Measured against a real Nextcloud 30 at a 30 ms round trip (benchmarks/README.md).
REQUESTS_IN_FLIGHT = 3  # bulk requests at once
BYTES_IN_FLIGHT = 32 * 1024 * 1024  # the bulk requests' bodies in memory at once, at most
BIG_FILE = 32 * 1024 * 1024  # files this big or bigger go in chunks sent in parallel
CHUNK = 32 * 1024 * 1024  # at most; smaller where that lets a file use every connection
# 300 MB, 32 MiB chunks (benchmarks/README.md): 1, 2, 4, 8 at once took 2.1, 1.6, 2.0, 1.9 s,
# and with each connection capped at 20 MB/s 16.7, 9.6, 6.0, 4.2 s; 8 cost 8 MB more memory.
CHUNKS_IN_FLIGHT = 8
TICK = 0.5  # seconds between progress reports while requests are in flight

# What no other way of sending would get past: stop instead of trying rclone too (a hung
# server would hold rclone as long again).
_STOPS = (errors.QuotaExceeded, errors.AuthenticationFailed, errors.Stalled)


def applies(opts: TransferOptions) -> bool:
    """The upload fast path may run: the options allow one (fastpath.applies) and the source
    is a local folder or one file (single.local_taken)."""
    return fastpath.applies(opts, filters=True) and single.local_taken(opts.source)


def _carried(item: LocalFile, caps: Capabilities) -> bool:
    """A name the fast path may send: one rclone stores as it is, which the server accepts."""
    return bulk.safe_name(item.relative) and all(
        caps.refusal(part) is None for part in item.relative.split("/")
    )


def offered(caps: Capabilities) -> bool:
    """The server takes what the fast path sends: bulk uploads, chunks in parallel, or both."""
    return bool(caps.bulkupload) or _chunks(caps) is not None


def _chunks(caps: Capabilities) -> tuple[int, int] | None:
    """(chunk size, chunks at once) for this server; None where it takes no chunked uploads
    (a maximum chunk size of 0 or less: its admin turned chunking off)."""
    if not caps.chunking or (caps.chunk_max_size is not None and caps.chunk_max_size <= 0):
        return None
    size = min(CHUNK, caps.chunk_max_size) if caps.chunk_max_size else CHUNK
    parallel = CHUNKS_IN_FLIGHT
    if caps.chunk_max_parallel is not None and caps.chunk_max_parallel > 0:
        parallel = min(parallel, caps.chunk_max_parallel)
    return size, parallel


def choose(
    tree: Tree,
    there: dict[str, tuple[int, float]],
    caps: Capabilities,
    wanted: set[str] | None = None,
) -> tuple[list[LocalFile], list[LocalFile], list[LocalFile], list[LocalFile]]:
    """(to send, small ones for bulk upload, big ones for chunks, the rest for rclone).

    To send: the files in WANTED if given, else those THERE (the destination's listing)
    lacks or has with another size or time.
    """
    if wanted is not None:
        to_send = [f for f in tree.files if f.relative in wanted]
    else:
        to_send = [
            f for f in tree.files if not fastpath.unchanged(f.size, f.mtime, there.get(f.relative))
        ]
    small = []
    if caps.bulkupload:
        small = [f for f in to_send if f.size < bulk.SMALL_FILE and _carried(f, caps)]
    big = []
    if _chunks(caps) is not None:
        big = [f for f in to_send if f.size >= BIG_FILE and _carried(f, caps)]
    chosen = {f.relative for f in small} | {f.relative for f in big}
    return to_send, small, big, [f for f in to_send if f.relative not in chosen]


@dataclass
class Upload:
    """The upload fast path of one transfer (a fastpath.FastPath): what the one listing of the
    destination decided to send, and how it went."""

    account: Account
    caps: Capabilities
    tree: Tree
    small: list[LocalFile]  # for bulk upload
    big: list[LocalFile]  # for parallel chunks
    expected: Expected
    up_to_date: int
    folders: set[str]  # known to exist at the destination ("" is itself)
    there: dict[str, tuple[int, float]]  # the destination's listing (empty: a dry run decided)
    # rclone must see the whole source even if nothing is left: a sync's deletions, a source
    # it must report on (an unreadable folder, names the walk did not find).
    whole: bool
    phase: Phase
    via: str = "bulk-upload"

    def send(self, channel: fastpath.Channel) -> None:
        state = Run(channel, self.expected, len(self.tree.files), self.phase, self.folders)
        uploader = bulk.Uploader(self.account, channel.opts.dest)
        resumable.sweep(state, self.account, uploader, self.there)  # stale, or not needed
        if self.small:
            _send_small(state, uploader, self.small)
        if self.big:
            chunks = _chunks(self.caps) or (CHUNK, 1)
            _send_big(state, self.account, uploader, self.big, *chunks)

    def left(self, tally: Tally) -> fastpath.Left:
        names = tuple(sorted(f.relative for f in self.phase.left))
        # rclone is given a single file named as the source as the user named it.
        whole = tally.verb != "copy" or self.tree.single
        return fastpath.Left(
            names=names,
            whole=self.whole or (whole and bool(names)),
            locked=tuple(self.phase.locked),
            notes=_notes(self.phase, tally, bool(names)),
        )


def decide(
    rclone: Rclone,
    account: Account,
    caps: Capabilities,
    opts: TransferOptions,
    tree: Tree,
    wanted: set[str] | None = None,
    deletes: bool = False,
) -> Upload | None:
    """What the fast path sends of the walked source TREE, from one listing of the destination;
    None when rclone must judge alone (a single file whose destination is not a folder).

    WANTED, when given, names the files to send (a sync's dry run knows them: rclone's own
    decision, and DELETES whether it deletes anything); otherwise the destination is listed
    here (a single file's one name looked up) and compared by size and time.
    """
    there: dict[str, tuple[int, float]] | None = {}
    if wanted is None and tree.single:
        there = single.destination(account, opts.dest, tree.files[0].relative)
    elif wanted is None:
        there = fastpath.remote_listing(rclone, account, opts.dest, False)[0].files
    if there is None:
        return None
    to_send, small, big, rest = choose(tree, there, caps, wanted)
    # Files rclone reports on (an unreadable folder, say) are not in the walk: rclone must
    # run to say so, even when nothing is left to send.
    whole = deletes or bool(tree.errors) or (wanted is not None and len(to_send) < len(wanted))
    return Upload(
        account,
        caps,
        tree,
        small,
        big,
        expected=Expected(bytes=sum(f.size for f in to_send), files=len(to_send)),
        # compared with the listing here, and found up to date (none: a dry run decided)
        up_to_date=len(tree.files) - len(to_send) if wanted is None else 0,
        folders=bulk.existing_folders(there),
        there=there,
        whole=whole,
        phase=Phase(left=list(rest)),
    )


def _notes(phase: Phase, tally: Tally, left: bool) -> tuple[str, ...]:
    """What went which way: "150 small file(s) went by Nextcloud bulk upload in 2 request(s);
    rclone sends the rest." """
    if not tally.arrived:
        sent_nothing = "Nextcloud bulk upload sent nothing; rclone sends every file."
        return (sent_nothing,) if phase.requests else ()
    ways = []
    if small := tally.sent_by("bulk"):
        ways.append(
            f"{small} small file(s) went by Nextcloud bulk upload in {phase.requests} request(s)"
        )
    if big := tally.sent_by("chunked"):
        ways.append(f"{big} big file(s) went in parallel chunks" + resumable.of_them(tally))
    rest = "rclone sends the rest" if left else "nothing is left for rclone to send"
    return (f"{' and '.join(ways)}; {rest}.",)


def _make_folders(
    state: Run,
    uploader: bulk.Uploader,
    pool: concurrent.futures.Executor,
    files: list[LocalFile],
) -> None:
    """The folders FILES need that are not known to exist, a level's folders at once."""
    for level in bulk.folders_to_make(files, state.folders):
        for future in [pool.submit(uploader.mkcol, folder) for folder in level]:
            future.result()
        state.folders.update(level)


def _folders_made(
    state: Run,
    uploader: bulk.Uploader,
    pool: concurrent.futures.Executor,
    files: list[LocalFile],
) -> bool:
    """_make_folders; where that fails (but for a full quota or a refused login, which
    stop the run), FILES are left to rclone and False returned."""
    try:
        _make_folders(state, uploader, pool, files)
    except _STOPS:
        raise
    except errors.RcwizError as exc:
        bulk_run.fall_back(state, files, f"folders could not be made ({exc.message})")
        return False
    return True


def _send_small(state: Run, uploader: bulk.Uploader, small: list[LocalFile]) -> None:
    """Bulk-upload SMALL, REQUESTS_IN_FLIGHT requests at once, BYTES_IN_FLIGHT at most, each
    as many files as the server writes in a share of the stall timeout (batching.Pace)."""
    # A folder's files together, and never two requests in flight into one folder
    # (rcwiz.transfer.batching: a server with Redis locking refuses files otherwise).
    batches = batching.batches(small, parts=REQUESTS_IN_FLIGHT)
    most = max(len(b) for b in batches)
    pace = batching.Pace(uploader.client.clock.stall, most, REQUESTS_IN_FLIGHT)
    pool = concurrent.futures.ThreadPoolExecutor(REQUESTS_IN_FLIGHT, "rcwiz-bulk")
    running: dict[concurrent.futures.Future[list[bulk.Result]], list[LocalFile]] = {}
    started: dict[concurrent.futures.Future[list[bulk.Result]], float] = {}
    failed: list[LocalFile] = []
    try:
        if not _folders_made(state, uploader, pool, small):
            return
        queue = batches
        while queue or running:
            while len(running) < pace.parallel:
                batch = batching.take(queue, list(running.values()), BYTES_IN_FLIGHT, pace.files())
                if batch is None:
                    break
                future = pool.submit(uploader.upload, batch)
                running[future], started[future] = batch, time.monotonic()
            done, _ = concurrent.futures.wait(running, TICK, concurrent.futures.FIRST_COMPLETED)
            for future in done:
                batch = running.pop(future)
                state.phase.requests += 1
                try:
                    results = future.result()
                except errors.Stalled as exc:
                    rest = late.after_stall(state, uploader, pace, batch, started.pop(future), exc)
                    if rest:
                        queue.insert(0, rest)
                    continue
                except _STOPS as exc:
                    state.failed(batch, exc)
                    raise
                except errors.RcwizError as exc:
                    # The rest goes to rclone too: a server that failed once will likely again.
                    state.unanswered(batch)  # a proxy's 504: the server may have written it
                    failed += batch + [f for b in queue for f in b]
                    queue.clear()
                    state.notice(f"a bulk upload request failed ({exc.message})")
                    continue
                now = time.monotonic()
                pace.answered(len(batch), now - started.pop(future), now)
                bulk_run.results(state, batch, results)
            state.progress()
    except BaseException:
        uploader.client.abort()  # every request in flight fails now: its thread ends
        pool.shutdown(wait=False, cancel_futures=True)
        bulk_run.cut_off(state, sum(len(b) for b in running.values()))
        raise
    finally:
        pool.shutdown(wait=False)
    # Requests still running when one failed have finished by now: only theirs are known.
    if failed:
        bulk_run.fall_back(state, failed, "after a failed bulk request")
    bulk_run.say_refused(state)


def _send_big(
    state: Run,
    account: Account,
    uploader: bulk.Uploader,
    big: list[LocalFile],
    chunk: int,
    parallel: int,
) -> None:
    """Each big file in chunks, PARALLEL at once; one that fails goes to rclone."""
    pool = concurrent.futures.ThreadPoolExecutor(REQUESTS_IN_FLIGHT, "rcwiz-mkcol")
    try:
        if not _folders_made(state, uploader, pool, big):
            return
    except BaseException:
        uploader.client.abort()  # requests in flight fail now: no thread is waited for
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for item in big:
        source = chunked.Source(item.path, item.size, item.mtime)
        upload = chunked.Upload(
            account,
            uploader.server_path(item.relative),
            source,
            chunk=chunk,
            parallel=parallel,
        )
        try:
            upload.run(resumable.ticker(state, item, upload))
        except KeyboardInterrupt:
            resumable.left_session(state, upload, stopping=True)  # kept for a resume: say so
            raise
        except errors.RcwizError as exc:
            # A session kept for a resume (the server went away with chunks held) stops the
            # run as a 507 does: handed to rclone, the file would start again from byte 0.
            if not (isinstance(exc, _STOPS) or upload.kept):
                resumable.left_session(state, upload)
                bulk_run.chunks_failed(state, item, exc)
                continue
            if isinstance(exc, errors.QuotaExceeded):
                exc.message = f"{exc.message.rstrip('.')}: {item.relative} did not fit."
            state.failed([item], exc)
            resumable.left_session(state, upload, stopping=True)
            raise
        finally:
            state.extra_bytes = 0
            state.in_flight = ()
        state.record({"object": item.relative, "size": item.size, "ok": True, "how": "chunks"})
        resumable.count(state, item, upload)  # bytes sent, and those resumed, apart
        state.progress()
