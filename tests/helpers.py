"""Small helpers shared by the integration and e2e tests (no fixtures here)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

# The installed `rcwiz` command (the console script beside this Python), as a user runs it.
_SCRIPT = Path(sys.executable).parent / "rcwiz"
RCWIZ = [str(_SCRIPT)] if os.access(_SCRIPT, os.X_OK) else [sys.executable, "-m", "rcwiz"]


# RCWIZ_TEST_SUBPROCESS=1 runs every rcwiz() case as its own process, as before the in-process
# runner (to compare, or to rule the runner out when a test fails).
_ALWAYS_A_PROCESS = os.environ.get("RCWIZ_TEST_SUBPROCESS") == "1"


class _Deadline(BaseException):
    """A case ran past its timeout (not an Exception: rcwiz's main reports those as its own)."""


def rcwiz(
    *args: str,
    input: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    umask: int | None = None,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the rcwiz command line ARGS with its own streams, variables, folder (CWD) and umask,
    and capture its output.

    In-process by default (cli.main with an injected Environment: no Python start-up per case);
    PROCESS=True runs the installed command as a separate process, for what only a process
    shows (the entry point, signals, exit without teardown). Without INPUT stdin is empty.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    if process or _ALWAYS_A_PROCESS:
        return subprocess.run(
            [*RCWIZ, *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            check=False,
            preexec_fn=None if umask is None else lambda: os.umask(umask),  # one syscall
        )
    previous = os.umask(umask) if umask is not None else None
    try:
        return _in_process(list(args), input or "", timeout, full_env, cwd)
    finally:
        if previous is not None:
            os.umask(previous)


def _in_process(
    args: list[str],
    input: str,
    timeout: float,
    environ: dict[str, str],
    cwd: str | os.PathLike[str] | None,
) -> subprocess.CompletedProcess[str]:
    """cli.main(ARGS, env=...) on temporary files, read back as subprocess.run(text=True)
    would (universal newlines), ended by SIGALRM after TIMEOUT like a process's timeout."""
    from rcwiz import cli
    from rcwiz.environment import Environment

    def expired(signum: int, frame: object) -> None:
        raise _Deadline

    def stream() -> IO[str]:
        return tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")

    with stream() as stdin, stream() as stdout, stream() as stderr:
        stdin.write(input)
        stdin.seek(0)
        env = Environment(stdin=stdin, stdout=stdout, stderr=stderr, environ=environ, cwd=cwd)
        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            code = cli.main(args, env=env)
        except _Deadline:
            raise subprocess.TimeoutExpired([*RCWIZ, *args], timeout) from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess([*RCWIZ, *args], code, stdout.read(), stderr.read())


def json_lines(text: str) -> list[dict]:
    """Parse every non-empty line as JSON (fails the test if one is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_progress_counts_this_run(text: str, size: int) -> None:
    """The --json progress events of a resumed transfer of SIZE bytes (stdout TEXT) count only
    what this run moved, as its summary does; what an earlier run moved is `resumed_bytes`,
    in neither `bytes` nor `total_bytes` (README, "Big uploads resume")."""
    lines = json_lines(text)
    summary = lines[-1]
    moved, resumed = summary["bytes"], summary["resumed_bytes"]
    assert resumed > 0 and moved + resumed == size, summary
    progress = [line for line in lines if line.get("event") == "progress"]
    assert progress and progress[-1]["phase"] == "done", lines
    done = progress[-1]
    for event in progress:
        assert event["bytes"] <= moved and event["total_bytes"] <= size, event
    assert (done["bytes"], done["total_bytes"]) == (moved, moved), done
    assert done["resumed_bytes"] == resumed, done
    assert all(e["bytes"] + e["resumed_bytes"] <= size for e in progress), progress


ENVELOPE = {"version", "command", "ok", "exit_code"}


def json_result(text: str, command: str | None = None) -> dict:
    """The last --json document on stdout: the command's result (or its error), checked to
    carry the envelope every document has (README, "JSON output")."""
    doc = json_lines(text)[-1]
    assert set(doc) >= ENVELOPE, doc
    assert doc["version"] == 1 and doc["ok"] == (doc["exit_code"] == 0)
    if command is not None:
        assert doc["command"] == command
    return doc


def small_tree(folder: Path, count: int, size: int = 2000) -> Path:
    """COUNT files of about SIZE random bytes in four sub-folders of FOLDER."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = folder / f"set-{i % 4}"
        sub.mkdir(exist_ok=True)
        (sub / f"sample-{i:04d}.txt").write_bytes(os.urandom(size + i))
    return folder


def make_source(folder: Path, small: int = 30, big_mib: tuple[int, ...] = (4, 9)) -> Path:
    """A new FOLDER of SMALL small files in three sub-folders (d0/small-00.csv, ...) and one
    file of each size in BIG_MIB at its top (big-4.bin: 4 MiB of random bytes)."""
    folder.mkdir(parents=True)
    for i in range(small):
        sub = folder / f"d{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"small-{i:02d}.csv").write_bytes(os.urandom(200 + 91 * i))
    for mib in big_mib:
        (folder / f"big-{mib}.bin").write_bytes(os.urandom(mib * 2**20))
    return folder


def tree_size(folder: Path) -> tuple[int, int]:
    """(file count, total bytes) of the files under FOLDER."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def rclone_children(pid: int) -> list:
    """The rclone processes below process PID (an empty list once it is gone)."""
    import psutil

    found = []
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    for child in children:
        try:
            if child.name() == "rclone" and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:  # it ended while we looked
            continue
    return found


@contextlib.contextmanager
def started(argv: list[str], *, stderr: int = subprocess.PIPE):
    """Start ARGV (stdout and stderr piped, as text) and yield it: whatever the test does,
    the process does not outlive the with-block (killed, and its pipes read, if it still runs)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@contextlib.contextmanager
def running_until(argv: list[str], marker: str, *, stderr: int = subprocess.PIPE):
    """Start ARGV (rcwiz in plain-line mode) and yield it once a stdout line holds MARKER.

    Whatever the test does, the process does not outlive the with-block.
    """
    with started(argv, stderr=stderr) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if marker in line:
                break
        else:
            raise AssertionError(f"{marker!r} never appeared in the output of {argv}")
        yield proc


def signalled_as_a_terminal(
    argv: list[str],
    folder: Path,
    how: int = signal.SIGHUP,
    ready: Callable[[subprocess.Popen], None] | None = None,
) -> tuple[int, str, str]:
    """Run rcwiz ARGV in a session of its own until READY(process) returns (by default: until
    rclone's partial of big.bin shows in FOLDER and its stats have named it, 1.5 s: three
    stats lines), then send HOW to the whole group, as a terminal does (Ctrl-C: SIGINT;
    closed: SIGHUP). (exit code, stdout, stderr)."""
    proc = subprocess.Popen(
        [*RCWIZ, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        if ready is None:
            deadline = time.monotonic() + 60
            while not (folder.is_dir() and any(folder.glob("big.bin.*.partial"))):
                assert proc.poll() is None and time.monotonic() < deadline, "no partial file"
                time.sleep(0.05)
            time.sleep(1.5)
        else:
            ready(proc)
        os.killpg(proc.pid, how)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


def stats_line(**values: object):
    """An rclone stats line (rcwiz.events.Progress) with VALUES over an idle one."""
    from rcwiz.events import Progress

    base = dict(
        bytes=0,
        total_bytes=0,
        speed=0.0,
        eta=None,
        transfers=0,
        total_transfers=0,
        checks=0,
        total_checks=0,
        listed=0,
        errors=0,
        elapsed=1.0,
        fatal_error=False,
        retry_error=False,
        last_error=None,
        transferring=(),
    )
    return Progress(**{**base, **values})  # type: ignore[arg-type]


class FileTarget:
    """An rcwiz.body_to_file.Target over the file PATH (made if missing): what `landed`
    was told, in order, is in `landed_runs`; `closed` makes it take no more."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.landed_runs: list[tuple[int, int]] = []
        self.closed = False

    @contextlib.contextmanager
    def held(self):
        yield -1 if self.closed else self.fd

    def landed(self, at: int, count: int) -> None:
        self.landed_runs.append((at, count))

    @property
    def landed_bytes(self) -> int:
        return sum(count for _, count in self.landed_runs)

    def close(self) -> None:
        os.close(self.fd)
