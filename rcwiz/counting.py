"""Where a transfer is counted: every file once, by whom it was sent; the Summary made from it.

One `Tally` per transfer, made before its first phase and handed down: a fast path (bulk
upload, archive download) and then rclone record into the same Tally, the progress displays
read it (rcwiz.ui.meter.Meter), and the Summary the engine returns is made from it
(`Tally.summary`). No other code counts files, bytes, failures or checks of a transfer, and a
display never changes what was counted.

Kept apart from rcwiz.transfer and rcwiz.ui so that both can import it without importing
each other.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Literal, NamedTuple

from rcwiz.events import DONE_OUTCOMES, Event, FileDone, FileOutcome, InFlight, Progress

Verb = Literal["copy", "move", "sync"]
RunOutcome = Literal["ok", "failed", "interrupted"]
# Who sent a file: rclone, or one of rcwiz's own ways (rcwiz.transfer.phases).
Sender = Literal["rclone", "bulk", "chunked", "archive", "ranged"]
# A dry run's skipped action -> the outcome it stands for; a move into --backup-dir is
# neither a file sent nor one deleted, as when it happens ("backed_up").
_WOULD: dict[str, FileOutcome] = {"copy": "new", "move": "new", "delete": "deleted"}
SHOWN_NAMES = 20  # a dry run names this many files of each kind; the log has them all


@dataclass
class Summary:
    """What a transfer did, as the commands, history, hooks and --json see it (made by
    Tally.summary; never changed by a display)."""

    verb: str
    source: str
    dest: str
    outcome: RunOutcome = "ok"
    bytes: int = 0
    files: int = 0
    deleted: int = 0
    errors: int = 0
    duration: float = 0.0
    log_path: str = ""
    dry_run: bool = False
    error: str | None = None
    bulk_files: int = 0  # of `files`, those sent by Nextcloud's bulk upload (no checksum kept)
    chunked_files: int = 0  # of `files`, those rcwiz sent in parallel chunks (SHA-1 kept)
    archive_files: int = 0  # of `files`, those fetched in Nextcloud archives
    # Of the files that arrived, bytes an interrupted earlier run had already moved (a chunked
    # upload's session kept on the server, a download's partial file): not in `bytes`.
    resumed_bytes: int = 0
    rclone_files: int = 0  # of `files`, those rclone sent after a fast path (0 without one)
    checked: int = 0  # files compared with the destination and found up to date
    rclone_ran: bool = True  # False when a fast path left rclone nothing (the log is rcwiz's)
    # A dry run's first names, sorted: what would be sent, and what would be deleted.
    would_send: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    # From a remote into a local folder: its files are fetched ("would fetch"), for people;
    # not in the JSON (which names them would_send, whichever way they go).
    download: bool = False

    @property
    def average_speed(self) -> float:
        return self.bytes / self.duration if self.duration > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """The summary as JSON (its error is the command's: rcwiz.cli.error_document)."""
        data = asdict(self)
        del data["error"], data["download"]
        data["average_speed"] = round(self.average_speed, 1)
        data["duration"] = round(self.duration, 3)
        return data


class Before(NamedTuple):
    """What the phases before rclone had counted when rclone started: rclone's own numbers
    start from zero, so its progress is shifted by these (one display for the transfer)."""

    bytes: int = 0
    files: int = 0


@dataclass
class Tally:
    """Every file of one transfer, counted per file and not per log line.

    rclone repeats a failure on every retry, logs the local source as "Deleted" after each
    upload of a move, and logs a --backup-dir move-aside as "Moved (server-side)"; none of
    those are extra files. A dry run's "Skipped copy" counts as the file it would send.
    """

    verb: str
    started: float = field(default_factory=time.monotonic)
    arrived: dict[str, int | None] = field(default_factory=dict)  # name -> size (None: unsaid)
    senders: dict[str, Sender] = field(default_factory=dict)  # of `arrived`: who sent it
    deleted: set[str] = field(default_factory=set)  # at the destination, by a sync
    failed: set[str] = field(default_factory=set)  # still failed (a later success clears)
    results: int = 0  # file results seen, whatever they said
    listed_same: int = 0  # files a fast path's listing found up to date (nothing to send)
    last: Progress | None = None  # rclone's last stats line, as rclone gave it
    # Every name rclone's stats showed on its way (what a stopped run may have left half-written)
    in_flight: set[str] = field(default_factory=set)
    fast_path: bool = False  # a fast path ran first: rclone's numbers are added to its
    before: Before | None = None  # set when rclone starts after a fast path
    # A resumed file (an upload's kept session, a download's partial file) is added as any
    # other when it arrives (`add`, with its Sender); what an earlier run had already moved of
    # it is said first (`resumed`) and is not in `bytes` (Summary.resumed_bytes).
    earlier: dict[str, int] = field(default_factory=dict)  # name -> bytes moved before this run
    # Files a fast path sent in a request whose answer never came (the stall timeout ended it,
    # a proxy in front answered 504), which it then left to rclone: the server may have
    # written them all the same (rcwiz.transfer.late). name -> (size, who sent it)
    unanswered: dict[str, tuple[int, Sender]] = field(default_factory=dict)
    found_there: int = 0  # of them, those rclone found there: its checks of them are no news

    def add(self, event: Event, sender: Sender = "rclone") -> None:
        """Count EVENT (a stats line or a file's result); other events count nothing."""
        if isinstance(event, Progress):
            if sender == "rclone":
                self.last = event
                self.in_flight.update(item.name for item in event.transferring)
            return
        if not isinstance(event, FileDone):
            return
        self.results += 1
        name, outcome = event.name, event.outcome
        if outcome == "skipped":  # a dry run: count what would have happened
            outcome = _WOULD.get(event.action or "", "skipped")
        if outcome in DONE_OUTCOMES and (outcome != "moved" or self.verb == "move"):
            self.arrived[name] = event.size
            self.senders[name] = sender
            self.failed.discard(name)  # a retry succeeded
        elif outcome == "deleted" and self.verb == "sync":
            self.deleted.add(name)
        elif outcome == "failed" and name not in self.arrived:
            self.failed.add(name)

    def rclone_succeeded(self) -> list[tuple[FileDone, Sender]]:
        """rclone ended well: its word on every file it was given is final. Those it neither
        sent nor failed it found at the destination as they are at the source; of them, a file
        `unanswered` arrived in this run, sent by the fast path, and is counted now (once: one
        rclone sent is counted as rclone's). The results counted, to show."""
        self.failed.clear()  # a later attempt succeeded
        found = []
        for name, (size, sender) in sorted(self.unanswered.items()):
            if name not in self.arrived:
                done = FileDone(name, "new", size, None, "Copied (new), found on the server")
                found.append((done, sender))
        for done, sender in found:
            self.add(done, sender)
        self.found_there += len(found)
        return found

    def begun(self) -> list[InFlight]:
        """The files rclone's last stats line showed part-way (bytes moved, not arrived since):
        rclone resumes none of them, so a re-run moves them again from their beginning."""
        if self.last is None:
            return []
        return [f for f in self.last.transferring if f.bytes > 0 and f.name not in self.arrived]

    def resumed(self, name: str, size: int) -> None:
        """SIZE bytes of NAME were moved by an earlier, interrupted run (counted apart from
        `bytes`, and only once NAME has arrived)."""
        self.earlier[name] = size

    @property
    def resumed_bytes(self) -> int:
        """Of the files that arrived, bytes an earlier run had moved."""
        return sum(size for name, size in self.earlier.items() if name in self.arrived)

    def rclone_starts(self) -> None:
        """rclone starts now: after a fast path, what was counted so far is its (Before)."""
        if self.fast_path:
            self.before = Before(self.bytes, len(self.arrived))

    def seen_by_all(self, p: Progress) -> Progress:
        """rclone's stats line P as the whole transfer's: what came before added to it."""
        if self.before is None:
            return p
        return p._replace(
            bytes=p.bytes + self.before.bytes,
            total_bytes=p.total_bytes + self.before.bytes,
            transfers=p.transfers + self.before.files,
            total_transfers=p.total_transfers + self.before.files,
            elapsed=time.monotonic() - self.started,
        )

    @property
    def bytes(self) -> int:
        """Bytes of the files that arrived, never of those that failed or were in flight, nor
        what an earlier run had moved of a resumed one.

        rclone's own count includes a refused upload's bytes (a 507 after the body was sent)
        and what a file in flight had sent when the run stopped. Only server-side moves are
        logged without a size; when there are such files, rclone's count is all there is.
        """
        sizes = list(self.arrived.values())
        if any(size is None for size in sizes):
            before = self.before.bytes if self.before is not None else 0
            return before + (self.last.bytes if self.last is not None else 0)
        return sum(size or 0 for size in sizes) - self.resumed_bytes

    @property
    def errors(self) -> int:
        """Files that still failed at the end; rclone's own count if no file failed."""
        if self.failed:
            return len(self.failed)
        return self.last.errors if self.last is not None and self.last.errors else 0

    @property
    def checked(self) -> int:
        """Files compared with the destination and found up to date."""
        # rclone counts a file it deletes as checked too (a sync): those are not "up to date".
        checks = self.last.checks if self.last is not None else 0
        checked = max(0, checks - len(self.deleted))
        if not self.fast_path:
            return checked
        # rclone checked the files the fast path had just sent (and those it found there after
        # a request without an answer): they are counted as sent;
        # rclone given only what was left checks only those: the listing compared the rest.
        before = self.before.files if self.before is not None else 0
        return max(max(0, checked - before - self.found_there), self.listed_same)

    def sent_by(self, sender: Sender) -> int:
        """How many of the files that arrived SENDER sent."""
        return Counter(self.senders.values())[sender]

    def summary(
        self,
        source: str,
        dest: str,
        *,
        log_path: str,
        dry_run: bool = False,
        rclone_ran: bool = True,
        download: bool = False,
    ) -> Summary:
        """The transfer's Summary so far (outcome "ok": the engine sets a failure's)."""
        summary = Summary(
            verb=self.verb,
            source=source,
            dest=dest,
            bytes=self.bytes,
            files=len(self.arrived),
            deleted=len(self.deleted),
            errors=self.errors,
            duration=time.monotonic() - self.started,
            log_path=log_path,
            dry_run=dry_run,
            bulk_files=self.sent_by("bulk"),
            chunked_files=self.sent_by("chunked"),
            archive_files=self.sent_by("archive"),
            resumed_bytes=self.resumed_bytes,
            rclone_files=self.sent_by("rclone") if self.fast_path else 0,
            checked=self.checked,
            rclone_ran=rclone_ran,
            download=download,
        )
        if dry_run:
            summary.would_send = sorted(self.arrived)[:SHOWN_NAMES]
            summary.would_delete = sorted(self.deleted)[:SHOWN_NAMES]
        return summary
