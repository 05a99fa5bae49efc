"""`rcwiz job ...`: named transfer profiles kept in a YAML file.

list / show / add / edit / rm / validate / run / history / schedule. A run takes the profile's
lock, runs its hooks around the same checked and watched transfer as `rcwiz copy`, and records
the outcome in the history.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.table import Table

from rcwiz import copy_cmd, errors, paths, process, transfer
from rcwiz.console import escape
from rcwiz.jobs import history, lock, schedule, schema, store
from rcwiz.jobs.model import DELETING_MODES, MODES, Job
from rcwiz.rclone.argv import transfer_argv
from rcwiz.ui import format as fmt
from rcwiz.wizard import Answers, Invalid, Question, Wizard, terminal_available

if TYPE_CHECKING:
    from rcwiz.cli import Context

AddCommand = Callable[..., argparse.ArgumentParser]
# Flags whose value is a secret: --webdav-pass, --crypt-password2, --x-bearer-token, ...
SECRET_FLAG = re.compile(r"(pass|password2?|token|secret|key)$", re.I)
NOT_SECRET = {"--ask-password"}


def add_arguments(parser: argparse.ArgumentParser, add_command: AddCommand) -> None:
    sub = parser.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    add_command(sub, "list", "the profiles and their last run", run_list)
    show = add_command(sub, "show", "a resolved profile and the rclone command it runs", run_show)
    show.add_argument("name")
    add = add_command(sub, "add", "add a profile from a template (asks, or takes flags)", run_add)
    add.add_argument("name", nargs="?")
    add.add_argument("--template", help="a template from templates/jobs (default: the first)")
    add.add_argument("--source", help="local path or REMOTE:path")
    add.add_argument("--dest", help="local path or REMOTE:path")
    add.add_argument("--mode", choices=MODES, help="copy (default from the template), sync, move")
    add.add_argument(
        "--allow-deletes",
        action="store_true",
        help="confirm that a sync or move profile deletes files",
    )
    add.add_argument("--yes", "-y", action="store_true", help="accept the template's defaults")
    edit = add_command(sub, "edit", "open the jobs file in $EDITOR, validated on save", run_edit)
    edit.add_argument("name", nargs="?")
    rm = add_command(sub, "rm", "remove a profile", run_rm)
    rm.add_argument("name")
    add_command(sub, "validate", "check the jobs file; every problem at once", run_validate)
    run = add_command(sub, "run", "run a profile: pre-flight, progress, history", run_job)
    run.add_argument("name")
    run.add_argument("--dry-run", action="store_true", help="show what would happen")
    run.add_argument("--wait", action="store_true", help="wait if the profile is already running")
    run.add_argument("--force", action="store_true", help="go on even if it will not fit")
    run.add_argument("--log-interval", type=float, default=10.0, metavar="SECONDS")
    run.add_argument("--stall-timeout", type=float, default=60.0, metavar="SECONDS")
    hist = add_command(sub, "history", "past runs (of one profile)", run_history)
    hist.add_argument("name", nargs="?")
    hist.add_argument("--limit", type=int, default=20, help="show the last N runs (default 20)")
    sched = add_command(sub, "schedule", "run a profile daily or by cron expression", run_schedule)
    sched.add_argument("name")
    when = sched.add_mutually_exclusive_group(required=True)
    when.add_argument("--daily", metavar="HH:MM")
    when.add_argument("--cron", metavar="EXPR", help='five cron fields, e.g. "30 2 * * 1-5"')
    sched.add_argument(
        "--via",
        choices=("systemd", "cron"),
        help="scheduler (default: systemd for --daily where present, else cron)",
    )
    action = sched.add_mutually_exclusive_group()
    action.add_argument("--install", action="store_true", help="install it (default: print)")
    action.add_argument("--remove", action="store_true", help="remove what --install did")


def _path(ctx: Context) -> Path:
    return store.jobs_path(ctx.jobs)


# ------------------------------------------------------------------------------- list, show


def run_list(ctx: Context, args: argparse.Namespace) -> int:
    jobs = store.load(_path(ctx))
    last = history.last_runs()
    if ctx.console.json:
        ctx.console.emit_json(
            [
                {**asdict(job), "last_run": last[name].as_dict() if name in last else None}
                for name, job in jobs.items()
            ]
        )
        return 0
    if not jobs:
        ctx.console.out.print(
            f"No jobs in {_path(ctx)}. Add one with 'rcwiz job add'.", markup=False
        )
        return 0
    table = Table(header_style="bold")
    for column in ("name", "mode", "source", "dest", "last run"):
        table.add_column(column, overflow="fold")
    for name, job in jobs.items():
        table.add_row(name, job.mode, job.source, job.dest, _last_run_text(last.get(name)))
    ctx.console.out.print(table)
    return 0


def _last_run_text(run: history.Run | None) -> str:
    if run is None:
        return "never"
    when = datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M")
    return f"{run.outcome} {when} ({fmt.duration(run.duration)}, {fmt.size(run.bytes)})"


def masked(argv: tuple[str, ...]) -> list[str]:
    """ARGV with the value of any secret-looking flag (--webdav-pass X, --x-token=Y) hidden."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
        elif (
            (flag := arg.split("=", 1)[0]).startswith("--")
            and flag not in NOT_SECRET
            and (SECRET_FLAG.search(flag))
        ):
            if "=" in arg:
                shown.append(arg.split("=", 1)[0] + "=***")
            else:
                shown.append(arg)
                hide_next = True
        else:
            shown.append(arg)
    return shown


def run_show(ctx: Context, args: argparse.Namespace) -> int:
    job = store.get(_path(ctx), args.name)
    remotes = copy_cmd.remotes_involved(ctx.rclone, job.source, job.dest)
    opts = job.options(tuning=copy_cmd.tuning_for(remotes))
    argv = masked(ctx.rclone.argv(transfer_argv(opts, stats_interval=transfer.STATS_INTERVAL)))
    profile = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(job).items()}
    if ctx.console.json:
        ctx.console.emit_json({"profile": profile, "rclone_argv": argv})
        return 0
    out = ctx.console.out
    out.print(f"[bold]{escape(job.name)}[/] ({escape(str(_path(ctx)))})")
    for key, value in profile.items():
        if key != "name" and value not in (None, (), [], False):
            out.print(f"  {key:14} {escape(str(value))}")
    out.print("rclone command:")
    out.print(f"  {escape(shlex.join(argv))}")
    return 0


# ------------------------------------------------------------------------------- add, edit, rm


def templates() -> dict[str, dict[str, Any]]:
    """The job templates in templates/jobs: name -> the profile body they hold."""
    found = {}
    for path in sorted((paths.templates_dir() / "jobs").glob("*.yaml")):
        jobs = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("jobs") or {}
        if jobs:
            found[path.stem] = dict(next(iter(jobs.values())))
    return found


def _profile_name(value: str, answers: Answers) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value.strip()):
        raise Invalid(f"'{value}' cannot be a job name: use letters, digits, '_', '-' and '.'.")
    return value.strip()


def _path_answer(value: str, answers: Answers) -> str:
    if not value.strip():
        raise Invalid("The path is empty.")
    return value.strip()


def add_questions(found: dict[str, dict[str, Any]]) -> list[Question]:
    def body(answers: Answers) -> dict[str, Any]:
        return found[answers["template"]]

    return [
        Question("name", "NAME", "Name of the job", check=_profile_name),
        Question("template", "--template", "Start from which template?", kind="select",
                 choices=lambda a: [(k, f"{k}: {v.get('mode', 'copy')} {v.get('source', '')} "
                                     f"-> {v.get('dest', '')}") for k, v in found.items()],
                 default=lambda a: next(iter(found))),
        Question("source", "--source", "Copy from (local path or REMOTE:path)",
                 default=lambda a: body(a).get("source"), check=_path_answer),
        Question("dest", "--dest", "Copy to (local path or REMOTE:path)",
                 default=lambda a: body(a).get("dest"), check=_path_answer),
        Question("mode", "--mode", "Mode", kind="select",
                 choices=lambda a: [(m, m) for m in MODES],
                 default=lambda a: body(a).get("mode", "copy")),
    ]  # fmt: skip


def run_add(ctx: Context, args: argparse.Namespace) -> int:
    found = templates()
    if args.template and args.template not in found:
        raise errors.UsageError(
            f"There is no job template '{args.template}'.", f"Templates: {', '.join(found)}."
        )
    wizard = Wizard(ctx.console, interactive=terminal_available(), assume_yes=args.yes, given={
        "name": args.name, "template": args.template, "source": args.source,
        "dest": args.dest, "mode": args.mode,
    })  # fmt: skip
    answers = wizard.ask_all(add_questions(found))
    body = {k: v for k, v in found[answers["template"]].items() if k != "allow_deletes"}
    body.update(source=answers["source"], dest=answers["dest"], mode=answers["mode"])
    if answers["mode"] in DELETING_MODES:
        what = (
            "deletes files at the destination"
            if answers["mode"] == "sync"
            else ("deletes each source file once it is copied")
        )
        # Only --allow-deletes or a yes typed at a terminal count; --yes alone does not.
        allowed = args.allow_deletes or (
            wizard.interactive and wizard.confirm(f"A {answers['mode']} {what}. Allow it?")
        )
        if not allowed:
            raise errors.UsageError(
                f"A {answers['mode']} profile {what}: confirm that.",
                "Add --allow-deletes (or choose --mode copy).",
            )
        body["allow_deletes"] = True
    path = _path(ctx)
    backup = store.add(path, answers["name"], body)
    if ctx.console.json:
        ctx.console.emit_json(
            {"added": answers["name"], "file": str(path), "backup": str(backup) if backup else None}
        )
    else:
        ctx.console.out.print(
            f"[green]Added[/] job [bold]{escape(answers['name'])}[/] to {escape(str(path))}"
        )
        ctx.console.out.print(f"Try it: rcwiz job run {answers['name']} --dry-run", markup=False)
    return 0


def run_edit(ctx: Context, args: argparse.Namespace) -> int:
    path = _path(ctx)
    if args.name:
        store.get(path, args.name)  # a clear error for a name that is not there
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    original = path.read_text(encoding="utf-8") if path.exists() else "jobs: {}\n"
    fd, draft_name = tempfile.mkstemp(prefix="jobs-", suffix=".yaml")
    draft = Path(draft_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(original)
        while True:
            if process.interactive([*editor, str(draft)]) != 0:
                raise errors.UsageError("The editor failed; the jobs file was not changed.")
            text = draft.read_text(encoding="utf-8")
            if text == original:
                ctx.console.note("No changes.")
                return 0
            try:
                schema.parse(text, str(path))
                break
            except schema.JobsFileInvalid as exc:
                ctx.console.error(exc.message, "", exc.items)
                wizard = Wizard(ctx.console, interactive=terminal_available())
                if not wizard.confirm("Edit again? (No keeps the old file)", default=True):
                    raise errors.UsageError(
                        f"The edit was not valid; {path} was not changed.", items=exc.items
                    ) from None
        backup = store.save(path, text)
        ctx.console.note(f"Saved {path}" + (f" (previous version: {backup})" if backup else ""))
        return 0
    finally:
        draft.unlink(missing_ok=True)


def run_rm(ctx: Context, args: argparse.Namespace) -> int:
    path = _path(ctx)
    backup = store.remove(path, args.name)
    ctx.console.note(f"Removed job {args.name} from {path} (previous version: {backup}).")
    return 0


def run_validate(ctx: Context, args: argparse.Namespace) -> int:
    path = _path(ctx)
    jobs = store.load(path)  # raises JobsFileInvalid (exit 2) listing every problem
    if ctx.console.json:
        ctx.console.emit_json({"file": str(path), "valid": True, "jobs": sorted(jobs)})
    else:
        ctx.console.out.print(f"{path}: {len(jobs)} job(s), no problems.", markup=False)
    return 0


# ------------------------------------------------------------------------------- run


def _hook(ctx: Context, which: str, command: str | None, env: dict[str, str]) -> bool:
    """Run a hook with the shell, the run's result in RCWIZ_* variables; True if it passed."""
    if not command:
        return True
    done = process.run(["/bin/sh", "-c", command], env=env)
    out = ctx.console.err if ctx.console.json else ctx.console.out
    for line in (done.stdout + done.stderr).splitlines():
        out.print(f"[dim]{which}:[/] {escape(line)}")
    if done.returncode != 0:
        ctx.console.warn(f"The {which} hook exited with {done.returncode}: {command}")
    return done.returncode == 0


def _env(job: Job, summary: transfer.Summary | None, outcome: str, error: str | None,
         started: float) -> dict[str, str]:  # fmt: skip
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


def run_job(ctx: Context, args: argparse.Namespace) -> int:
    job = store.get(_path(ctx), args.name)
    guard = copy_cmd.Guard(
        force=args.force,
        yes=job.allow_deletes,
        log_interval=args.log_interval,
        stall_timeout=args.stall_timeout,
    )
    with lock.hold(job.name, wait=args.wait, notice=ctx.console.warn):
        started = time.time()
        if not _hook(ctx, "before", job.before, _env(job, None, "starting", None, started)):
            failure: errors.RcwizError = errors.HookFailed(
                f"The before hook of job '{job.name}' failed, so the transfer did not start."
            )
            _finish(ctx, job, None, failure, started, dry_run=args.dry_run)
            raise failure
        try:
            summary = copy_cmd.perform(ctx, job.options(dry_run=args.dry_run), guard)
        except (errors.RcwizError, KeyboardInterrupt) as exc:
            failure = (
                exc if isinstance(exc, errors.RcwizError) else errors.Interrupted("Interrupted.")
            )
            done = failure.summary if isinstance(failure.summary, transfer.Summary) else None
            _finish(ctx, job, done, failure, started, dry_run=args.dry_run)
            raise failure from None
        _finish(ctx, job, summary, None, started, dry_run=args.dry_run)
    return 0


def _finish(
    ctx: Context,
    job: Job,
    summary: transfer.Summary | None,
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
    env = _env(job, summary, outcome, message, started)
    if outcome == "ok" and job.share is not None and not dry_run:
        env["RCWIZ_SHARE_URL"] = _share_link(ctx, job)
    if outcome == "ok":
        _hook(ctx, "after", job.after, env)
    else:
        _hook(ctx, "on_failure", job.on_failure, env)
    history.record(history.Run(
        job=job.name, start=started, end=time.time(), outcome=outcome,
        bytes=summary.bytes if summary else 0, files=summary.files if summary else 0,
        errors=summary.errors if summary else 0, dry_run=dry_run,
        log=summary.log_path if summary else "", error=message,
    ))  # fmt: skip


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
        link = shares.create(acct.client(), acct.path_of(job.dest), "link", expire=expire,
                             permissions=job.share.permissions)  # fmt: skip
    except errors.RcwizError as exc:
        ctx.console.warn(f"The share link for job '{job.name}' was not made: {exc.message}")
        return ""
    ctx.console.note(f"Share link: {link.url}")
    return link.url or ""


# ------------------------------------------------------------------------------- history


def run_history(ctx: Context, args: argparse.Namespace) -> int:
    runs = history.load(args.name)[-args.limit :] if args.limit > 0 else []
    if ctx.console.json:
        ctx.console.emit_json([run.as_dict() for run in runs])
        return 0
    if not runs:
        ctx.console.out.print("No runs recorded yet.", markup=False)
        return 0
    table = Table(header_style="bold")
    for column in ("job", "started", "duration", "outcome", "bytes", "files", "errors"):
        table.add_column(column)
    style = {"ok": "green", "failed": "red", "interrupted": "yellow"}
    for run in runs:
        table.add_row(run.job, datetime.fromtimestamp(run.start).strftime("%Y-%m-%d %H:%M:%S"),
                      fmt.duration(run.duration),
                      f"[{style.get(run.outcome, '')}]{run.outcome}[/]"
                      + (" (dry run)" if run.dry_run else ""),
                      fmt.size(run.bytes), str(run.files), str(run.errors))  # fmt: skip
    ctx.console.out.print(table)
    return 0


# ------------------------------------------------------------------------------- schedule


def run_schedule(ctx: Context, args: argparse.Namespace) -> int:
    path = _path(ctx)
    store.get(path, args.name)
    when = schedule.When(daily=args.daily, cron=args.cron)
    via = args.via or ("systemd" if args.daily and _has_systemd() else "cron")
    argv = schedule.command(args.name, path, ctx.config)
    out = ctx.console.out
    if via == "systemd":
        units = schedule.systemd_units(args.name, when, argv)
        if args.remove:
            for removed in schedule.remove_systemd(args.name):
                out.print(f"removed {removed}", markup=False)
        elif args.install:
            for written in schedule.install_systemd(args.name, units):
                out.print(f"wrote {written}", markup=False)
            out.print(f"enabled {schedule.unit_name(args.name)}.timer", markup=False)
        else:
            for filename, text in units.items():
                out.print(f"# {schedule.systemd_dir() / filename}", markup=False)
                out.print(text, markup=False)
            out.print("Install with --install (or copy these files and run "
                      "'systemctl --user enable --now "
                      f"{schedule.unit_name(args.name)}.timer').", markup=False)  # fmt: skip
        return 0
    line = schedule.crontab_line(args.name, when, argv)
    if args.remove:
        removed = schedule.remove_cron(args.name)
        out.print(
            "removed the crontab line" if removed else "no crontab line to remove", markup=False
        )
    elif args.install:
        schedule.install_cron(args.name, line)
        out.print(f"installed in your crontab:\n{line}", markup=False)
    else:
        out.print(line, markup=False)
        out.print("Install with --install (or add the line with 'crontab -e').", markup=False)
    return 0


def _has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()
