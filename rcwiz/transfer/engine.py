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
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from rcwiz import errors, files, paths
from rcwiz.counting import RunOutcome, Summary, Tally
from rcwiz.events import Expected, Start
from rcwiz.rclone.events import Event, FileDone, LogLine, Progress
from rcwiz.rclone.run import Rclone, Running
from rcwiz.rclone.transfer import TransferOptions, transfer_argv

STATS_INTERVAL = 0.5


class Sink(Protocol):
    """What the engine tells the display. Implementations live in rcwiz.ui.progress; they
    read the transfer's numbers from TALLY (given at start) and never change them."""

    def start(self, start: Start, expected: Expected | None, tally: Tally) -> None: ...
    def progress(self, progress: Progress) -> None: ...
    def tuning(self, flags: tuple[str, ...]) -> None: ...
    def file_done(self, done: FileDone) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def finish(self, summary: Summary) -> None: ...
    def closed(self) -> None:
        """Whoever read the display went away (`| head`): write nothing more to it."""


def new_log_path(verb: str) -> Path:
    """A fresh file under the state folder for rclone's full log of one run."""
    folder = files.private_folder(paths.state_dir() / "logs")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"{stamp}-{verb}.jsonl"


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
    tally: Tally | None = None,
    log: RunLog | None = None,
) -> Summary:
    """Run the transfer OPTS describes; raise the named error if it fails or is interrupted.

    `watch` sees every event with the current monotonic time, and None every TICK seconds
    when rclone says nothing (a hung server stops rclone's output too); it may return an
    error to stop rclone early (the watchdog), raised after the summary is shown. rclone's
    full log goes to LOG (the transfer's, after a fast path), else to one opened here at
    LOG_PATH (open_log). Files are counted in TALLY (a fast path's, when rclone runs after
    one: rcwiz.counting).
    """
    args = transfer_argv(opts, stats_interval=STATS_INTERVAL)
    own = log is None
    log = open_log(opts.verb, warn, log_path) if log is None else log
    tally = tally if tally is not None else Tally(opts.verb)
    tally.rclone_starts()
    outcome: RunOutcome = "ok"
    failure: errors.RcwizError | None = None
    with log if own else contextlib.nullcontext(log), rclone.start(args) as running:
        log.write(json.dumps({"rcwiz": "start", "argv": list(running.child.argv)}))
        if tally.fast_path:  # the fast path started the display: rclone's flags are news
            sink.tuning(opts.tuning)
        else:
            sink.start(started(opts, running.child.argv, log.path), expected, tally)
        try:
            failure = _follow(running, log, tally, sink, watch)
            code = running.wait()
            if code == 0:  # rclone's word is final
                for done, sender in tally.rclone_succeeded():
                    entry = {"object": done.name, "size": done.size, "ok": True, "late": True}
                    log.record({"rcwiz": sender, **entry, "how": sender})
                    sink.file_done(done)
            elif failure is None:
                failure = running.error(opts.dest, source=opts.source, dest=opts.dest)
        except KeyboardInterrupt:
            running.stop()
            outcome, failure = "interrupted", interrupted(opts.verb, len(tally.begun()))
        except BrokenPipeError:  # whoever read the progress went away (`| head`)
            sink.closed()
            running.stop()
            outcome = "interrupted"
            failure = errors.OutputClosed(
                f"The output was closed, so the {opts.verb} was stopped.", again(len(tally.begun()))
            )
    summary = tally.summary(
        opts.source, opts.dest, log_path=log.path, dry_run=opts.dry_run, download=opts.download
    )
    return _conclude(sink, summary, failure, outcome)


def _follow(
    running: Running, log: RunLog, tally: Tally, sink: Sink, watch: Watch | None
) -> errors.RcwizError | None:
    """Every line of RUNNING to LOG, every event counted in TALLY and then shown on SINK, and
    to WATCH; the error WATCH stops rclone with, if it does."""
    for raw, event in _ticking(running):
        if raw is not None:
            log.write(raw)
        if event is not None:
            tally.add(event)
            _dispatch(sink, event, tally)
        if watch is not None and (failure := watch(event, time.monotonic())):
            running.stop()
            return failure
    return None


def started(
    opts: TransferOptions, argv: tuple[str, ...], log_path: str, via: str = "rclone"
) -> Start:
    """What a display is told when the run OPTS describes begins (ARGV: rclone's; VIA: a
    fast path's name when one starts the run)."""
    return Start(opts.verb, opts.source, opts.dest, opts.dry_run, opts.tuning, argv, log_path, via)


def interrupted(verb: str, begun: int = 0) -> errors.Interrupted:
    """The error for a transfer stopped by Ctrl-C (or SIGTERM); BEGUN: how many files rclone
    had begun (Tally.begun), none when a fast path was stopped."""
    return errors.Interrupted(f"Interrupted: the {verb} was stopped.", again(begun))


def again(begun: int | None = 0) -> str:
    """What running the same command again does, said after a stopped transfer: finished
    files are skipped, and the BEGUN files rclone had begun (None: not known, maybe some)
    start again from their beginning (rclone resumes no file: ../shared/RCLONE-FACTS.md).
    Only rcwiz's own resumable paths (chunked upload, byte ranges) go on where they stopped;
    a stopped fast path's other files in flight are small (bulk upload, archives)."""
    if begun == 0:
        return "Run the same command again to resume: finished files are skipped."
    if begun is None:
        which = "any file rclone had begun starts"
    elif begun == 1:
        which = "the file rclone had begun starts"
    else:
        which = f"the {begun} files rclone had begun start"
    return (
        f"Run the same command again: finished files are skipped, but {which} again from the "
        "beginning (rclone resumes no file)."
    )


def without_rclone(
    opts: TransferOptions,
    sink: Sink,
    log: RunLog,
    tally: Tally,
    failure: errors.RcwizError | None = None,
) -> Summary:
    """End a transfer whose first phase left rclone nothing to do, or was stopped by FAILURE
    (raised once the summary is shown, with the summary attached)."""
    summary = tally.summary(opts.source, opts.dest, log_path=log.path, rclone_ran=False)
    interrupt = isinstance(failure, errors.Interrupted)
    return _conclude(sink, summary, failure, "interrupted" if interrupt else "ok")


def _conclude(
    sink: Sink, summary: Summary, failure: errors.RcwizError | None, outcome: RunOutcome
) -> Summary:
    """Show SUMMARY; then raise FAILURE, if any, with the summary attached.

    OUTCOME is "interrupted" when the run was stopped (Ctrl-C, a closed output); any other
    failure makes it "failed", and a failed run never says "0 error(s)" (rclone refused its
    options, the remote is unknown: no file failed, the run did).
    """
    if failure is not None:
        summary.outcome = outcome if outcome == "interrupted" else "failed"
        if summary.outcome == "failed":
            summary.errors = max(summary.errors, 1)
        summary.error = failure.message
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


def open_log(verb: str, warn: Callable[[str], None], path: Path | None = None) -> RunLog:
    """The run's log, opened once per transfer (at PATH, else a fresh file under the state
    folder); where it cannot be kept (a full or read-only state folder), one warning and a
    log that keeps nothing: the transfer goes on without it."""
    try:
        return RunLog(files.open_append(path or new_log_path(verb)), warn)
    except OSError as exc:
        warn(f"rclone's log cannot be kept ({exc.strerror or exc}); going on without it.")
        return RunLog(None, warn)


class RunLog:
    """One transfer's log: rclone's JSON lines and rcwiz's own records (a fast path's), in
    one file. Opened by the engine (open_log) and handed to every phase; a write that fails
    (the disk filled up) ends the log, not the run."""

    def __init__(self, file: IO[str] | None, warn: Callable[[str], None]) -> None:
        self.file = file
        self.warn = warn
        self.path = file.name if file is not None else ""  # "" when none is kept

    def write(self, line: str) -> None:
        """One line as it is (rclone's JSON)."""
        if self.file is None:
            return
        try:
            self.file.write(line + "\n")
        except OSError as exc:
            self.warn(f"rclone's log stops here ({exc.strerror or exc}); the transfer goes on.")
            self.close()

    def record(self, entry: dict[str, object]) -> None:
        """One line of rcwiz's own (a fast path's file, request or notice), as JSON."""
        self.write(json.dumps(entry))

    def close(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _dispatch(sink: Sink, event: Event, tally: Tally) -> None:
    if isinstance(event, Progress):
        sink.progress(tally.seen_by_all(event))
    elif isinstance(event, FileDone):
        sink.file_done(event)
    else:
        sink.log(event)
