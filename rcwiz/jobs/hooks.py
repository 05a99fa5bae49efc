"""A job's hooks: shell commands run before and after the transfer.

Each hook gets the run's result in RCWIZ_* environment variables (never in its command line),
so a hook takes values only from the environment: `echo "$RCWIZ_FILES files"`.
"""

from __future__ import annotations

import time

from rcwiz import process
from rcwiz.jobs.model import Job
from rcwiz.transfer.engine import Summary
from rcwiz.ui.console import Console, escape

SHELL = "/bin/sh"


def environment(
    job: Job, summary: Summary | None, outcome: str, error: str | None, started: float
) -> dict[str, str]:
    """The RCWIZ_* variables a hook sees."""
    env = {
        "RCWIZ_JOB": job.name,
        "RCWIZ_SOURCE": job.source,
        "RCWIZ_DEST": job.dest,
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


def run_hook(console: Console, which: str, command: str | None, env: dict[str, str]) -> bool:
    """Run a hook with the shell; show its output; True if it passed (or there is none)."""
    if not command:
        return True
    done = process.run([SHELL, "-c", command], env=env)
    out = console.err if console.json else console.out
    for line in (done.stdout + done.stderr).splitlines():
        out.print(f"[dim]{which}:[/] {escape(line)}")
    if done.returncode != 0:
        console.warn(f"The {which} hook exited with {done.returncode}: {command}")
    return done.returncode == 0
