"""The one door to other programs: every child process of rcwiz starts here.

No other module imports subprocess. Children are started so that

* Ctrl-C reaches them: SIGINT and SIGTERM are reset to their default action in the child,
  even when rcwiz itself was started with them ignored (a shell's `cmd &` does that);
* none outlives rcwiz: on Linux the kernel kills the child if rcwiz dies (PR_SET_PDEATHSIG),
  and every live child is terminated when rcwiz exits or is interrupted;
* a shell command (a job's hook) runs in a process group of its own with its output in a
  file (`run_group`): what it starts in the background cannot hold rcwiz up through an
  inherited pipe, and the whole group is ended with it.

Secrets never go in argv: pass them through `env` or `input`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, NamedTuple, TypeVar

_PR_SET_PDEATHSIG = 1
_live: set[subprocess.Popen] = set()
_live_groups: set[int] = set()  # process groups run_group started and has not ended yet
_live_lock = threading.Lock()


def _find_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Looked up once in rcwiz itself: the child must not dlopen() between fork and exec, where a
# lock another thread held at the fork would never be released.
_prctl = _find_prctl()


def _child_setup() -> None:  # runs in the child between fork and exec
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _prctl is not None:
        with contextlib.suppress(Exception):
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _group_setup() -> None:  # runs in the child between fork and exec
    _child_setup()
    os.setpgid(0, 0)


class Completed(NamedTuple):
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Child:
    """A running program whose stderr is read line by line and whose stdout is collected.

    Iterate over it to get stderr lines as they arrive; then `wait()` returns the exit code
    and `stdout` holds everything the child wrote there.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.argv = tuple(argv)
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            preexec_fn=_child_setup,  # two syscalls and a call through a pointer, before exec
        )
        with _live_lock:
            _live.add(self._proc)
        self._stdout_parts: list[str] = []
        self._stdout_reader = threading.Thread(target=self._drain_stdout, daemon=True)
        self._stdout_reader.start()
        if input is not None:
            self._feeder = threading.Thread(target=self._feed, args=(input,), daemon=True)
            self._feeder.start()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def _feed(self, data: str) -> None:
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.write(data)
            self._proc.stdin.close()

    def _drain_stdout(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        for chunk in iter(lambda: stdout.read(65536), ""):
            self._stdout_parts.append(chunk)

    def __iter__(self) -> Iterator[str]:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            yield line.rstrip("\n")

    @property
    def stdout(self) -> str:
        return "".join(self._stdout_parts)

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        code = self._proc.wait(timeout)
        self._stdout_reader.join()
        with _live_lock:
            _live.discard(self._proc)
        return code

    def terminate(self, grace: float = 3.0) -> int:
        """Stop the child: SIGTERM, then SIGKILL after `grace` seconds. Returns its exit code."""
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
        return self.wait()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        # Whatever happened in the with-block (an error, Ctrl-C), the child does not outlive it.
        self.terminate()
        for pipe in (self._proc.stderr, self._proc.stdin):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


class Spawned:
    """A program running to completion in the background: stdout and stderr are collected.

    Started from the calling thread (the kernel's PR_SET_PDEATHSIG watches the thread that
    forks), so several can run at once while rcwiz does other work; `finish()` waits for one.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.child = Child(argv, env=env, input=input)
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._stderr.extend, args=(self.child,), daemon=True)
        self._reader.start()
        self._timer: threading.Timer | None = None
        self.timed_out = False  # stopped because it ran past its timeout
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.timed_out = True
        self.child.terminate(grace=1.0)

    def finish(self) -> Completed:
        """Wait for the program; Ctrl-C while waiting stops it."""
        try:
            self._reader.join()
            code = self.child.wait()
        finally:
            self.close()
        return Completed(self.child.argv, code, self.child.stdout, "\n".join(self._stderr))

    def close(self) -> None:
        """Stop the program if it still runs (its result is no longer wanted)."""
        if self._timer is not None:
            self._timer.cancel()
        self.child.__exit__(None, None, None)


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> Spawned:
    """Start a program that runs to completion; `finish()` returns its exit code and output."""
    return Spawned(argv, env=env, input=input, timeout=timeout)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    timeout: float | None = None,
) -> Completed:
    """Run a program to completion and return its exit code, stdout and stderr."""
    return spawn(argv, env=env, input=input, timeout=timeout).finish()


def interactive(argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
    """Run a program on rcwiz's own terminal (an editor) and return its exit code."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.call(list(argv), env=full_env, preexec_fn=_child_setup)


def start(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Child:
    """Start a program; use the result as a context manager so it is always stopped."""
    return Child(argv, env=env, input=input, cwd=cwd)


GROUP_GRACE = 3.0  # seconds a process group has to end after SIGTERM, before SIGKILL


def run_group(
    argv: Sequence[str],
    output: IO[bytes],
    *,
    env: Mapping[str, str] | None = None,
    grace: float = GROUP_GRACE,
) -> int:
    """Run ARGV in a process group of its own and return its exit code (-N: killed by signal N).

    stdin is /dev/null; stdout and stderr both go to OUTPUT, a file (a pipe would keep rcwiz
    waiting for whatever the program left running with the pipe open, and fills up if
    nobody reads it). When ARGV ends, what it started and left running in its group is
    ended too (SIGTERM, then SIGKILL after GRACE seconds). Ctrl-C (KeyboardInterrupt) or any
    other exception while it runs ends the whole group the same way, then propagates: nothing
    of it is left running either way.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = None
    try:
        # A signal between the start and the registration would leave a group nobody ends:
        # it waits until the group is registered, and arrives here, inside the try.
        with signals_deferred():
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=full_env,
                preexec_fn=_group_setup,  # by the time Popen returns, the child has exec'd
            )
            group = proc.pid
            with _live_lock:
                _live_groups.add(group)
        # Wait for the leader without reaping it: while it is a zombie its PID (the group's
        # id) cannot be reused, so signalling the group below cannot reach a stranger.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    finally:
        if proc is not None:
            code = _end_registered(proc, grace)
    return code


def _end_registered(proc: subprocess.Popen, grace: float) -> int:
    """End what is left of PROC's group (registered by run_group), reap PROC, return its code."""
    group = proc.pid
    try:
        _end_group(group, grace)
    finally:
        # Also when a second Ctrl-C cut the ending above short.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        code = proc.wait()
        with _live_lock:
            _live_groups.discard(group)
    return code


SIGNALS_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the with-block is done, then arrive as usual
    (their own handlers run then, on leaving the block normally).

    Python runs signal handlers in the main thread only: elsewhere nothing can interrupt
    the block, and nothing is changed. (Blocking the signals with pthread_sigmask would not
    do: the kernel then hands them to another thread, and Python still runs the handler in
    the main thread, inside the block.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: arrived.append(signum))
        for sig in SIGNALS_DEFERRED
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if arrived:
        signal.raise_signal(arrived[0])  # its handler runs now (KeyboardInterrupt, as a rule)


def _group_members(group: int) -> list[int]:
    """The live processes of process group GROUP (zombies, its ended leader too, left out)."""
    import psutil  # only hooks need it here

    found = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == group and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                found.append(pid)
        except (OSError, psutil.Error):  # it ended while we looked
            continue
    return found


def _end_group(group: int, grace: float) -> None:
    """SIGTERM to every live member of GROUP, SIGKILL to those left after GRACE seconds."""
    if not _group_members(group):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while _group_members(group) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the group to empty; no waitable event exists for it
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


T = TypeVar("T")
R = TypeVar("R")
MAX_PARALLEL = 8


def each_at_once(work: Callable[[T], R], items: Iterable[T], limit: int = MAX_PARALLEL) -> list[R]:
    """WORK(item) for every item at the same time (at most LIMIT threads); results in order.

    Each thread starts its own programs and waits for them (a child dies with the thread that
    started it, see _child_setup). Ctrl-C stops every child and returns at once: the threads
    are daemons, so one still waiting for a server (an HTTP request) cannot hold rcwiz up.
    """
    todo = list(items)
    if not todo:
        return []
    from concurrent.futures import Future  # only reports across remotes need it

    results: list[Future[R]] = [Future() for _ in todo]
    slots = threading.Semaphore(min(limit, len(todo)))

    def run(index: int, item: T) -> None:
        with slots:
            try:
                results[index].set_result(work(item))
            except BaseException as exc:  # handed to the calling thread
                results[index].set_exception(exc)

    for index, item in enumerate(todo):
        threading.Thread(target=run, args=(index, item), daemon=True).start()
    try:
        return [future.result() for future in results]
    except BaseException:
        terminate_all()
        raise


@atexit.register
def terminate_all() -> None:
    """Kill every child still running (at exit, or when Ctrl-C leaves worker threads waiting)."""
    with _live_lock:
        procs = list(_live)
        groups = list(_live_groups)
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
