"""`rcwiz job ...`: named transfer profiles kept in a YAML file.

list / show / add / edit / rm / validate / run / history / schedule. Running a profile is
rcwiz.actions.job_run; the file itself is rcwiz.jobs (schema, store, templates, schedule).
"""

from __future__ import annotations

import argparse
import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rcwiz import errors, paths, process
from rcwiz.actions import job_add, job_run, job_schedule
from rcwiz.actions.transfer import Guard
from rcwiz.commands import add_guard_options, add_transfer_options, transfer_settings
from rcwiz.jobs import history, schedule, schema, store
from rcwiz.jobs.model import DELETING_MODES, MODES
from rcwiz.jobs.templates import templates
from rcwiz.rclone.config import list_remotes
from rcwiz.rclone.transfer import transfer_argv
from rcwiz.transfer.endpoint import sides_of
from rcwiz.transfer.engine import STATS_INTERVAL
from rcwiz.ui.console import Console, escape, shell_join
from rcwiz.ui.output import Output
from rcwiz.ui.wizard import Wizard, terminal_available

if TYPE_CHECKING:
    from rcwiz.context import Context

AddCommand = Callable[..., argparse.ArgumentParser]


def add_arguments(parser: argparse.ArgumentParser, add_command: AddCommand) -> None:
    sub = parser.add_subparsers(dest="job_command", metavar="ACTION", required=True)

    add_command(sub, "list", "the profiles and their last run", run_list)
    show = add_command(sub, "show", "a resolved profile and the rclone command it runs", run_show)
    show.add_argument("name")
    add = add_command(
        sub, "add", "add a profile: from flags, or a template whose settings you confirm", run_add
    )
    add.add_argument("name", nargs="?")
    add.add_argument(
        "--template",
        help=f"start from a shipped template: {', '.join(paths.shipped('jobs'))} "
        "(its settings are shown)",
    )
    add.add_argument("--source", help="local path or REMOTE:path")
    add.add_argument("--dest", help="local path or REMOTE:path")
    add.add_argument("--mode", choices=MODES, help="copy (the default), sync or move")
    add.add_argument(
        "--allow-deletes",
        action="store_true",
        help="confirm that a sync or move profile deletes files",
    )
    add_transfer_options(add, skip=("dry_run",))
    add.add_argument("--extra-flags", metavar="FLAGS", help="more rclone flags, as one string")
    for hook in ("before", "after", "on_failure"):
        add.add_argument(
            f"--{hook.replace('_', '-')}",
            dest=hook,
            metavar="COMMAND",
            help=f"the profile's {hook} hook (a shell command)",
        )
    add.add_argument(
        "--yes", "-y", action="store_true", help="keep the template's settings (they are shown)"
    )
    edit = add_command(sub, "edit", "open the jobs file in $EDITOR, validated on save", run_edit)
    edit.add_argument("name", nargs="?")
    rm = add_command(sub, "rm", "remove a profile", run_rm)
    rm.add_argument("name")
    add_command(sub, "validate", "check the jobs file; every problem at once", run_validate)
    run = add_command(sub, "run", "run a profile: pre-flight, progress, history", run_job)
    run.add_argument("name")
    run.add_argument("--dry-run", action="store_true", help="show what would happen")
    run.add_argument("--wait", action="store_true", help="wait if the profile is already running")
    add_guard_options(run)
    hist = add_command(sub, "history", "past runs (of one profile)", run_history)
    hist.add_argument("name", nargs="?")
    hist.add_argument("--limit", type=int, default=20, help="show the last N runs (default 20)")
    sched = add_command(sub, "schedule", "run a profile daily or by cron expression", run_schedule)
    sched.add_argument("name")
    when = sched.add_mutually_exclusive_group()
    when.add_argument("--daily", metavar="HH:MM")
    when.add_argument("--cron", metavar="EXPR", help='five cron fields, e.g. "30 2 * * 1-5"')
    sched.add_argument(
        "--via",
        choices=("slurm", "systemd", "cron"),
        help="scheduler (default: the first that works here of slurm, systemd (for --daily) "
        "and cron; with --remove: every one that works here)",
    )
    sched.add_argument(
        "--time",
        default=schedule.DEFAULT_TIME_LIMIT,
        metavar="LIMIT",
        help=f"with slurm: the job's time limit (default {schedule.DEFAULT_TIME_LIMIT})",
    )
    action = sched.add_mutually_exclusive_group()
    action.add_argument("--install", action="store_true", help="install it (default: print)")
    action.add_argument("--remove", action="store_true", help="remove what --install did")


def _path(ctx: Context) -> Path:
    return store.jobs_path(ctx.jobs)


# ------------------------------------------------------------------------------- list, show


def run_list(ctx: Context, args: argparse.Namespace) -> Output:
    path = _path(ctx)
    jobs = store.load(path)
    last = history.last_runs()
    data = {
        "file": str(path),
        "jobs": [
            {**asdict(job), "last_run": last[name].as_dict() if name in last else None}
            for name, job in jobs.items()
        ],
    }

    def show(console: Console) -> None:
        if not jobs:
            console.out.print(f"No jobs in {path}. Add one with 'rcwiz job add'.", markup=False)
            return
        from rcwiz.commands.job_tables import jobs_table

        console.out.print(jobs_table(jobs, last))

    return Output(data, show)


def run_show(ctx: Context, args: argparse.Namespace) -> Output:
    path = _path(ctx)
    job = store.get(path, args.name)
    opts = job.options(tuning=sides_of(ctx.rclone, job.source, job.dest).tuning())
    argv = ctx.rclone.shown(transfer_argv(opts, stats_interval=STATS_INTERVAL))
    profile = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(job).items()}

    def show(console: Console) -> None:
        out = console.out
        out.print(f"[bold]{escape(job.name)}[/] ({escape(str(path))})")
        for key, value in profile.items():
            if key != "name" and value not in (None, (), [], False):
                out.print(f"  {key:14} {escape(str(value))}")
        out.print("rclone command:")
        out.print(f"  {escape(shell_join(argv))}")

    return Output({"profile": profile, "rclone_argv": argv}, show)


# ------------------------------------------------------------------------------- add, edit, rm


def _flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The profile settings given as flags, as the jobs file spells them."""
    body: dict[str, Any] = {
        k: list(v) if isinstance(v, tuple) else v for k, v in transfer_settings(args).items()
    }
    for key in ("extra_flags", "before", "after", "on_failure"):
        if getattr(args, key, None):
            body[key] = getattr(args, key)
    return body


def run_add(ctx: Context, args: argparse.Namespace) -> Output:
    found = templates()
    if args.template and args.template not in found:
        raise errors.UsageError(
            f"There is no job template '{args.template}'.", f"Templates: {', '.join(found)}."
        )
    path = _path(ctx)
    # What a profile without a mode: key gets; a mode is written only when it differs.
    inherited_mode = store.inherited_mode(path)
    interactive = terminal_available()
    given = {
        "name": args.name,
        "template": args.template,
        "source": args.source,
        "dest": args.dest,
        "mode": args.mode,
    }
    if not interactive:  # a script gets a plain profile unless it says otherwise
        given["template"] = args.template or job_add.NO_TEMPLATE
        template_mode = found.get(args.template or "", {}).get("mode", inherited_mode)
        given["mode"] = args.mode or str(template_mode)
    wizard = Wizard(ctx.console, interactive=interactive, assume_yes=args.yes, given=given)
    answers = wizard.ask_all(job_add.add_questions(found, inherited_mode))
    name = answers["name"]
    route = {key: job_add.absolute(answers[key]) for key in ("source", "dest")}
    job_add.check_remotes(ctx, name, route)
    flags = _flag_settings(args)
    body: dict[str, Any] = dict(route)
    if args.mode or answers["mode"] != inherited_mode:
        body["mode"] = answers["mode"]
    if answers["template"] != job_add.NO_TEMPLATE:
        body.update(
            job_add.kept_settings(
                ctx, wizard, answers["template"], found[answers["template"]], flags
            )
        )
    body.update(flags)
    if answers["mode"] in DELETING_MODES:
        what = (
            "deletes files at the destination"
            if answers["mode"] == "sync"
            else "deletes each source file once it is copied"
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
    backup = store.add(path, name, body)
    for key, value in route.items():
        if value != answers[key]:
            ctx.console.note(
                f"The {key} {escape(answers[key])} is stored as {escape(value)} (local paths "
                "are kept absolute, so the job finds them from any folder)."
            )
    for warning in store.warnings(path):  # include with exclude, say
        if f": jobs.{name}." in warning:
            ctx.console.warn(warning)

    def show(console: Console) -> None:
        console.out.print(f"[green]Added[/] job [bold]{escape(name)}[/] to {escape(str(path))}")
        console.out.print(f"Try it: rcwiz job run {name} --dry-run", markup=False)

    data = {
        "added": name,
        "file": str(path),
        "backup": str(backup) if backup else None,
        "profile": body,
    }
    return Output(data, show)


def _editor() -> list[str]:
    """VISUAL, else EDITOR, else vi, as a command line."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(chosen)
    except ValueError as exc:  # "No closing quotation"
        raise errors.UsageError(
            f"The editor setting {chosen!r} cannot be read as a command ({exc}).",
            "Check the quotes in VISUAL or EDITOR.",
        ) from None
    if not argv:
        raise errors.UsageError("VISUAL or EDITOR is set but empty.", "Set it to an editor.")
    return argv


def run_edit(ctx: Context, args: argparse.Namespace) -> Output:
    path = _path(ctx)
    if args.name:
        store.get(path, args.name)  # a clear error for a name that is not there
    editor = _editor()
    original = schema.read(path) or "jobs: {}\n"
    fd, draft_name = tempfile.mkstemp(prefix="jobs-", suffix=".yaml")
    draft = Path(draft_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(original)
        while True:
            try:
                status = process.interactive([*editor, str(draft)])
            except OSError as exc:
                raise errors.UsageError(
                    f"The editor {editor[0]} cannot be run ({exc.strerror or exc}).",
                    "Set VISUAL or EDITOR to an editor that is installed, e.g. EDITOR=nano.",
                ) from None
            if status != 0:
                raise errors.UsageError("The editor failed; the jobs file was not changed.")
            if not draft.exists():
                raise errors.UsageError(
                    "The editor removed the draft; the jobs file was not changed."
                )
            if draft.read_bytes() == original.encode("utf-8"):
                return Output(
                    {"file": str(path), "changed": False, "backup": None},
                    lambda console: console.note("No changes."),
                )
            try:
                text = schema.read(draft, str(path)) or ""  # not UTF-8: invalid, with its line
                schema.parse(text, str(path))
                break
            except errors.JobsFileInvalid as exc:
                ctx.console.error(exc.message, "", exc.items)
                wizard = Wizard(ctx.console, interactive=terminal_available())
                if not wizard.confirm("Edit again? (No keeps the old file)", default=True):
                    raise errors.UsageError(
                        f"The edit was not valid; {path} was not changed.", items=exc.items
                    ) from None
        backup = store.replace(path, text)
        saved = f"Saved {path}" + (f" (previous version: {backup})" if backup else "")
        return Output(
            {"file": str(path), "changed": True, "backup": str(backup) if backup else None},
            lambda console: console.note(saved),
        )
    finally:
        draft.unlink(missing_ok=True)


def run_rm(ctx: Context, args: argparse.Namespace) -> Output:
    path = _path(ctx)
    backup = store.remove(path, args.name)

    def show(console: Console) -> None:
        console.note(f"Removed job {args.name} from {path} (previous version: {backup}).")

    return Output({"removed": args.name, "file": str(path), "backup": str(backup)}, show)


def run_validate(ctx: Context, args: argparse.Namespace) -> Output:
    path = _path(ctx)
    # Every problem at once (JobsFileInvalid, exit 2), remotes rclone.conf lacks included.
    jobs = store.load(path, remotes={r.name for r in list_remotes(ctx.rclone)})
    # Not problems (the file is valid and runs), but likely not what was meant.
    warnings = store.warnings(path)
    for warning in warnings:
        ctx.console.warn(warning)

    def show(console: Console) -> None:
        also = f", {len(warnings)} warning(s)" if warnings else ""
        console.out.print(f"{path}: {len(jobs)} job(s), no problems{also}.", markup=False)

    data = {"file": str(path), "valid": True, "jobs": sorted(jobs), "warnings": warnings}
    return Output(data, show)


# ------------------------------------------------------------------------------- run, history


def run_job(ctx: Context, args: argparse.Namespace) -> Output:
    job = store.get(_path(ctx), args.name)
    guard = Guard(
        force=args.force,
        yes=job.allow_deletes,
        log_interval=args.log_interval,
    )
    summary = job_run.run(ctx, job, guard, dry_run=args.dry_run, wait=args.wait)
    return Output({"event": "summary", "job": job.name, **summary.as_dict()})


def run_history(ctx: Context, args: argparse.Namespace) -> Output:
    runs = history.load(args.name)[-args.limit :] if args.limit > 0 else []

    def show(console: Console) -> None:
        if not runs:
            console.out.print("No runs recorded yet.", markup=False)
            return
        from rcwiz.commands.job_tables import runs_table

        console.out.print(runs_table(runs))

    return Output({"runs": [run.as_dict() for run in runs]}, show)


# ------------------------------------------------------------------------------- schedule


def run_schedule(ctx: Context, args: argparse.Namespace) -> Output:
    given = args.daily is not None or args.cron is not None
    when = schedule.When(daily=args.daily, cron=args.cron) if given else None
    if args.remove:
        store.get(_path(ctx), args.name)  # a profile that exists
        done = job_schedule.remove(args.name, args.via)
    else:
        done = job_schedule.plan(ctx, args.name, when, args.via, args.time)
        if args.install:
            job_schedule.install(ctx, args.name, done)

    def show(console: Console) -> None:
        shown = [done.text.rstrip("\n")] + ([] if done.warning else [done.how])
        for line in done.done or shown:
            # A crontab line is copied whole: the terminal may wrap it, rich must not.
            console.out.print(line, markup=False, soft_wrap=line != done.how)
        if done.warning and not done.done:
            console.warn(done.warning)

    action = "removed" if args.remove else "installed" if args.install else "shown"
    data = {"job": args.name, "scheduler": done.via, "text": done.text, "action": action}
    return Output({**data, "done": done.done, "warning": done.warning}, show)
