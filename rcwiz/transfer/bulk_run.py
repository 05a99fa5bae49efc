"""One run of the upload fast path (rcwiz.transfer.bulk): what it reports through, its running
totals (Run, on the calling thread), and how each file's outcome is said: counted, left to
rclone with a notice, or kept for after the summary.

Kept apart from the sending (rcwiz.transfer.bulk) because the stall recovery
(rcwiz.transfer.late) and the resumed chunked uploads (rcwiz.transfer.resumable) report
through the same state: every word a run says about a file is here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rcwiz import errors
from rcwiz.counting import Sender
from rcwiz.events import Expected
from rcwiz.nextcloud import bulk
from rcwiz.rclone.events import FileDone, InFlight
from rcwiz.transfer import fastpath
from rcwiz.transfer.walk import LocalFile


@dataclass
class Phase(fastpath.Phase):
    """What the upload fast path did (requests: bulk requests), and what it left to rclone."""

    left: list[LocalFile] = field(default_factory=list)  # to send by rclone
    locked: list[str] = field(default_factory=list)  # of those left, files the server had locked


class Run:
    """One fast-path run: what it reports through, and its running totals, on the calling
    thread."""

    def __init__(
        self,
        channel: fastpath.Channel,
        expected: Expected,
        listed: int,
        phase: Phase,
        folders: set[str],
    ) -> None:
        self.channel = channel
        self.warn = channel.warn
        self.expected = expected
        self.listed = listed
        self.phase = phase
        self.in_flight: tuple[InFlight, ...] = ()
        self.extra_bytes = 0  # of chunks in flight
        self.folders = folders

    def record(self, entry: dict[str, object]) -> None:
        self.channel.record({"rcwiz": "bulk", **entry})

    def done(self, item: LocalFile, size: int, sender: Sender, how: str) -> None:
        done = FileDone(item.relative, "new", size, None, f"Copied (new) {how}")
        self.channel.file_done(done, sender)

    def failed(self, items: list[LocalFile], exc: errors.RcwizError) -> None:
        """ITEMS did not arrive, and the run stops with EXC: each is an error of the run."""
        for item in items:
            failed = FileDone(item.relative, "failed", item.size, exc.message, "Failed to copy")
            self.channel.file_done(failed, "bulk")
            self.record(
                {"object": item.relative, "size": item.size, "ok": False, "stop": exc.message}
            )

    def unanswered(self, items: list[LocalFile]) -> None:
        """ITEMS were sent in a request whose answer never came: the server may hold them
        (counted if rclone, given them, finds them there: rcwiz.transfer.late)."""
        for item in items:
            self.channel.tally.unanswered[item.relative] = (item.size, "bulk")

    def notice(self, text: str, name: str | None = None) -> None:
        """A fall-back to rclone: shown as a warning, and kept in the log."""
        self.channel.notice(text, name)
        self.record({"notice": text, "object": name})
        self.warn(text)

    def progress(self) -> None:
        tally = self.channel.tally
        self.channel.progress(
            fastpath.progress(tally, self.expected, self.listed, self.extra_bytes, self.in_flight)
        )


def cut_off(state: Run, unconfirmed: int) -> None:
    """The run stopped with UNCONFIRMED files in requests in flight: said after the summary
    (said now, under the live display, its second line was cut)."""
    if unconfirmed:  # cut off on rcwiz's side; the server may have taken them all the same
        state.channel.later.append(
            f"{unconfirmed} file(s) were on their way in bulk requests when the run "
            "stopped: they are not counted, but the server may have stored them (the next "
            "run skips those it has)"
        )


def say_refused(state: Run) -> None:
    """The files the bulk upload refused one by one, which rclone sends instead."""
    refused = state.phase.refused
    if refused:
        state.notice(
            f"the bulk upload refused {len(refused)} file(s) ({refused[0]}, ...: the log says "
            "why); rclone will send them"
            if len(refused) > 1
            else f"the bulk upload refused {refused[0]} (the log says why); rclone will send it"
        )


def results(state: Run, batch: list[LocalFile], results: list[bulk.Result]) -> None:
    by_name = {f.relative: f for f in batch}
    for result in results:
        state.record(
            {
                "object": result.relative,
                "size": result.size,
                "ok": result.ok,
                "message": result.message,
                "how": "bulk",
            }
        )
        item = by_name[result.relative]
        if result.ok:
            state.done(item, result.size, "bulk", "by bulk upload")
        else:
            state.phase.refused.append(result.relative)
            state.phase.left.append(item)
            if result.message.endswith(" is locked"):  # Nextcloud's words for a 423
                state.phase.locked.append(result.relative)
            state.channel.notice(f"bulk upload refused it: {result.message}", item.relative)


def fall_back(state: Run, files: list[LocalFile], why: str) -> None:
    state.phase.left += files
    state.notice(f"{len(files)} file(s) left to rclone: {why}")


def chunks_failed(state: Run, item: LocalFile, exc: errors.RcwizError) -> None:
    """ITEM's chunked upload failed with EXC (not one that stops the run): rclone sends it."""
    state.phase.left.append(item)
    entry = {"object": item.relative, "size": item.size, "ok": False, "how": "chunks"}
    state.record({**entry, "message": exc.message})
    state.notice(
        f"the chunked upload of {item.relative} failed ({exc.message}); rclone will send it",
        item.relative,
    )
