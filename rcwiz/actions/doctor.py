"""The checks of `rcwiz doctor`: rclone, rclone.conf, each remote, the disk and the jobs file.

Every check becomes one row: a name, a status (ok, warn, fail), a detail and, when it is not
ok, a hint. A check that cannot run is a row too, never a crash: a missing rclone is a failed
row, and the checks that need it are skipped. The exit code is 0 when nothing failed (warnings
pass) and 1 (ExitCode.FAILURE) when at least one check failed.

The remotes' checks (one `rclone about` each, the server's clock, upload sessions left) are
rcwiz.actions.doctor_remote's; a row is a rcwiz.actions.doctor_check.Check.

Nothing here prints a password: remote settings are read through rcwiz.rclone.config (which drops
secrets) and user:password@ in a URL is never shown.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from rcwiz import errors, files
from rcwiz.actions import doctor_remote
from rcwiz.actions.doctor_check import FAIL, OK, WARN, Check
from rcwiz.jobs import store
from rcwiz.jobs.model import Job, local_path
from rcwiz.rclone import config as conf
from rcwiz.rclone import config_edit
from rcwiz.rclone.run import Rclone
from rcwiz.ui import format as fmt
from rcwiz.ui.console import escape_control

if TYPE_CHECKING:
    from rcwiz.context import Context

MIN_FREE_DISK = 2**30  # warn below 1 GiB free


# --------------------------------------------------------------------------------- rclone


def check_rclone(ctx: Context) -> tuple[Check, Rclone | None]:
    try:
        rclone = ctx.rclone
    except errors.RcloneMissing as exc:
        return Check("rclone", FAIL, exc.message, exc.hint or None), None
    version = ".".join(map(str, rclone.version)) if rclone.version else "unknown version"
    return Check("rclone", OK, f"{rclone.binary} (rclone v{version})"), rclone


# --------------------------------------------------------------------------------- rclone.conf


def _default_config(ctx: Context) -> str:
    """Where rclone would look without being asked (used when rclone itself is missing)."""
    if ctx.config:
        return ctx.config
    if os.environ.get("RCLONE_CONFIG"):
        return os.environ["RCLONE_CONFIG"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join("~", ".config")
    return os.path.join(base, "rclone", "rclone.conf")


def config_location(ctx: Context, rclone: Rclone | None) -> Path:
    where = ""
    if rclone is not None:
        try:
            where = conf.config_path(rclone)
        except errors.RcwizError:
            where = ""
    return Path(where or _default_config(ctx)).expanduser().absolute()


def check_config(path: Path, *, named: bool = False) -> list[Check]:
    """Where rclone.conf is, whether others can read it, whether it is encrypted."""
    try:
        info = path.stat()
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", errors="replace")
    except FileNotFoundError:
        if named:  # --config or RCLONE_CONFIG names it: more likely a typo than no remotes
            return [
                Check(
                    "config file",
                    FAIL,
                    f"{path} does not exist",
                    "Check the path given with --config or RCLONE_CONFIG.",
                )
            ]
        return [
            Check(
                "config file",
                WARN,
                f"{path} does not exist yet (no remotes configured)",
                "Create a remote with 'rcwiz setup'.",
            )
        ]
    except OSError as exc:
        return [
            Check(
                "config file",
                FAIL,
                f"{path} cannot be read: {exc.strerror or exc}",
                "Check the file's owner and permissions, or point to another with --config.",
            )
        ]
    checks = [Check("config file", OK, str(path))]
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        checks.append(
            Check(
                "config permissions",
                WARN,
                f"mode {mode:04o}: other users can read it (passwords are only obscured)",
                f"chmod 600 {path}",
            )
        )
    else:
        checks.append(Check("config permissions", OK, f"mode {mode:04o} (only you can read it)"))
    checks += _writable_check("config", path)
    if not config_edit.is_encrypted(head):
        checks.append(Check("config encryption", OK, "not encrypted"))
    elif os.environ.get("RCLONE_CONFIG_PASS") or os.environ.get("RCLONE_PASSWORD_COMMAND"):
        checks.append(Check("config encryption", OK, "encrypted; RCLONE_CONFIG_PASS is set"))
    else:
        checks.append(
            Check(
                "config encryption",
                FAIL,
                "encrypted, and RCLONE_CONFIG_PASS is not set: rclone cannot read it",
                "Set RCLONE_CONFIG_PASS to the configuration password (rcwiz never prompts "
                "for it).",
            )
        )
    return checks


# --------------------------------------------------------------------------------- local


def check_disk(label: str, folder: str) -> Check:
    try:
        usage = psutil.disk_usage(folder)
    except OSError as exc:
        return Check(label, WARN, f"{folder}: cannot be measured: {exc.strerror or exc}")
    detail = f"{fmt.size(usage.free)} free of {fmt.size(usage.total)} at {folder}"
    if usage.free < MIN_FREE_DISK:
        return Check(
            label,
            WARN,
            detail,
            "Less than 1 GiB free: downloads and rclone's temporary files may not fit; "
            "free some space, or set TMPDIR to a larger folder.",
        )
    return Check(label, OK, detail)


def check_jobs(explicit: str | None) -> tuple[Check, dict[str, Job]]:
    """The jobs file's row, and its profiles (none when it is missing or has problems)."""
    path = store.jobs_path(explicit)
    if not path.exists():
        return Check("jobs file", OK, f"no jobs file ({path})"), {}
    try:
        jobs = store.load(path)
    except errors.RcwizError as exc:
        problems = getattr(exc, "problems", None) or []
        first = str(problems[0]) if problems else exc.message
        count = len(problems) or 1
        return Check(
            "jobs file",
            FAIL,
            f"{path}: {count} problem{'' if count == 1 else 's'}; the first: {first}",
            "See every problem with 'rcwiz job validate'; fix them with 'rcwiz job edit'.",
        ), {}
    profiles = f"{len(jobs)} profile{'' if len(jobs) == 1 else 's'}"
    return Check("jobs file", OK, f"{profiles} in {path}"), jobs


# The config rows whose failure means rclone cannot read rclone.conf (one that others could
# write is read all the same: its remotes are checked too).
_RCLONE_READS = ("config file", "config encryption")


def _writable_check(label: str, path: Path) -> list[Check]:
    """A FAIL row, with the chmod that fixes it, when another user could change PATH."""
    found = files.writable_by_others(path)
    if found is None:
        return []
    why, fix = found
    return [Check(f"{label} writable by others", FAIL, f"{why}: job hooks are refused", fix)]


# --------------------------------------------------------------------------------- the command


def checks(ctx: Context, names: list[str]) -> list[Check]:
    rclone_row, rclone = check_rclone(ctx)
    rows = [rclone_row]
    named = bool(ctx.config or os.environ.get("RCLONE_CONFIG"))
    config_rows = check_config(config_location(ctx, rclone), named=named)
    rows += config_rows
    if rclone is None:
        rows.append(Check("remotes", WARN, "not checked: they need rclone"))
    elif any(row.status == FAIL and row.check in _RCLONE_READS for row in config_rows):
        rows.append(Check("remotes", WARN, "not checked: rclone cannot read rclone.conf"))
    else:
        rows += doctor_remote.check_remotes(rclone, names)
    try:
        here = os.getcwd()
    except OSError:
        here = "."
    rows.append(check_disk("disk: current folder", here))
    rows.append(check_disk("disk: temporary folder", tempfile.gettempdir()))
    jobs_row, jobs = check_jobs(ctx.jobs)
    rows.append(jobs_row)
    rows += _writable_check("jobs file", store.jobs_path(ctx.jobs))
    rows.append(check_partials())
    rows.append(check_rclone_partials([here, *_local_destinations(jobs)], ctx.clock.stall))
    return rows


def check_partials() -> Check:
    """Partial downloads kept for a resume (rcwiz.transfer.partials): each named, a warning
    (they hold disk space until the transfer runs again, or they grow stale and are removed)."""
    from rcwiz.transfer import partials

    found = partials.found()
    if not found:
        return Check("partial downloads", OK, "none kept")
    names = "; ".join(
        f"{r.partial} ({fmt.size(r.good_bytes)} of {fmt.size(r.size)})" for r in found
    )
    days = partials.max_age() / 86400
    hint = (
        "Run the same transfer again to finish them; they are removed when the file is gone "
        f"from the server, or after {days:g} days unused (RCWIZ_PARTIAL_DAYS)."
    )
    return Check("partial downloads", WARN, f"{len(found)} kept: {names}", hint)


def check_rclone_partials(folders: list[str], stall: float) -> Check:
    """The partial files rclone left (rcwiz.rclone.leftovers: `NAME.XXXXXXXX.partial`, never
    reused by any run) anywhere below FOLDERS: the current folder and the jobs' local
    destinations, the only places doctor knows downloads go to (a copy's destination is not
    recorded). One unchanged for less than STALL seconds may be a running transfer's: not
    named. A warning, each named: they hold disk space until removed."""
    from rcwiz.rclone import leftovers

    unique = list(dict.fromkeys(os.path.abspath(f) for f in folders))
    left, whole = leftovers.under([Path(f) for f in unique], time.time() - stall)
    where = "; ".join(escape_control(f) for f in unique)
    looked = "" if whole else f" (only the first {leftovers.MOST_ENTRIES:,} entries read)"
    if not left:
        return Check("rclone's partial files", OK, f"none under {where}{looked}")
    names = "; ".join(f"{escape_control(str(p))} ({fmt.size(size)})" for p, size in left)
    total = fmt.size(sum(size for _, size in left))
    return Check(
        "rclone's partial files",
        WARN,
        f"{len(left)} left ({total}): {names}{looked}",
        "rclone leaves them when its run is hung up or killed, and no run reuses them: "
        "remove them once no transfer into that folder is running.",
    )


def _local_destinations(jobs: dict[str, Job]) -> list[str]:
    """The jobs' destinations on this machine (where rclone may have left partial files)."""
    return [local_path(job.dest) for job in jobs.values() if not conf.is_remote(job.dest)]
