"""`rcwiz job run NAME` without argparse: the profile's lock, its hooks around the same checked
and watched transfer as `rcwiz copy`, a share link when the profile asks, and the history.

A dry run (`--dry-run`, or `dry_run: true` in the profile) changes nothing anywhere: no hook
runs (each one a real run would run is shown instead) and no share link is made. Every run is
recorded in the history, a dry run marked as one, whatever ends it: success, a failed hook,
a failed transfer, Ctrl-C, SIGTERM or SIGHUP at any stage.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from rcwiz import errors, files, process
from rcwiz.actions.check import verify_after
from rcwiz.actions.transfer import Guard, perform
from rcwiz.counting import RunOutcome, Summary
from rcwiz.jobs import history, lock, store
from rcwiz.jobs.hooks import environment, run_hook, show_output, show_would_run
from rcwiz.jobs.model import Job

if TYPE_CHECKING:
    from rcwiz.context import Context


# Where a run is: its hooks, the transfer, the share link (each named in an interruption).
Stage = Literal["before", "transfer", "share", "after", "on_failure"]


@dataclass
class _Run:
    """One run as it goes: the stage it is in, what the transfer did, what went wrong."""

    job: Job
    dry_run: bool
    started: float
    stage: Stage = "before"
    summary: Summary | None = None
    failure: errors.RcwizError | None = None

    @property
    def outcome(self) -> RunOutcome:
        if self.failure is None:
            return "ok"
        return "interrupted" if isinstance(self.failure, errors.Interrupted) else "failed"


def run(ctx: Context, job: Job, guard: Guard, *, dry_run: bool, wait: bool) -> Summary:
    """Run JOB once (queueing behind a run of it with WAIT); raise the named error on failure."""
    if not (dry_run or job.dry_run) and (job.before or job.after or job.on_failure):
        refuse_unsafe_files(ctx, job)
    with lock.hold(job.name, wait=wait, notice=ctx.console.warn):
        state = _Run(job, dry_run=dry_run or job.dry_run, started=time.time())
        try:
            _go(ctx, guard, state)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP after the transfer
            state.failure = _interrupted(state)
        except BaseException as exc:  # a bug in rcwiz: still a failed run in the history
            if state.failure is None:
                state.failure = errors.InternalError(f"Internal error: {type(exc).__name__}")
            raise
        finally:
            _record(ctx, state)
    if state.failure is not None:
        raise state.failure
    assert state.summary is not None
    return state.summary


def refuse_unsafe_files(ctx: Context, job: Job) -> None:
    """Refuse to run JOB's hooks when another user could have written them (the jobs file) or
    what rclone will run (rclone.conf), as ssh refuses a key others can write."""
    for path in (store.jobs_path(ctx.jobs), ctx.rclone.config_file()):
        found = files.writable_by_others(path)
        if found is not None:
            why, fix = found
            raise errors.UnsafeFile(
                f"The hooks of job '{job.name}' were not run, nor the transfer: {why}.",
                f"Only you should be able to change it: {fix}",
            )


def _go(ctx: Context, guard: Guard, state: _Run) -> None:
    job, console = state.job, ctx.console
    try:
        if state.dry_run:
            show_would_run(console, "before", job.before)
        else:
            env = environment(job, None, "starting", None, state.started)
            done = run_hook(console, job.name, "before", job.before, env)
            if done is not None and not done.ok:
                state.failure = errors.HookFailed(
                    f"The before hook of job '{job.name}' {done.status}, so the transfer did "
                    "not start.",
                    items=done.items(),
                )
        if state.failure is None:
            state.stage = "transfer"
            try:
                opts = job.options(dry_run=state.dry_run)
                state.summary = perform(ctx, opts, guard)
                verify_after(ctx, opts, state.summary)  # `verify: true`: VerifyFailed, exit 14
            except errors.RcwizError as exc:
                state.failure = exc
                state.summary = exc.summary if isinstance(exc.summary, Summary) else None
    except KeyboardInterrupt:  # in the before hook, or the pre-flight
        state.failure = _interrupted(state)
    message = state.failure.message if state.failure else None
    env = environment(job, state.summary, state.outcome, message, state.started)
    if state.failure is None and job.share is not None and not state.dry_run:
        state.stage = "share"
        env["RCWIZ_SHARE_URL"] = _share_link(ctx, job)
    state.stage, command = (
        ("after", job.after) if state.failure is None else ("on_failure", job.on_failure)
    )
    if state.dry_run:
        show_would_run(console, state.stage, command)
        return
    done = run_hook(console, job.name, state.stage, command, env)
    if done is not None and not done.ok:
        show_output(console, done)
        console.warn(f"The {state.stage} hook {done.status}: {command}")


def _interrupted(state: _Run) -> errors.Interrupted:
    """The error for a run stopped by Ctrl-C (or SIGTERM, SIGHUP) in its current stage."""
    name = state.job.name
    if state.stage == "before":
        return errors.Interrupted(
            f"Interrupted: the before hook of job '{name}' was stopped, so the transfer did not "
            "start."
        )
    if state.stage == "transfer":  # the pre-flight, or a bulk upload (rclone's own is the
        return errors.Interrupted(  # engine's error)
            f"Interrupted: job '{name}' was stopped during its transfer.",
            "Run the same command again to resume: finished files are skipped.",
        )
    where = (
        "while its share link was made" if state.stage == "share" else f"in its {state.stage} hook"
    )
    had = "the transfer had finished" if state.failure is None else state.failure.message
    stopped = errors.Interrupted(f"Interrupted: job '{name}' was stopped {where} ({had}).")
    stopped.summary = state.summary
    return stopped


def _record(ctx: Context, state: _Run) -> None:
    """Write the run to the history; a history that cannot be written is one warning."""
    summary = state.summary

    def warn(text: str) -> None:
        with contextlib.suppress(OSError):  # after SIGHUP the terminal may be gone too
            ctx.console.warn(text)

    with process.signals_deferred():
        history.record(
            history.Run(
                job=state.job.name,
                start=state.started,
                end=time.time(),
                outcome=state.outcome,
                bytes=summary.bytes if summary else 0,
                files=summary.files if summary else 0,
                errors=summary.errors if summary else 0,
                dry_run=state.dry_run,
                log=summary.log_path if summary else "",
                error=state.failure.message if state.failure else None,
            ),
            warn=warn,
        )


def _share_link(ctx: Context, job: Job) -> str:
    """The profile's share link for its destination: the one an earlier run made, brought in
    line with the profile, else a new one; '' (with a warning) if that fails."""
    from rcwiz.nextcloud import shares
    from rcwiz.nextcloud.account import account

    assert job.share is not None
    expire = None
    if job.share.expire_days:
        expire = (date.today() + timedelta(days=job.share.expire_days)).isoformat()
    try:
        acct = account(ctx.rclone, job.dest)
        link, reused = shares.job_link(
            acct.client(),
            acct.path_of(job.dest),
            label=f"rcwiz job {job.name}",
            expire=expire,
            permissions=job.share.permissions,
        )
    except errors.RcwizError as exc:
        ctx.console.warn(f"The share link for job '{job.name}' was not made: {exc.message}")
        return ""
    details = ["the same link as after earlier runs"] if reused else []
    if link.expiration:
        details.append(f"it expires on {link.expiration[:10]}")
    ctx.console.note(f"Share link: {link.url}" + (f" ({', '.join(details)})" if details else ""))
    return link.url or ""
