"""Where one run of rcwiz reads and writes: its streams, its environment variables, its folder.

`cli.main(argv)` runs with the process's own: sys.stdin, sys.stdout, sys.stderr, os.environ
and the current folder. `cli.main(argv, env=Environment(...))` runs with others for the length
of the call and returns its exit code, as httpie's `Environment` does for its `core.raw_main`.
The test suite runs most command lines this way, inside its own process, instead of paying a
Python start-up and rcwiz's imports (0.2-0.4 s) for each one.

rcwiz reads os.environ, the standard streams and the current folder in many modules, and what
it starts (rclone, a hook, an editor) inherits the environment and file descriptors 0-2. So
the Environment is installed in the process for the call (and everything put back after it)
rather than handed to every function: a child sees exactly what it would see under a `rcwiz`
started with these streams, variables and folder. One run at a time: the process has one
environment, one set of descriptors and one current folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass
class Environment:
    """The streams, variables and folder a run uses instead of the process's own.

    Streams with a file descriptor (real files, pipes) are also put on descriptors 0-2 for the
    call, so children that inherit them write where rcwiz writes.
    """

    stdin: IO[str]
    stdout: IO[str]
    stderr: IO[str]
    environ: Mapping[str, str]
    cwd: str | os.PathLike[str] | None = None


def run_in(env: Environment, main: Callable[[list[str]], int], argv: Sequence[str]) -> int:
    """MAIN(ARGV) with ENV installed: its exit code, as the `rcwiz` command would exit.

    What the command's end does for a process (atexit: children stopped; streams flushed;
    SystemExit from --help turned into its code) is done here at the end of the call.
    """
    from rcwiz import process

    code = 1
    with _installed(env, argv):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's --help and --version end this way
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
        finally:
            process.terminate_all()
            for stream in (env.stdout, env.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
    return code


@contextlib.contextmanager
def _installed(env: Environment, argv: Sequence[str]) -> Iterator[None]:
    """ENV as the process's streams, variables and folder; everything restored on the way out,
    including what a run sets once for the process (--debug's logging)."""
    saved_streams = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_globals = _process_globals()
    with contextlib.ExitStack() as stack:
        for fd, stream in enumerate((env.stdin, env.stdout, env.stderr)):
            stack.enter_context(_on_descriptor(fd, stream))
        try:
            sys.stdin, sys.stdout, sys.stderr = env.stdin, env.stdout, env.stderr
            sys.argv = ["rcwiz", *argv]
            os.environ.clear()
            os.environ.update(env.environ)
            if env.cwd is not None:
                os.chdir(env.cwd)
            _fresh_logging()
            yield
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_environ)
            sys.stdin, sys.stdout, sys.stderr, sys.argv = saved_streams
            _restore_process_globals(saved_globals)


@contextlib.contextmanager
def _on_descriptor(fd: int, stream: IO[str]) -> Iterator[None]:
    """STREAM's file on descriptor FD for the block (nothing when STREAM has no descriptor)."""
    try:
        own = stream.fileno()
    except (OSError, ValueError, AttributeError):
        yield
        return
    with contextlib.suppress(OSError, ValueError):
        getattr(sys, ("stdin", "stdout", "stderr")[fd]).flush()
    saved = os.dup(fd)
    try:
        os.dup2(own, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


@dataclass
class _Globals:
    """What a run sets for the whole process: --debug's handlers on the root logger (the CA
    certificate is no global: it travels with the run's Clock)."""

    handlers: list[Any] = field(default_factory=list)
    level: int = 30  # logging.WARNING, the root logger's own default
    own_level: int = 0  # logging.NOTSET


def _process_globals() -> _Globals:
    saved = _Globals()
    logging: Any = sys.modules.get("logging")
    if logging is not None:
        root = logging.getLogger()
        saved.handlers, saved.level = root.handlers[:], root.level
        saved.own_level = logging.getLogger("rcwiz").level
    return saved


def _fresh_logging() -> None:
    """The root logger as a new process has it (no handlers), so --debug's basicConfig puts
    its handler there as it does in `rcwiz` (a host such as pytest may have added its own)."""
    logging: Any = sys.modules.get("logging")
    if logging is not None:
        root = logging.getLogger()
        root.handlers[:] = []
        root.setLevel(logging.WARNING)


def _restore_process_globals(saved: _Globals) -> None:
    logging: Any = sys.modules.get("logging")
    if logging is not None:
        root = logging.getLogger()
        root.handlers[:] = saved.handlers
        root.setLevel(saved.level)
        logging.getLogger("rcwiz").setLevel(saved.own_level)
