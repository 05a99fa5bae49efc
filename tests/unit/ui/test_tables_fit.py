"""Column widths that never break a value (rcwiz.ui.tables.column_widths, Fitted)."""

from __future__ import annotations

import io

from rich.table import Table

from rcwiz.ui.console import Stream
from rcwiz.ui.tables import Fitted, column_widths


def test_every_column_gets_at_least_its_least_and_the_room_is_used():
    assert column_widths([(2, 2), (10, 50), (5, 20)], 100) == [2, 50, 20]
    widths = column_widths([(2, 2), (10, 50), (5, 20)], 40)
    assert widths is not None and sum(widths) == 40
    assert widths[0] == 2 and widths[1] >= 10 and widths[2] >= 5


def test_no_widths_when_the_least_do_not_fit():
    assert column_widths([(30, 30), (30, 30)], 59) is None


def shown(fitted: Fitted, width: int) -> str:
    buffer = io.StringIO()
    Stream(buffer, width=width, force_terminal=False).print(fitted)
    return buffer.getvalue()


def table_with_a_link() -> Fitted:
    table = Table()
    for column in ("id", "link", "note"):
        table.add_column(column)
    table.add_row("7", "http://127.0.0.1:18990/index.php/s/Cw4K5jDmbr8wjrR", "a few words here")
    return Fitted(table, prose={"note"})


def test_a_table_that_fits_keeps_each_value_on_one_row():
    text = shown(table_with_a_link(), 80)
    assert "│ http://127.0.0.1:18990/index.php/s/Cw4K5jDmbr8wjrR │" in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_table_too_wide_lists_its_rows_and_cuts_nothing():
    text = shown(table_with_a_link(), 40)
    assert "  link: http://127.0.0.1:18990/index.php/s/Cw4K5jDmbr8wjrR" in text.splitlines()
    assert "id: 7" in text.splitlines() and "words" in text.split()
