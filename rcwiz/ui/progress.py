"""Transfer events drawn three ways: a live terminal display, plain log lines, or JSON lines.

`make_sink` picks one from the console: --json gives one JSON object per line (start,
progress, file, error, summary); a terminal gets a rich live display; anything else (a batch
job's log file, a pipe) gets timestamped plain lines every `log_interval` seconds.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rcwiz.rclone.events import FileDone, LogLine, Progress
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import Expected, Summary
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console

if TYPE_CHECKING:
    from rcwiz.ui.live import LiveSink


class Totals:
    """Totals to show: known up front (pre-flight), else rclone's, which grow while listing.

    rclone's totals are treated as final once its `listed` count stops changing.
    """

    def __init__(self, expected: Expected | None) -> None:
        self.expected = expected
        self._last_listed = -1
        self._steady = 0

    def update(self, p: Progress) -> None:
        self._steady = self._steady + 1 if p.listed == self._last_listed else 0
        self._last_listed = p.listed

    def known(self) -> bool:
        return self.expected is not None or self._steady >= 2

    def bytes(self, p: Progress) -> int:
        return max(p.total_bytes, self.expected.bytes if self.expected else 0)

    def files(self, p: Progress) -> int:
        return max(p.total_transfers, self.expected.files if self.expected else 0)


def _percent(done: int, total: int) -> float:
    return 0.0 if total <= 0 else min(100.0, 100.0 * done / total)


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


def progress_fields(p: Progress, totals: Totals) -> Fields:
    total_bytes = totals.bytes(p)
    known = totals.known()
    return Fields(
        bytes=p.bytes,
        total_bytes=total_bytes,
        totals_final=known,
        percent=round(_percent(p.bytes, total_bytes), 1) if known else None,
        speed=round(p.speed, 1),
        eta=None if p.eta is None else round(p.eta, 1),
        files=p.transfers,
        total_files=totals.files(p),
        errors=p.errors,
        elapsed=round(p.elapsed, 3),
    )


def summary_text(s: Summary) -> list[str]:
    """The closing lines every mode prints for people."""
    what = "would transfer" if s.dry_run else "transferred"
    head = {"ok": "Done", "failed": "Failed", "interrupted": "Interrupted"}[s.outcome]
    lines = [
        f"{head}: {s.verb} {s.source} -> {s.dest}",
        f"  {what} {fmt.size(s.bytes)} in {s.files} file(s), {fmt.duration(s.duration)}, "
        f"average {fmt.speed(s.average_speed)}, {s.errors} error(s)"
        + (f", {s.deleted} deleted" if s.deleted else ""),
        f"  full rclone log: {s.log_path}",
    ]
    return lines


class JsonSink:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.totals = Totals(None)

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        self.totals = Totals(expected)
        self.console.emit_json(
            {
                "event": "start",
                "verb": opts.verb,
                "source": opts.source,
                "dest": opts.dest,
                "dry_run": opts.dry_run,
                "rclone_argv": list(argv[1:]),
                "log_path": log_path,
                "expected_bytes": expected.bytes if expected else None,
                "expected_files": expected.files if expected else None,
            }
        )

    def progress(self, p: Progress) -> None:
        self.totals.update(p)
        self.console.emit_json({"event": "progress", **progress_fields(p, self.totals).as_dict()})

    def file_done(self, d: FileDone) -> None:
        doc = {"event": "file", "name": d.name, "outcome": d.outcome, "size": d.size}
        if d.error:
            doc["error"] = d.error
        self.console.emit_json(doc)

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical"):
            self.console.emit_json(
                {"event": "error", "message": line.message, "object": line.object}
            )

    def finish(self, s: Summary) -> None:
        self.console.emit_json({"event": "summary", **s.as_dict()})


class PlainSink:
    """Timestamped lines without escape codes, for batch jobs and log files."""

    def __init__(self, console: Console, log_interval: float = 10.0) -> None:
        self.console = console
        self.interval = log_interval
        self.totals = Totals(None)
        self._last_print = float("-inf")
        self._last: Progress | None = None

    def _say(self, text: str) -> None:
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.console.out.print(f"{stamp} {text}", markup=False)

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        self.totals = Totals(expected)
        dry = " (dry run)" if opts.dry_run else ""
        self._say(f"start {opts.verb} {opts.source} -> {opts.dest}{dry}")
        if opts.tuning:
            self._say(f"rcwiz adds: {' '.join(opts.tuning)}")

    def _line(self, p: Progress) -> str:
        f = progress_fields(p, self.totals)
        pct = "listing" if f.percent is None else f"{f.percent:.0f}%"
        return (
            f"progress {pct} {fmt.size(p.bytes)} / {fmt.size(f.total_bytes)}, "
            f"{fmt.speed(p.speed)}, ETA {fmt.duration(p.eta)}, "
            f"files {f.files}/{f.total_files}, errors {p.errors}"
        )

    def progress(self, p: Progress) -> None:
        self.totals.update(p)
        self._last = p
        now = time.monotonic()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._say(self._line(p))

    def file_done(self, d: FileDone) -> None:
        if d.outcome == "failed":
            self._say(f"error {d.name}: {d.error}")

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical"):
            self._say(f"error {line.message}")

    def finish(self, s: Summary) -> None:
        if self._last is not None:
            self._say(self._line(self._last))
        for text in summary_text(s):
            self._say(text.strip())


def make_sink(console: Console, log_interval: float = 10.0) -> JsonSink | PlainSink | LiveSink:
    if console.json:
        return JsonSink(console)
    if console.out.is_terminal:
        from rcwiz.ui.live import LiveSink  # rich's live display: only on a terminal

        return LiveSink(console)
    return PlainSink(console, log_interval)
