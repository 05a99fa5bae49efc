"""A command line argparse refused, named: the nearest command or option (did you mean), an
unknown option argparse left out, a path that reads as an option.

Apart from rcwiz.parser so that the grammar costs no more than argparse itself: `rcwiz --help`
imports rcwiz.parser and not this module, nor the error family it raises (rcwiz.launch).
It takes the parser's argv (rcwiz.parser.CommandLine's) rather than the parser's type, so it
never imports rcwiz.parser back.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Sequence

from rcwiz.errors import UsageError


def _nearest(word: str, choices: Sequence[str]) -> str:
    """' (did you mean X?)' for the choice closest to WORD, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def named(parser: argparse.ArgumentParser, message: str, argv: Sequence[str]) -> str:
    """MESSAGE with the nearest command or option named, and an unknown option that argparse
    left out named too (`copy -x` otherwise says only that SRC and DST are required); ARGV is
    the line the parser was given."""
    choice = re.match(r"argument \S+: invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if choice:
        names = re.findall(r"'([^']*)'", choice[2])
        return f"there is no command '{choice[1]}'{_nearest(choice[1], names)}"
    words = message.removeprefix("unrecognized arguments: ").split()
    if message.startswith("unrecognized arguments: "):
        return "; ".join(_unknown_word(parser, word) for word in words)
    if message.startswith("the following arguments are required"):
        given = [w for w in argv if w.startswith("-") and w != "-"]
        strange = [w for w in given if w.split("=")[0] not in parser._option_string_actions]
        if strange:
            return "; ".join([*(_unknown_word(parser, w) for w in strange), message])
    return message


def _unknown_word(parser: argparse.ArgumentParser, word: str) -> str:
    if not word.startswith("-"):
        return f"unexpected argument '{word}'"
    options = {o.lstrip("-"): o for o in parser._option_string_actions if o.startswith("--")}
    close = difflib.get_close_matches(word.split("=")[0].lstrip("-"), list(options), 1, 0.75)
    maybe = f" (did you mean '{options[close[0]]}'?)" if close else ""
    return f"unknown option '{word}'{maybe}"


def refusal(parser: argparse.ArgumentParser, message: str, argv: Sequence[str]) -> UsageError:
    """The error for a line PARSER refused with MESSAGE (ARGV: the words it was given)."""
    return _BadCommandLine(parser, message, argv)


class _BadCommandLine(UsageError):
    """A command line argparse refused: the message, the parser's usage, how to ask for help.
    Private, so --json names it a UsageError (rcwiz.context.error_document)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str, argv: Sequence[str]) -> None:
        hint = f"See '{parser.prog} --help'."
        # A path that starts with a dash reads as an option: say how to name it.
        dashed = next((a for a in argv if a.startswith("-") and os.path.exists(a)), None)
        if dashed is not None:
            hint = f"To name the path {dashed}, write ./{dashed}. {hint}"
        super().__init__(f"{parser.prog}: {named(parser, message, argv)}.", hint)
        self.usage = parser.format_usage()
