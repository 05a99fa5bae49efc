"""Run a job on a timetable: a systemd user timer or a crontab line.

The text is built by pure functions (tested as strings); installing writes the unit files or
edits the crontab through rcwiz.process. The scheduled command is `rcwiz job run NAME` with
absolute paths, and its output is plain timestamped lines (no terminal), for the journal or
a log file.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from rcwiz import errors, paths, process

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


def command(name: str, jobs_file: Path, config: str | None) -> list[str]:
    """The command a schedule runs: this Python, this rcwiz, this jobs file, absolute paths."""
    argv = [sys.executable, "-m", "rcwiz", "--jobs", str(jobs_file.absolute())]
    if config:
        argv += ["--config", str(Path(config).expanduser().absolute())]
    return [*argv, "job", "run", name]


def unit_name(name: str) -> str:
    return f"rcwiz-job-{name}"


def systemd_units(name: str, when: When, argv: list[str]) -> dict[str, str]:
    """The .service and .timer files for a systemd user timer (daily only)."""
    if when.daily is None:
        raise errors.UsageError("systemd timers are made from --daily; use --via cron for --cron.")
    unit = unit_name(name)
    service = (
        f"[Unit]\nDescription=rcwiz job {name}\n\n"
        f"[Service]\nType=oneshot\nExecStart={shlex.join(argv)}\n"
    )
    timer = (
        f"[Unit]\nDescription=Run rcwiz job {name} daily at {when.daily}\n\n"
        f"[Timer]\nOnCalendar=*-*-* {when.daily}:00\nPersistent=true\n\n"
        f"[Install]\nWantedBy=timers.target\n"
    )
    return {f"{unit}.service": service, f"{unit}.timer": timer}


def log_file(name: str) -> Path:
    return paths.state_dir() / "logs" / f"job-{name}.log"


def crontab_line(name: str, when: When, argv: list[str]) -> str:
    log = shlex.quote(str(log_file(name)))
    return f"{when.cron_fields()} {shlex.join(argv)} >> {log} 2>&1 {MARK} {name}"


def systemd_dir() -> Path:
    return paths.config_dir().parent / "systemd" / "user"


# ------------------------------------------------------------------------------- install


def _run(argv: list[str], input: str | None = None) -> process.Completed:
    try:
        return process.run(argv, input=input, timeout=30)
    except FileNotFoundError as exc:
        raise errors.SchedulerFailed(f"'{argv[0]}' is not installed here.") from exc


def install_systemd(name: str, units: dict[str, str]) -> list[Path]:
    folder = systemd_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in units.items():
        target = folder / filename
        target.write_text(text, encoding="utf-8")
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


def _current_crontab() -> str:
    done = _run(["crontab", "-l"])
    if done.returncode != 0:
        if "no crontab" in done.stderr.lower():
            return ""
        raise errors.SchedulerFailed(f"'crontab -l' failed: {done.stderr.strip()}")
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
