"""Reports across remotes: used and free space of each at once, thresholds, monitoring states.

The numbers come from rcwiz.rclone.about (and, for Nextcloud, from its OCS API: see
rcwiz.quota.usage). A remote that cannot be asked is a row with the reason, not a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rcwiz import errors, process
from rcwiz.rclone.about import ABOUT_FLAGS, Usage, about
from rcwiz.rclone.run import Rclone

if TYPE_CHECKING:
    from rcwiz.presets import Preset

# Percent used at which a remote is a warning and critical (rcwiz quota --warn / --crit).
WARN_PERCENT = 80.0
CRIT_PERCENT = 95.0

_REASONS = {
    errors.ServerUnreachable: "unreachable",
    errors.AuthenticationFailed: "authentication failed",
    errors.RemoteNotFound: "no such remote",
    errors.DirectoryNotFound: "not found",
    errors.ConfigError: "rclone.conf cannot be read",
    errors.AboutUnsupported: "cannot report its space",
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
    return Usage(
        usage.remote, total, usage.used, max(0, total - usage.used), usage.trashed, usage.other
    )


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
    """`rclone about` for every (remote, url) pair at once; a failure becomes a row, not a crash."""

    def one(pair: tuple[str, str]) -> Row:
        from rcwiz import presets  # YAML: only quota reports need the site presets

        remote, url = pair
        preset = presets.for_url(url) if url else None
        try:
            usage = with_preset(about(rclone, remote, extra=ABOUT_FLAGS), preset)
        except errors.RcwizError as exc:
            return Row(remote, error=exc, preset=preset)
        return Row(remote, usage=usage, preset=preset, state=state_of(usage, warn, crit))

    return process.each_at_once(one, remotes)


def overall_state(rows: Sequence[Row]) -> str:
    """The worst state: critical, then warning, then unknown, then ok."""
    states = {row.state for row in rows}
    for state in ("critical", "warning", "unknown"):
        if state in states:
            return state
    return "ok"
