"""What every progress display shows of a transfer, computed once: the numbers of a line
(Meter, Fields) and the closing summary's lines (summary_text). Drawn by rcwiz.ui.progress
(JSON, plain lines) and rcwiz.ui.live (the terminal), which do not import each other.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

from rcwiz.counting import Summary, Tally
from rcwiz.events import Expected, InFlight, Progress
from rcwiz.ui import format as fmt
from rcwiz.ui.console import escape_control

PLAIN_WIDTH = 80  # a plain progress line fits a terminal of this width (and reads in a log)
ESTIMATING = "estimating…"  # shown where an ETA would be, until a rate can be trusted
GROWING = "(+: still counting what to transfer; the totals grow until it is done)"

# The ETA (README, "Progress output"): a rate is measured over the last ETA_WINDOW seconds
# of the run (at least ETA_SETTLE of them), once from bytes and once from files. Small files
# cost time per file, big ones per byte, so a run that mixes them (a fast path sends the small
# ones first) has a byte rate that says hours and a file rate that says seconds: the ETA is
# shown only when both tell about the same time (within ETA_AGREE); else "estimating…".
ETA_WINDOW = 30.0
ETA_SETTLE = 3.0
ETA_AGREE = 3.0


class Meter:
    """What a display shows of a transfer: rclone's stats, corrected by the files' results
    (counted in the transfer's Tally, which the Meter reads and never changes).

    * Bytes done are those of the files that arrived plus what files in flight have sent so
      far. rclone's own count also holds the bytes of files that failed (Nextcloud answers 507
      after the body was sent) and sometimes drops a failed file from its totals, so after a
      failure it can say 100 % of files that never arrived.
    * Totals never shrink: the largest rclone gave, or the pre-flight's (`expected`).
    * rclone's totals grow while it lists; they count as final once `listed` stops changing.
    """

    def __init__(self, expected: Expected | None, tally: Tally) -> None:
        self.expected = expected
        self.tally = tally
        self._last_listed = -1
        self._steady = 0
        self._total_bytes = expected.bytes if expected else 0
        self._total_files = expected.files if expected else 0
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
        return max(len(self.tally.arrived), p.transfers)

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

    def known(self) -> bool:
        return self.expected is not None or self._steady >= 2

    def done_bytes(self, p: Progress, *, in_flight: bool = True) -> int:
        """Bytes this run moved: of the files that arrived (and, while running, what files in
        flight sent), never what an earlier run had moved of a resumed file (resumed_bytes)."""
        arrived = self.tally.arrived
        sizes = arrived.values()
        if any(size is None for size in sizes):  # server-side moves carry no size
            return p.bytes
        if not self.tally.results and not p.transferring:  # nothing but rclone's count
            return p.bytes
        flight = sum(f.bytes - f.resumed for f in self._flying(p)) if in_flight else 0
        return sum(size or 0 for size in sizes) - self.tally.resumed_bytes + flight

    def resumed_bytes(self, p: Progress, *, in_flight: bool = True) -> int:
        """Bytes an earlier, interrupted run had moved: of the files that arrived (the Tally's
        count) and, while running, of those in flight (InFlight.resumed)."""
        flight = sum(f.resumed for f in self._flying(p)) if in_flight else 0
        return self.tally.resumed_bytes + flight

    def _flying(self, p: Progress) -> list[InFlight]:
        """P's files in flight that the Tally has not counted yet (arrived or failed)."""
        counted = self.tally.arrived.keys() | self.tally.failed
        return [f for f in p.transferring if f.name not in counted]

    def fields(self, p: Progress, *, in_flight: bool = True) -> Fields:
        """The numbers for P; IN_FLIGHT false once the run is over (only what arrived counts)."""
        done = self.done_bytes(p, in_flight=in_flight)
        resumed = self.resumed_bytes(p, in_flight=in_flight)
        # Totals are of every file; this run's share leaves out what earlier runs had moved.
        total = max(self._total_bytes - resumed, done)
        known = self.known()
        files = self._files(p)
        eta = self.eta(done, files, p.elapsed) if in_flight else None
        return Fields(
            bytes=done,
            total_bytes=total,
            resumed_bytes=resumed,
            totals_final=known,
            percent=_shown_percent(done, total) if known else None,
            speed=round(p.speed, 1),
            eta=None if eta is None else round(eta, 1),
            files=files,
            total_files=max(self._total_files, len(self.tally.arrived)),
            errors=p.errors,
            elapsed=round(p.elapsed, 3),
        )


def _shown_percent(done: int, total: int) -> float:
    """The percent every display shows (bar, label, line, JSON): rounded down to 0.1, so
    99.96 % is not "100.0 %" while something is left."""
    return 0.0 if total <= 0 else math.floor(min(100.0, 100.0 * done / total) * 10) / 10


class Fields(NamedTuple):
    """The numbers every display shows, computed once (percent never above 100)."""

    bytes: int  # moved by this run
    total_bytes: int  # for this run to move: resumed bytes are in neither
    resumed_bytes: int  # moved by an earlier, interrupted run and not moved again
    totals_final: bool
    percent: float | None  # None while the totals are still growing (rclone is listing)
    speed: float
    eta: float | None
    files: int
    total_files: int
    errors: int
    elapsed: float

    def as_dict(self) -> dict[str, object]:
        return self._asdict()

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
        if self.resumed_bytes:
            parts["resumed"] = f"{fmt.size(self.resumed_bytes)} resumed"
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


def would_move(download: bool) -> str:
    """What a dry run would do with the files it found: fetch them (DOWNLOAD: from a remote
    into a local folder), else send them."""
    return "would fetch" if download else "would send"


def summary_text(s: Summary) -> list[str]:
    """The closing lines every mode prints for people."""
    head = {"ok": "Done", "failed": "Failed", "interrupted": "Interrupted"}[s.outcome]
    lines = [f"{head}: {s.verb} {escape_control(s.source)} -> {escape_control(s.dest)}"]
    if s.dry_run:  # nothing moved: no speed, and names instead
        lines.append(
            f"  would transfer {fmt.size(s.bytes)} in {s.files} file(s), {s.errors} error(s)"
            + (f", would delete {s.deleted} file(s)" if s.deleted else "")
        )
        lines += _names(would_move(s.download), s.would_send, s.files)
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
    # README, "Big uploads resume" and "Resumable downloads": not moved again, not in `transferred`
    if s.resumed_bytes:
        lines.append(f"  {fmt.size(s.resumed_bytes)} resumed from an earlier run (not sent again)")
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
