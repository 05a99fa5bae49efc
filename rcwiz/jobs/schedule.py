"""Run a job on a timetable: a systemd user timer, a crontab line, or a Slurm scrontab entry.

On cluster login nodes user crontabs and systemd timers are often unavailable and the
scheduler is Slurm: `scrontab` runs an entry as a batch job (its `#SCRON` lines are sbatch
options: the job's name, its time limit, where its output goes).

The text is built by pure functions (tested as strings); installing writes the unit files or
edits the crontab through rcwiz.process. The scheduled command is `rcwiz job run NAME` with
absolute paths, and its output is plain timestamped lines (no terminal), for the journal or
a log file.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rcwiz import errors, files, paths, process
from rcwiz.jobs.model import Job
from rcwiz.rclone.config import is_remote

MARK = "# rcwiz job"  # ends every crontab line rcwiz writes, so it can find and remove them


@dataclass(frozen=True)
class When:
    daily: str | None = None  # HH:MM
    cron: str | None = None  # five-field cron expression

    def __post_init__(self) -> None:
        if (self.daily is None) == (self.cron is None):
            raise errors.UsageError("Give exactly one of --daily HH:MM or --cron EXPR.")
        if self.daily is not None and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", self.daily):
            raise errors.UsageError(f"--daily wants a time like 02:30, not '{self.daily}'.")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise errors.UsageError(
                f"--cron wants five fields (minute hour day month weekday), not '{self.cron}'."
            )

    def cron_fields(self) -> str:
        if self.cron is not None:
            return " ".join(self.cron.split())
        hour, minute = self.daily.split(":")  # type: ignore[union-attr]
        return f"{int(minute)} {int(hour)} * * *"


def command(
    name: str,
    jobs_file: Path,
    config: str | None,
    rclone: str | None = None,
    ca_cert: str | None = None,
) -> list[str]:
    """The command a schedule runs: this Python, this rcwiz, this jobs file, the rclone.conf
    (and the rclone binary and certificate authority, when given) in use now, as absolute
    paths: cron, systemd and Slurm start it with another environment (no RCLONE_CONFIG, no
    RCLONE_CA_CERT) in another folder."""
    argv = [sys.executable, "-m", "rcwiz", "--jobs", str(jobs_file.absolute())]
    for flag, value in (("--config", config), ("--rclone", rclone), ("--ca-cert", ca_cert)):
        if value:
            argv += [flag, str(Path(value).expanduser().absolute())]
    return [*argv, "job", "run", name]


def relative_paths(job: Job) -> list[tuple[str, str]]:
    """(key, path) of each local path of JOB that is relative: a scheduled run starts in
    another folder, where it is not found."""
    return [
        (key, value)
        for key, value in (("source", job.source), ("dest", job.dest))
        if not is_remote(value) and not os.path.isabs(os.path.expanduser(value))
    ]


def unit_name(name: str) -> str:
    return f"rcwiz-job-{name}"


def systemd_units(name: str, when: When, argv: list[str]) -> dict[str, str]:
    """The .service and .timer files for a systemd user timer (daily only)."""
    if when.daily is None:
        raise errors.UsageError("systemd timers are made from --daily; use --via cron for --cron.")
    unit = unit_name(name)
    service = (
        f"[Unit]\nDescription=rcwiz job {name}\n\n"
        f"[Service]\nType=oneshot\nExecStart={_systemd_escape(shlex.join(argv))}\n"
    )
    timer = (
        f"[Unit]\nDescription=Run rcwiz job {name} daily at {when.daily}\n\n"
        f"[Timer]\nOnCalendar=*-*-* {when.daily}:00\nPersistent=true\n\n"
        f"[Install]\nWantedBy=timers.target\n"
    )
    return {f"{unit}.service": service, f"{unit}.timer": timer}


def log_file(name: str) -> Path:
    return paths.state_dir() / "logs" / f"job-{name}.log"


def _systemd_escape(command: str) -> str:
    """systemd expands %-specifiers and $VARIABLES in ExecStart: keep them literal."""
    return command.replace("%", "%%").replace("$", "$$")


def crontab_line(name: str, when: When, argv: list[str]) -> str:
    log = shlex.quote(str(log_file(name)))
    # cron turns an unescaped % into a newline (the rest becomes the command's stdin).
    command = f"{shlex.join(argv)} >> {log} 2>&1".replace("%", "\\%")
    return f"{when.cron_fields()} {command} {MARK} {name}"


DEFAULT_TIME_LIMIT = "12:00:00"


def scrontab_entry(name: str, when: When, argv: list[str], time_limit: str) -> str:
    """The lines of a Slurm scrontab entry: #SCRON sbatch options, then the crontab line."""
    if not re.fullmatch(r"(\d+-)?\d{1,2}(:\d\d){0,2}", time_limit):
        raise errors.UsageError(
            f"--time wants a Slurm time limit like 02:00:00, not '{time_limit}'."
        )
    log = str(log_file(name))
    if "%" in log or any("%" in arg for arg in argv):
        raise errors.UsageError(
            "A path holds '%', which Slurm reads as a placeholder; scrontab cannot run it as is.",
            "Move the jobs file or rclone.conf to a path without '%', or use --via cron.",
        )
    return (
        f"#SCRON --job-name={unit_name(name)}\n"
        f"#SCRON --time={time_limit}\n"
        f"#SCRON --output={shlex.quote(log)}\n"
        f"#SCRON --open-mode=append\n"
        f"{when.cron_fields()} {shlex.join(argv)} {MARK} {name}\n"
    )


def systemd_dir() -> Path:
    return paths.config_dir().parent / "systemd" / "user"


# ------------------------------------------------------------------------------- which exist

SCHEDULERS = ("slurm", "systemd", "cron")  # the default is the first that works here


def missing(via: str) -> str | None:
    """Why scheduler VIA cannot be used here, in words; None when it can. systemd counts only
    with a user session to talk to: `systemctl --user` needs its bus, which a container, an
    ssh login without lingering or a cluster node often lacks ("Failed to connect to bus")."""
    if via == "slurm":
        return None if shutil.which("scrontab") else "scrontab is not installed here (no Slurm)"
    if via == "cron":
        return None if shutil.which("crontab") else "crontab is not installed here (no cron)"
    if not shutil.which("systemctl"):
        return "systemctl is not installed here (no systemd)"
    try:
        probe = process.run(["systemctl", "--user", "show-environment"], timeout=10)
    except (OSError, errors.RcwizError):
        probe = None
    if probe is None or probe.returncode != 0:
        said = probe.stderr.strip().splitlines()[0] if probe and probe.stderr.strip() else ""
        return "there is no systemd user session here" + (f" ({said})" if said else "")
    return None


def none_here(name: str, reasons: dict[str, str]) -> str:
    """What to do when no scheduler works here: REASONS says why, per scheduler."""
    return (
        f"No scheduler works here: {'; '.join(reasons.values())}. Add the text 'rcwiz job "
        f"schedule' prints on a machine that has one, ask your administrator for cron, or have "
        f"a scheduler you have run 'rcwiz job run {name}'."
    )


# ------------------------------------------------------------------------------- install


def _run(argv: list[str], input: str | None = None) -> process.Completed:
    try:
        return process.run(argv, input=input, timeout=30)
    except FileNotFoundError as exc:
        raise errors.SchedulerFailed(f"'{argv[0]}' is not installed here.") from exc


def install_systemd(name: str, units: dict[str, str]) -> list[Path]:
    """Write the unit files and enable the timer (the caller has checked `missing`)."""
    folder = systemd_dir()
    written = []
    for filename, text in units.items():
        target = folder / filename
        files.write_private(target, text)
        written.append(target)
    for argv in (
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", f"{unit_name(name)}.timer"],
    ):
        done = _run(argv)
        if done.returncode != 0:
            raise errors.SchedulerFailed(
                f"'{' '.join(argv)}' failed: {done.stderr.strip()}",
                "The unit files are written; enable the timer by hand.",
            )
    return written


def remove_systemd(name: str) -> list[Path]:
    _run(["systemctl", "--user", "disable", "--now", f"{unit_name(name)}.timer"])
    removed = []
    for suffix in (".timer", ".service"):
        target = systemd_dir() / f"{unit_name(name)}{suffix}"
        if target.exists():
            target.unlink()
            removed.append(target)
    _run(["systemctl", "--user", "daemon-reload"])
    return removed


def _current_crontab(program: str = "crontab") -> str:
    done = _run([program, "-l"])
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return ""
        raise errors.SchedulerFailed(f"'{program} -l' failed: {done.stderr.strip()}")
    return done.stdout


def _is_ours(line: str, name: str) -> bool:
    return line.rstrip().endswith(f"{MARK} {name}")


def install_cron(name: str, line: str) -> None:
    kept = [row for row in _current_crontab().splitlines() if not _is_ours(row, name)]
    _write_crontab([*kept, line])


def remove_cron(name: str) -> bool:
    rows = _current_crontab().splitlines()
    kept = [row for row in rows if not _is_ours(row, name)]
    if len(kept) != len(rows):
        _write_crontab(kept)
    return len(kept) != len(rows)


def _write_crontab(rows: list[str]) -> None:
    done = _run(["crontab", "-"], input="".join(row + "\n" for row in rows))
    if done.returncode != 0:
        raise errors.SchedulerFailed(f"'crontab -' failed: {done.stderr.strip()}")


# ------------------------------------------------------------------------------- Slurm


def has_slurm() -> bool:
    return shutil.which("scrontab") is not None


def _without_entry(rows: list[str], name: str) -> list[str]:
    """ROWS without job NAME's entry: its line and the #SCRON lines right above it."""
    kept: list[str] = []
    for row in rows:
        if _is_ours(row, name):
            while kept and kept[-1].startswith("#SCRON"):
                kept.pop()
            continue
        kept.append(row)
    return kept


def install_scrontab(name: str, entry: str) -> None:
    if not has_slurm():
        raise errors.SchedulerFailed(
            "scrontab is not installed here (no Slurm), so the entry cannot be installed.",
            "Use --via cron or --via systemd, or add the printed entry on a Slurm login node.",
        )
    rows = _without_entry(_current_crontab("scrontab").splitlines(), name)
    _write_scrontab([*rows, *entry.splitlines()])


def remove_scrontab(name: str) -> bool:
    if not has_slurm():
        raise errors.SchedulerFailed("scrontab is not installed here (no Slurm).")
    rows = _current_crontab("scrontab").splitlines()
    kept = _without_entry(rows, name)
    if kept != rows:
        _write_scrontab(kept)
    return kept != rows


def _write_scrontab(rows: list[str]) -> None:
    """scrontab takes a file (it replaces the user's whole scrontab with it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".scrontab", delete=False) as handle:
        handle.write("".join(row + "\n" for row in rows))
    try:
        done = _run(["scrontab", handle.name])
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        raise errors.SchedulerFailed(f"'scrontab' refused the entry: {done.stderr.strip()}")
