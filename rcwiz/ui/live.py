"""The live terminal display of a transfer: an overall bar, totals, a line per file in flight.

Kept apart from rcwiz.ui.progress so that batch jobs and --json never import rich's live
display (and its start-up time).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from rcwiz.rclone.events import FileDone, LogLine, Progress
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import Expected, Summary
from rcwiz.ui import format as fmt
from rcwiz.ui.console import Console, escape
from rcwiz.ui.progress import Totals, progress_fields, summary_text

MAX_FILE_LINES = 6


class LiveSink:
    """A rich live display: overall bar, totals, and one line per file in flight."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.totals = Totals(None)
        self.live: Live | None = None
        self.title = ""

    def start(
        self, opts: TransferOptions, argv: tuple[str, ...], expected: Expected | None, log_path: str
    ) -> None:
        self.totals = Totals(expected)
        self.title = f"{opts.verb}{' (dry run)' if opts.dry_run else ''}"
        if opts.tuning:
            self.console.out.print(f"[dim]rcwiz adds: {escape(' '.join(opts.tuning))}[/]")
        self.live = Live(
            self._render(None), console=self.console.out.rich, refresh_per_second=8, transient=True
        )
        self.live.start()

    def _render(self, p: Progress | None) -> Group:
        if p is None:
            bar = ProgressBar(total=None, width=40, pulse=True)
            return Group(Text.assemble((f"{self.title} ", "bold"), "starting…"), bar)
        f = progress_fields(p, self.totals)
        known = f.percent is not None
        total = f.total_bytes
        bar = ProgressBar(
            total=max(total, 1) if known else None,
            completed=min(p.bytes, total),
            width=40,
            pulse=not known,
        )
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text(self.title, style="bold"),
            bar,
            Text(f"{f.percent:5.1f}%" if f.percent is not None else "listing", style="cyan"),
            Text(f"{fmt.size(p.bytes)} / {fmt.size(total)}"),
            Text(fmt.speed(p.speed), style="green"),
            Text(f"ETA {fmt.duration(p.eta)}"),
            Text(f"files {f.files}/{f.total_files}"),
            Text(f"errors {p.errors}", style="red" if p.errors else "dim"),
        )
        rows: list[RenderableType] = [head]
        for item in p.transferring[:MAX_FILE_LINES]:
            line = Table.grid(padding=(0, 1))
            line.add_row(
                Text("  "),
                ProgressBar(
                    total=max(item.size, 1), completed=min(item.bytes, item.size), width=20
                ),
                Text(f"{item.percentage:3d}%"),
                Text(fmt.speed(item.speed), style="green"),
                Text(item.name, overflow="ellipsis", no_wrap=True),
            )
            rows.append(line)
        if len(p.transferring) > MAX_FILE_LINES:
            rows.append(Text(f"  … and {len(p.transferring) - MAX_FILE_LINES} more", style="dim"))
        return Group(*rows)

    def progress(self, p: Progress) -> None:
        self.totals.update(p)
        if self.live is not None:
            self.live.update(self._render(p))

    def file_done(self, d: FileDone) -> None:
        if d.outcome == "failed" and self.live is not None:
            self.live.console.print(f"[red]failed[/] {escape(d.name)}: {escape(d.error or '')}")

    def log(self, line: LogLine) -> None:
        if line.level in ("error", "critical") and self.live is not None and not line.object:
            self.live.console.print(f"[red]error[/] {escape(line.message)}")

    def finish(self, s: Summary) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        style = {"ok": "green", "failed": "red", "interrupted": "yellow"}[s.outcome]
        lines = summary_text(s)
        self.console.out.print(f"[bold {style}]{escape(lines[0])}[/]")
        for text in lines[1:]:
            self.console.out.print(escape(text))
