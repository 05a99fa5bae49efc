"""Reports across remotes: used and free space of each at once, thresholds, monitoring states.

The numbers come from rcwiz.rclone.about (and, for Nextcloud, from its OCS API: see
rcwiz.quota.usage). A remote that cannot be asked is a row with the reason, not a failure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from rcwiz import errors, process
from rcwiz.clock import Clock
from rcwiz.rclone.about import Usage, about
from rcwiz.rclone.config import Configured
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


class Row(NamedTuple):
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
            return errors.by_kind(_REASONS, self.error, "failed: " + self.error.message)
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
    return usage._replace(total=total, free=max(0, total - usage.used))


def state_of(usage: Usage | None, warn: float, crit: float) -> str:
    pct = usage.percent_used if usage else None
    if pct is None:
        return "unknown"
    return "critical" if pct >= crit else "warning" if pct >= warn else "ok"


def usage_of(rclone: Rclone, name: str, configured: Configured | None) -> Usage:
    """The used and free space of remote NAME as the server knows it now.

    A Nextcloud remote is asked through OCS (rcwiz.nextcloud.account.usage: WebDAV's figures,
    which `rclone about` reads, are cached for minutes on production servers); a plain WebDAV
    remote by rcwiz's own PROPFIND (webdav_usage); `rclone about` answers for every other
    remote, and whenever those two cannot.
    """
    return (
        nextcloud_usage(name, configured, rclone.clock)
        or webdav_usage(rclone, name, configured)
        or about(rclone, f"{name}:")
    )


def webdav_usage(rclone: Rclone, name: str, configured: Configured | None) -> Usage | None:
    """Remote NAME's usage by rcwiz's own PROPFIND (rcwiz.quota.webdav: what `rclone about`
    asks a WebDAV server, without starting rclone); None when rclone must ask."""
    if configured is None or configured.remote(name) is None:
        return None
    from rcwiz.quota import webdav

    settings = configured.settings(name)
    if not webdav.askable(name, settings, {**os.environ, **rclone.env}):
        return None
    return webdav.usage(name, settings, rclone.clock)


def nextcloud_usage(name: str, configured: Configured | None, clock: Clock) -> Usage | None:
    """Remote NAME's usage from Nextcloud's OCS API; None when it is not a Nextcloud remote or
    the API gives no figures (then `rclone about` is the one to ask)."""
    remote = configured.remote(name) if configured is not None else None
    if configured is None or remote is None or remote.vendor != "nextcloud":
        return None
    from rcwiz.nextcloud.account import account_from, usage

    try:
        return usage(account_from(name, configured.settings(name), clock))
    except (errors.AuthenticationFailed, errors.ServerUnreachable):
        raise  # rclone would meet the same
    except errors.RcwizError:
        return None  # no figures from the API (disabled, another product): ask WebDAV


def gather(
    rclone: Rclone,
    names: Sequence[str],
    configured: Configured,
    *,
    warn: float,
    crit: float,
) -> list[Row]:
    """The usage of every remote in NAMES at once; a failure becomes a row, not a crash."""

    def one(name: str) -> Row:
        from rcwiz import presets  # YAML: only quota reports need the site presets

        remote = configured.remote(name)
        preset = presets.for_url(remote.url) if remote is not None and remote.url else None
        try:
            usage = with_preset(usage_of(rclone, name, configured), preset)
        except errors.RcwizError as exc:
            return Row(f"{name}:", error=exc, preset=preset)
        return Row(f"{name}:", usage=usage, preset=preset, state=state_of(usage, warn, crit))

    return process.each_at_once(one, names)


def overall_state(rows: Sequence[Row]) -> str:
    """The worst state: critical, then warning, then unknown, then ok."""
    states = {row.state for row in rows}
    for state in ("critical", "warning", "unknown"):
        if state in states:
            return state
    return "ok"
