"""The fast path for uploads to Nextcloud: small files by bulk upload, the rest by rclone.

Used by the transfer commands when the destination is a Nextcloud remote that advertises
dav.bulkupload and the source is a local folder. Files already on the server with the same
size and modification time are skipped (as rclone would), so a re-run costs one listing.
Files the bulk request refuses are left to rclone, which runs right after and sends the large
files and anything still missing, under the same progress display and summary.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from rcwiz.nextcloud import bulk
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.capabilities import Capabilities
from rcwiz.rclone.events import FileDone, LogLine, Progress
from rcwiz.rclone.lsjson import file_listing
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import Expected, Sink
from rcwiz.transfer.walk import Tree


@dataclass
class Phase:
    """What the bulk phase did."""

    started: float = field(default_factory=time.monotonic)
    bytes: int = 0
    files: int = 0
    requests: int = 0
    refused: list[str] = field(default_factory=list)


def eligible(opts: TransferOptions) -> bool:
    """Bulk upload keeps rclone's meaning only for a plain copy or sync of a local folder.

    Filters, --checksum (bulk-uploaded files carry no checksum on the server), extra rclone
    flags and dry runs all go to rclone alone.
    """
    return (
        opts.verb in ("copy", "sync")
        and not opts.dry_run
        and not opts.filtered
        and not opts.checksum
        and not opts.extra
        and Path(opts.source).expanduser().is_dir()
    )


def _progress(done: Phase, expected: Expected, listed: int) -> Progress:
    elapsed = time.monotonic() - done.started
    speed = done.bytes / elapsed if elapsed > 0 else 0.0
    left = expected.bytes - done.bytes
    return Progress(
        bytes=done.bytes,
        total_bytes=expected.bytes,
        speed=speed,
        eta=left / speed if speed > 0 else None,
        transfers=done.files,
        total_transfers=expected.files,
        checks=0,
        total_checks=0,
        listed=listed,
        errors=0,
        elapsed=elapsed,
        fatal_error=False,
        retry_error=False,
        last_error=None,
        transferring=(),
    )


def run(
    rclone: Rclone,
    account: Account,
    caps: Capabilities,
    opts: TransferOptions,
    tree: Tree,
    sink: Sink,
    log_path: Path,
) -> Phase:
    """Bulk-upload the small new or changed files of the walked source TREE; start SINK."""
    phase = Phase()
    local = tree.files
    there = file_listing(rclone, opts.dest)
    to_send = [f for f in local if not bulk.unchanged(f, there)]
    expected = Expected(bytes=sum(f.size for f in to_send), files=len(to_send))
    small = [
        f
        for f in to_send
        if f.size < bulk.SMALL_FILE
        and bulk.safe_name(f.relative)
        and all(caps.refusal(part) is None for part in f.relative.split("/"))
    ]
    sink.start(opts, ("bulk-upload", opts.source, opts.dest), expected, str(log_path))
    uploader = bulk.Uploader(account, opts.dest)
    with open(log_path, "a", encoding="utf-8") as log:
        for batch in bulk.batches(small):
            for result in uploader.upload(batch):
                log.write(
                    json.dumps(
                        {
                            "rcwiz": "bulk",
                            "object": result.relative,
                            "size": result.size,
                            "ok": result.ok,
                            "message": result.message,
                        }
                    )
                    + "\n"
                )
                if result.ok:
                    phase.bytes += result.size
                    phase.files += 1
                    sink.file_done(
                        FileDone(
                            result.relative, "new", result.size, None, "Copied (new) by bulk upload"
                        )
                    )
                else:
                    phase.refused.append(result.relative)
                    sink.log(
                        LogLine(
                            "notice",
                            f"bulk upload refused {result.relative}: "
                            f"{result.message}; rclone will send it",
                            result.relative,
                        )
                    )
            sink.progress(_progress(phase, expected, len(local)))
    phase.requests = uploader.requests
    return phase
