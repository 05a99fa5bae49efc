"""The consoles rcwiz writes to, created once in cli.main and passed down.

Three output modes: a terminal (rich, colour unless NO_COLOR or --no-color), plain text
when stdout is not a terminal (no escape codes, for batch logs), and --json (machine output
on stdout, messages for people on stderr).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console as RichConsole
from rich.markup import escape

PLAIN_WIDTH = 160


@dataclass
class Console:
    out: RichConsole
    err: RichConsole
    json: bool = False
    # Where --json documents go; kept separate so they are never wrapped or styled.
    json_stream: IO[str] = field(default_factory=lambda: sys.stdout)

    @property
    def interactive(self) -> bool:
        """True when a person watches stdout on a terminal (live displays are allowed)."""
        return self.out.is_terminal and not self.json

    def emit_json(self, document: Any) -> None:
        """Write one JSON document (one line) to stdout."""
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


def make_console(*, json_mode: bool = False, no_color: bool = False) -> Console:
    """Build the consoles for this run; NO_COLOR in the environment also turns colour off."""
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    # Not a terminal (a batch log, a pipe): rich would wrap tables at 80 columns.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PLAIN_WIDTH
    out = RichConsole(no_color=no_color, highlight=False, soft_wrap=True, width=width)
    err = RichConsole(stderr=True, no_color=no_color, highlight=False, soft_wrap=True)
    return Console(out=out, err=err, json=json_mode)
