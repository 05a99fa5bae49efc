"""What the upload fast path (rcwiz.transfer.bulk) does about resumed chunked uploads: the
sessions it no longer needs cleaned up, and resumed bytes counted as resumed.

A resumed file's bytes are counted apart: `Phase.bytes` (and the summary's `bytes`) holds
only what this run sent, `Phase.resumed` (the summary's `resumed_bytes`) what the server held
from an interrupted run; progress shows the file's true position (held and sent), its speed
and ETA from what is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rcwiz.nextcloud import chunked, resume
from rcwiz.rclone.events import InFlight
from rcwiz.transfer import fastpath
from rcwiz.transfer.walk import LocalFile
from rcwiz.ui import format as fmt

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.bulk import Uploader
    from rcwiz.transfer.bulk import _Run


def sweep(
    state: _Run, account: Account, uploader: Uploader, there: dict[str, tuple[int, float]]
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
    moving = fastpath.in_flight(item.relative, item.size - upload.resumed, upload.sent, started)
    done = upload.resumed + upload.sent
    percentage = int(100 * done / item.size) if item.size else 100
    return InFlight(item.relative, item.size, done, percentage, moving.speed, moving.eta)


def count(state: _Run, item: LocalFile, upload: chunked.Upload) -> None:
    """ITEM arrived whole: counted as a file, its bytes as sent and resumed, apart."""
    how = "in parallel chunks"
    if upload.resumed:
        how += f" (resumed: {fmt.size(upload.resumed)} were on the server)"
        state.record(
            {"object": item.relative, "resumed": upload.resumed, "sent": item.size - upload.resumed}
        )
    state.phase.resumed += upload.resumed
    state.phase.bytes -= upload.resumed  # done() adds the whole file; only the rest was sent
    state.done(item, item.size, how)


def kept_note(upload: chunked.Upload) -> str:
    """What a user is told of a session kept for a resume."""
    held = upload.resumed + upload.sent
    return (
        f"the upload of {upload.source.path} stopped with {fmt.size(held)} of "
        f"{fmt.size(upload.source.size)} on the server; rcwiz keeps that for the next run of "
        "the same command, which sends only the rest (see: rcwiz uploads list)"
    )


@contextlib.contextmanager
def warned_after(state: _Run) -> Iterator[None]:
    """The warnings kept for later (a session kept for a resume) said once this ends: after
    the summary, below the progress display (a warning printed while it is drawn is cut)."""
    try:
        yield
    finally:
        for text in state.later:
            state.warn(text)
