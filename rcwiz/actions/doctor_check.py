"""One row of `rcwiz doctor` (Check) and its statuses, shared by the local checks
(rcwiz.actions.doctor) and the remotes' (rcwiz.actions.doctor_remote)."""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    """A check's row: its name, status, what it found and, when not ok, what to do."""

    check: str
    status: str  # ok, warn, fail
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "check": self.check,
            "status": self.status,
            "detail": self.detail,
            "hint": self.hint,
        }
