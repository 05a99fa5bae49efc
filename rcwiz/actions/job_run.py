"""`rcwiz job run NAME` without argparse: the profile's lock, its hooks around the same checked
and watched transfer as `rcwiz copy`, a share link when the profile asks, and the history.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.transfer import Guard, perform
from rcwiz.jobs import history, lock
from rcwiz.jobs.hooks import environment, run_hook
from rcwiz.jobs.model import Job
from rcwiz.transfer.engine import Summary

if TYPE_CHECKING:
    from rcwiz.cli import Context


def run(ctx: Context, job: Job, guard: Guard, *, dry_run: bool, wait: bool) -> Summary:
    """Run JOB once (queueing behind a run of it with WAIT); raise the named error on failure."""
    with lock.hold(job.name, wait=wait, notice=ctx.console.warn):
        started = time.time()
        env = environment(job, None, "starting", None, started)
        if not run_hook(ctx.console, "before", job.before, env):
            failure: errors.RcwizError = errors.HookFailed(
                f"The before hook of job '{job.name}' failed, so the transfer did not start."
            )
            _finish(ctx, job, None, failure, started, dry_run=dry_run)
            raise failure
        try:
            summary = perform(ctx, job.options(dry_run=dry_run), guard)
        except (errors.RcwizError, KeyboardInterrupt) as exc:
            failure = (
                exc if isinstance(exc, errors.RcwizError) else errors.Interrupted("Interrupted.")
            )
            done = failure.summary if isinstance(failure.summary, Summary) else None
            _finish(ctx, job, done, failure, started, dry_run=dry_run)
            raise failure from None
        _finish(ctx, job, summary, None, started, dry_run=dry_run)
    return summary


def _finish(
    ctx: Context,
    job: Job,
    summary: Summary | None,
    failure: errors.RcwizError | None,
    started: float,
    *,
    dry_run: bool,
) -> None:
    if failure is None:
        outcome = "ok"
    elif isinstance(failure, errors.Interrupted):
        outcome = "interrupted"
    else:
        outcome = "failed"
    message = failure.message if failure else None
    env = environment(job, summary, outcome, message, started)
    if outcome == "ok" and job.share is not None and not dry_run:
        env["RCWIZ_SHARE_URL"] = _share_link(ctx, job)
    if outcome == "ok":
        run_hook(ctx.console, "after", job.after, env)
    else:
        run_hook(ctx.console, "on_failure", job.on_failure, env)
    history.record(
        history.Run(
            job=job.name,
            start=started,
            end=time.time(),
            outcome=outcome,
            bytes=summary.bytes if summary else 0,
            files=summary.files if summary else 0,
            errors=summary.errors if summary else 0,
            dry_run=dry_run,
            log=summary.log_path if summary else "",
            error=message,
        ),
        warn=ctx.console.warn,
    )


def _share_link(ctx: Context, job: Job) -> str:
    """Make the profile's share link for its destination; '' (with a warning) if that fails."""
    from rcwiz.nextcloud import shares
    from rcwiz.nextcloud.account import account

    assert job.share is not None
    expire = None
    if job.share.expire_days:
        expire = (date.today() + timedelta(days=job.share.expire_days)).isoformat()
    try:
        acct = account(ctx.rclone, job.dest)
        link = shares.create(
            acct.client(),
            acct.path_of(job.dest),
            "link",
            expire=expire,
            permissions=job.share.permissions,
        )
    except errors.RcwizError as exc:
        ctx.console.warn(f"The share link for job '{job.name}' was not made: {exc.message}")
        return ""
    ctx.console.note(f"Share link: {link.url}")
    return link.url or ""
