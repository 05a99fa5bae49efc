"""Used and free space of remotes, from `rclone about --json`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rcwiz import errors, process
from rcwiz.rclone.argv import about_argv
from rcwiz.rclone.execute import Pending, Rclone, Result

if TYPE_CHECKING:
    from rcwiz.presets import Preset


@dataclass(frozen=True)
class Usage:
    """One remote's numbers in bytes; None where the server does not say."""

    remote: str
    total: int | None = None
    used: int | None = None
    free: int | None = None
    trashed: int | None = None
    other: int | None = None

    @property
    def reported(self) -> bool:
        return self.total is not None or self.free is not None

    @property
    def percent_used(self) -> float | None:
        if self.used is None:
            return None
        total = (
            self.total if self.total else (self.used + self.free if self.free is not None else None)
        )
        return None if not total else min(100.0, 100.0 * self.used / total)

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["percent_used"] = None if self.percent_used is None else round(self.percent_used, 2)
        return data


def _bytes(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def about(rclone: Rclone, remote: str, **options: Any) -> Usage:
    """Ask the server behind REMOTE how much space is used and free (begin_about's options)."""
    return begin_about(rclone, remote, **options).result()


def begin_about(
    rclone: Rclone,
    remote: str,
    *,
    secret_env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    target: str | None = None,
) -> Pending[Usage]:
    """`about`, started now and read later."""

    def usage(result: Result) -> Usage:
        try:
            data = json.loads(result.stdout or "{}")
        except ValueError as exc:
            raise errors.RcloneFailed(
                "rclone about did not print JSON.", detail=result.stdout
            ) from exc
        if not isinstance(data, dict):
            data = {}
        return Usage(
            remote=remote,
            **{k: _bytes(data.get(k)) for k in ("total", "used", "free", "trashed", "other")},
        )

    pending = rclone.begin(
        [*about_argv(remote), *extra], secret_env=secret_env, target=target or remote
    )
    return pending.then(usage)


# ---------------------------------------------------------------------------------------------
# Reports across remotes: concurrent `about`, thresholds, monitoring states.

# A dead server must not hold the whole report for rclone's default retries.
ABOUT_FLAGS = ("--contimeout", "10s", "--timeout", "30s", "--low-level-retries", "2",
               "--retries", "1")  # fmt: skip
MAX_PARALLEL = 8

_REASONS = {
    errors.ServerUnreachable: "unreachable",
    errors.AuthenticationFailed: "authentication failed",
    errors.RemoteNotFound: "no such remote",
    errors.DirectoryNotFound: "not found",
    errors.ConfigError: "rclone.conf cannot be read",
}

# Monitoring plugin convention (Nagios, Icinga, Sensu...): exit code per state.
STATES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


@dataclass
class Row:
    """One remote in a quota report: its numbers, or why there are none."""

    remote: str
    usage: Usage | None = None
    error: errors.RcwizError | None = None
    preset: Preset | None = None
    state: str = "unknown"  # ok, warning, critical, unknown

    @property
    def problem(self) -> str | None:
        """Why this row has no numbers, in a few words (the full sentence is `error`)."""
        if self.error is not None:
            return _REASONS.get(type(self.error), "failed: " + self.error.message)
        if self.usage is not None and self.usage.percent_used is None:
            return "no quota reported"
        return None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"remote": self.remote, "state": self.state}
        data.update(self.usage.as_dict() if self.usage else Usage(self.remote).as_dict())
        data["remote"] = self.remote
        data["problem"] = self.problem
        data["error"] = self.error.message if self.error else None
        data["preset"] = self.preset.name if self.preset else None
        return data


def with_preset(usage: Usage, preset: Preset | None) -> Usage:
    """Fill in the total from the preset when the site's quota is fixed and the server is silent."""
    if preset is None or not preset.quota_bytes or usage.total or usage.used is None:
        return usage
    total = preset.quota_bytes
    return Usage(usage.remote, total, usage.used, max(0, total - usage.used), usage.trashed,
                 usage.other)  # fmt: skip


def state_of(usage: Usage | None, warn: float, crit: float) -> str:
    pct = usage.percent_used if usage else None
    if pct is None:
        return "unknown"
    return "critical" if pct >= crit else "warning" if pct >= warn else "ok"


def gather(
    rclone: Rclone,
    remotes: Sequence[tuple[str, str]],
    *,
    warn: float,
    crit: float,
) -> list[Row]:
    """`rclone about` for every (remote, url) pair at once; a failure becomes a row, not a crash.

    Each worker thread starts its rclone and waits for it (children die with the thread that
    started them, see rcwiz.process).
    """

    def one(remote: str, url: str) -> Row:
        from rcwiz import presets  # YAML: only quota reports need the site presets

        preset = presets.for_url(url) if url else None
        try:
            usage = with_preset(about(rclone, remote, extra=ABOUT_FLAGS), preset)
        except errors.RcwizError as exc:
            return Row(remote, error=exc, preset=preset)
        return Row(remote, usage=usage, preset=preset, state=state_of(usage, warn, crit))

    if not remotes:
        return []
    from concurrent.futures import ThreadPoolExecutor  # only reports across remotes

    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(remotes)))
    try:
        futures = [pool.submit(one, remote, url) for remote, url in remotes]
        return [future.result() for future in futures]
    except BaseException:
        process.terminate_all()  # Ctrl-C: stop every rclone before the threads are joined
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def overall_state(rows: Sequence[Row]) -> str:
    """The worst state: critical, then warning, then unknown, then ok."""
    states = {row.state for row in rows}
    for state in ("critical", "warning", "unknown"):
        if state in states:
            return state
    return "ok"
