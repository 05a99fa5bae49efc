"""The command line's grammar: the argparse tree and the global options (rcwiz.badline names
a bad line).

Building it is cheap on purpose: a command's module (rcwiz.commands.*) is imported only for
the command being run, and none for `--help`, `--version` or `rcwiz` alone, which print the
top-level parser and nothing more; the other commands are listed without a parser of their
own (`_Commands`). What main() was given (its argv: --version's --json, the
words a command did not take) travels with the parsers in a CommandLine, not in globals, so
main() can run many times in one process.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

from rcwiz import __version__

# `rcwiz --help` imports this module and argparse, nothing more (rcwiz.launch): not even
# `typing` (~5 ms), so the names below are for the type checker alone (mypy takes any
# TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    from rcwiz.context import Context
    from rcwiz.ui.output import Output

    Action = Callable[[Context, argparse.Namespace], Output]


class CommandLine:
    """What main() was given, as every parser of one run sees it (a plain class: see
    rcwiz.ui.console.Console for why not a dataclass)."""

    def __init__(self, argv: Sequence[str] = ()) -> None:
        self.argv = list(argv)  # before `--` (the rest goes to rclone)
        self.parsers: dict[str, Parser] = {}  # "copy", "job run": each command's parser

    @property
    def json(self) -> bool:
        """--json anywhere on the line (also for --version, which stops the parse early)."""
        return "--json" in self.argv


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns, which argparse's HelpFormatter asks for its width,
    without importing shutil (with zlib, bz2, lzma and fnmatch: ~7 % of `rcwiz --help`'s
    instructions). The same steps as shutil's, version for version: COLUMNS if positive,
    else stdout's terminal, else 80 (Python 3.10 keeps a terminal's 0; 3.11 on take 80).
    tests/unit/test_launch.py compares the two under every case."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80
    return size.columns if sys.version_info < (3, 11) else size.columns or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, its width found without shutil (terminal_columns)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) < 4 and kwargs.get("width") is None:
            kwargs["width"] = terminal_columns() - 2  # as HelpFormatter itself would
        super().__init__(*args, **kwargs)


class Parser(argparse.ArgumentParser):
    """argparse that raises a UsageError (so --json gets a JSON document) instead of exiting,
    with the run's CommandLine handed on to every subparser (nested ones too), and help
    formatted without importing shutil (_Formatter)."""

    def __init__(self, *args: Any, line: CommandLine | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self.line = line if line is not None else CommandLine()

    def add_subparsers(self, **kwargs: Any) -> argparse._SubParsersAction:
        kwargs.setdefault("parser_class", functools.partial(Parser, line=self.line))
        return super().add_subparsers(**kwargs)

    def _print_message(self, message: str, file: Any = None) -> None:  # a text stream
        """argparse's, but a stream that cannot take the text (a full disk) raises its
        OSError, for rcwiz.cli to say so (exit 12) as for any other output: argparse drops
        it, and `rcwiz --help > /dev/full` ended with exit 0 and nothing said. Flushed here,
        so the error comes before argparse's exit."""
        stream = file or sys.stderr
        if message and stream is not None:  # (None: started with it closed)
            stream.write(message)
            stream.flush()

    def error(self, message: str) -> NoReturn:
        from rcwiz.badline import refusal

        raise refusal(self, message, self.line.argv)


def parse(parser: Parser, argv: Sequence[str]) -> argparse.Namespace:
    """ARGV parsed; words that no parser took are refused by the command's own parser (its
    usage, not rcwiz's)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        from rcwiz.badline import refusal

        own = parser.line.parsers.get(getattr(args, "command_name", ""), parser)
        raise refusal(own, f"unrecognized arguments: {' '.join(unknown)}", own.line.argv)
    return args


def _seconds(text: str) -> float:
    """--stall-timeout's type: rcwiz.commands.positive_float, imported only when a value is
    given (rcwiz.commands holds the option table, which --help and --version do not need)."""
    from rcwiz.commands import positive_float

    return positive_float(text)


# The global options: (flag, metavar, help) of those with a value, (flag, help) of switches.
_GLOBAL_VALUES = (
    ("--config", "FILE", "rclone.conf to use (default: RCLONE_CONFIG, else rclone's own)"),
    ("--jobs", "FILE", "jobs file (default: RCWIZ_JOBS, else $XDG_CONFIG_HOME/rcwiz/jobs.yaml)"),
    ("--rclone", "PATH", "rclone binary (default: RCLONE_BINARY, beside Python, then PATH)"),
    (
        "--ca-cert",
        "FILE",
        "trust servers signed by this certificate authority (PEM), for rclone and rcwiz "
        "alike (default: RCLONE_CA_CERT, else the system's)",
    ),
    (
        "--stall-timeout",
        "SECONDS",
        "give up on a server that has not answered, or a transfer "
        "that has not moved, for this long (default 60); exit 6",
    ),
)
_GLOBAL_SWITCHES = (
    ("--json", "machine-readable JSON on stdout"),
    ("--debug", "log every rclone command (secrets masked); tracebacks on errors"),
    ("--no-color", "no colours (also when NO_COLOR is set)"),
)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after the subcommand: `rcwiz --json quota` = `rcwiz quota --json`.

    On subcommands the defaults are suppressed so a value given before the subcommand stays.
    """
    group = parser.add_argument_group("global options")
    for flag, metavar, help in _GLOBAL_VALUES:
        no_value = argparse.SUPPRESS if suppress else None
        kind = _seconds if flag == "--stall-timeout" else str
        group.add_argument(flag, metavar=metavar, default=no_value, help=help, type=kind)
    for flag, help in _GLOBAL_SWITCHES:
        off = argparse.SUPPRESS if suppress else False
        group.add_argument(flag, action="store_true", default=off, help=help)


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, action: Action | None
) -> Parser:
    """A subcommand that also takes the global options (and runs ACTION, if given)."""
    p: Parser = sub.add_parser(name, help=help, description=help)
    p.set_defaults(command_name=p.prog.removeprefix("rcwiz "))  # "copy", "job run"
    p.line.parsers[p.prog.removeprefix("rcwiz ")] = p
    _global_options(p, suppress=True)
    p.add_argument("--version", action=_Version, help="show rcwiz's version and exit")
    if action is not None:
        p.set_defaults(action=action)
    return p


# Each command: (name, help, module in rcwiz.commands). Modules are imported only for the
# command being run (their imports cost ~100 ms at every start).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("setup", "create a Nextcloud or WebDAV remote, verified before it is saved", "setup"),
    ("remotes", "list the configured remotes (never passwords); rm NAME removes one", "remotes"),
    ("quota", "used and free space of every remote, thresholds, history", "quota"),
    ("usage", "where the space goes on a Nextcloud: biggest folders and files", "usage"),
    ("copy", "copy files with live progress (never deletes)", "transfer"),
    ("move", "move files: copy, then delete each source file once it arrived", "transfer"),
    ("sync", "make DST like SRC, deleting at DST (shows the deletions and asks first)", "transfer"),
    ("check", "prove DST holds what SRC holds: by hash, else by content (Nextcloud)", "check"),
    ("job", "named transfer profiles in YAML", "job"),
    ("share", "Nextcloud share links and shares with users or groups", "share"),
    ("trash", "Nextcloud's trash bin: list, restore, delete, empty", "trash"),
    ("uploads", "Nextcloud upload sessions left behind by interrupted uploads", "uploads"),
    ("versions", "a Nextcloud file's older versions; restore one", "versions"),
    (
        "review",
        "what to clean up on a Nextcloud: quota, folders, trash, leftovers, shares",
        "review",
    ),
    ("doctor", "check rclone, the config and each remote", "doctor"),
    ("demo", "a copy to a local WebDAV server; no account needed", "demo"),
)
_VALUE_OPTIONS = {flag for flag, _, _ in _GLOBAL_VALUES}
_TOP_OPTIONS = ("--help", "--version", *_VALUE_OPTIONS, *(flag for flag, _ in _GLOBAL_SWITCHES))
# Commands whose actions are subcommands of their own (`job run`, `trash empty`).
_NESTED = ("job", "trash", "uploads")


def _takes_value(word: str) -> bool:
    """WORD is a global option that takes the next word as its value: its full name, or a
    prefix of only that option (argparse accepts `--conf FILE` for `--config FILE`)."""
    if word in _VALUE_OPTIONS:
        return True
    if not word.startswith("--") or "=" in word:
        return False
    matches = [option for option in _TOP_OPTIONS if option.startswith(word)]
    return len(matches) == 1 and matches[0] in _VALUE_OPTIONS


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ARGV (skipping global options and their values), if any."""
    names = {name for name, _, _ in COMMANDS}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif _takes_value(arg):
            skip = True
        elif arg in names:
            return arg
        elif not arg.startswith("-"):
            return None
    return None


class _Version(argparse.Action):
    """--version, as text or (with --json anywhere on the line) as a JSON document."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        if isinstance(parser, Parser) and parser.line.json:
            import json

            from rcwiz.context import envelope

            print(json.dumps(envelope("version", 0, {"rcwiz": __version__})), flush=True)
        else:
            print(f"rcwiz {__version__}", flush=True)
        parser.exit()


class _Commands(argparse._SubParsersAction):
    """The subcommands, where a command not run this time is only listed: its name (one of
    argparse's choices) and its help line, without the parser add_command would build (about
    1 ms each, 16 of them: most of `rcwiz --help`'s own CPU, benchmarks/startup.py). Should
    argparse ever hand the line to one (rcwiz.parser.chosen_command names the command first,
    so it should not), its parser is built then, as it was before it was listed this way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unbuilt: dict[str, str] = {}  # name -> help line, of the commands only listed

    def list_only(self, name: str, help: str) -> None:
        """NAME in `rcwiz --help` and accepted as a command; its parser is built if used."""
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))
        self._name_parser_map[name] = None
        self._unbuilt[name] = help

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, *args: Any) -> None:
        name = args[0][0]  # values: the command's name, then the words it is given
        if name in self._unbuilt:
            help = self._unbuilt.pop(name)
            del self._name_parser_map[name]  # add_parser refuses a name given twice
            listed = len(self._choices_actions)
            add_command(self, name, help, None)
            del self._choices_actions[listed:]  # listed once already
        super().__call__(parser, namespace, *args)


def build_parser(only: str | None = None, line: CommandLine | None = None) -> Parser:
    """The whole command line. With ONLY, just that command gets its arguments (and imports
    its module); ONLY "" gives none of them any (--help lists the commands all the same)."""
    parser = Parser(
        prog="rcwiz",
        description="Move research data to and from Nextcloud (or any WebDAV) with rclone.",
        line=line,
    )
    parser.add_argument("--version", action=_Version, help="show rcwiz's version and exit")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, action=_Commands)
    assert isinstance(sub, _Commands)
    for name, help, module_name in COMMANDS:
        if only is not None and name != only:
            sub.list_only(name, help)  # listed in --help; never parsed this time
            continue
        import importlib

        module = importlib.import_module(f"rcwiz.commands.{module_name}")
        if module_name in _NESTED:
            module.add_arguments(add_command(sub, name, help, None), add_command)
        elif module_name == "transfer":
            module.add_arguments(add_command(sub, name, help, module.run), name)
        else:
            module.add_arguments(add_command(sub, name, help, module.run))
    return parser
