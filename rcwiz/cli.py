"""The command line: parse, build the context, call one action, turn errors into exit codes.

This is the only place an RcwizError becomes output and an exit code (see rcwiz.errors and
the README's exit-code table).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rcwiz import __version__, errors
from rcwiz.console import Console, make_console
from rcwiz.rclone.execute import Rclone

Action = Callable[["Context", argparse.Namespace], int]


@dataclass
class Context:
    """What every action gets: the consoles and a way to reach rclone."""

    console: Console
    config: str | None = None
    rclone_path: str | None = None
    debug: bool = False
    jobs: str | None = None  # --jobs FILE
    _rclone: Rclone | None = field(default=None, repr=False)

    @property
    def rclone(self) -> Rclone:
        """The rclone to use, found and version-checked on first use."""
        if self._rclone is None:
            self._rclone = Rclone.locate(self.rclone_path, self.config)
        return self._rclone


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before or after the subcommand: `rcwiz --json quota` = `rcwiz quota --json`.

    On subcommands the defaults are suppressed so a value given before the subcommand stays.
    """
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        metavar="FILE",
        default=default(None),
        help="rclone.conf to use (default: RCLONE_CONFIG, else rclone's own)",
    )
    group.add_argument(
        "--jobs",
        metavar="FILE",
        default=default(None),
        help="jobs file (default: RCWIZ_JOBS, else $XDG_CONFIG_HOME/rcwiz/jobs.yaml)",
    )
    group.add_argument(
        "--rclone",
        metavar="PATH",
        default=default(None),
        help="rclone binary (default: RCLONE_BINARY, beside Python, then PATH)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine-readable JSON on stdout",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="log every rclone command (secrets masked); tracebacks on errors",
    )
    group.add_argument(
        "--no-color",
        action="store_true",
        default=default(False),
        help="no colours (also when NO_COLOR is set)",
    )


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, action: Action | None
) -> argparse.ArgumentParser:
    """A subcommand that also takes the global options (and runs ACTION, if given)."""
    p = sub.add_parser(name, help=help, description=help)
    _global_options(p, suppress=True)
    if action is not None:
        p.set_defaults(action=action)
    return p


# Each command: (name, help, module, extra argument for its add_arguments). Modules are
# imported only for the command being run (their imports cost ~100 ms at every start).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("setup", "create a Nextcloud or WebDAV remote, verified before it is saved", "setup"),
    ("remotes", "list the configured remotes (never passwords); rm NAME removes one", "remotes"),
    ("quota", "used and free space of every remote, thresholds, history", "quota_cmd"),
    ("copy", "copy files with live progress (never deletes)", "copy_cmd"),
    ("move", "move files: copy, then delete each source file once it arrived", "copy_cmd"),
    ("sync", "make DST like SRC, deleting at DST (shows the deletions and asks first)", "copy_cmd"),
    ("job", "named transfer profiles in YAML", "job_cmd"),
    ("share", "Nextcloud share links and shares with users or groups", "share_cmd"),
    ("doctor", "check rclone, the config and each remote", "doctor"),
    ("demo", "a copy to a local WebDAV server; no account needed", "demo"),
)
_VALUE_OPTIONS = {"--config", "--rclone", "--jobs"}


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ONLY, just that command gets its arguments (and imports)."""
    parser = argparse.ArgumentParser(
        prog="rcwiz",
        description="Move research data to and from Nextcloud (or any WebDAV) with rclone.",
    )
    parser.add_argument("--version", action="version", version=f"rcwiz {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help, module_name in COMMANDS:
        if only is not None and name != only:
            add_command(sub, name, help, None)  # listed in --help; never parsed this time
            continue
        module = importlib.import_module(f"rcwiz.{module_name}")
        if module_name == "job_cmd":
            module.add_arguments(add_command(sub, name, help, None), add_command)
        elif module_name == "copy_cmd":
            module.add_arguments(add_command(sub, name, help, module.run), name)
        else:
            module.add_arguments(add_command(sub, name, help, module.run))
    return parser


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _setup_logging(debug: bool, console: Console) -> None:
    # Only --debug logs anything, so only --debug imports logging (rcwiz.rclone.execute looks
    # for it in sys.modules before it formats a message).
    if not debug:
        return
    import logging

    from rich.logging import RichHandler

    handler = RichHandler(console=console.err.rich, show_path=False, markup=False)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s")
    logging.getLogger("rcwiz").setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=chosen_command(argv))
    # Everything after `--` goes to rclone unchanged (transfer commands only).
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)  # exits 2 with a usage line on bad options
    if passthrough and not getattr(args, "accepts_passthrough", False):
        parser.error(f"'rcwiz {args.command}' takes no rclone arguments after --")
    args.passthrough = passthrough
    console = make_console(json_mode=args.json, no_color=args.no_color)
    _setup_logging(args.debug, console)
    ctx = Context(
        console=console,
        config=args.config,
        rclone_path=args.rclone,
        debug=args.debug,
        jobs=args.jobs,
    )
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.action(ctx, args))
    except errors.RcwizError as exc:
        if args.debug:
            traceback.print_exc()
            if exc.detail:
                console.err.print(exc.detail, markup=False)
        console.error(exc.message, exc.hint, exc.items)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console.error("Interrupted.")
        return int(errors.ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug in rcwiz: one line, the traceback only with --debug
        if args.debug:
            raise
        console.error(
            f"Internal error: {type(exc).__name__}: {exc}",
            "Run again with --debug for the traceback, and please report it.",
        )
        return int(errors.ExitCode.INTERNAL)
    finally:
        signal.signal(signal.SIGTERM, previous)


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
        except (OSError, ValueError):  # a reader that went away, a closed stream
            if code == 0:
                code = int(errors.ExitCode.FAILURE)
    os._exit(code)


if __name__ == "__main__":
    entry()
