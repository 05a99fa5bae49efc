"""Every table rcwiz shows (rich), built from plain data: remotes, quota, quota history,
doctor's checks, shares, job profiles and their runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from rcwiz.nextcloud.shares import describe_permissions
from rcwiz.quota.history import forecast, sparkline
from rcwiz.quota.report import CRIT_PERCENT, WARN_PERCENT
from rcwiz.ui import format as fmt

if TYPE_CHECKING:
    from rcwiz.actions.doctor import Check
    from rcwiz.jobs.history import Run
    from rcwiz.jobs.model import Job
    from rcwiz.nextcloud.shares import Share
    from rcwiz.quota.history import Sample
    from rcwiz.quota.report import Row
    from rcwiz.rclone.config import Remote

# How doctor's statuses are shown (the text and the hints in the same colour).
CHECK_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def remotes_table(remotes: Sequence[Remote], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("name", "type", "vendor", "url", "user"):
        table.add_column(column, overflow="fold")
    for r in remotes:
        name = r.name + ("  (env)" if r.source == "environment" else "")
        table.add_row(name, r.type, r.vendor or "-", r.url or "-", r.user or "-")
    return table


def usage_bar(
    percent: float | None, width: int = 20, warn: float = WARN_PERCENT, crit: float = CRIT_PERCENT
) -> Text:
    """A plain-character bar (readable in a log file too): ████████░░░░ ."""
    if percent is None:
        return Text("-")
    filled = round(width * min(max(percent, 0.0), 100.0) / 100)
    style = "red" if percent >= crit else "yellow" if percent >= warn else "green"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


_STATE_STYLE = {"ok": "", "warning": "yellow", "critical": "bold red", "unknown": "dim"}


def quota_table(
    rows: Sequence[Row],
    title: str | None = None,
    *,
    warn: float = WARN_PERCENT,
    crit: float = CRIT_PERCENT,
) -> Table:
    """One line per remote: used, free, total, a bar, percent; a sentence where there are none."""
    extra = [k for k in ("trashed", "other") if any(getattr(r.usage, k, None) for r in rows)]
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("remote")
    for column in ("used", "free", "total"):
        table.add_column(column, justify="right")
    table.add_column("usage")
    table.add_column("%", justify="right")
    for column in extra:
        table.add_column(column, justify="right")
    for row in rows:
        u = row.usage
        style = _STATE_STYLE.get(row.state, "")
        if u is None or row.problem:
            cells: list[str | Text] = [
                row.remote,
                fmt.size(u.used) if u else "-",
                "-",
                "-",
                Text(row.problem or "", style="dim" if u else "red"),
                "-",
            ]
            table.add_row(*cells, *("-" for _ in extra))
            continue
        pct = u.percent_used
        table.add_row(
            row.remote,
            fmt.size(u.used),
            fmt.size(u.free),
            fmt.size(u.total),
            usage_bar(pct, warn=warn, crit=crit),
            "-" if pct is None else f"{pct:.1f}%",
            *(fmt.size(getattr(u, k)) for k in extra),
            style=style,
        )
    return table


def checks_table(rows: Sequence[Check]) -> Table:
    """rcwiz doctor: one row per check."""
    out = Table(header_style="bold")
    out.add_column("check", no_wrap=True)
    out.add_column("status")
    out.add_column("detail", overflow="fold")
    for row in rows:
        out.add_row(row.check, Text(row.status, style=CHECK_STYLE[row.status]), row.detail)
    return out


def shares_table(found: Sequence[Share], *, incoming: bool = False) -> Table:
    """rcwiz share --list: one row per share, with its path (the list spans folders);
    INCOMING (shared with this account): who shares it instead of with whom."""
    table = Table(header_style="bold")
    third = "from" if incoming else "with / link"
    for column in ("id", "path", "kind", third, "permissions", "expires", "password"):
        table.add_column(column, overflow="fold")
    for share in found:
        table.add_row(
            share.id,
            share.path,
            share.kind,
            (share.owner if incoming else share.url or share.share_with) or "-",
            describe_permissions(share.permissions),
            share.expiration or "-",
            "yes" if share.password_protected else "-",
        )
    return table


def jobs_table(jobs: Mapping[str, Job], last: Mapping[str, Run]) -> Table:
    """rcwiz job list: each profile and its last run."""
    table = Table(header_style="bold")
    for column in ("name", "mode", "source", "dest", "last run"):
        table.add_column(column, overflow="fold")
    for name, job in jobs.items():
        table.add_row(name, job.mode, job.source, job.dest, _last_run_text(last.get(name)))
    return table


def _last_run_text(run: Run | None) -> str:
    if run is None:
        return "never"
    when = datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M")
    dry = " (dry run)" if run.dry_run else ""
    return f"{run.outcome}{dry} {when} ({fmt.duration(run.duration)}, {fmt.size(run.bytes)})"


_OUTCOME_STYLE = {"ok": "green", "failed": "red", "interrupted": "yellow"}


def runs_table(runs: Sequence[Run]) -> Table:
    """rcwiz job history: one row per run."""
    table = Table(header_style="bold")
    for column in ("job", "started", "duration", "outcome", "bytes", "files", "errors"):
        table.add_column(column)
    for run in runs:
        outcome = Text(run.outcome, style=_OUTCOME_STYLE.get(run.outcome, ""))
        if run.dry_run:
            outcome.append(" (dry run)")
        table.add_row(
            run.job,
            datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M:%S"),
            fmt.duration(run.duration),
            outcome,
            fmt.size(run.bytes),
            str(run.files),
            str(run.errors),
        )
    return table


def quota_history_table(
    grouped: Mapping[str, Sequence[Sample]],
    removed: set[str] = frozenset(),  # type: ignore[assignment]
) -> Table:
    """rcwiz quota --history: per remote, usage over time and the forecast (REMOVED: remotes
    no longer configured, marked so)."""
    table = Table(header_style="bold")
    for column in ("remote", "samples", "since", "usage over time", "used", "trend", "forecast"):
        table.add_column(column)
    for remote, samples in grouped.items():
        guess = forecast(samples)
        last = samples[-1]
        used = fmt.size(last.used) + (f" of {fmt.size(last.total)}" if last.total else "")
        trend = "-" if guess.rate_per_day is None else f"{fmt.size(guess.rate_per_day)}/day"
        since = datetime.fromtimestamp(samples[0].time).strftime("%Y-%m-%d")
        name = f"{remote} (removed)" if remote in removed else remote
        table.add_row(
            name, str(len(samples)), since, sparkline(samples), used, trend, guess.describe()
        )
    return table
