"""The fast-path interface, and what every fast path shares.

A fast path is one of rcwiz's own ways of moving files before rclone runs: bulk upload to a
Nextcloud (rcwiz.transfer.bulk.Upload), archive download from one
(rcwiz.transfer.archive.Download), extended by big files in resumable byte ranges
(rcwiz.transfer.bigfiles.BigFiles, which runs the archive path first); verification is to be
another.
Each is one class implementing `FastPath`, made by its module's `decide` from ONE listing of
the remote (compared with the local tree the way rclone compares by default: `unchanged`):

1. decide  - `<module>.decide(...)` lists once and returns the FastPath (what it takes:
             `expected`, and what the listing found up to date: `up_to_date`), or None;
2. run     - `fastpath.run` (here, for every fast path alike) starts the display, calls
             `FastPath.send` with a `Channel` (the display, the transfer's Tally, the run
             log, warnings), and turns Ctrl-C or a failure that stops the transfer into the
             summary of what arrived, raised with it;
3. left    - `FastPath.left` says what rclone still has to do (`Left`): nothing, only some
             files, or a whole run.

`applies` is the one word for "may run": fastpath.applies (the user's options allow any fast
path), bulk.applies, archive.applies (this transfer may take that one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from rcwiz import errors
from rcwiz.counting import Sender, Tally
from rcwiz.events import Expected
from rcwiz.rclone.events import FileDone, InFlight, LogLine, Progress
from rcwiz.rclone.lsjson import Listing, listing
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import engine
from rcwiz.transfer.engine import RunLog, Sink

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.listing import ListedBy

Warn = Callable[[str], None]  # says one warning to people (the console's)
MODIFY_WINDOW = 1.0  # seconds: Nextcloud keeps whole seconds, so rclone compares within 1 s


def remote_listing(
    rclone: Rclone, account: Account, path: str, checksums: bool = True
) -> tuple[Listing, ListedBy]:
    """Everything under the remote PATH (a file: that file, as rclone lists it), and which
    requests listed it: Nextcloud's in a few requests ("search" or "propfind",
    rcwiz.nextcloud.listing) where its answers can be trusted, else rclone's ("rclone", one
    request per folder). The server's CHECKSUMS come with the files when asked (`rcwiz
    check` proves files by them)."""
    from rcwiz.nextcloud import listing as nextcloud_listing  # Nextcloud runs only

    client, where = account.client(), account.path_of(path)
    found = nextcloud_listing.tree(client, account.dav_user, where, checksums=checksums)
    if found is not None:
        return found
    return listing(rclone, path), "rclone"


def applies(opts: TransferOptions, filters: bool = False) -> bool:
    """The user's options allow a fast path: it keeps rclone's meaning only for a plain copy
    or sync.

    Filters (unless the path honours them, FILTERS: the upload asks rclone which files pass),
    --checksum (the comparison would be by hash; bulk-uploaded files carry no checksum on
    the server), --bwlimit (rcwiz's own requests would not keep to it), extra rclone flags
    (they may change what is sent or how) and dry runs all go to rclone alone; a move is
    rclone's, so that a source file is deleted only after rclone has seen it arrive.
    """
    return opts.verb in ("copy", "sync") and not opts.dry_run and off_because(opts, filters) is None


def off_because(opts: TransferOptions, filters: bool = False) -> str | None:
    """Which of the user's options keeps a fast path off (None: none of them does; FILTERS:
    the path honours filters). Dry runs and moves are left out: they never take a fast path,
    as the README says."""
    reasons = [
        (opts.filtered and not filters, "filters"),
        (opts.checksum, "--checksum"),
        (bool(opts.bwlimit), "--bwlimit"),
        (bool(opts.extra), "extra rclone flags"),
    ]
    found = [why for on, why in reasons if on]
    return " and ".join(found) or None


def unchanged(size: int, mtime: float, there: tuple[int, float] | None) -> bool:
    """The other side holds THERE (size, mtime) with the same size and time: rclone's default
    comparison skips it."""
    return there is not None and there[0] == size and abs(there[1] - mtime) < MODIFY_WINDOW


@dataclass
class Phase:
    """What a fast path did, besides the files it counted (rcwiz.counting)."""

    requests: int = 0
    refused: list[str] = field(default_factory=list)  # left to rclone
    reasons: list[str] = field(default_factory=list)  # why, once per request that failed


def progress(
    tally: Tally,
    expected: Expected,
    listed: int,
    in_flight: int = 0,
    transferring: tuple[InFlight, ...] | None = None,
) -> Progress:
    """A stats event for the transfer so far, as TALLY counted it; IN_FLIGHT bytes have come
    of requests not yet done, shown as TRANSFERRING, or else as one transfer in flight (as
    rclone shows a file on its way)."""
    elapsed = time.monotonic() - tally.started
    moved = tally.bytes + in_flight
    speed = moved / elapsed if elapsed > 0 else 0.0
    left = expected.bytes - moved
    coming = InFlight("(archives on their way)", -1, in_flight, 0, speed, None)
    return Progress(
        bytes=moved,
        total_bytes=expected.bytes,
        speed=speed,
        eta=left / speed if speed > 0 else None,
        transfers=len(tally.arrived),
        total_transfers=expected.files,
        checks=0,
        total_checks=0,
        listed=listed,
        errors=0,
        elapsed=elapsed,
        fatal_error=False,
        retry_error=False,
        last_error=None,
        transferring=transferring if transferring is not None else (coming,) if in_flight else (),
    )


def in_flight(name: str, size: int, sent: int, started: float, resumed: int = 0) -> InFlight:
    """One file on its way, SENT of its SIZE bytes since STARTED, as rclone shows one; of a
    resumed file, RESUMED bytes came in an earlier run: it is shown at its true position
    (RESUMED + SENT), at the speed of what this run sent (the meter counts only that)."""
    elapsed = time.monotonic() - started
    speed = sent / elapsed if elapsed > 0 else 0.0
    done = resumed + sent
    percentage = int(100 * done / size) if size else 100
    eta = (size - done) / speed if speed > 0 else None
    return InFlight(name, size, done, percentage, speed, eta, resumed)


@dataclass
class Channel:
    """What a running fast path reports through, handed to it by `run`: every file's result
    goes to the transfer's Tally (counted) and then to the display (shown), in that order."""

    opts: TransferOptions
    sink: Sink
    tally: Tally
    log: RunLog
    warn: Warn
    # Warnings for after the summary when the transfer stops (a session kept for a resume):
    # one said while the live display is drawn would be cut.
    later: list[str] = field(default_factory=list)

    def file_done(self, done: FileDone, sender: Sender) -> None:
        """DONE (a file that arrived, or failed for good), sent by SENDER."""
        self.tally.add(done, sender)
        self.sink.file_done(done)

    def progress(self, progress: Progress) -> None:
        self.sink.progress(progress)

    def notice(self, text: str, name: str | None = None) -> None:
        """Something the display shows among the files (a file left to rclone, and why)."""
        self.sink.log(LogLine("notice", text, name))

    def record(self, entry: dict[str, object]) -> None:
        """One line of the run's log."""
        self.log.record(entry)


@dataclass(frozen=True)
class Left:
    """What a fast path leaves to rclone."""

    names: tuple[str, ...] = ()  # files rclone is still to send (relative to the source)
    whole: bool = False  # rclone must see the whole source (a sync's deletions, its errors)
    locked: tuple[str, ...] = ()  # of NAMES, files the server had locked (the watchdog's)
    notes: tuple[str, ...] = ()  # what to tell people about the fast path, once it is done

    @property
    def nothing(self) -> bool:
        """rclone has nothing to do: it need not start."""
        return not self.names and not self.whole


class FastPath(Protocol):
    """One fast path, decided from the one listing (see the module's docstring)."""

    via: str  # its name in the display and the log: "bulk-upload", "archive-download"
    expected: Expected  # what it took: the bytes and files it is to move
    up_to_date: int  # files the listing found the same on both sides: nothing to move

    def send(self, channel: Channel) -> None:
        """Move what it took, each file's result through CHANNEL. Raises an RcwizError only
        where the whole transfer must stop (a full quota, a refused login, a hung server);
        anything else it could not move is left to rclone."""

    def left(self, tally: Tally) -> Left:
        """What rclone still has to do, once `send` is done (TALLY: what arrived)."""


def run(
    path: FastPath, opts: TransferOptions, sink: Sink, log: RunLog, tally: Tally, warn: Warn
) -> Left:
    """Run PATH before rclone: start SINK, send, and say what rclone has left.

    Ctrl-C and a failure that stops the transfer end it here, for every fast path alike: the
    summary of what arrived is shown, then the error raised with it attached.
    """
    tally.fast_path = True
    tally.listed_same = path.up_to_date
    # rclone's flags are announced if and when rclone runs (engine.run after a fast path)
    start = engine.started(replace(opts, tuning=()), (), log.path, via=path.via)
    sink.start(start, path.expected, tally)
    channel = Channel(opts, sink, tally, log, warn)
    try:
        path.send(channel)
    except KeyboardInterrupt:
        _stop(channel, engine.interrupted(opts.verb))
    except errors.RcwizError as exc:
        _stop(channel, exc)
    return path.left(tally)


def _stop(channel: Channel, failure: errors.RcwizError) -> None:
    """The summary of what arrived, FAILURE raised with it; then the warnings kept for later."""
    try:
        engine.without_rclone(channel.opts, channel.sink, channel.log, channel.tally, failure)
    finally:
        for text in channel.later:
            channel.warn(text)
