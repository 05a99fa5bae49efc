"""The consoles rcwiz writes to, created once in cli.main and passed down.

Three output modes: a terminal (rich, colour unless NO_COLOR or --no-color), plain text
when stdout is not a terminal (no escape codes, for batch logs), and --json (machine output
on stdout, messages for people on stderr).

rich costs ~50 ms of start-up, so it is imported only when something needs it: a terminal,
a table or a live display. Plain strings on a stream that is not a terminal are written
directly, with rich's console markup removed the way rich itself would (see `render`;
tests/unit/test_console.py checks it against rich).
"""

from __future__ import annotations

import functools
import os
import re
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console as RichConsole

PLAIN_WIDTH = 160

# rich's console markup (rich/markup.py, MIT licence): a tag is `[name]` or `[name=value]`
# where name starts with a-z, #, / or @; backslashes before the `[` escape it.
_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
# Control codes rich removes from text (bell, backspace, vertical tab, form feed, CR).
_STRIP = dict.fromkeys((7, 8, 11, 12, 13))


def escape(text: str) -> str:
    """TEXT made safe to put inside markup (rich.markup.escape, without importing rich)."""
    text = _ESCAPE.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", text)
    if text.endswith("\\") and not text.endswith("\\\\"):
        return text + "\\"
    return text


# C0 controls, DEL and C1 controls: a file name holding them could move the cursor, change
# colours or retitle the terminal. Tab stays (a name may hold one; it cannot do harm).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def escape_control(text: str) -> str:
    """TEXT with control characters shown as \\xNN, so it cannot act on a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def _ansi_c(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def shell_join(argv: Sequence[str]) -> str:
    """ARGV as a command line to copy into a shell; an argument with control characters is
    written in bash's $'...' form (\\xNN), so the line is safe on a terminal and still runs."""
    import shlex

    def one(arg: str) -> str:
        if not _CONTROL.search(arg):
            return shlex.quote(arg)
        body = arg.replace("\\", "\\\\").replace("'", "\\'")
        return "$'" + _CONTROL.sub(_ansi_c, body) + "'"

    return " ".join(one(arg) for arg in argv)


def render(markup: str) -> str:
    """The text rich shows for MARKUP, without its styles: tags dropped, escapes undone."""
    if "[" not in markup:
        return markup
    parts: list[str] = []
    position = 0
    for match in _TAG.finditer(markup):
        full, escapes, _ = match.groups()
        start, end = match.span()
        if start > position:
            parts.append(markup[position:start].replace("\\[", "["))
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            parts.append("\\" * backslashes)
            if escaped:
                parts.append(full[len(escapes) :].replace("\\[", "["))
        position = end
    parts.append(markup[position:].replace("\\[", "["))
    return "".join(parts)


def _is_terminal(file: IO[str]) -> bool:
    """rich's rule: TTY_COMPATIBLE=0/1, then FORCE_COLOR (set and not empty), then isatty()."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Stream:
    """stdout or stderr: rich where it is needed, plain writes where it is not.

    `print` takes rich's arguments. Strings on a stream that is not a terminal are written
    directly (markup removed); anything else (a table, a terminal) goes through a rich
    Console created on first use and kept in `rich`.
    """

    def __init__(
        self,
        file: IO[str] | None = None,
        *,
        stderr: bool = False,
        no_color: bool = False,
        width: int | None = None,
        force_terminal: bool | None = None,
    ) -> None:
        self._file = file
        self._stderr = stderr
        self._no_color = no_color
        self._width = width
        self._force_terminal = force_terminal

    @property
    def file(self) -> IO[str]:
        """The stream written to; sys.stdout or sys.stderr as they are now, like rich."""
        return self._file or (sys.stderr if self._stderr else sys.stdout)

    @property
    def is_terminal(self) -> bool:
        if self._force_terminal is not None:
            return self._force_terminal
        return _is_terminal(self.file)

    @functools.cached_property
    def rich(self) -> RichConsole:
        from rich.console import Console as RichConsole

        return RichConsole(
            file=self._file,
            stderr=self._stderr,
            no_color=self._no_color,
            highlight=False,
            # Sentences wrap at words (the terminal itself would cut them mid-word); a value
            # to copy whole (a URL) is printed with soft_wrap=True.
            soft_wrap=False,
            width=self._width,
            force_terminal=self._force_terminal,
            emoji=False,  # a file called :smile: is shown as it is named
        )

    def print(
        self,
        *objects: Any,
        markup: bool = True,
        sep: str = " ",
        end: str = "\n",
        **options: Any,
    ) -> None:
        if self.is_terminal or "style" in options or not all(isinstance(o, str) for o in objects):
            if any(getattr(o, "uncropped", False) for o in objects):
                options.setdefault("crop", False)  # a table listed whole (rcwiz.ui.tables)
            self.rich.print(*objects, markup=markup, sep=sep, end=end, **options)
            return
        text = sep.join(render(o) if markup else o for o in objects)
        file = self.file
        file.write(text.translate(_STRIP) + end)
        file.flush()


class Console:
    """The run's stdout and stderr, and whether --json was asked. A plain class, not a
    dataclass: `rcwiz --version` and `--help` make one, and `dataclasses` would be the
    biggest import they pay for (benchmarks/startup.py)."""

    def __init__(
        self, out: Stream, err: Stream, json: bool = False, json_stream: IO[str] | None = None
    ) -> None:
        self.out = out
        self.err = err
        self.json = json
        # Where --json documents go; kept separate so they are never wrapped or styled.
        self.json_stream: IO[str] = sys.stdout if json_stream is None else json_stream

    @property
    def interactive(self) -> bool:
        """True when a person watches stdout on a terminal (live displays are allowed)."""
        return self.out.is_terminal and not self.json

    def emit_json(self, document: Any) -> None:
        """Write one JSON document (one line) to stdout."""
        import json

        self.json_stream.write(json.dumps(document, sort_keys=False) + "\n")
        self.json_stream.flush()

    def note(self, text: str) -> None:
        """A message for people: stdout normally, stderr in --json mode."""
        (self.err if self.json else self.out).print(text)

    def warn(self, text: str) -> None:
        self.err.print(f"[yellow]warning:[/] {escape(text)}")

    def error(self, message: str, hint: str = "", items: list[str] | None = None) -> None:
        self.err.print(f"[bold red]error:[/] {escape(message)}")
        for item in items or ():
            self.err.print(f"  {escape(item)}")
        if hint:
            self.err.print(f"[dim]hint:[/] {escape(hint)}")


def drop_stdout() -> None:
    """The reader of stdout went away: send what is still written there to /dev/null.

    Python would otherwise raise BrokenPipeError again at every later write and at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test's StringIO): nothing to redirect
        pass
    finally:
        os.close(devnull)


def make_console(*, json_mode: bool = False, no_color: bool = False) -> Console:
    """Build the consoles for this run; NO_COLOR in the environment also turns colour off."""
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    # Not a terminal (a batch log, a pipe): rich would wrap tables at 80 columns.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PLAIN_WIDTH
    out = Stream(no_color=no_color, width=width)
    err = Stream(stderr=True, no_color=no_color)
    return Console(out=out, err=err, json=json_mode)
