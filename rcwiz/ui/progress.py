"""Transfer events drawn three ways: a live terminal display, plain log lines, or JSON lines.

`make_sink` picks one from the console: --json gives one JSON object per line (start,
progress, file, error, summary); a terminal gets a rich live display; anything else (a batch
job's log file, a pipe) gets timestamped plain lines every `log_interval` seconds.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rcwiz.rclone.classify import reason
from rcwiz.rclone.events import FileDone, LogLine, Progress
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import Expected, Summary
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape_control

if TYPE_CHECKING:
    from rcwiz.ui.live import LiveSink


DONE_OUTCOMES = ("new", "replaced", "copied", "moved")
PLAIN_WIDTH = 80  # a plain progress line fits a terminal of this width (and reads in a log)
ESTIMATING = "estimating…"  # shown where an ETA would be, until a rate can be trusted
FAST_PATHS = (("bulk-upload",), ("archive-download",))  # argv[0] a fast path starts a sink with
GROWING = "(+: still counting what to send; the totals grow until it is done)"

# The ETA (README, "Progress output"): a rate is measured over the last ETA_WINDOW seconds
# of the run (at least ETA_SETTLE of them), once from bytes and once from files. Small files
# cost time per file, big ones per byte, so a run that mixes them (a fast path sends the small
# ones first) has a byte rate that says hours and a file rate that says seconds: the ETA is
# shown only when both tell about the same time (within ETA_AGREE); else "estimating…".
ETA_WINDOW = 30.0
ETA_SETTLE = 3.0
ETA_AGREE = 3.0


class Meter:
    """What a display shows of a transfer: rclone's stats, corrected by the files' results.

    * Bytes done are those of the files that arrived plus what files in flight have sent so
      far. rclone's own count also holds the bytes of files that failed (Nextcloud answers 507
      after the body was sent) and sometimes drops a failed file from its totals, so after a
      failure it can say 100 % of files that never arrived.
    * Totals never shrink: the largest rclone gave, or the pre-flight's (`expected`).
    * rclone's totals grow while it lists; they count as final once `listed` stops changing.
    """

    def __init__(self, expected: Expected | None, verb: str = "copy") -> None:
        self.expected = expected
        self.verb = verb
        self._last_listed = -1
        self._steady = 0
        self._total_bytes = expected.bytes if expected else 0
        self._total_files = expected.files if expected else 0
        self._arrived: dict[str, int | None] = {}
        self._failed: set[str] = set()
        self._results = 0  # files rclone has said anything about (done or failed)
        self.last: Progress | None = None
        self._samples: deque[tuple[float, int, int]] = deque()  # (elapsed, bytes, files)

    def progress(self, p: Progress) -> None:
        self.last = p
        self._steady = self._steady + 1 if p.listed == self._last_listed else 0
        self._last_listed = p.listed
        self._total_bytes = max(self._total_bytes, p.total_bytes)
        self._total_files = max(self._total_files, p.total_transfers)
        self._samples.append((p.elapsed, self.done_bytes(p), self._files(p)))
        while len(self._samples) > 2 and self._samples[1][0] <= p.elapsed - ETA_WINDOW:
            self._samples.popleft()  # keep one sample at or before the window's start

    def _files(self, p: Progress) -> int:
        return max(len(self._arrived), p.transfers)

    def eta(self, done: int, files: int, elapsed: float) -> float | None:
        """Seconds left, from the rates of the last ETA_WINDOW seconds, or None while no rate
        is real for the work left (see ETA_AGREE)."""
        if not self._samples or not self.known():
            return None
        since, done_then, files_then = self._samples[0]
        span = elapsed - since
        bytes_left = max(0, self._total_bytes - done)
        files_left = max(0, self._total_files - files)
        if not bytes_left and not files_left:
            return 0.0
        if span < ETA_SETTLE:
            return None
        byte_rate = (done - done_then) / span
        finished = files - files_then
        by_bytes = bytes_left / byte_rate if byte_rate > 0 else math.inf
        if finished < 2:  # big files on their way: bytes are what takes the time
            return by_bytes if by_bytes < math.inf and files_left else None
        by_files = files_left / (finished / span)
        slow, fast = max(by_bytes, by_files), min(by_bytes, by_files)
        return slow if slow <= ETA_AGREE * max(fast, 1.0) else None

    def file_done(self, d: FileDone) -> None:
        self._results += 1
        if d.outcome == "failed":
            self._failed.add(d.name)
        moved_aside = d.outcome == "moved" and self.verb != "move"  # --backup-dir
        if (d.outcome in DONE_OUTCOMES and not moved_aside) or (
            d.outcome == "skipped" and d.action in ("copy", "move")
        ):
            self._arrived[d.name] = d.size

    def known(self) -> bool:
        return self.expected is not None or self._steady >= 2

    def done_bytes(self, p: Progress, *, in_flight: bool = True) -> int:
        """Bytes of the files that arrived (and, while running, what files in flight sent)."""
        sizes = self._arrived.values()
        if any(size is None for size in sizes):  # server-side moves carry no size
            return p.bytes
        if not self._results and not p.transferring:  # nothing to go by but rclone's count
            return p.bytes
        counted = self._arrived.keys() | self._failed
        flight = sum(f.bytes for f in p.transferring if f.name not in counted) if in_flight else 0
        return sum(size or 0 for size in sizes) + flight

    def fields(self, p: Progress, *, in_flight: bool = True) -> Fields:
        """The numbers for P; IN_FLIGHT false once the run is over (only what arrived counts)."""
        done = self.done_bytes(p, in_flight=in_flight)
        total = max(self._total_bytes, done)
        known = self.known()
        files = self._files(p)
        eta = self.eta(done, files, p.elapsed) if in_flight else None
        return Fields(
            bytes=done,
            total_bytes=total,
            totals_final=known,
            percent=_shown_percent(done, total) if known else None,
            speed=round(p.speed, 1),
            eta=None if eta is None else round(eta, 1),
            files=files,
            total_files=max(self._total_files, len(self._arrived)),
            errors=p.errors,
            elapsed=round(p.elapsed, 3),
        )


def _shown_percent(done: int, total: int) -> float:
    """The percent every display shows (bar, label, line, JSON): rounded down to 0.1, so
    99.96 % is not "100.0 %" while something is left."""
    return 0.0 if total <= 0 else math.floor(min(100.0, 100.0 * done / total) * 10) / 10


@dataclass(frozen=True)
class Fields:
    """The numbers every display shows, computed once (percent never above 100)."""

    bytes: int
    total_bytes: int
    totals_final: bool
    percent: float | None  # None while the totals are still growing (rclone is listing)
    speed: float
    eta: float | None
    files: int
    total_files: int
    errors: int
    elapsed: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def percent_text(self) -> str:
        """ "1.5%" (one place, as the bar's label shows it), "" while the totals grow."""
        return "" if self.percent is None else f"{self.percent:.1f}%"

    @property
    def phase(self) -> str:
        """What is going on, in a word: listing before the first byte, then transferring."""
        return "transferring" if self.bytes or self.files else "listing"

    def line(self, width: int = PLAIN_WIDTH) -> str:
        """The numbers as one line of at most WIDTH characters: bytes, speed, ETA, files and
        errors; the speed, then the ETA, are left out when they do not fit."""
        pct = "" if self.percent is None else f"{self.percent_text} "
        total = fmt.size(self.total_bytes) + ("" if self.totals_final else "+")
        parts = {"bytes": f"{pct}{fmt.size(self.bytes)} of {total}"}
        if self.speed:
            parts["speed"] = fmt.speed(self.speed)
        if self.totals_final and self.bytes < self.total_bytes:
            eta = ESTIMATING if self.eta is None else fmt.duration(self.eta, short=True)
            parts["eta"] = f"ETA {eta}"
        parts["files"] = f"{self.files}/{self.total_files} files"
        if self.errors:
            parts["errors"] = f"{self.errors} error{'' if self.errors == 1 else 's'}"
        for optional in ("speed", "eta"):
            if len(", ".join(parts.values())) <= width:
                break
            parts.pop(optional, None)
        return ", ".join(parts.values())


def summary_text(s: Summary) -> list[str]:
    """The closing lines every mode prints for people."""
    head = {"ok": "Done", "failed": "Failed", "interrupted": "Interrupted"}[s.outcome]
    lines = [f"{head}: {s.verb} {escape_control(s.source)} -> {escape_control(s.dest)}"]
    if s.dry_run:  # nothing moved: no speed, and names instead
        lines.append(
            f"  would transfer {fmt.size(s.bytes)} in {s.files} file(s), {s.errors} error(s)"
            + (f", would delete {s.deleted} file(s)" if s.deleted else "")
        )
        lines += _names("would send", s.would_send, s.files)
        lines += _names("would delete", s.would_delete, s.deleted)
    else:
        checked = ""
        # rclone's checks add up over its retries, so they are shown only for a clean run.
        if s.checked and not s.errors:  # nothing sent and every file checked: all were there
            checked = (
                f" ({s.checked} already up to date)" if not s.files else f", {s.checked} checked"
            )
        lines.append(
            f"  transferred {fmt.size(s.bytes)} in {s.files} file(s){checked}, "
            f"{fmt.duration(s.duration)}, average {fmt.speed(s.average_speed)}, "
            f"{s.errors} error(s)" + (f", {s.deleted} deleted" if s.deleted else "")
        )
    if s.bulk_files:  # README, "Many small files, fast": why, and what --checksum changes
        lines.append(
            f"  {s.bulk_files} by bulk upload (MD5-checked on arrival; no checksum kept: "
            "see --checksum)"
        )
    if s.chunked_files:
        lines.append(f"  {s.chunked_files} in parallel chunks (SHA-1 kept, as rclone does)")
    if s.resumed_bytes:  # README, "Big uploads resume": not sent again, not in `transferred`
        lines.append(f"  resumed: {fmt.size(s.resumed_bytes)} were on the server already")
    if s.rclone_files and (s.bulk_files or s.chunked_files):  # every file counted, whoever sent it
        lines.append(f"  {s.rclone_files} by rclone")
    if s.log_path:  # none when the state folder could not take it
        lines.append(f"  {'full rclone log' if s.rclone_ran else 'log'}: {s.log_path}")
    return lines


def _names(what: str, names: list[str], total: int) -> list[str]:
    if not names:
        return []
    lines = [f"  {what}:"] + [f"    {escape_control(name)}" for name in names]
    if total > len(names):
        lines.append(f"    ... and {total - len(names)} more (every name is in the log)")
    return lines


class JsonSink:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.meter = Meter(None)

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        self.meter = Meter(expected, opts.verb)
        self.console.emit_json(
            {
                "event": "start",
                "verb": opts.verb,
                "source": opts.source,
                "dest": opts.dest,
                "dry_run": opts.dry_run,
                # A fast path starts the run without rclone: no argv to show (its log has
                # rclone's, if rclone runs after it).
                "via": argv[0] if argv[:1] in FAST_PATHS else "rclone",
                "rclone_argv": None if argv[:1] in FAST_PATHS else list(argv[1:]),
                "log_path": log_path,
                "expected_bytes": expected.bytes if expected else None,
                "expected_files": expected.files if expected else None,
            }
        )

    def progress(self, p: Progress) -> None:
        self.meter.progress(p)
        fields = self.meter.fields(p)
        self.console.emit_json({"event": "progress", "phase": fields.phase, **fields.as_dict()})

    def tuning(self, flags: tuple[str, ...]) -> None:
        pass  # the JSON stream has no line for it; the log has the whole command

    def file_done(self, d: FileDone) -> None:
        self.meter.file_done(d)
        doc: dict[str, object] = {
            "event": "file",
            "name": d.name,
            "outcome": d.outcome,
            "size": d.size,
        }
        if d.error:
            doc["error"] = reason(d.error)
        self.console.emit_json(doc)

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical"):
            self.console.emit_json(
                {"event": "error", "message": reason(line.message), "object": line.object}
            )

    def finish(self, s: Summary) -> None:
        # The closing numbers (what arrived, nothing in flight); the summary itself is the
        # command's result, which rcwiz.cli prints last (or the error in its place).
        if self.meter.last is not None:
            fields = self.meter.fields(self.meter.last, in_flight=False)
            self.console.emit_json({"event": "progress", "phase": "done", **fields.as_dict()})


class PlainSink:
    """Timestamped lines without escape codes, for batch jobs and log files.

    A progress line fits PLAIN_WIDTH columns: it carries the time only, and the date when it
    is not the date of the line before (the start line always has both).
    """

    def __init__(self, console: Console, log_interval: float = 10.0) -> None:
        self.console = console
        self.interval = log_interval
        self.meter = Meter(None)
        self._last_print = float("-inf")
        self._last: Progress | None = None
        self._printed = ""  # the last progress line printed
        self._explained = False  # whether GROWING was said
        self._day = ""

    def _say(self, text: str, *, dated: bool = True) -> None:
        now = datetime.now()
        day = now.strftime("%Y-%m-%d")
        stamp = now.strftime("%H:%M:%S")
        if dated or day != self._day:
            stamp = f"{day} {stamp}"
        self._day = day
        self.console.out.print(f"{stamp} {text}", markup=False)

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        self.meter = Meter(expected, opts.verb)
        dry = " (dry run)" if opts.dry_run else ""
        source, dest = escape_control(opts.source), escape_control(opts.dest)
        self._say(f"start {opts.verb} {source} -> {dest}{dry}")
        self.tuning(opts.tuning)

    def tuning(self, flags: tuple[str, ...]) -> None:
        """Say which flags rcwiz adds to rclone (once rclone runs)."""
        if flags:
            self._say(f"rcwiz adds: {' '.join(flags)}")

    def _line(self, p: Progress, *, in_flight: bool = True) -> str:
        fields = self.meter.fields(p, in_flight=in_flight)
        if fields.phase == "listing" and not fields.totals_final:  # rclone is still counting
            return f"progress listing: {fields.total_files} file(s) to send found so far"
        return f"progress {fields.line(PLAIN_WIDTH - len('00:00:00 progress '))}"

    def progress(self, p: Progress) -> None:
        self.meter.progress(p)
        self._last = p
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._printed = self._line(p)
            self._say(self._printed, dated=False)
            if " of " in self._printed and not self.meter.known() and not self._explained:
                self._explained = True  # "X of Y+" is explained once, where it first shows
                self._say(GROWING, dated=False)

    def file_done(self, d: FileDone) -> None:
        self.meter.file_done(d)
        if d.outcome == "failed":
            self._say(f"error {escape_control(d.name)}: {reason(d.error)}", dated=False)

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical"):
            self._say(f"error {reason(line.message)}", dated=False)

    def finish(self, s: Summary) -> None:
        if self._last is not None:
            final = self._line(self._last, in_flight=False)
            if final != self._printed:  # not the same line twice
                self._say(final, dated=False)
        for text in summary_text(s):
            self._say(text.strip())


def make_sink(console: Console, log_interval: float = 10.0) -> JsonSink | PlainSink | LiveSink:
    if console.json:
        return JsonSink(console)
    if console.out.is_terminal:
        from rcwiz.ui.live import LiveSink  # rich's live display: only on a terminal

        return LiveSink(console)
    return PlainSink(console, log_interval)
