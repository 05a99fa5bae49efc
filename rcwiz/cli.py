"""The command line: parse, build the context, call one command, render what it returns.

A command (rcwiz.commands.*) returns an Output; this module prints it as text or as JSON.
This is also the only place an RcwizError becomes output and an exit code (see rcwiz.errors
and the README's exit-code table).
"""

from __future__ import annotations

import argparse
import atexit
import difflib
import importlib
import json
import os
import re
import shlex
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from rcwiz import __version__, errors, process
from rcwiz.clock import STALL_TIMEOUT, Clock
from rcwiz.commands import positive_float
from rcwiz.rclone.run import Rclone
from rcwiz.ui.console import Console, drop_stdout, escape, make_console
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.environment import Environment

Action = Callable[["Context", argparse.Namespace], Output]


JSON_VERSION = 1  # the version of every --json document's shape (README, "JSON output")


@dataclass
class Context:
    """What every command gets: the consoles and a way to reach rclone."""

    console: Console
    config: str | None = None
    rclone_path: str | None = None
    jobs: str | None = None  # --jobs FILE
    command: str = ""  # "copy", "job run", ...: named in every JSON document
    clock: Clock = field(default_factory=Clock)  # the run's one clock, from --stall-timeout
    ca_cert: str | None = None  # --ca-cert FILE: given to rclone as its own --ca-cert
    _rclone: Rclone | None = field(default=None, repr=False)

    @property
    def rclone(self) -> Rclone:
        """The rclone to use, found and version-checked on first use."""
        if self._rclone is None:
            self._rclone = Rclone.locate(self.rclone_path, self.config)
            self._rclone.clock = self.clock
            self._rclone.ca_cert = self.ca_cert
        return self._rclone

    def render(self, output: Output) -> None:
        """Show OUTPUT: its data as one JSON document with --json, else as text."""
        if self.console.json:
            if output.data is not None:
                self.console.emit_json(envelope(self.command, output.exit_code, output.data))
        elif output.show is not None:
            output.show(self.console)
        if output.then is not None:
            output.then()


def envelope(command: str, exit_code: int, data: dict[str, Any]) -> dict[str, Any]:
    """A --json document: what every one starts with, then the command's own keys."""
    return {
        "version": JSON_VERSION,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        **data,
    }


def error_document(command: str, exc: errors.RcwizError) -> dict[str, Any]:
    """The --json document for a failure: the error, and what a transfer had done by then."""
    summary = getattr(exc.summary, "as_dict", None)
    data: dict[str, Any] = {"event": "summary", **summary()} if summary else {}
    kind = next(c.__name__ for c in type(exc).__mro__ if not c.__name__.startswith("_"))
    data["error"] = {"type": kind, "message": exc.message, "hint": exc.hint, "items": exc.items}
    return envelope(command, int(exc.exit_code), data)


class _Parser(argparse.ArgumentParser):
    """argparse that raises a UsageError (so --json gets a JSON document) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise _BadCommandLine(self, _named(self, message))


def _nearest(word: str, choices: Sequence[str]) -> str:
    """' (did you mean X?)' for the choice closest to WORD, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _named(parser: argparse.ArgumentParser, message: str) -> str:
    """MESSAGE with the nearest command or option named, and an unknown option that argparse
    left out named too (`copy -x` otherwise says only that SRC and DST are required)."""
    choice = re.match(r"argument \S+: invalid choice: '([^']*)' \(choose from (.*)\)$", message)
    if choice:
        names = re.findall(r"'([^']*)'", choice[2])
        return f"there is no command '{choice[1]}'{_nearest(choice[1], names)}"
    words = message.removeprefix("unrecognized arguments: ").split()
    if message.startswith("unrecognized arguments: "):
        return "; ".join(_unknown_word(parser, word) for word in words)
    if message.startswith("the following arguments are required"):
        given = [w for w in _ARGV if w.startswith("-") and w != "-"]
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


class _BadCommandLine(errors.UsageError):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        hint = f"See '{parser.prog} --help'."
        # A path that starts with a dash reads as an option: say how to name it.
        dashed = next((a for a in sys.argv[1:] if a.startswith("-") and os.path.exists(a)), None)
        if dashed is not None:
            hint = f"To name the path {dashed}, write ./{dashed}. {hint}"
        super().__init__(f"{parser.prog}: {message}.", hint)
        self.usage = parser.format_usage()


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
        kind = positive_float if flag == "--stall-timeout" else str
        group.add_argument(flag, metavar=metavar, default=no_value, help=help, type=kind)
    for flag, help in _GLOBAL_SWITCHES:
        off = argparse.SUPPRESS if suppress else False
        group.add_argument(flag, action="store_true", default=off, help=help)


def _ca_cert(given: str | None) -> str | None:
    """--ca-cert's file as an absolute path (rclone and rcwiz must read the same one); a file
    that is not there is a usage error before anything starts."""
    if given is None:
        return None
    path = os.path.abspath(os.path.expanduser(given))
    if not os.path.isfile(path):
        raise errors.UsageError(
            f"The certificate file {given} does not exist.",
            "Give --ca-cert the PEM file of your institution's certificate authority.",
        )
    return path


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, action: Action | None
) -> argparse.ArgumentParser:
    """A subcommand that also takes the global options (and runs ACTION, if given)."""
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(command_name=p.prog.removeprefix("rcwiz "))  # "copy", "job run"
    _PARSERS[p.prog.removeprefix("rcwiz ")] = p
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
# Commands whose actions are subcommands of their own (`job run`, `trash empty`).
_NESTED = ("job", "trash", "uploads")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ARGV (skipping global options and their values), if any."""
    names = {name for name, _, _ in COMMANDS}
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
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
        if _JSON_ASKED:
            print(json.dumps(envelope("version", 0, {"rcwiz": __version__})), flush=True)
        else:
            print(f"rcwiz {__version__}", flush=True)
        parser.exit()


_JSON_ASKED = False  # set by main() from the argv it was given (tests call main directly)
_ARGV: list[str] = []  # the same argv, for naming what a (sub)command did not take
_PARSERS: dict[str, argparse.ArgumentParser] = {}  # "copy", "job run": each command's parser


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ONLY, just that command gets its arguments (and imports)."""
    parser = _Parser(
        prog="rcwiz",
        description="Move research data to and from Nextcloud (or any WebDAV) with rclone.",
    )
    parser.add_argument("--version", action=_Version, help="show rcwiz's version and exit")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    for name, help, module_name in COMMANDS:
        if only is not None and name != only:
            add_command(sub, name, help, None)  # listed in --help; never parsed this time
            continue
        module = importlib.import_module(f"rcwiz.commands.{module_name}")
        if module_name in _NESTED:
            module.add_arguments(add_command(sub, name, help, None), add_command)
        elif module_name == "transfer":
            module.add_arguments(add_command(sub, name, help, module.run), name)
        else:
            module.add_arguments(add_command(sub, name, help, module.run))
    return parser


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP (a dropped ssh session) stop rcwiz the way Ctrl-C does."""
    raise KeyboardInterrupt


def _setup_logging(debug: bool, console: Console) -> None:
    # Only --debug logs anything, so only --debug imports logging (rcwiz.rclone.run looks
    # for it in sys.modules before it formats a message).
    if not debug:
        return
    import logging

    from rich.logging import RichHandler

    handler = RichHandler(console=console.err.rich, show_path=False, markup=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")
    logging.getLogger("rcwiz").setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if env is not None:  # its own streams, variables and folder (rcwiz/environment.py)
        from rcwiz.environment import run_in

        return run_in(env, main, argv)
    # Everything after `--` goes to rclone unchanged (transfer commands only).
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    # Known before parsing, so a bad command line is reported the way it was asked for.
    console = make_console(json_mode="--json" in argv, no_color="--no-color" in argv)
    global _JSON_ASKED, _ARGV
    _JSON_ASKED, _ARGV = console.json, argv
    debug = "--debug" in argv
    command = chosen_command(argv) or ""
    handlers = {sig: signal.signal(sig, _on_sigterm) for sig in (signal.SIGTERM, signal.SIGHUP)}
    ctx: Context | None = None
    try:
        parser = build_parser(only=command or None)
        if not argv:  # `rcwiz` alone: what it can do, not an error
            console.out.print(parser.format_help().rstrip(), markup=False)
            return 0
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # said by the command's own parser: its usage, not rcwiz's
            own = _PARSERS.get(getattr(args, "command_name", ""), parser)
            raise _BadCommandLine(own, _named(own, f"unrecognized arguments: {' '.join(unknown)}"))
        if passthrough and not getattr(args, "accepts_passthrough", False):
            parser.error(f"'rcwiz {args.command}' takes no rclone arguments after --")
        args.passthrough = passthrough
        command = getattr(args, "command_name", command)
        # A sub-action given as a positional word (`remotes rm NAME`: the argument `subaction`)
        # is named like one given as a subcommand (`job run`): "remotes rm".
        if getattr(args, "subaction", None):
            command = f"{command} {args.subaction}"
        _setup_logging(debug, console)
        ctx = Context(
            console=console,
            # Expanded once, here: `--config=~/x.conf` reaches rcwiz with the ~ (the shell
            # expands it only after a space), and every use must name the same file.
            config=os.path.expanduser(args.config) if args.config else None,
            rclone_path=args.rclone,
            jobs=os.path.expanduser(args.jobs) if args.jobs else None,
            command=command,
            clock=Clock(args.stall_timeout or STALL_TIMEOUT),
            ca_cert=_ca_cert(args.ca_cert),
        )
        ca_cert = ctx.ca_cert or os.environ.get("RCLONE_CA_CERT")
        if ca_cert:  # rcwiz's own https requests check servers against the same authority
            from rcwiz import http

            http.CA_CERT = ca_cert
        _check_config_exists(ctx, args.command)
        _check_duplicates(ctx, command)
        output = args.action(ctx, args)
        ctx.render(output)
        return output.exit_code
    except errors.OutputClosed as exc:
        return _output_closed(exc)
    except BrokenPipeError:
        return _output_closed(errors.OutputClosed("stdout was closed"))
    except errors.RcwizError as exc:
        if isinstance(exc, errors.RemoteNotFound) and ctx is not None:
            _suggest_remote(ctx, exc)
        return _failed(console, command, exc, debug)
    except KeyboardInterrupt:
        return _failed(console, command, errors.Interrupted("Interrupted."), debug)
    except Exception as exc:  # a bug in rcwiz: one line, the traceback only with --debug
        if debug:
            raise
        internal = errors.InternalError(f"Internal error: {type(exc).__name__}: {exc}")
        return _failed(console, command, internal, debug)
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous)


# Commands that work without an rclone.conf: they create one, or report that it is missing.
_NEEDS_NO_CONFIG = {"setup", "demo", "doctor"}


def _check_config_exists(ctx: Context, command: str) -> None:
    """A config file named with --config or RCLONE_CONFIG that does not exist is a typo far
    more often than an empty configuration: say so, instead of "no remotes" or "no remote
    named ...". rclone's default file may be missing (no remotes yet)."""
    named = ctx.config or os.environ.get("RCLONE_CONFIG") or ""
    how = "--config" if ctx.config else "RCLONE_CONFIG"
    if named and os.path.isdir(named):
        raise errors.ConfigError(
            f"{named} ({how}) is a folder, not an rclone config file.",
            f"Name the file itself, e.g. {shlex.quote(os.path.join(named, 'rclone.conf'))}.",
        )
    if not named or command in _NEEDS_NO_CONFIG or os.path.exists(named):
        return
    raise errors.ConfigError(
        f"The rclone config file {named} ({how}) does not exist.",
        f"Check the path, or make a remote there: rcwiz --config {shlex.quote(named)} setup",
    )


def _suggest_remote(ctx: Context, exc: errors.RemoteNotFound) -> None:
    """Name the configured remote nearest to the one asked for, whichever command asked."""
    if exc.remote is None or "did you mean" in exc.message:
        return
    from rcwiz.rclone.config import list_remotes

    try:
        known = [remote.name for remote in list_remotes(ctx.rclone)]
    except errors.RcwizError:  # no rclone, an unreadable config: the error says enough
        return
    close = difflib.get_close_matches(exc.remote, known, n=1)
    if close:
        exc.hint = f"Did you mean '{close[0]}:'? {exc.hint}"


# Commands that never read rclone.conf, and those that write it.
_CONFIG_UNREAD = {"demo", "job list", "job edit", "job rm", "job history"}
_CONFIG_WRITERS = {"setup", "remotes rm"}


def _check_duplicates(ctx: Context, command: str) -> None:
    """A remote defined twice in rclone.conf, treated alike by every command: one that writes
    the file refuses (exit 8), one that reads it says in a line what rclone makes of it."""
    if command in _CONFIG_UNREAD:
        return
    from rcwiz.rclone import config_edit  # a start-up cost only for the commands that read it

    try:
        path = ctx.rclone.config_file()
        text = path.read_text(encoding="utf-8", errors="replace")
    except (errors.RcwizError, OSError):
        return  # no rclone (doctor says so), no file yet: nothing defined twice
    if command in _CONFIG_WRITERS:
        config_edit.refuse_duplicated(path, text)
    for name, lines in config_edit.duplicated(text).items():
        ctx.console.warn(f"{config_edit.what_rclone_uses(name, lines)}.")


def _failed(console: Console, command: str, exc: errors.RcwizError, debug: bool) -> int:
    """Report EXC: one sentence and a hint on stderr, and with --json one document on stdout."""
    if debug:
        traceback.print_exc()
        if exc.detail:
            console.err.print(exc.detail, markup=False)
    if isinstance(exc, _BadCommandLine) and not console.json:
        console.err.print(exc.usage.rstrip(), markup=False)
    if isinstance(exc, errors.Declined):
        console.note(escape(exc.message))
    else:
        console.error(exc.message, exc.hint, exc.items)
    if console.json:
        try:
            console.emit_json(error_document(command, exc))
        except BrokenPipeError:
            return _output_closed(errors.OutputClosed("stdout was closed"))
    return int(exc.exit_code)


def _output_closed(exc: errors.OutputClosed) -> int:
    """Whoever read stdout is gone (`rcwiz ... | head -1`): rclone is stopped, exit quietly."""
    drop_stdout()
    process.terminate_all()
    return int(exc.exit_code)


def entry() -> None:
    """The `rcwiz` command: main(), then an exit without the interpreter's teardown.

    Freeing every module and object at exit costs 10-15 ms of each run (measured) and does
    nothing for a process that ends: atexit handlers still run (children are stopped, logs
    flushed), and stdout and stderr are flushed first.
    """
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away (`| head -1`), as in main()
            if code == 0:
                code = int(errors.ExitCode.OUTPUT_CLOSED)
        except (OSError, ValueError):  # a full disk behind a redirect, a closed stream
            if code == 0:
                code = int(errors.ExitCode.FAILURE)
    os._exit(code)


if __name__ == "__main__":
    entry()
