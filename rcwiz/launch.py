"""The `rcwiz` command's entry point: `--version` and `--help` answered before the rest of rcwiz.

Start-up CPU is a goal (issue 24: under 60 ms for both, benchmarks/startup.py). The interpreter
alone takes ~15-20 ms; argparse with the `re`, `gettext` and `locale` it needs another ~20;
rcwiz.cli's console, error family, signals and `typing` ~15 more. So exactly `rcwiz --version`
imports nothing beyond this module (the version is rcwiz/__init__.py's), and exactly
`rcwiz --help` (`-h`) only argparse and the grammar (rcwiz.parser). Every other line,
`--json --version` and `copy --help` among them, goes to rcwiz.cli.entry, which answers these
two the same way: tests/unit/test_launch.py compares their output byte for byte and checks
what each imports.
"""

from __future__ import annotations

import os
import sys

from rcwiz import __version__

_VERSION_LINE = f"rcwiz {__version__}\n".encode()
_HELP = (["--help"], ["-h"])


def entry() -> None:
    """The `rcwiz` command (and `python -m rcwiz`): the two fast answers, else rcwiz.cli's."""
    argv = sys.argv[1:]
    if argv == ["--version"]:
        _version()
    elif argv in _HELP:
        _help(argv)
    from rcwiz.cli import entry as run

    run()


def _version() -> None:
    """Print the version and end the process (no teardown: nothing was set up). A stdout that
    cannot take the line (closed, a full disk) falls through to rcwiz.cli, which answers
    that as it always has (exit 141 for a reader gone, else one sentence)."""
    left = _VERSION_LINE
    try:
        while left:
            left = left[os.write(1, left) :]
    except OSError:
        return
    os._exit(0)


def _help(argv: list[str]) -> None:
    """argparse prints the top-level help and raises SystemExit(0), as under rcwiz.cli.main:
    the same parser (no command's arguments), the same call, the same stdout. Without a
    stdout (closed: sys.stdout is None) argparse would print to stderr where rcwiz.cli stops
    first: that case is left to rcwiz.cli, as a stdout that cannot take the help (a full
    disk: rcwiz.parser.Parser raises its OSError), which rcwiz.cli says in one sentence."""
    if sys.stdout is None:
        return
    from rcwiz.parser import CommandLine, build_parser, parse

    try:
        parse(build_parser(only="", line=CommandLine(argv)), argv)
    except OSError:
        return
