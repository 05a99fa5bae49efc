"""`rcwiz job schedule NAME`: a profile's run put on a timetable, by the scheduler that works
here (Slurm's scrontab, a systemd user timer, a crontab line), or printed for one elsewhere.

Which schedulers work is asked first (rcwiz.jobs.schedule.missing): the default is the first
that does, a chosen one that does not is said before anything is written, and when none does
the text is printed with what to do instead. --remove needs no time and, without --via,
removes the profile's schedule from every scheduler that works here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.jobs import schedule, store
from rcwiz.rclone.binary import beside_python as rclone_beside_python
from rcwiz.rclone.config import config_path

if TYPE_CHECKING:
    from rcwiz.context import Context


@dataclass
class Scheduled:
    via: str
    text: str  # the unit files, crontab line or scrontab entry ("" for a removal)
    how: str  # how to install it by hand
    done: list[str]  # what --install / --remove did, one line each
    warning: str | None = None  # the chosen scheduler does not work here: what to do
    units: dict[str, str] = field(default_factory=dict)  # systemd's files, by name


def plan(
    ctx: Context, name: str, when: schedule.When | None, via: str | None, time_limit: str
) -> Scheduled:
    """The text for NAME's schedule by VIA (or the first scheduler that works here); with
    Slurm, TIME_LIMIT is the batch job's."""
    path = store.jobs_path(ctx.jobs)
    job = store.get(path, name)
    relative = schedule.relative_paths(job)
    if relative:
        key, value = relative[0]
        raise errors.UsageError(
            f"Job '{job.name}' has a relative {key} ({value}); a scheduled run starts in "
            "another folder, where it would not be found, so it was not scheduled.",
            f"Make it absolute in {path} ('rcwiz job edit'), for example "
            f"{key}: {os.path.abspath(os.path.expanduser(value))}",
        )
    if when is None:
        raise errors.UsageError("Say when: --daily HH:MM or --cron EXPR (--remove needs neither).")
    reasons: dict[str, str] = {}
    if via is None:
        for candidate in schedule.SCHEDULERS:
            if candidate == "systemd" and when.daily is None:
                continue  # timers are made from --daily only
            reason = schedule.missing(candidate)
            if reason is None:
                via = candidate
                break
            reasons[candidate] = reason
    warning = None
    if via is None:  # none works here: print the most portable text, and say what to do
        via, warning = "cron", schedule.none_here(name, reasons)
    elif (reason := schedule.missing(via)) is not None:
        warning = f"{reason}: the text above is for a machine that has it (--install needs it)."
    ca_cert = ctx.clock.ca_cert  # --ca-cert, else RCLONE_CA_CERT (cli)
    argv = schedule.command(name, path, _config_in_use(ctx), _rclone_given(ctx), ca_cert)
    units: dict[str, str] = {}
    if via == "systemd":
        units = schedule.systemd_units(name, when, argv)
        text = "".join(f"# {schedule.systemd_dir() / f}\n{unit}" for f, unit in units.items())
        how = (
            "Install with --install (or copy these files and run 'systemctl --user enable "
            f"--now {schedule.unit_name(name)}.timer')."
        )
    elif via == "slurm":
        text = schedule.scrontab_entry(name, when, argv, time_limit)
        how = "Install with --install (or add these lines with 'scrontab -e')."
    else:
        text = schedule.crontab_line(name, when, argv) + "\n"
        how = "Install with --install (or add the line with 'crontab -e')."
    return Scheduled(via, text, how, [], warning, units)


def install(ctx: Context, name: str, planned: Scheduled) -> Scheduled:
    """Install PLANNED; a scheduler that does not work here writes nothing and says why."""
    reason = schedule.missing(planned.via)
    if reason is not None:
        reasons = {v: schedule.missing(v) for v in schedule.SCHEDULERS if v != planned.via}
        others = [v for v, why in reasons.items() if why is None]
        raise errors.SchedulerFailed(
            f"{reason}, so nothing was installed.",
            f"Use --via {others[0]}, which works here."
            if others
            else schedule.none_here(name, {planned.via: reason, **_said(reasons)}),
        )
    if planned.via == "systemd":
        planned.done = [f"wrote {p}" for p in schedule.install_systemd(name, planned.units)]
        planned.done.append(f"enabled {schedule.unit_name(name)}.timer")
    elif planned.via == "slurm":
        schedule.install_scrontab(name, planned.text)
        planned.done = ["installed in your scrontab (Slurm runs it as a batch job):"]
        planned.done.append(planned.text.rstrip())
    else:
        schedule.install_cron(name, planned.text.rstrip("\n"))
        planned.done = ["installed in your crontab:", planned.text.rstrip("\n")]
    return planned


def _said(reasons: dict[str, str | None]) -> dict[str, str]:
    return {via: why for via, why in reasons.items() if why is not None}


def remove(name: str, via: str | None) -> Scheduled:
    """Remove NAME's schedule from VIA, or from every scheduler that works here."""
    done: list[str] = []
    chosen = [via] if via else [v for v in schedule.SCHEDULERS if schedule.missing(v) is None]
    if via and (reason := schedule.missing(via)) is not None:
        raise errors.SchedulerFailed(f"{reason}, so there is nothing of it to remove.", "")
    for each in chosen:
        if each == "systemd":
            removed = schedule.remove_systemd(name)
            done += [f"removed {p}" for p in removed] or ["no systemd timer to remove"]
        elif each == "slurm":
            had = schedule.remove_scrontab(name)
            done.append("removed the scrontab entry" if had else "no scrontab entry to remove")
        else:
            had = schedule.remove_cron(name)
            done.append("removed the crontab line" if had else "no crontab line to remove")
    if not chosen:
        done = ["No scheduler works here, so there is no schedule to remove."]
    return Scheduled(via or ",".join(chosen) or "none", "", "", done)


def _config_in_use(ctx: Context) -> str:
    """The rclone.conf this run uses: --config, else RCLONE_CONFIG, else rclone's own default
    (asked of rclone: it depends on HOME and XDG_CONFIG_HOME, which a scheduler may set
    differently)."""
    return ctx.config or os.environ.get("RCLONE_CONFIG") or config_path(ctx.rclone)


def _rclone_given(ctx: Context) -> str | None:
    """The rclone binary to name in a schedule: the one given (--rclone, RCLONE_BINARY) or
    found on PATH (a scheduler's PATH is shorter); None for the one beside rcwiz's Python,
    which a schedule finds the same way."""
    binary = ctx.rclone.binary
    given = ctx.rclone_path or os.environ.get("RCLONE_BINARY")
    return str(binary) if given or binary != rclone_beside_python() else None
