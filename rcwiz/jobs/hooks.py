"""A job's hooks: shell commands run before and after the transfer.

Each hook gets the run's result in RCWIZ_* environment variables (never in its command line),
so a hook takes values only from the environment: `echo "$RCWIZ_FILES files"`.

A hook runs in a process group of its own (rcwiz.process.run_group), its output going to a
file rather than a pipe: a background command it starts (`sleep 15 & echo x`) cannot hold the
run up, and however the hook ends (done, failed, Ctrl-C, SIGTERM, SIGHUP) nothing it started
is left running. Its output is shown once it has ended: all of it when short, else the last
SHOWN_LINES lines, with the whole output kept in a log file under the state folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from rcwiz import files, paths, process
from rcwiz.counting import Summary
from rcwiz.jobs.model import Job, local_path
from rcwiz.ui.console import Console, escape, escape_control

SHELL = "/bin/sh"
SHOWN_LINES = 20  # of a hook's output, the last lines shown (and put in a failure's items)
_TAIL_BYTES = 64 * 1024  # read from the end of a long output to find its last lines


def environment(
    job: Job, summary: Summary | None, outcome: str, error: str | None, started: float
) -> dict[str, str]:
    """The RCWIZ_* variables a hook sees."""
    env = {
        "RCWIZ_JOB": job.name,
        "RCWIZ_SOURCE": local_path(job.source),
        "RCWIZ_DEST": local_path(job.dest),
        "RCWIZ_MODE": job.mode,
        "RCWIZ_OUTCOME": outcome,
        "RCWIZ_ERROR": error or "",
    }
    if summary is not None:
        env.update(
            RCWIZ_BYTES=str(summary.bytes),
            RCWIZ_FILES=str(summary.files),
            RCWIZ_ERRORS=str(summary.errors),
            RCWIZ_LOG=summary.log_path,
            RCWIZ_DURATION=f"{summary.duration:.1f}",
        )
    else:
        env.update(RCWIZ_DURATION=f"{time.time() - started:.1f}")
    return env


@dataclass(frozen=True)
class HookRun:
    """How one hook ended, and the end of what it printed."""

    which: str  # before, after, on_failure
    command: str
    returncode: int  # -N: killed by signal N
    tail: tuple[str, ...]  # its last lines of output (at most SHOWN_LINES)
    complete: bool  # the tail is all of its output
    log: str | None  # the file that keeps all of its output, when the tail is not all

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def status(self) -> str:
        """How it ended, in words: "exited with 3", "was killed by SIGTERM"."""
        if self.returncode >= 0:
            return f"exited with {self.returncode}"
        try:
            name = signal.Signals(-self.returncode).name
        except ValueError:
            name = f"signal {-self.returncode}"
        return f"was killed by {name}"

    def items(self) -> list[str]:
        """The lines an error about this hook shows under its message (and in --json)."""
        found = [f"command: {self.command}", f"status: {self.status}"]
        if self.tail:
            found.append("output:" if self.complete else f"last {len(self.tail)} lines of output:")
            found += [f"  {line}" for line in self.tail]
        if self.log:
            found.append(f"all of its output: {self.log}")
        return found


def _output_file(job: str, which: str) -> tuple[IO[bytes], str | None]:
    """A file for a hook's output: in the state folder's logs (kept if the output is long),
    else, where that folder cannot be written, an anonymous temporary file."""
    folder = paths.state_dir() / "logs"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    try:
        path = folder / f"{stamp}-job-{job}-{which}.log"
        return files.create_private(path), str(path)
    except OSError:
        return tempfile.TemporaryFile(), None


def _tail(handle: IO[bytes]) -> tuple[tuple[str, ...], bool]:
    """The last SHOWN_LINES lines in HANDLE (escaped for a terminal), and whether that is all."""
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - _TAIL_BYTES)
    handle.seek(start)
    text = handle.read().decode("utf-8", "replace")
    lines = text.splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first one is cut
    complete = start == 0 and len(lines) <= SHOWN_LINES
    return tuple(escape_control(line) for line in lines[-SHOWN_LINES:]), complete


def run_hook(
    console: Console, job: str, which: str, command: str | None, env: dict[str, str]
) -> HookRun | None:
    """Run a hook with the shell and return how it ended (None when there is no hook).

    The output is shown unless the hook failed (the caller reports a failure, with the end
    of the output in its items). Ctrl-C while the hook runs ends it and everything it
    started, shows what it had printed, then raises KeyboardInterrupt.
    """
    if not command:
        return None
    handle, log = _output_file(job, which)
    with handle:
        try:
            code = process.run_group([SHELL, "-c", command], handle, env=env)
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone
                show_output(console, _ended(which, command, -int(signal.SIGTERM), handle, log))
            raise
        done = _ended(which, command, code, handle, log)
    if done.ok:
        show_output(console, done)
    return done


def _ended(which: str, command: str, code: int, handle: IO[bytes], log: str | None) -> HookRun:
    """The HookRun of a hook that ended; its log file is removed when its tail is all of it."""
    handle.flush()
    tail, complete = _tail(handle)
    if complete and log:
        with contextlib.suppress(OSError):
            os.unlink(log)
        log = None
    return HookRun(which, command, code, tail, complete, log)


def show_output(console: Console, done: HookRun) -> None:
    """The hook's output, each line marked with the hook's name."""
    out = console.err if console.json else console.out
    if not done.complete:
        out.print(f"[dim]{done.which}: … (the last {len(done.tail)} lines; all in {done.log})[/]")
    for line in done.tail:
        out.print(f"[dim]{done.which}:[/] {escape(line)}")


def show_would_run(console: Console, which: str, command: str | None) -> None:
    """In a dry run: the hook that a real run would run here (none runs)."""
    if command:
        console.note(
            f"dry run: the {which} hook would run here (not run): {escape(escape_control(command))}"
        )
