"""`rclone about`: used and free space of a remote, as a Usage.

A backend that cannot say (rclone: "doesn't support about") raises AboutUnsupported, so a
caller tells "no quota to check" from a failure by the error's type, never by its words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from rcwiz.rclone.run import Pending, Rclone, Result, bounded_flags


def about_flags(timeout: float) -> tuple[str, ...]:
    """A dead or hung server must not hold `about` for rclone's default retries (minutes)."""
    return bounded_flags(min(10.0, timeout), timeout, low_level_retries=2)


def about_argv(remote: str) -> tuple[str, ...]:
    return ("about", remote, "--json")


class Usage(NamedTuple):
    """One remote's numbers in bytes; None where the server does not say."""

    remote: str
    total: int | None = None
    used: int | None = None
    free: int | None = None
    trashed: int | None = None
    other: int | None = None
    source: str = "rclone about"  # what answered: "rclone about" or "ocs" (Nextcloud's API)

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
        data: dict[str, object] = self._asdict()
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
    """`about`, started now and read later. It ends within the Rclone's timeout: a server that
    does not answer by then is errors.Stalled (exit 6)."""

    def usage(result: Result) -> Usage:
        data = result.json("about", "{}")
        if not isinstance(data, dict):
            data = {}
        get = data.get
        return Usage(
            remote,
            _bytes(get("total")),
            _bytes(get("used")),
            _bytes(get("free")),
            _bytes(get("trashed")),
            _bytes(get("other")),
        )

    args = [*about_argv(remote), *about_flags(rclone.timeout), *extra]
    pending = rclone.begin(
        args, secret_env=secret_env, target=target or remote, timeout=rclone.timeout
    )
    return pending.then(usage)
