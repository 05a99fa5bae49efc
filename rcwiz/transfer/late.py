"""A bulk request the stall timeout ended: which of its files arrived all the same.

Nextcloud answers a bulk request only once it has written every file in it, and nothing moves
on the wire while it writes, so a server slow enough (a big account on a busy machine: about
1 s a file) lets the stall timeout end a request it is still working on. Giving up the run
there would throw away what the server did; sending the files again blindly would count some
twice. So the files the server holds with the size and time sent (one PROPFIND per folder of
the request, rcwiz.nextcloud.bulk.Uploader.found) are counted as arrived by bulk upload, and
the rest go again in smaller requests, one at a time (rcwiz.transfer.batching.Pace.stalled).
The run stops as before (Stalled) only when the server showed no sign of writing while the
request waited (no other answer came, none of its files is there): a server that does not
write, where another request would wait as long (the PROPFIND may find it hung, too).

The server may still be writing the request rcwiz gave up on: a file sent again may be written
twice, with the same bytes and time (a bulk upload of the same content to the same path leaves
the same file), and is counted once, by the answer that confirms it. A server with a locking
memcache may refuse the second write as locked: the file is left to rclone (the usual
fall-back), which finds it there once the first write is done. Such files are `unanswered`
(rcwiz.counting.Tally): what rclone neither sends nor fails of them is counted as arrived by
bulk upload when rclone ends well, so that every file that arrived is counted once, whoever
sent it. The same holds for a request a proxy in front answered with an error (a 504) while
the server behind it wrote the files.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from rcwiz import errors
from rcwiz.counting import Sender
from rcwiz.nextcloud import bulk
from rcwiz.transfer import batching, fastpath
from rcwiz.transfer.walk import LocalFile


class Reporting(Protocol):
    """What the recovery reports through (rcwiz.transfer.bulk_run.Run is one)."""

    def record(self, entry: dict[str, object]) -> None: ...
    def done(self, item: LocalFile, size: int, sender: Sender, how: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def failed(self, items: list[LocalFile], exc: errors.RcwizError) -> None: ...
    def unanswered(self, items: list[LocalFile]) -> None: ...


def after_stall(
    state: Reporting,
    uploader: bulk.Uploader,
    pace: batching.Pace,
    batch: list[LocalFile],
    sent: float,
    exc: errors.Stalled,
) -> list[LocalFile]:
    """BATCH's request, SENT at that time, was ended by the stall timeout (EXC): what of it to
    send again, the files the server wrote all the same counted (`arrived`). EXC is raised when
    the server showed no sign of writing while it waited, or does not answer the PROPFIND."""
    try:
        rest: list[LocalFile] | None = arrived(state, uploader, batch)
    except errors.RcwizError:  # the PROPFIND failed too: the server is hung
        rest = None
    found = len(batch) - len(rest) if rest is not None else 0
    if rest is None or not pace.stalled(len(batch), found, sent, time.monotonic()):
        state.failed(batch if rest is None else rest, exc)
        raise exc
    state.unanswered(rest)
    state.warn(said(len(batch), len(rest)))
    return rest


def arrived(
    state: Reporting, uploader: bulk.Uploader, batch: Sequence[LocalFile]
) -> list[LocalFile]:
    """Count BATCH's files the server holds (its request got no answer in time); the files
    still to send. The PROPFIND has the run's stall timeout too: a hung server stops the run."""
    held = uploader.found(batch)
    there = [f for f in batch if fastpath.unchanged(f.size, f.mtime, held.get(f.relative))]
    for item in there:
        state.record(
            {"object": item.relative, "size": item.size, "ok": True, "how": "bulk", "late": True}
        )
        state.done(item, item.size, "bulk", "by bulk upload (found on the server)")
    found = {f.relative for f in there}
    return [f for f in batch if f.relative not in found]


def said(files: int, left: int) -> str:
    """The warning for a request of FILES files the stall timeout ended, LEFT of them not on
    the server, when the run goes on."""
    text = f"a bulk request of {files} file(s) got no answer within the stall timeout; "
    if left == files:
        return text + "none of them is on the server yet: they go again, in smaller requests"
    if not left:
        return text + "all of them are on the server"
    return text + f"{files - left} of them are on the server, the other {left} go again"
