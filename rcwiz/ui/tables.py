"""Every table rcwiz shows (rich), built from plain data: remotes, quota, quota history,
doctor's checks, shares, job profiles and their runs.

No table breaks a URL, a path or a word (a link split over rows cannot be copied): each is a
`Fitted`, whose columns are as wide as their longest value (or, for prose, their longest
word), and which lists its rows one field a line when that does not fit the terminal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from rcwiz.nextcloud.shares import describe_permissions
from rcwiz.quota.history import forecast, sparkline
from rcwiz.quota.report import CRIT_PERCENT, WARN_PERCENT
from rcwiz.ui import format as fmt

if TYPE_CHECKING:
    from rcwiz.nextcloud.shares import Share
    from rcwiz.quota.history import Sample
    from rcwiz.quota.report import Row
    from rcwiz.rclone.config import Remote


def column_widths(ranges: Sequence[tuple[int, int]], room: int) -> list[int] | None:
    """Widths for columns that need (least, most) cells each, within ROOM cells: every column
    its least, the rest shared by what each could still use; None when the least do not fit."""
    least = [low for low, _ in ranges]
    most = [max(low, high) for low, high in ranges]
    if sum(most) <= room:
        return most
    if sum(least) > room:
        return None
    spare, slack = room - sum(least), sum(most) - sum(least)
    widths = [low + spare * (high - low) // slack for low, high in zip(least, most, strict=True)]
    for i in sorted(range(len(widths)), key=lambda i: widths[i] - most[i]):  # the remainder
        if sum(widths) < room and widths[i] < most[i]:
            widths[i] += 1
    return widths


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


class Fitted:
    """TABLE shown so that no value is broken: the columns named in PROSE wrap between words,
    every other column keeps each value on one line. When that is wider than the terminal,
    the rows are listed instead, one `column: value` a line (a value too long for the line
    goes on whole, for the terminal to wrap: it can still be copied)."""

    uncropped = True  # rcwiz.ui.console.Stream prints it without cutting lines at the edge

    def __init__(self, table: Table, prose: Collection[str] = ()) -> None:
        self.table = table
        self.prose = {i for i, c in enumerate(table.columns) if str(c.header) in prose}

    def _cells(self, i: int) -> list[str]:
        column = self.table.columns[i]
        return [_plain(column.header), *(_plain(cell) for cell in column._cells)]

    def _range(self, i: int) -> tuple[int, int]:
        """(least, most) width of column I: a header may wrap between its words, a value
        only if its column is prose."""
        header, *cells = self._cells(i)
        lines = [line for cell in cells for line in cell.splitlines() or [""]]
        pieces = [w for line in lines for w in line.split()] if i in self.prose else lines
        least = max(map(cell_len, [*pieces, *header.split()]), default=1)
        return least, max(least, cell_len(header), *map(cell_len, lines))

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> Iterator[RenderableType]:
        columns = self.table.columns
        edges = 3 * len(columns) + 1  # "│ " before each column, " │" after the last
        widths = column_widths(
            [self._range(i) for i in range(len(columns))], options.max_width - edges
        )
        if widths is None:
            yield from self._listed()
            return
        for i, (column, width) in enumerate(zip(columns, widths, strict=True)):
            column.width, column.no_wrap = width, i not in self.prose
        yield self.table

    def _listed(self) -> Iterator[RenderableType]:
        if self.table.title:
            yield Text(_plain(self.table.title), style="bold")
        columns = self.table.columns
        for row in range(self.table.row_count):
            for i, column in enumerate(columns):
                cell = column._cells[row]
                value = cell.copy() if isinstance(cell, Text) else Text(str(cell))
                head = Text(f"{_plain(column.header)}: ", style="bold" if i == 0 else "dim")
                line = Text.assemble(("" if i == 0 else "  "), head, value)
                line.overflow = "ignore"  # wraps between words, never inside one
                yield line
            if row < self.table.row_count - 1:
                yield Text("")


# How doctor's statuses are shown (the text and the hints in the same colour).
def remotes_table(remotes: Sequence[Remote], title: str | None = None) -> Fitted:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("name", "type", "vendor", "url", "user"):
        table.add_column(column, overflow="fold")
    for r in remotes:
        name = r.name + ("  (env)" if r.source == "environment" else "")
        table.add_row(name, r.type, r.vendor or "-", r.url or "-", r.user or "-")
    return Fitted(table)


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
) -> Fitted:
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
    return Fitted(table, prose={"usage"})


def shares_table(found: Sequence[Share], *, incoming: bool = False) -> Fitted:
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
    return Fitted(table, prose={"permissions", "expires"})


def quota_history_table(
    grouped: Mapping[str, Sequence[Sample]],
    removed: set[str] = frozenset(),  # type: ignore[assignment]
) -> Fitted:
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
    return Fitted(table, prose={"forecast"})
