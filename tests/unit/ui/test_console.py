"""rcwiz.ui.console writes plain text without rich; rich itself is the oracle for what it shows.

One difference is deliberate: rich expands tabs to spaces, rcwiz's plain output keeps them.
"""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console as RichConsole
from rich.errors import MarkupError, StyleError
from rich.markup import escape as rich_escape
from rich.table import Table

from rcwiz.ui.console import Stream, escape

# rich expands tabs to spaces; rcwiz writes them as they are (a log keeps the file's name).
NO_TABS = st.text(max_size=4).filter(lambda s: "\t" not in s)
# Text that looks like markup: tags, closing tags, escapes, parameters, stray brackets.
MARKUPISH = st.lists(
    st.one_of(
        st.sampled_from(["[", "]", "\\", "[/]", "[bold]", "[/bold]", "[red]", "[dim]", "=", "@"]),
        st.text(alphabet="ab /#@=\\[]:", max_size=6),
        NO_TABS.filter(lambda s: len(s) <= 4),
    ),
    max_size=12,
).map("".join)


def rich_plain(text: str, **options) -> str | None:
    """What rich writes for TEXT to a file that is not a terminal (None if rich refuses it)."""
    buffer = io.StringIO()
    console = RichConsole(
        file=buffer,
        force_terminal=False,
        no_color=True,
        highlight=False,
        soft_wrap=True,
        emoji=False,
        width=80,
    )
    try:
        console.print(text, **options)
    except (MarkupError, StyleError):
        return None
    return buffer.getvalue()


def ours(text: str, **options) -> str:
    buffer = io.StringIO()
    Stream(buffer).print(text, **options)
    return buffer.getvalue()


@settings(max_examples=1500, deadline=None)
@given(MARKUPISH)
def test_plain_output_matches_rich(markup):
    expected = rich_plain(markup)
    if expected is not None:
        assert ours(markup) == expected


@settings(max_examples=500, deadline=None)
@given(st.one_of(MARKUPISH, st.text().filter(lambda s: "\t" not in s)))
def test_without_markup_matches_rich(text):
    assert ours(text, markup=False) == rich_plain(text, markup=False)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(MARKUPISH, st.text().filter(lambda s: "\t" not in s)))
def test_escape_is_richs(text):
    assert escape(text) == rich_escape(text)
    # As rich shows it (not always TEXT itself: rich renders an escaped "\\[" as "[").
    markup = f"[bold]{escape(text)}[/bold] {escape(text)}"
    assert ours(markup) == rich_plain(markup)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\\\t\a\b\v\f\r")))
def test_escaped_text_without_backslashes_is_shown_as_is(text):
    assert ours(f"[bold]x[/] {escape(text)}") == f"x {text}\n"


def test_tables_and_terminals_go_through_rich():
    buffer = io.StringIO()
    stream = Stream(buffer, width=40)
    table = Table("name", "size")
    table.add_row("a", "1")
    stream.print(table)
    assert "name" in buffer.getvalue() and "size" in buffer.getvalue()
    coloured = io.StringIO()
    Stream(coloured, force_terminal=True).print("[red]alarm[/]")
    assert "\x1b[" in coloured.getvalue() and "alarm" in coloured.getvalue()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TTY_COMPATIBLE": "1"}, True),
        ({"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"}, False),
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": ""}, False),
        ({}, False),
    ],
)
def test_terminal_rule_is_richs(monkeypatch, env, expected):
    for name in ("TTY_COMPATIBLE", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    buffer = io.StringIO()
    assert Stream(buffer).is_terminal is expected
    assert RichConsole(file=buffer).is_terminal is expected


def test_plain_copy_path_does_not_import_rich():
    """The point of Stream: a copy to a log file starts without rich (~50 ms)."""
    code = (
        "import sys, io; sys.argv = ['rcwiz']\n"
        "from rcwiz import cli\nfrom rcwiz.commands import transfer\n"
        "from rcwiz.ui.console import make_console\n"
        "from rcwiz.ui.progress import make_sink\n"
        "c = make_console(); make_sink(c); c.note('[bold]hi[/]'); c.error('e', 'h')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'yaml')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"
    assert done.stdout.splitlines()[0] == "hi"


def test_shell_join_is_safe_on_a_terminal_and_runs_as_the_same_arguments():
    import subprocess

    from rcwiz.ui.console import shell_join

    argv = ["copy", "src\x1b[2J", "it's\n", "tab\there", "c1-\x85", "back\\slash", "-v", ""]
    line = shell_join(argv)
    assert not any((ord(c) < 32 and c != "\t") or 0x7F <= ord(c) <= 0x9F for c in line)
    done = subprocess.run(["bash", "-c", f"printf '%s\\0' {line}"], capture_output=True, check=True)
    assert done.stdout.decode("utf-8").split("\0")[:-1] == argv
