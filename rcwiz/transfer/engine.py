"""The copy / move / sync engine shared by `rcwiz copy`, `rcwiz job run` and the demo.

It runs rclone with JSON stats, writes rclone's full log to a file, hands every event to a
progress sink (terminal, plain lines or JSON: rcwiz.ui.progress), lets a watch (the
watchdog) stop it early, and returns a Summary. It never draws itself.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from rcwiz import errors, files, paths
from rcwiz.rclone.events import Event, FileDone, LogLine, Progress
from rcwiz.rclone.run import Rclone, Running
from rcwiz.rclone.transfer import TransferOptions, transfer_argv
from rcwiz.ui.console import drop_stdout

DONE_OUTCOMES = ("new", "replaced", "copied", "moved")
STATS_INTERVAL = 0.5


@dataclass
class Summary:
    verb: str
    source: str
    dest: str
    outcome: str = "ok"  # ok, failed, interrupted
    bytes: int = 0
    files: int = 0
    deleted: int = 0
    errors: int = 0
    duration: float = 0.0
    log_path: str = ""
    dry_run: bool = False
    error: str | None = None
    bulk_files: int = 0  # of `files`, those sent by Nextcloud's bulk upload (no checksum kept)
    chunked_files: int = 0  # of `files`, those rcwiz sent in parallel chunks (SHA-1 kept)
    archive_files: int = 0  # of `files`, those fetched in Nextcloud archives
    resumed_bytes: int = 0  # not in `bytes`: held on the server from an interrupted upload
    rclone_files: int = 0  # of `files`, those rclone sent after a fast path (0 without one)
    checked: int = 0  # files compared with the destination and found up to date
    rclone_ran: bool = True  # False when a fast path left rclone nothing (the log is rcwiz's)
    # A dry run's first names, sorted: what would be sent, and what would be deleted.
    would_send: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)

    @property
    def average_speed(self) -> float:
        return self.bytes / self.duration if self.duration > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The summary as JSON (its error is the command's: rcwiz.cli.error_document)."""
        data = asdict(self)
        del data["error"]
        data["average_speed"] = round(self.average_speed, 1)
        data["duration"] = round(self.duration, 3)
        return data


@dataclass(frozen=True)
class Expected:
    """Totals known before the run (from a pre-flight size), so the bar is right from the start."""

    bytes: int
    files: int


class Sink(Protocol):
    """What the engine tells the display. Implementations live in rcwiz.ui.progress."""

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None: ...
    def progress(self, progress: Progress) -> None: ...
    def tuning(self, flags: tuple[str, ...]) -> None: ...
    def file_done(self, done: FileDone) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def finish(self, summary: Summary) -> None: ...


@dataclass
class _Tally:
    """Counts per file, not per log line: rclone repeats a failure on every retry, logs the
    local source as "Deleted" after each upload of a move, and logs a --backup-dir move-aside
    as "Moved (server-side)"; none of those are extra files.
    """

    verb: str
    last: Progress | None = None
    done: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    sizes: dict[str, int | None] = field(default_factory=dict)  # of the files in `done`

    def add(self, event: Event) -> None:
        if isinstance(event, Progress):
            self.last = event
            return
        if not isinstance(event, FileDone):
            return
        name, outcome = event.name, event.outcome
        if outcome == "skipped":  # a dry run: count what would have happened
            outcome = "deleted" if event.action == "delete" else "new"
        if outcome in DONE_OUTCOMES and (outcome != "moved" or self.verb == "move"):
            self.done.add(name)
            self.sizes[name] = event.size
            self.failed.discard(name)  # a retry succeeded
        elif outcome == "deleted" and self.verb == "sync":
            self.deleted.add(name)
        elif outcome == "failed" and name not in self.done:
            self.failed.add(name)

    @property
    def bytes(self) -> int:
        """Bytes of the files that arrived, never of those that failed or were in flight.

        rclone's own count includes a refused upload's bytes (a 507 after the body was sent)
        and what a file in flight had sent when the run stopped. Only server-side moves are
        logged without a size; when there are such files, rclone's count is all there is.
        """
        sizes = list(self.sizes.values())
        if any(size is None for size in sizes):
            return self.last.bytes if self.last is not None else 0
        return sum(size or 0 for size in sizes)

    @property
    def errors(self) -> int:
        """Files that still failed at the end; rclone's own count if no file failed."""
        if self.failed:
            return len(self.failed)
        return self.last.errors if self.last is not None and self.last.errors else 0


def new_log_path(verb: str) -> Path:
    """A fresh file under the state folder for rclone's full log of one run."""
    folder = files.private_folder(paths.state_dir() / "logs")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"{stamp}-{verb}.jsonl"


SHOWN_NAMES = 20  # a dry run names this many files of each kind; the log has them all
TICK = 1.0  # seconds: the watch is called at least this often, even when rclone is silent
Watch = Callable[[Event | None, float], errors.RcwizError | None]


def run(
    rclone: Rclone,
    opts: TransferOptions,
    sink: Sink,
    *,
    expected: Expected | None = None,
    log_path: Path | None = None,
    watch: Watch | None = None,
    warn: Callable[[str], None] = lambda text: None,
) -> Summary:
    """Run the transfer OPTS describes; raise the named error if it fails or is interrupted.

    `watch` sees every event with the current monotonic time, and None every TICK seconds
    when rclone says nothing (a hung server stops rclone's output too); it may return an
    error to stop rclone early (the watchdog), raised after the summary is shown. rclone's
    full log goes to LOG_PATH; where it cannot be written (a full or read-only state folder)
    the transfer goes on without it, with one warning.
    """
    args = transfer_argv(opts, stats_interval=STATS_INTERVAL)
    log_file = _open_log(log_path, opts.verb, warn)
    summary = Summary(
        verb=opts.verb,
        source=opts.source,
        dest=opts.dest,
        log_path=log_file.name if log_file is not None else "",
        dry_run=opts.dry_run,
    )
    tally = _Tally(opts.verb)
    failure: errors.RcwizError | None = None
    with _Log(log_file, warn) as log, rclone.start(args) as running:
        log.write(json.dumps({"rcwiz": "start", "argv": list(running.child.argv)}))
        sink.start(opts, running.child.argv, expected, summary.log_path)
        try:
            for raw, event in _ticking(running):
                if raw is not None:
                    log.write(raw)
                if event is not None:
                    tally.add(event)
                    _dispatch(sink, event)
                if watch is not None and (failure := watch(event, time.monotonic())):
                    running.stop()
                    break
            code = running.wait()
            if code == 0:
                tally.failed.clear()  # a later attempt succeeded: rclone's word is final
            elif failure is None:
                failure = running.error(opts.dest, source=opts.source, dest=opts.dest)
        except KeyboardInterrupt:
            running.stop()
            summary.outcome = "interrupted"
            failure = interrupted(opts.verb)
        except BrokenPipeError:  # whoever read the progress went away (`| head`)
            drop_stdout()
            running.stop()
            summary.outcome = "interrupted"
            failure = errors.OutputClosed(
                f"The output was closed, so the {opts.verb} was stopped.",
                "Run the same command again to resume: finished files are skipped.",
            )
    summary.duration = time.monotonic() - tally.started
    summary.bytes = tally.bytes
    summary.errors = tally.errors
    summary.files = len(tally.done)
    summary.deleted = len(tally.deleted)
    # rclone counts a file it deletes as checked too (a sync): those are not "up to date".
    checks = tally.last.checks if tally.last is not None else 0
    summary.checked = max(0, checks - len(tally.deleted))
    if opts.dry_run:
        summary.would_send = sorted(tally.done)[:SHOWN_NAMES]
        summary.would_delete = sorted(tally.deleted)[:SHOWN_NAMES]
    if failure is not None:
        if summary.outcome == "ok":
            summary.outcome = "failed"
            # A run that failed before any file did (rclone refused its options, the remote is
            # unknown) failed all the same: its summary never says "0 error(s)".
            summary.errors = max(summary.errors, 1)
        summary.error = failure.message
    return _conclude(sink, summary, failure)


def interrupted(verb: str) -> errors.Interrupted:
    """The error for a transfer stopped by Ctrl-C (or SIGTERM)."""
    return errors.Interrupted(
        f"Interrupted: the {verb} was stopped.",
        "Run the same command again to resume: finished files are skipped.",
    )


def without_rclone(
    opts: TransferOptions,
    sink: Sink,
    log_path: Path,
    failure: errors.RcwizError | None = None,
) -> Summary:
    """End a transfer whose first phase left rclone nothing to do, or was stopped by FAILURE
    (raised once the summary is shown, with the summary attached)."""
    summary = Summary(verb=opts.verb, source=opts.source, dest=opts.dest, log_path=str(log_path))
    summary.rclone_ran = False
    if failure is not None:
        interrupt = isinstance(failure, errors.Interrupted)
        summary.outcome = "interrupted" if interrupt else "failed"
        summary.error = failure.message
        summary.errors = 0 if interrupt else 1  # a failed run never says "0 error(s)"
    return _conclude(sink, summary, failure)


def _conclude(sink: Sink, summary: Summary, failure: errors.RcwizError | None) -> Summary:
    """Show SUMMARY; then raise FAILURE, if any, with the summary attached."""
    sink.finish(summary)
    if failure is not None:
        failure.summary = summary
        raise failure
    return summary


def _ticking(running: Running) -> Iterator[tuple[str | None, Event | None]]:
    """running.lines(), read in a thread, with (None, None) every TICK seconds of silence."""
    lines: queue.Queue[tuple[str, Event | None] | None] = queue.Queue()

    def read() -> None:
        try:
            for item in running.lines():
                lines.put(item)
        finally:
            lines.put(None)  # rclone closed its stderr: it has ended

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            item = lines.get(timeout=TICK)
        except queue.Empty:
            yield None, None
            continue
        if item is None:
            return
        yield item


def _open_log(path: Path | None, verb: str, warn: Callable[[str], None]) -> IO[str] | None:
    try:
        return files.open_append(path or new_log_path(verb))
    except OSError as exc:
        warn(f"rclone's log cannot be kept ({exc.strerror or exc}); going on without it.")
        return None


class _Log:
    """The run's log file; a write that fails (the disk filled up) ends the log, not the run."""

    def __init__(self, file: IO[str] | None, warn: Callable[[str], None]) -> None:
        self.file = file
        self.warn = warn

    def write(self, line: str) -> None:
        if self.file is None:
            return
        try:
            self.file.write(line + "\n")
        except OSError as exc:
            self.warn(f"rclone's log stops here ({exc.strerror or exc}); the transfer goes on.")
            self.close()

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dispatch(sink: Sink, event: Event) -> None:
    if isinstance(event, Progress):
        sink.progress(event)
    elif isinstance(event, FileDone):
        sink.file_done(event)
    else:
        sink.log(event)


class Continued:
    """A sink for the second phase of one transfer (rclone after a fast path: a bulk upload,
    or an archive download, as VIA says).

    Adds what the first phase did to rclone's numbers, so people see one progress display
    and one summary: bytes and files of both phases, the duration from the very start.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        bytes: int,
        files: int,
        started: float,
        bulk_files: int = 0,
        chunked_files: int = 0,
        archive_files: int = 0,
        resumed_bytes: int = 0,
        errors: int = 0,
        checked: int = 0,
    ) -> None:
        self.sink = sink
        self.checked = checked  # files the first phase's listing found up to date
        self.errors = errors  # files the first phase failed on for good
        self.bytes = bytes
        self.files = files
        self.started = started
        self.bulk_files = bulk_files
        self.chunked_files = chunked_files
        self.archive_files = archive_files
        self.resumed_bytes = resumed_bytes  # rcwiz.transfer.resumable

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        # The first phase already started the display; rclone's flags are news now that it runs.
        self.sink.tuning(opts.tuning)

    def tuning(self, flags: tuple[str, ...]) -> None:
        self.sink.tuning(flags)

    def progress(self, progress: Progress) -> None:
        self.sink.progress(
            replace(
                progress,
                bytes=progress.bytes + self.bytes,
                total_bytes=progress.total_bytes + self.bytes,
                transfers=progress.transfers + self.files,
                total_transfers=progress.total_transfers + self.files,
                elapsed=time.monotonic() - self.started,
            )
        )

    def file_done(self, done: FileDone) -> None:
        self.sink.file_done(done)

    def log(self, line: LogLine) -> None:
        self.sink.log(line)

    def finish(self, summary: Summary) -> None:
        summary.rclone_files = summary.files  # rclone's own count, before the first phase's
        summary.bytes += self.bytes
        summary.files += self.files
        summary.bulk_files = self.bulk_files
        summary.chunked_files = self.chunked_files
        summary.archive_files = self.archive_files
        summary.resumed_bytes = self.resumed_bytes
        # The first phase's failures for good stop the run before rclone (a 507, a hung
        # server), so they are the run's errors when there are any.
        summary.errors = max(summary.errors, self.errors)
        # rclone checked the files the first phase had just sent: they are counted as sent.
        summary.checked = max(0, summary.checked - self.files)
        # rclone given only what was left checks only those: the listing compared the rest.
        summary.checked = max(summary.checked, self.checked)
        summary.duration = time.monotonic() - self.started
        self.sink.finish(summary)
