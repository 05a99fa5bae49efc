"""Transfer events drawn three ways: a live terminal display, plain log lines, or JSON lines.

`make_sink` picks one from the console: --json gives one JSON object per line (start,
progress, file, error, summary); a terminal gets a rich live display; anything else (a batch
job's log file, a pipe) gets timestamped plain lines every `log_interval` seconds.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from rcwiz.counting import Summary, Tally
from rcwiz.events import Expected, FileDone, LogLine, Progress, Start, reason
from rcwiz.ui.console import Console, drop_stdout, escape_control
from rcwiz.ui.meter import GROWING, PLAIN_WIDTH, Meter, summary_text

if TYPE_CHECKING:
    from rcwiz.ui.live import LiveSink


class JsonSink:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.meter = Meter(None, Tally("copy"))

    def start(self, start: Start, expected: Expected | None, tally: Tally) -> None:
        self.meter = Meter(expected, tally)
        self.console.emit_json(
            {
                "event": "start",
                "verb": start.verb,
                "source": start.source,
                "dest": start.dest,
                "dry_run": start.dry_run,
                # A fast path starts the run without rclone: no argv to show (its log has
                # rclone's, if rclone runs after it).
                "via": start.via,
                "rclone_argv": list(start.argv[1:]) if start.via == "rclone" else None,
                "log_path": start.log_path,
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

    def closed(self) -> None:
        drop_stdout()  # the reader went away (`| head`): nothing more is written there

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
        self.meter = Meter(None, Tally("copy"))
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

    def start(self, start: Start, expected: Expected | None, tally: Tally) -> None:
        self.meter = Meter(expected, tally)
        dry = " (dry run)" if start.dry_run else ""
        source, dest = escape_control(start.source), escape_control(start.dest)
        self._say(f"start {start.verb} {source} -> {dest}{dry}")
        self.tuning(start.tuning)

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
        if d.outcome == "failed":
            self._say(f"error {escape_control(d.name)}: {reason(d.error)}", dated=False)

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical"):
            self._say(f"error {reason(line.message)}", dated=False)

    def closed(self) -> None:
        drop_stdout()  # the reader went away (`| head`): nothing more is written there

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
