"""Partial downloads kept for a resume: the file beside its destination, and rcwiz's record of it.

A big file from Nextcloud is written to `.NAME.rcwiz-partial` in its destination folder (0600)
and renamed to NAME only when whole (rcwiz.transfer.bigfiles). While it is partial, one record
in rcwiz's state folder (`partials/`, a JSON file per partial, written privately and atomically
through rcwiz.files) says what it is: the destination, the partial's path, the remote path, the
server's ETag and size of the version its bytes came from, and the byte ranges known good (on
disk, synced before the record says so). Nothing else is trusted: a partial without a record,
a record without its partial, a record older than max_age() (RCWIZ_PARTIAL_DAYS, default 7),
or one whose file is gone from the server is removed (`sweep`, `forget`); `rcwiz doctor` names
those it finds (`found`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rcwiz import errors, files, paths

SUFFIX = ".rcwiz-partial"
MAX_AGE_DAYS = 7.0  # how long a partial waits for a resume unless RCWIZ_PARTIAL_DAYS says
Span = tuple[int, int]  # bytes [start, end)


def max_age() -> float:
    """Seconds a record may go unused before its partial counts as stale (RCWIZ_PARTIAL_DAYS,
    in days, when set; else MAX_AGE_DAYS). A value that is not a number of days is a
    UsageError, as a bad RCWIZ_RESUME_MAX_AGE is: ignored, it would clean up on another
    schedule than the one the user asked for."""
    value = os.environ.get("RCWIZ_PARTIAL_DAYS", "").strip()
    if not value:
        return MAX_AGE_DAYS * 86400
    try:
        days = float(value)
    except ValueError:
        days = -1.0
    if not 0 <= days < float("inf"):
        raise errors.UsageError(
            f"RCWIZ_PARTIAL_DAYS={value!r} is not a number of days.",
            f"Give days as a number (such as 3 or 0.5); unset, partial downloads wait "
            f"{MAX_AGE_DAYS:g} days for a resume.",
        )
    return days * 86400


def partial_name(name: str) -> str:
    """The partial's file name for the file NAME: hidden, with rcwiz's suffix, within NAME_MAX."""
    if len(name.encode()) > 200:  # long names: a prefix and a digest keep it unique and short
        import hashlib  # here: every walk imports this module for is_partial alone

        name = name[:100] + "." + hashlib.sha1(name.encode()).hexdigest()[:12]
    return f".{name}{SUFFIX}"


def is_partial(relative: str) -> bool:
    """RELATIVE (a path in a local tree) is one of rcwiz's partial files, not the user's."""
    name = relative.rpartition("/")[2]
    return name.startswith(".") and name.endswith(SUFFIX)


def folder() -> Path:
    return paths.state_dir() / "partials"


def _record_path(destination: str) -> Path:
    import hashlib  # here: every walk imports this module for is_partial alone

    return folder() / (hashlib.sha256(destination.encode()).hexdigest()[:32] + ".json")


@dataclass
class Record:
    """What one partial file holds and which version of which remote file it came from."""

    destination: str  # absolute path of the file it becomes
    partial: str  # absolute path of the partial file
    remote: str  # the file's path on the server, relative to the user's home
    server: str  # the server's base URL it came from (shown; the ETag decides)
    etag: str
    size: int
    good: list[Span] = field(default_factory=list)  # ranges on disk, merged, in order
    updated: float = field(default_factory=time.time)

    @property
    def good_bytes(self) -> int:
        return sum(end - start for start, end in self.good)

    def save(self) -> None:
        """Write the record (0600, atomic, folder 0700); the partial's bytes must be synced
        before, since the record vouches for them."""
        self.updated = time.time()
        files.write_private(_record_path(self.destination), json.dumps(asdict(self)))

    def forget(self, *, partial: bool = True) -> None:
        """Remove the record, and (PARTIAL) its partial file."""
        if partial:
            with contextlib.suppress(OSError):
                os.unlink(self.partial)
        with contextlib.suppress(OSError):
            _record_path(self.destination).unlink()


def load(destination: str) -> Record | None:
    """The record of the partial for DESTINATION, or None (none, or unreadable)."""
    return _read(_record_path(destination))


def _read(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["good"] = [(int(a), int(b)) for a, b in data.get("good", [])]
        return Record(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def found() -> list[Record]:
    """Every record in the state folder (doctor names them), oldest first."""
    records = [r for p in sorted(folder().glob("*.json")) if (r := _read(p)) is not None]
    return sorted(records, key=lambda r: r.updated)


def stale(record: Record, now: float | None = None) -> bool:
    """RECORD has waited longer than max_age() for a resume, or its partial is gone."""
    now = time.time() if now is None else now
    return now - record.updated > max_age() or not os.path.isfile(record.partial)


def sweep(now: float | None = None) -> list[Record]:
    """Remove every stale record and its partial, and unreadable records; return those removed."""
    removed = []
    for path in folder().glob("*.json"):
        record = _read(path)
        if record is None:
            with contextlib.suppress(OSError):
                path.unlink()
        elif stale(record, now):
            record.forget()
            removed.append(record)
    return removed


def add_span(spans: list[Span], span: Span) -> list[Span]:
    """SPANS with SPAN added, merged and in order (pure)."""
    merged: list[Span] = []
    for start, end in sorted([*spans, span]):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def missing(spans: list[Span], size: int, piece: int) -> list[Span]:
    """The ranges of [0, SIZE) that SPANS lack, cut into pieces of at most PIECE bytes (pure)."""
    gaps: list[Span] = []
    at = 0
    for start, end in [*spans, (size, size)]:
        if start > at:
            gaps.extend((a, min(a + piece, start)) for a in range(at, start, piece))
        at = max(at, end)
    return gaps


def clipped(spans: list[Span], length: int) -> list[Span]:
    """SPANS within the first LENGTH bytes (a partial truncated on disk keeps what it still
    holds; pure)."""
    return [(start, min(end, length)) for start, end in spans if start < length]


def tidy(
    folder: Path, root: str, big: dict[str, tuple[int, float]], only: str | None = None
) -> int:
    """Remove stale partials (sweep), and this transfer's own (destination under FOLDER,
    remote under ROOT; of a single file named as the source, ONLY that name's) whose file
    the big-file download (rcwiz.transfer.bigfiles) no longer fetches (BIG): gone from the
    server, here whole already, or small enough for the archives now. Returns how many went."""
    removed = len(sweep())
    base = str(folder) + os.sep
    prefix = root.rstrip("/") + "/"
    for record in found():
        if not (record.destination.startswith(base) and record.remote.startswith(prefix)):
            continue
        relative = record.destination[len(base) :].replace(os.sep, "/")
        if only is not None and relative != only:
            continue  # another file's, of a transfer of the folder: not this one's to judge
        if relative not in big:
            record.forget()
            removed += 1
    return removed
