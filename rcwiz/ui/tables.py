"""Tables for people (rich) built from plain data."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from rcwiz.quota import Row
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


def usage_bar(percent: float | None, width: int = 20, warn: float = 80, crit: float = 95) -> Text:
    """A plain-character bar (readable in a log file too): ████████░░░░ ."""
    if percent is None:
        return Text("-")
    filled = round(width * min(max(percent, 0.0), 100.0) / 100)
    style = "red" if percent >= crit else "yellow" if percent >= warn else "green"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


_STATE_STYLE = {"ok": "", "warning": "yellow", "critical": "bold red", "unknown": "dim"}


def quota_table(
    rows: Sequence[Row], title: str | None = None, *, warn: float = 80, crit: float = 95
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
            cells = [
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
