"""What the upload fast path (rcwiz.transfer.bulk) does about resumed chunked uploads: the
sessions it no longer needs cleaned up, resumed bytes counted as resumed, and what a user is
told of a session kept for the next run.

A resumed file arrives as any other (counted once, through the fast path's Channel); what the
server held of it from an interrupted run is said to the transfer's Tally first
(`Tally.resumed`), so the summary's `bytes` hold only what this run sent and its
`resumed_bytes` the rest. Progress shows the file's true position (held and sent), its speed
and ETA from what is sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rcwiz.counting import Tally
from rcwiz.nextcloud import chunked, resume
from rcwiz.rclone.events import InFlight
from rcwiz.transfer import fastpath
from rcwiz.transfer.walk import LocalFile
from rcwiz.ui import format as fmt

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.bulk import Uploader
    from rcwiz.transfer.bulk_run import Run


def sweep(
    state: Run, account: Account, uploader: Uploader, there: dict[str, tuple[int, float]]
) -> None:
    """Discard the account's sessions kept for a resume that are stale, or whose file is at
    the destination already, as the listing THERE shows it (it arrived another way)."""
    arrived = {uploader.server_path(name).strip("/"): found for name, found in there.items()}

    def done(record: resume.Record) -> bool:
        return fastpath.unchanged(record.size, record.mtime, arrived.get(record.target))

    for record in resume.sweep(account, done):
        state.record({"resume": "discarded", "session": record.session, "object": record.source})


def in_flight(item: LocalFile, upload: chunked.Upload, started: float) -> InFlight:
    """ITEM on its way: at the bytes held and sent, at the speed of those sent."""
    return fastpath.in_flight(item.relative, item.size, upload.sent, started, upload.resumed)


def ticker(state: Run, item: LocalFile, upload: chunked.Upload) -> Callable[[int], None]:
    """UPLOAD's progress report of ITEM (the bytes this run has sent of it so far): the bytes
    in flight count as sent, the file is shown at its true position (in_flight)."""
    started = time.monotonic()

    def tick(sent: int) -> None:
        state.extra_bytes = sent
        state.in_flight = (in_flight(item, upload, started),)
        state.progress()

    return tick


def count(state: Run, item: LocalFile, upload: chunked.Upload) -> None:
    """ITEM arrived whole: counted as a file; what the server held of it from an earlier run
    said to the Tally first (not in the bytes sent)."""
    how = "in parallel chunks"
    if upload.resumed:
        how += f" (resumed: {fmt.size(upload.resumed)} were on the server)"
        state.record(
            {"object": item.relative, "resumed": upload.resumed, "sent": item.size - upload.resumed}
        )
        state.channel.tally.resumed(item.relative, upload.resumed)
    state.done(item, item.size, "chunked", how)


def of_them(tally: Tally) -> str:
    """The fast path's note on resumed bytes: " (40 MiB of them resumed, not sent again)"."""
    resumed = tally.resumed_bytes
    return f" ({fmt.size(resumed)} of them resumed, not sent again)" if resumed else ""


def kept_note(upload: chunked.Upload) -> str:
    """What a user is told of a session kept for a resume."""
    held = upload.resumed + upload.sent
    return (
        f"the upload of {upload.source.path} stopped with {fmt.size(held)} of "
        f"{fmt.size(upload.source.size)} on the server; rcwiz keeps that for the next run of "
        "the same command, which sends only the rest (see: rcwiz uploads list)"
    )


def left_session(state: Run, upload: chunked.Upload, stopping: bool = False) -> None:
    """Say that a chunked upload is kept for a resume (after the summary when the run is
    STOPPING: the live display would cut a warning shown now), or where one that could not be
    removed is (its parts count against the quota until the server's clean-up job removes
    them)."""
    if upload.kept:
        held = upload.resumed + upload.sent
        entry = {"object": upload.source.path, "session": upload.name, "held": held}
        state.record({"resume": "kept", **entry})  # the run's log says why the next resumes
        note = kept_note(upload)
    elif upload.left_session is not None:
        note = (
            f"the unfinished upload of {upload.source.path} could not be removed from the "
            f"server: {upload.left_session} (its parts count against your quota until the "
            "server's clean-up job removes them, or the next run of the same command does)"
        )
    else:
        return
    if stopping:
        state.channel.later.append(note)
    else:
        state.warn(note)
