"""Tables for people (rich) built from plain data."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from rcwiz.quota import Usage
from rcwiz.rclone.conf import Remote
from rcwiz.ui import format as fmt


def remotes_table(remotes: Sequence[Remote], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("name", "type", "vendor", "url", "user"):
        table.add_column(column, overflow="fold")
    for r in remotes:
        name = r.name + ("  (env)" if r.source == "environment" else "")
        table.add_row(name, r.type, r.vendor or "-", r.url or "-", r.user or "-")
    return table


def usage_bar(percent: float | None, width: int = 20) -> Text:
    """A plain-character bar (readable in a log file too): ████████░░░░ ."""
    if percent is None:
        return Text("-")
    filled = round(width * min(max(percent, 0.0), 100.0) / 100)
    style = "red" if percent >= 95 else "yellow" if percent >= 80 else "green"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def quota_table(usages: Sequence[Usage], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("remote")
    for column in ("used", "free", "total"):
        table.add_column(column, justify="right")
    table.add_column("usage")
    table.add_column("%", justify="right")
    for u in usages:
        if not u.reported:
            table.add_row(
                u.remote, fmt.size(u.used), "-", "-", Text("no quota reported", style="dim"), "-"
            )
            continue
        pct = u.percent_used
        table.add_row(
            u.remote,
            fmt.size(u.used),
            fmt.size(u.free),
            fmt.size(u.total),
            usage_bar(pct),
            "-" if pct is None else f"{pct:.1f}%",
        )
    return table
