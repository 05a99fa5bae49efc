"""rclone's JSON log lines turned into small typed events.

rclone run with `--use-json-log --stats <interval> --stats-log-level NOTICE -v` writes one JSON
object per line to stderr. Three kinds of line matter to rcwiz:

* a stats line (it has a "stats" object)  -> Progress
* a per-file line ("Copied (new)", "Failed to copy: ...", "Deleted", ...) -> FileDone
* anything else                            -> LogLine (with its level)

Lines that are not JSON (rclone's usage text, a Go panic) become LogLine with level "text",
except rclone's own plain log lines, which it writes before its JSON logging is set up
("2026/12/01 11:35:07 ERROR : Using --filter is recommended ...", a CRITICAL option error, a
NOTICE "Fatal error"): those keep their level, and their message loses the date and level.
The parser never raises on input: rclone's output is not ours to trust.

The per-file messages below are the ones rclone 1.75 writes (fs/operations in its source);
tests/data/rclone/ holds real captures of most of them and tests/unit/test_events.py checks
the mapping against those captures:

    Copied (new)                              new        (also "Multi-thread Copied (new)",
    Copied (replaced existing)                replaced    "Copied (Rcat, new)", and so on)
    Copied (server-side copy)                 copied
    Moved (server-side)                       moved      (also the destination object moved
                                                          aside by --backup-dir)
    Deleted                                   deleted    (in `move`: the source after upload;
                                                          in `sync`: the destination's extra)
    Moved into backup dir                     backed_up  (sync --backup-dir, instead of Deleted)
    Skipped copy as --dry-run is set (size N) skipped    action "copy" (also move / delete)
    Failed to copy: ERR, Couldn't delete: ERR failed     error ERR

Any of the first five may end in " to: NAME" when the destination name differs from the
source's (copyto/moveto); NAME becomes FileDone.dest. Dry-run skips of directory actions
("Skipped make directory as --dry-run is set") are not files and stay LogLine.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# The event types live in rcwiz.events (the displays read them without this layer).
from rcwiz.events import Event as Event
from rcwiz.events import FileDone as FileDone
from rcwiz.events import FileOutcome as FileOutcome
from rcwiz.events import InFlight as InFlight
from rcwiz.events import LogLine as LogLine
from rcwiz.events import Progress as Progress

# rclone reported an ETA of 9223372036 s (int64 max nanoseconds) during an outage; anything
# beyond a year is not an estimate.
MAX_ETA_SECONDS = 365 * 24 * 3600

# rclone's counters are int64; clamping keeps arithmetic on hostile input finite.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# The message (before any " to: NAME") of a finished file -> outcome.
_OUTCOMES: dict[str, FileOutcome] = {
    "Copied (new)": "new",
    "Copied (replaced existing)": "replaced",
    "Multi-thread Copied (new)": "new",
    "Multi-thread Copied (replaced existing)": "replaced",
    "Copied (Rcat, new)": "new",
    "Copied (Rcat, replaced existing)": "replaced",
    "Copied (server-side copy)": "copied",
    "Moved (server-side)": "moved",
    "Deleted": "deleted",
    "Moved into backup dir": "backed_up",
}
# Errors about one file; the error text follows the first ": ".
_FAILED_PREFIXES = (
    "Failed to copy",
    "Failed to move",
    "Failed to delete",
    "Failed to set",  # "Failed to set modification time: ..."
    "Couldn't move",  # server-side move failed; also "Couldn't move into backup dir: ..."
    "Couldn't delete",
    "partial file rename failed",
)
# A size or hash mismatch after upload: the whole message is the error.
_CORRUPTED_PREFIX = "corrupted on transfer"
_SKIPPED_RE = re.compile(r"Skipped (.+?) as (?:--dry-run|--interactive) is set")
# SkipDestructive actions that stand for a whole file; the others ("make directory",
# "remove directory", "set directory modification time", "update modification time", ...)
# are not transfers.
_SKIPPED_FILE_ACTIONS = frozenset({"copy", "move", "delete", "move into backup dir"})


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return max(_INT64_MIN, min(_INT64_MAX, value))
    if isinstance(value, float) and math.isfinite(value):
        return max(_INT64_MIN, min(_INT64_MAX, int(value)))
    return 0


def _float(value: Any) -> float:
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, int):
        return float(_int(value))
    if isinstance(value, float) and math.isfinite(value):
        return value
    return 0.0


def _eta(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value < 0 or value > MAX_ETA_SECONDS:
        return None
    return float(value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _size(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return _int(value)


def _in_flight(item: Any) -> InFlight | None:
    if not isinstance(item, dict):
        return None
    return InFlight(
        name=_str(item.get("name")) or "",
        size=_int(item.get("size")),
        bytes=_int(item.get("bytes")),
        percentage=max(0, min(100, _int(item.get("percentage")))),
        speed=_float(item.get("speed")),
        eta=_eta(item.get("eta")),
    )


def _true(value: Any) -> bool:
    return value is True


# Progress field -> (rclone's stats key, how its value is read).
_STATS: dict[str, tuple[str, Any]] = {
    "bytes": ("bytes", _int),
    "total_bytes": ("totalBytes", _int),
    "speed": ("speed", _float),
    "eta": ("eta", _eta),
    "transfers": ("transfers", _int),
    "total_transfers": ("totalTransfers", _int),
    "checks": ("checks", _int),
    "total_checks": ("totalChecks", _int),
    "listed": ("listed", _int),
    "errors": ("errors", _int),
    "elapsed": ("elapsedTime", _float),
    "fatal_error": ("fatalError", _true),
    "retry_error": ("retryError", _true),
    "last_error": ("lastError", _str),
    "deletes": ("deletes", _int),
    "deleted_dirs": ("deletedDirs", _int),
    "renames": ("renames", _int),
    "server_side_copies": ("serverSideCopies", _int),
    "server_side_copy_bytes": ("serverSideCopyBytes", _int),
    "server_side_moves": ("serverSideMoves", _int),
    "server_side_move_bytes": ("serverSideMoveBytes", _int),
}


def _progress(stats: dict[str, Any]) -> Progress:
    transferring = stats.get("transferring")
    items = transferring if isinstance(transferring, list) else []
    return Progress(
        transferring=tuple(f for f in map(_in_flight, items) if f is not None),
        **{name: read(stats.get(key)) for name, (key, read) in _STATS.items()},
    )


def _file_done(record: dict[str, Any], msg: str, obj: str) -> FileDone | None:
    """The FileDone for a line about object OBJ, or None if MSG is not a per-file result."""
    size = _size(record.get("size"))
    kind = _str(record.get("objectType"))
    head, sep, dest = msg.partition(" to: ")
    outcome = _OUTCOMES.get(head)
    if outcome is not None:
        return FileDone(obj, outcome, size, None, msg, dest=dest if sep else None, object_type=kind)
    if msg.startswith(_FAILED_PREFIXES):
        error = msg.partition(": ")[2].strip() or msg
        return FileDone(obj, "failed", size, error, msg, object_type=kind)
    if msg.startswith(_CORRUPTED_PREFIX):
        return FileDone(obj, "failed", size, msg, msg, object_type=kind)
    skipped = _SKIPPED_RE.match(msg)
    if skipped is not None:
        action = _str(record.get("skipped")) or skipped.group(1)
        if action in _SKIPPED_FILE_ACTIONS:
            return FileDone(obj, "skipped", size, None, msg, action=action, object_type=kind)
    return None


# rclone's text log line: date, time, level (padded: "ERROR :", "CRITICAL:"), message.
_PLAIN_LOG = re.compile(
    r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? "
    r"(DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL|ALERT|EMERGENCY) *: (.*)"
)


def _plain(text: str) -> LogLine:
    match = _PLAIN_LOG.fullmatch(text)
    if match is None:
        return LogLine(level="text", message=text)
    return LogLine(level=match[1].lower(), message=match[2].strip())


def parse_line(line: str | bytes) -> Event | None:
    """Return the event for one line of rclone's stderr, or None for a blank line."""
    if isinstance(line, (bytes, bytearray)):
        line = bytes(line).decode("utf-8", "replace")
    text = line.strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return _plain(text)
    if not isinstance(record, dict):
        return LogLine(level="text", message=text)
    stats = record.get("stats")
    if isinstance(stats, dict):
        return _progress(stats)
    msg = _str(record.get("msg")) or ""
    level = _str(record.get("level")) or "info"
    obj = _str(record.get("object"))
    if obj is not None:
        done = _file_done(record, msg, obj)
        if done is not None:
            return done
    return LogLine(level=level, message=msg, object=obj, source=_str(record.get("source")))
