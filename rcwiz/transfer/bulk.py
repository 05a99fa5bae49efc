"""The fast path for uploads to Nextcloud: rcwiz sends what it can itself, rclone the rest.

Used by the transfer commands when the destination is a Nextcloud remote that advertises
dav.bulkupload or dav.chunking and the source is a local folder. One listing of the
destination decides what to send: files already there with the same size and modification
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
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from rcwiz import errors, files
from rcwiz.nextcloud import bulk, chunked
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.capabilities import Capabilities
from rcwiz.rclone.events import FileDone, InFlight, LogLine
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import batching, engine, fastpath, resumable
from rcwiz.transfer.engine import Expected, Sink
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


@dataclass
class Phase(fastpath.Phase):
    """What the upload fast path did (requests: bulk requests), and what it left to rclone."""

    bulk_files: int = 0  # of `files`, those sent by bulk upload
    chunked_files: int = 0  # of `files`, those sent in parallel chunks
    resumed: int = 0  # bytes of those the server held from an interrupted run (not in `bytes`)
    left: list[LocalFile] = field(default_factory=list)  # to send by rclone
    # rclone must run even if nothing is left: a sync's deletions, a source it must report on.
    rclone_needed: bool = False
    locked: list[str] = field(default_factory=list)  # of those left, files the server had locked


def eligible(opts: TransferOptions) -> bool:
    """The upload fast path may run: a plain copy or sync (fastpath.plain) of a local folder."""
    return fastpath.plain(opts) and Path(opts.source).expanduser().is_dir()


def _carried(item: LocalFile, caps: Capabilities) -> bool:
    """A name the fast path may send: one rclone stores as it is, which the server accepts."""
    return bulk.safe_name(item.relative) and all(
        caps.refusal(part) is None for part in item.relative.split("/")
    )


def available(caps: Capabilities) -> bool:
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


class _Run:
    """One fast-path run: the sink, the log and the running totals, on the calling thread."""

    def __init__(
        self,
        opts: TransferOptions,
        sink: Sink,
        log: IO[str] | None,
        expected: Expected,
        listed: int,
        log_path: str,
        warn: Callable[[str], None],
    ) -> None:
        self.opts = opts
        self.sink = sink
        self.log = log
        self.expected = expected
        self.listed = listed
        self.log_path = log_path
        self.warn = warn
        self.phase = Phase()
        self.in_flight: tuple[InFlight, ...] = ()
        self.extra_bytes = 0  # of chunks in flight
        self.folders: set[str] = set()  # known to exist at the destination ("" is itself)
        self.later: list[str] = []  # warnings for after the summary (the run stops)

    def record(self, entry: dict[str, object]) -> None:
        if self.log is not None:  # the log is a record, not the transfer: rclone's run warns
            fastpath.log_entry(self.log, {"rcwiz": "bulk", **entry})

    def done(self, item: LocalFile, size: int, how: str) -> None:
        self.phase.bytes += size
        self.phase.files += 1
        self.sink.file_done(FileDone(item.relative, "new", size, None, f"Copied (new) {how}"))

    def failed(self, items: list[LocalFile], exc: errors.RcwizError) -> None:
        """ITEMS did not arrive, and the run stops with EXC: each is an error of the run."""
        for item in items:
            self.phase.failed += 1
            self.sink.file_done(
                FileDone(item.relative, "failed", item.size, exc.message, "Failed to copy")
            )
            self.record(
                {"object": item.relative, "size": item.size, "ok": False, "stop": exc.message}
            )

    def notice(self, text: str, name: str | None = None) -> None:
        """A fall-back to rclone: shown as a warning, and kept in the log."""
        self.sink.log(LogLine("notice", text, name))
        self.record({"notice": text, "object": name})
        self.warn(text)

    def progress(self) -> None:
        self.sink.progress(
            fastpath.progress(
                self.phase, self.expected, self.listed, self.extra_bytes, self.in_flight
            )
        )


def run(
    rclone: Rclone,
    account: Account,
    caps: Capabilities,
    opts: TransferOptions,
    tree: Tree,
    sink: Sink,
    log_path: Path,
    wanted: set[str] | None = None,
    warn: Callable[[str], None] = lambda text: None,
) -> Phase:
    """Send what the fast path can of the walked source TREE; start SINK; say what is left.

    WANTED, when given, names the files to send (a sync's dry run knows them: rclone's own
    decision); otherwise the destination is listed here and compared by size and time.
    A 507 or a refused login raises its error, and Ctrl-C Interrupted, with the summary of
    what arrived shown and attached.
    """
    there: dict[str, tuple[int, float]] = {}
    if wanted is None:
        there = fastpath.remote_listing(rclone, account, opts.dest)[0].files
    to_send, small, big, rest = choose(tree, there, caps, wanted)
    expected = Expected(bytes=sum(f.size for f in to_send), files=len(to_send))
    # rclone's flags are announced if and when rclone runs (engine.Continued)
    sink.start(
        replace(opts, tuning=()), ("bulk-upload", opts.source, opts.dest), expected, str(log_path)
    )
    try:
        log: IO[str] | None = files.open_append(log_path)
    except OSError:
        log = None  # rclone's own run says that the log cannot be kept
    with contextlib.closing(log) if log is not None else contextlib.nullcontext():
        state = _Run(opts, sink, log, expected, len(tree.files), str(log_path), warn)
        state.phase.left = list(rest)
        if wanted is None:  # compared with the listing here, and found up to date
            state.phase.checked = len(tree.files) - len(to_send)
        # Files rclone reports on (an unreadable folder, say) are not in the walk: rclone must
        # run to say so, even when nothing is left to send.
        state.phase.rclone_needed = bool(tree.errors) or (
            wanted is not None and len(to_send) < len(wanted)  # names the walk did not find
        )
        state.folders = bulk.existing_folders(there)
        try:
            uploader = bulk.Uploader(account, opts.dest)
            resumable.sweep(state, account, uploader, there)  # sessions stale or not needed
            if small:
                _send_small(state, uploader, small)
            if big:
                _send_big(state, account, uploader, big, *(_chunks(caps) or (CHUNK, 1)))
        except KeyboardInterrupt:  # the summary of what arrived, then the error
            stopped: errors.RcwizError = engine.interrupted(opts.verb)
            with resumable.warned_after(state):
                engine.without_rclone(opts, continued(sink, state.phase), log_path, stopped)
        except _STOPS as exc:
            with resumable.warned_after(state):
                engine.without_rclone(opts, continued(sink, state.phase), log_path, exc)
    state.phase.left.sort(key=lambda f: f.relative)
    return state.phase


def continued(sink: Sink, phase: Phase) -> engine.Continued:
    """SINK for what follows the upload fast path (fastpath.continued)."""
    kinds = {
        "bulk_files": phase.bulk_files,
        "chunked_files": phase.chunked_files,
        "resumed_bytes": phase.resumed,
    }
    return fastpath.continued(sink, phase, **kinds)


def _make_folders(
    state: _Run,
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
    state: _Run,
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
        _fall_back(state, files, f"folders could not be made ({exc.message})")
        return False
    return True


def _send_small(state: _Run, uploader: bulk.Uploader, small: list[LocalFile]) -> None:
    """Bulk-upload SMALL, REQUESTS_IN_FLIGHT requests at once, BYTES_IN_FLIGHT at most."""
    # A folder's files together, and never two requests in flight into one folder
    # (rcwiz.transfer.batching: a server with Redis locking refuses files otherwise).
    batches = batching.batches(small, parts=REQUESTS_IN_FLIGHT)
    pool = concurrent.futures.ThreadPoolExecutor(REQUESTS_IN_FLIGHT, "rcwiz-bulk")
    running: dict[concurrent.futures.Future[list[bulk.Result]], list[LocalFile]] = {}
    failed: list[LocalFile] = []
    try:
        if not _folders_made(state, uploader, pool, small):
            return
        queue = batches
        while queue or running:
            while len(running) < REQUESTS_IN_FLIGHT:
                batch = batching.take(queue, list(running.values()), BYTES_IN_FLIGHT)
                if batch is None:
                    break
                running[pool.submit(uploader.upload, batch)] = batch
            done, _ = concurrent.futures.wait(running, TICK, concurrent.futures.FIRST_COMPLETED)
            for future in done:
                batch = running.pop(future)
                state.phase.requests += 1
                try:
                    results = future.result()
                except _STOPS as exc:
                    state.failed(batch, exc)
                    raise
                except errors.RcwizError as exc:
                    # The rest goes to rclone too: a server that failed once will likely again.
                    failed += batch + [f for b in queue for f in b]
                    queue.clear()
                    state.notice(f"a bulk upload request failed ({exc.message})")
                    continue
                _results(state, batch, results)
            state.progress()
    except BaseException:
        uploader.client.abort()  # every request in flight fails now: its thread ends
        pool.shutdown(wait=False, cancel_futures=True)
        unconfirmed = sum(len(b) for b in running.values())
        if unconfirmed:  # cut off on rcwiz's side; the server may have taken them all the same
            state.warn(
                f"{unconfirmed} file(s) were on their way in bulk requests when the run "
                "stopped: they are not counted, but the server may have stored them (the next "
                "run skips those it has)"
            )
        raise
    finally:
        pool.shutdown(wait=False)
    # Requests still running when one failed have finished by now: only theirs are known.
    if failed:
        _fall_back(state, failed, "after a failed bulk request")
    refused = state.phase.refused
    if refused:
        state.notice(
            f"the bulk upload refused {len(refused)} file(s) ({refused[0]}, ...: the log says "
            "why); rclone will send them"
            if len(refused) > 1
            else f"the bulk upload refused {refused[0]} (the log says why); rclone will send it"
        )


def _size(batch: list[LocalFile]) -> int:
    return sum(f.size for f in batch)


def _results(state: _Run, batch: list[LocalFile], results: list[bulk.Result]) -> None:
    by_name = {f.relative: f for f in batch}
    for result in results:
        state.record(
            {
                "object": result.relative,
                "size": result.size,
                "ok": result.ok,
                "message": result.message,
                "how": "bulk",
            }
        )
        item = by_name[result.relative]
        if result.ok:
            state.phase.bulk_files += 1
            state.done(item, result.size, "by bulk upload")
        else:
            state.phase.refused.append(result.relative)
            state.phase.left.append(item)
            if result.message.endswith(" is locked"):  # Nextcloud's words for a 423
                state.phase.locked.append(result.relative)
            state.sink.log(
                LogLine("notice", f"bulk upload refused it: {result.message}", item.relative)
            )


def _fall_back(state: _Run, files: list[LocalFile], why: str) -> None:
    state.phase.left += files
    state.notice(f"{len(files)} file(s) left to rclone: {why}")


def _send_big(
    state: _Run,
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

        def tick(
            sent: int,
            item: LocalFile = item,
            upload: chunked.Upload = upload,
            started: float = time.monotonic(),
        ) -> None:
            state.extra_bytes = sent
            state.in_flight = (resumable.in_flight(item, upload, started),)
            state.progress()

        try:
            upload.run(tick)
        except KeyboardInterrupt:
            _left_session(state, upload, stopping=True)  # kept for a resume: say so
            raise
        except _STOPS as exc:
            if isinstance(exc, errors.QuotaExceeded):
                exc.message = f"{exc.message.rstrip('.')}: {item.relative} did not fit."
            state.failed([item], exc)
            _left_session(state, upload, stopping=True)
            raise
        except errors.RcwizError as exc:
            _left_session(state, upload)
            state.phase.left.append(item)
            state.record(
                {
                    "object": item.relative,
                    "size": item.size,
                    "ok": False,
                    "how": "chunks",
                    "message": exc.message,
                }
            )
            state.notice(
                f"the chunked upload of {item.relative} failed ({exc.message}); rclone will "
                "send it",
                item.relative,
            )
            continue
        finally:
            state.extra_bytes = 0
            state.in_flight = ()
        state.record({"object": item.relative, "size": item.size, "ok": True, "how": "chunks"})
        state.phase.chunked_files += 1
        resumable.count(state, item, upload)  # bytes sent, and those resumed, apart
        state.progress()


def _left_session(state: _Run, upload: chunked.Upload, stopping: bool = False) -> None:
    """Say where a chunked upload that could not be removed is (its parts count against the
    quota until the server's clean-up job removes them), or that it is kept for a resume."""
    if upload.kept:  # said after the summary when the run STOPPING shows one now
        (state.later.append if stopping else state.warn)(resumable.kept_note(upload))
    elif upload.left_session is not None:
        state.warn(
            f"the unfinished upload of {upload.source.path} could not be removed from the "
            f"server: {upload.left_session} (its parts count against your quota until the "
            "server's clean-up job removes them, or the next run of the same command does)"
        )
