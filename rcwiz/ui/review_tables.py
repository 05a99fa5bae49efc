"""The tables of the review commands (uploads, trash, versions, usage), built from plain data;
rich only (a command imports this only when it draws on a terminal or a log)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table

from rcwiz.ui import format as fmt
from rcwiz.ui.tables import Fitted

if TYPE_CHECKING:
    from rcwiz.nextcloud.trash import Item
    from rcwiz.nextcloud.uploads import Session
    from rcwiz.nextcloud.versions import Version


def sessions_table(found: Sequence[Session], states: Sequence[str], now: float) -> Fitted:
    """rcwiz uploads list: one row per session, biggest first, with what protects it."""
    table = Table(header_style="bold")
    for column, justify in (
        ("session", "left"),
        ("made by", "left"),
        ("size", "right"),
        ("chunks", "right"),
        ("changed", "right"),
        ("state", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for session, state in zip(found, states, strict=True):
        changed = None if session.changed is None else now - session.changed
        table.add_row(
            session.name,
            session.maker,
            fmt.size(session.bytes),
            str(session.chunks),
            f"{fmt.age(changed)} ago" if changed is not None else "-",
            state or "-",
        )
    return Fitted(table)  # never a session, an id or a path broken (ui.tables.Fitted)


def trash_table(found: Sequence[Item]) -> Fitted:
    """rcwiz trash list: one row per item, newest deletion first."""
    table = Table(header_style="bold")
    table.add_column("id", overflow="fold")
    table.add_column("was at", overflow="fold")
    table.add_column("deleted")
    table.add_column("size", justify="right")
    for item in found:
        where = item.original + ("/" if item.folder else "")
        table.add_row(item.id, where, fmt.when(item.deleted), fmt.size(item.bytes))
    return Fitted(table)  # never a session, an id or a path broken (ui.tables.Fitted)


def versions_table(found: Sequence[Version]) -> Fitted:
    """rcwiz versions: one row per version, newest first, the current content marked."""
    table = Table(header_style="bold")
    table.add_column("version")
    table.add_column("time")
    table.add_column("size", justify="right")
    table.add_column("")
    for v in found:
        table.add_row(v.id, fmt.when(v.time), fmt.size(v.bytes), "current" if v.current else "")
    return Fitted(table)  # never a session, an id or a path broken (ui.tables.Fitted)
