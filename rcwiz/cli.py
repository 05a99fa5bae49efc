"""The command line: parse, build the context, call one command, render what it returns.

The grammar is rcwiz.parser's, what a command is handed rcwiz.context's. A command
(rcwiz.commands.*) returns an Output; this module prints it as text or as JSON.
This is also the only place an RcwizError becomes output and an exit code (see rcwiz.errors
and the README's exit-code table).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.parser import CommandLine, build_parser, chosen_command, parse
from rcwiz.ui.console import Console, drop_stdout, escape, make_console

if TYPE_CHECKING:  # imported once a command runs: --help and --version need neither
    from rcwiz.context import Context
    from rcwiz.environment import Environment


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
    """Run one command line (ARGV, else sys.argv's) and return its exit code: every error is
    reported here, once, as a sentence and a hint (and a JSON document with --json). ENV,
    when given, is the streams, variables and folder it runs with (the tests' in-process
    runs, rcwiz/environment.py)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if env is not None:  # its own streams, variables and folder (rcwiz/environment.py)
        from rcwiz.environment import run_in

        return run_in(env, main, argv)
    if sys.stdout is None:  # started with stdout closed (`rcwiz ... >&-`)
        return _no_stdout()
    # Everything after `--` goes to rclone unchanged (transfer commands only).
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    # Known before parsing, so a bad command line is reported the way it was asked for.
    console = make_console(json_mode="--json" in argv, no_color="--no-color" in argv)
    debug = "--debug" in argv
    command = chosen_command(argv) or ""
    handlers = {sig: signal.signal(sig, _on_sigterm) for sig in (signal.SIGTERM, signal.SIGHUP)}
    ctx: Context | None = None
    args: argparse.Namespace | None = None
    try:
        # No command named (`--help`, `--version`, a typo): no command's module is imported.
        parser = build_parser(only=command, line=CommandLine(argv))
        if not argv:  # `rcwiz` alone: what it can do, not an error
            console.out.print(parser.format_help().rstrip(), markup=False)
            return 0
        args = parse(parser, argv)
        if passthrough and not getattr(args, "accepts_passthrough", False):
            parser.error(f"'rcwiz {args.command}' takes no rclone arguments after --")
        args.passthrough = passthrough
        command = getattr(args, "command_name", command)
        # A sub-action given as a positional word (`remotes rm NAME`: the argument `subaction`)
        # is named like one given as a subcommand (`job run`): "remotes rm".
        if getattr(args, "subaction", None):
            command = f"{command} {args.subaction}"
        _setup_logging(debug, console)
        ctx = _context(args, console, command)
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
        if isinstance(exc, errors.AuthenticationFailed) and args is not None:
            exc.name_remote(_remote_named(args))
        return _failed(console, command, exc, debug)
    except KeyboardInterrupt:
        # A second Ctrl-C (or SIGTERM) while the stop is reported ends nothing more: it raised
        # KeyboardInterrupt again inside the report, a traceback (test_nc_stops, "ctrl-c twice").
        handlers.setdefault(signal.SIGINT, signal.signal(signal.SIGINT, signal.SIG_IGN))
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        return _failed(console, command, errors.Interrupted("Interrupted."), debug)
    except OSError as exc:  # a full disk (stdout on one, say) is not a bug in rcwiz
        if debug or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _internal(console, command, exc, debug)
        where = exc.filename or "its output"
        full = errors.DiskFull(f"The local disk is full: rcwiz could not write {where}.")
        return _failed(console, command, full, debug)
    except Exception as exc:  # a bug in rcwiz: one line, the traceback only with --debug
        return _internal(console, command, exc, debug)
    finally:
        for sig, previous in handlers.items():
            signal.signal(sig, previous)


def _internal(console: Console, command: str, exc: Exception, debug: bool) -> int:
    """A bug in rcwiz: one line, the traceback only with --debug."""
    if debug:
        raise exc
    internal = errors.InternalError(f"Internal error: {type(exc).__name__}: {exc}")
    return _failed(console, command, internal, debug)


def _no_stdout() -> int:
    """Nothing can be printed: say so on stderr when there is one (as `ls >&-` does)."""
    if sys.stderr is not None:
        sys.stderr.write(
            "error: Standard output is closed: rcwiz has nowhere to print.\n"
            "hint: Let it print to the terminal, a file or a pipe (not `>&-`).\n"
        )
    return int(errors.ExitCode.OUTPUT_CLOSED)


def _context(args: argparse.Namespace, console: Console, command: str) -> Context:
    """The run's Context from the global options. The certificate authority of --ca-cert
    (else RCLONE_CA_CERT) rides on the clock, which every request rcwiz makes is handed."""
    from rcwiz.clock import STALL_TIMEOUT, Clock
    from rcwiz.context import Context

    ca_cert = _ca_cert(args.ca_cert)
    return Context(
        console=console,
        # Expanded once, here: `--config=~/x.conf` reaches rcwiz with the ~ (the shell
        # expands it only after a space), and every use must name the same file.
        config=os.path.expanduser(args.config) if args.config else None,
        rclone_path=args.rclone,
        jobs=os.path.expanduser(args.jobs) if args.jobs else None,
        command=command,
        clock=Clock(
            args.stall_timeout or STALL_TIMEOUT,
            ca_cert=ca_cert or os.environ.get("RCLONE_CA_CERT") or None,
        ),
        ca_cert=ca_cert,
    )


# Commands that work without an rclone.conf: they create one, or report that it is missing.
_NEEDS_NO_CONFIG = {"setup", "demo", "doctor"}


def _check_config_exists(ctx: Context, command: str) -> None:
    """A config file named with --config or RCLONE_CONFIG that does not exist is a typo far
    more often than an empty configuration: say so, instead of "no remotes" or "no remote
    named ...". rclone's default file may be missing (no remotes yet)."""
    named = ctx.config or os.environ.get("RCLONE_CONFIG") or ""
    how = "--config" if ctx.config else "RCLONE_CONFIG"
    import shlex

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
    import difflib

    from rcwiz.rclone.config import list_remotes

    try:
        known = [remote.name for remote in list_remotes(ctx.rclone)]
    except errors.RcwizError:  # no rclone, an unreadable config: the error says enough
        return
    close = difflib.get_close_matches(exc.remote, known, n=1)
    if close:
        exc.hint = f"Did you mean '{close[0]}:'? {exc.hint}"


def _remote_named(args: argparse.Namespace) -> str | None:
    """The one remote the command line names (in SRC, DST, REMOTE:, REMOTE:path), if one:
    the remote whose password a refusal is about."""
    from rcwiz.rclone.config import only_remote

    given = [getattr(args, key, None) for key in ("source", "dest", "remote", "target")]
    given += getattr(args, "remotes", None) or []
    return only_remote(*(path for path in given if isinstance(path, str)))


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
        import traceback

        traceback.print_exc()
        if exc.detail:
            console.err.print(exc.detail, markup=False)
    usage = getattr(exc, "usage", None)  # a bad command line's (rcwiz.parser)
    if usage and not console.json:
        console.err.print(usage.rstrip(), markup=False)
    if isinstance(exc, errors.Declined):
        console.note(escape(exc.message))
    else:
        console.error(exc.message, exc.hint, exc.items)
    if console.json:
        from rcwiz.context import error_document

        try:
            console.emit_json(error_document(command, exc))
        except BrokenPipeError:
            return _output_closed(errors.OutputClosed("stdout was closed"))
        except OSError:  # stdout on a full disk: the sentence on stderr said it
            pass
    return int(exc.exit_code)


def _output_closed(exc: errors.OutputClosed) -> int:
    """Whoever read stdout is gone (`rcwiz ... | head -1`): rclone is stopped, exit quietly."""
    from rcwiz import process

    drop_stdout()
    process.terminate_all()
    return int(exc.exit_code)


def entry() -> None:
    """The `rcwiz` command: main(), then an exit without the interpreter's teardown.

    Freeing every module and object at exit costs 10-15 ms of each run (measured) and does
    nothing for a process that ends: atexit handlers still run (children are stopped, logs
    flushed), and stdout and stderr are flushed first.
    """
    import atexit

    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # closed when rcwiz started (`>&-`): main() said so
            continue
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
