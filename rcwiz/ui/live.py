"""The live terminal display of a transfer: an overall bar, its numbers, a line per file in flight.

Every line fits the terminal's width (80 columns included): the bar takes what the words
leave, and file names are cut with an ellipsis. Kept apart from rcwiz.ui.progress so that
batch jobs and --json never import rich's live display (and its start-up time).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from rcwiz.counting import Summary, Tally
from rcwiz.events import Expected, FileDone, LogLine, Progress, Start, reason
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, drop_stdout, escape, escape_control
from rcwiz.ui.meter import GROWING, Meter, summary_text

MAX_FILE_LINES = 6
FILE_BAR = 12


class LiveSink:
    """A rich live display: overall bar, totals, and one line per file in flight."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.meter = Meter(None, Tally("copy"))
        self.live: Live | None = None
        self.title = ""

    def start(self, start: Start, expected: Expected | None, tally: Tally) -> None:
        self.meter = Meter(expected, tally)
        self.title = f"{start.verb}{' (dry run)' if start.dry_run else ''}"
        self.tuning(start.tuning)
        self.live = Live(
            self._render(None), console=self.console.out.rich, refresh_per_second=8, transient=True
        )
        self.live.start()

    @property
    def width(self) -> int:
        return self.console.out.rich.width

    def _render(self, p: Progress | None) -> Group:
        if p is None:
            head = Table.grid(padding=(0, 1))
            head.add_row(Text(self.title, style="bold"), Text("starting…", style="cyan"))
            return Group(head)
        f = self.meter.fields(p)
        label = f"{f.percent:5.1f}%" if f.percent is not None else f.phase
        words = len(self.title) + len(label) + 2
        bar = ProgressBar(
            total=max(f.total_bytes, 1) if f.percent is not None else None,
            completed=min(f.bytes, f.total_bytes),
            width=max(10, min(50, self.width - words)),
            pulse=f.percent is None,
        )
        head = Table.grid(padding=(0, 1))
        head.add_row(Text(self.title, style="bold"), bar, Text(label, style="cyan"))
        numbers = Text("  " + f.line(self.width - 2), overflow="ellipsis", no_wrap=True)
        if f.errors:
            numbers.stylize("red", len(numbers) - len(f"{f.errors} errors") - 1)
        rows: list[RenderableType] = [head, numbers]
        if not f.totals_final and f.phase == "transferring":
            rows.append(Text("  " + GROWING, style="dim", overflow="ellipsis", no_wrap=True))
        for item in p.transferring[:MAX_FILE_LINES]:
            line = Table.grid(padding=(0, 1))
            line.add_column(no_wrap=True)
            line.add_column(no_wrap=True)
            line.add_column(no_wrap=True)
            line.add_column(no_wrap=True, overflow="ellipsis", max_width=max(10, self.width - 34))
            line.add_row(
                ProgressBar(
                    total=max(item.size, 1), completed=min(item.bytes, item.size), width=FILE_BAR
                ),
                Text(f"{item.percentage:3d}%"),
                Text(fmt.speed(item.speed), style="green"),
                Text(escape_control(item.name)),
            )
            rows.append(line)
        if len(p.transferring) > MAX_FILE_LINES:
            rows.append(Text(f"  … and {len(p.transferring) - MAX_FILE_LINES} more", style="dim"))
        return Group(*rows)

    def progress(self, p: Progress) -> None:
        self.meter.progress(p)
        if self.live is not None:
            self.live.update(self._render(p))

    def tuning(self, flags: tuple[str, ...]) -> None:
        """Say which flags rcwiz adds to rclone (once rclone runs), above the live display."""
        if flags:
            text = f"[dim]rcwiz adds: {escape(' '.join(flags))}[/]"
            if self.live is not None:
                self.live.console.print(text)
            else:
                self.console.out.print(text)

    def file_done(self, d: FileDone) -> None:
        if d.outcome == "failed" and self.live is not None:
            name, why = escape(escape_control(d.name)), escape(reason(d.error))
            self.live.console.print(f"[red]failed[/] {name}: {why}")

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical") and self.live is not None and not line.object:
            self.live.console.print(f"[red]error[/] {escape(reason(line.message))}")

    def closed(self) -> None:
        drop_stdout()  # the reader went away (`| head`): nothing more is written there

    def finish(self, s: Summary) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        style = {"ok": "green", "failed": "red", "interrupted": "yellow"}[s.outcome]
        lines = summary_text(s)
        self.console.out.print(f"[bold {style}]{escape(lines[0])}[/]")
        for text in lines[1:]:
            # The log's path is to be copied whole: the terminal may wrap it, rich must not.
            copyable = text.lstrip().startswith(("full rclone log:", "log:"))
            self.console.out.print(escape(text), soft_wrap=copyable)
