"""What a command returns: its result as data, and how people see it.

rcwiz.cli renders an Output: with --json it prints `data` as one JSON document on stdout;
otherwise it calls `show` with the console. Commands never choose between the two themselves.
`then` is what comes after the result is shown (setup offers to revoke a replaced app password
once "Saved" is on the screen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from rcwiz.ui.console import Console


class Output(NamedTuple):
    data: Any = None  # the JSON document (None: nothing to print with --json)
    show: Callable[[Console], None] | None = None  # how people see it
    exit_code: int = 0
    then: Callable[[], None] | None = None
