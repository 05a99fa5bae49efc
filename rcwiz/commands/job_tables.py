"""How `rcwiz job list` and `rcwiz job history` are drawn: each profile and its last run, and
past runs, as tables that fit (rcwiz.ui.tables.Fitted). Imported only when a table is drawn
(rich)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.table import Table
from rich.text import Text

from rcwiz.jobs.history import Run
from rcwiz.jobs.model import Job
from rcwiz.rclone.config import is_download
from rcwiz.ui import format as fmt
from rcwiz.ui.meter import would_move
from rcwiz.ui.tables import Fitted


def jobs_table(jobs: Mapping[str, Job], last: Mapping[str, Run]) -> Fitted:
    """rcwiz job list: each profile and its last run."""
    table = Table(header_style="bold")
    for column in ("name", "mode", "source", "dest", "last run"):
        table.add_column(column, overflow="fold")
    for name, job in jobs.items():
        last_run = _last_run_text(last.get(name), is_download(job.source, job.dest))
        table.add_row(name, job.mode, job.source, job.dest, last_run)
    return Fitted(table, prose={"last run"})


def _last_run_text(run: Run | None, download: bool) -> str:
    if run is None:
        return "never"
    when = datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M")
    if run.dry_run:  # nothing was moved: what it found is what a run would move
        sent = f"{would_move(download)} {fmt.size(run.bytes)}"
        return f"{run.outcome} (dry run) {when} ({fmt.duration(run.duration)}, {sent})"
    return f"{run.outcome} {when} ({fmt.duration(run.duration)}, {fmt.size(run.bytes)})"


_OUTCOME_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow"}


def runs_table(runs: Sequence[Run]) -> Fitted:
    """rcwiz job history: one row per run."""
    table = Table(header_style="bold")
    for column in ("job", "started", "duration", "outcome", "bytes", "files", "errors"):
        table.add_column(column)
    for run in runs:
        outcome = Text(run.outcome, style=_OUTCOME_STYLE.get(run.outcome, ""))
        sizes = [fmt.size(run.bytes), str(run.files)]
        if run.dry_run:  # it sent nothing: its numbers, in brackets, are what a run would send
            outcome.append(" (dry run: nothing sent)")
            sizes = [f"({value})" for value in sizes]
        table.add_row(
            run.job,
            datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M:%S"),
            fmt.duration(run.duration),
            outcome,
            *sizes,
            str(run.errors),
        )
    return Fitted(table, prose={"outcome", "started"})
