"""Used and free space of remotes, from `rclone about --json`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from rcwiz import errors
from rcwiz.rclone.argv import about_argv
from rcwiz.rclone.execute import Rclone


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


def about(
    rclone: Rclone,
    remote: str,
    *,
    secret_env: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    target: str | None = None,
) -> Usage:
    """Ask the server behind REMOTE how much space is used and free."""
    result = rclone.run(
        [*about_argv(remote), *extra], secret_env=secret_env, target=target or remote
    )
    try:
        data = json.loads(result.stdout or "{}")
    except ValueError as exc:
        raise errors.RcloneFailed("rclone about did not print JSON.", detail=result.stdout) from exc
    if not isinstance(data, dict):
        data = {}
    return Usage(
        remote=remote,
        **{k: _bytes(data.get(k)) for k in ("total", "used", "free", "trashed", "other")},
    )
