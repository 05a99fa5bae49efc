"""What both Nextcloud fast paths share: when one may run, what counts as changed, how its
phase is counted, shown and logged.

A fast path (bulk upload: rcwiz.transfer.bulk; archive download: rcwiz.transfer.archive)
moves the small new or changed files in a few requests before rclone runs, and leaves
everything else to rclone, under one progress display and one summary. It decides from one
listing of the remote (remote_listing), compared with the local tree the way rclone compares
by default.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from rcwiz.counting import Expected, Tally
from rcwiz.rclone.events import InFlight, Progress
from rcwiz.rclone.lsjson import Listing, listing
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account

MODIFY_WINDOW = 1.0  # seconds: Nextcloud keeps whole seconds, so rclone compares within 1 s


def remote_listing(rclone: Rclone, account: Account, path: str) -> tuple[Listing, str]:
    """Everything under the remote PATH, and who listed it: Nextcloud in one request
    ("propfind", rcwiz.nextcloud.listing) where its answer can be trusted, else rclone
    ("rclone", one request per folder)."""
    from rcwiz.nextcloud import listing as nextcloud_listing  # Nextcloud runs only

    found = nextcloud_listing.tree(account.client(), account.dav_user, account.path_of(path))
    if found is not None:
        return found, "propfind"
    return listing(rclone, path), "rclone"


def plain(opts: TransferOptions) -> bool:
    """A fast path keeps rclone's meaning only for a plain copy or sync.

    Filters, --checksum (the comparison would be by hash; bulk-uploaded files carry no
    checksum on the server), --bwlimit (rcwiz's own requests would not keep to it), extra
    rclone flags (they may change what is sent or how) and dry runs all go to rclone alone;
    a move is rclone's, so that a source file is deleted only after rclone has seen it
    arrive.
    """
    return (
        opts.verb in ("copy", "sync")
        and not opts.dry_run
        and not opts.filtered
        and not opts.checksum
        and not opts.bwlimit
        and not opts.extra
    )


def off_because(opts: TransferOptions) -> str | None:
    """Which of the user's options keeps a fast path off (None: none of them does). Dry runs
    and moves are left out: they never take a fast path, as the README says."""
    reasons = [
        (opts.filtered, "filters"),
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
    """What a fast path did before rclone, besides the files it counted (rcwiz.counting)."""

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


def in_flight(name: str, size: int, sent: int, started: float) -> InFlight:
    """One file on its way, SENT of its SIZE bytes since STARTED, as rclone shows one."""
    elapsed = time.monotonic() - started
    speed = sent / elapsed if elapsed > 0 else 0.0
    percentage = int(100 * sent / size) if size else 100
    eta = (size - sent) / speed if speed > 0 else None
    return InFlight(name, size, sent, percentage, speed, eta)


def log_file(log: IO[str], kind: str, relative: str, size: int, ok: bool, message: str) -> None:
    """One line of the run's log (the file rclone's log goes to next) for one file."""
    log_entry(log, {"rcwiz": kind, "object": relative, "size": size, "ok": ok, "message": message})


def log_entry(log: IO[str], entry: dict[str, object]) -> None:
    """One line of the run's log; one that cannot be written (a full disk) stops nothing."""
    with contextlib.suppress(OSError):
        log.write(json.dumps(entry) + "\n")
