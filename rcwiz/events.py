"""What a transfer reports, as data the displays draw: the events rclone's JSON log becomes
(parsed by rcwiz.rclone.events) and rcwiz's fast paths make alike, the start of a run, and
the short words people see for a failure's text (`reason`).

Imported by rclone's parser, the engine, the fast paths, the counting (rcwiz.counting) and
the displays (rcwiz.ui.progress, rcwiz.ui.live), so that the displays need neither the
engine nor the rclone layer; it imports nothing of rcwiz.

They are NamedTuples, not frozen dataclasses: a dataclass compiles its methods (__init__,
__eq__, __hash__, ...) from source each time rcwiz starts, ~2.5 M instructions a class, and
a copy's start-up is a goal (issue 26; tests/e2e/test_copy_imports.py). Nothing here needs a
dataclass's features (replace, asdict, inheritance).
"""

from __future__ import annotations

import functools
import re
from typing import Literal, NamedTuple


class Expected(NamedTuple):
    """Totals known before the run (from a pre-flight size), so the bar is right from the start."""

    bytes: int
    files: int


class Start(NamedTuple):
    """A run begins: what the display says in its first line."""

    verb: str
    source: str
    dest: str
    dry_run: bool
    tuning: tuple[str, ...]  # the flags rcwiz adds to rclone (announced when rclone runs)
    argv: tuple[str, ...]  # rclone's command line; () when a fast path starts the run
    log_path: str  # "" when no log is kept
    via: str = "rclone"  # or the fast path that starts the run ("bulk-upload", ...)


class InFlight(NamedTuple):
    """One file being transferred right now (an entry of stats.transferring)."""

    name: str
    size: int  # -1 when rclone does not know it (a stream)
    bytes: int
    percentage: int
    speed: float
    eta: float | None
    # Of `bytes`, those an earlier, interrupted run had moved (a kept upload session's chunks,
    # a partial download's bytes on disk): the file's position, not this run's work.
    resumed: int = 0


class Progress(NamedTuple):
    """One stats line. Totals grow while rclone is still listing; after a failed transfer
    rclone drops that file from both bytes totals (a failed run can end at "100%")."""

    bytes: int
    total_bytes: int
    speed: float
    eta: float | None
    transfers: int
    total_transfers: int
    checks: int
    total_checks: int
    listed: int
    errors: int
    elapsed: float
    fatal_error: bool
    retry_error: bool
    last_error: str | None
    transferring: tuple[InFlight, ...]
    deletes: int = 0  # files deleted (or, with --dry-run, that would be)
    deleted_dirs: int = 0
    renames: int = 0  # files moved (server-side moves, or local files removed by `move`)
    server_side_copies: int = 0
    server_side_copy_bytes: int = 0
    server_side_moves: int = 0
    server_side_move_bytes: int = 0

    @property
    def percent(self) -> float:
        """Bytes done as a share of the total so far, between 0 and 100."""
        if self.total_bytes <= 0:
            return 0.0
        return max(0.0, min(100.0, 100.0 * self.bytes / self.total_bytes))


# What became of one file, by rclone's words (the table above).
FileOutcome = Literal[
    "new", "replaced", "copied", "moved", "deleted", "backed_up", "skipped", "failed"
]

# rclone's outcomes of a file that arrived (FileDone.outcome; "moved" counts only for a move).
DONE_OUTCOMES = ("new", "replaced", "copied", "moved")


class FileDone(NamedTuple):
    """rclone finished with one file: copied, replaced, moved, deleted, skipped or failed."""

    name: str  # rclone's "object": the path relative to the side the message is about
    outcome: FileOutcome
    size: int | None  # None when rclone does not say (Deleted, Moved lines carry no size)
    error: str | None
    message: str
    dest: str | None = None  # the destination name when it differs ("Copied (new) to: NAME")
    action: str | None = None  # for "skipped": what was not done (_SKIPPED_FILE_ACTIONS)
    object_type: str | None = None  # rclone's objectType, e.g. "*local.Object"


class LogLine(NamedTuple):
    level: str  # rclone's level (debug, info, notice, warning, error, critical) or "text"
    message: str
    object: str | None = None
    source: str | None = None


Event = Progress | FileDone | LogLine


# rclone quotes a status with the server's reason: "507 Insufficient Storage", and from some
# servers "401 Not Authorized" (rclone serve webdav) rather than the standard phrase.
_STATUS = re.compile(r"(?<![\d.])([1-5]\d\d) [A-Z]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def statuses_in(text: str | None) -> list[int]:
    """The HTTP statuses rclone quotes in TEXT ("... 507 Insufficient Storage"), in order."""
    return [int(m[1]) for m in _STATUS.finditer(text or "") if int(m[1]) in _known()]


@functools.cache
def _known() -> frozenset[int]:
    """Every status Python names, and 507: built on first need, as `http` builds an enum of
    60 members when imported (a cost at every copy's start-up otherwise; issue 26)."""
    from http import HTTPStatus

    return frozenset(int(status) for status in HTTPStatus) | {507}


def status_in(text: str | None) -> int | None:
    """The last HTTP status quoted in TEXT (the server's own answer comes last), if any."""
    found = statuses_in(text)
    return found[-1] if found else None


_TEXT_LOG_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d [A-Z]+\s*: ")


def reason(text: str | None, limit: int = 160) -> str:
    """TEXT as one short line for people: a quoted HTTP status rather than a server's page."""
    text = text or ""
    status = status_in(text)
    if status is not None:
        head = text.split("\n", 1)[0].split(":", 1)[0].strip()
        from http import HTTPStatus  # imported by _known already: status is one of them

        phrase = f"HTTP {status} {HTTPStatus(status).phrase}"
        return f"{head}: {phrase}" if head and not head.startswith(str(status)) else phrase
    flat = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    flat = _TEXT_LOG_PREFIX.sub("", flat)  # rclone's text log: "2026/12/01 11:49:23 CRITICAL: "
    flat = _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", flat)  # never raw bytes on a terminal
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
