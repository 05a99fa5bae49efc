"""The fast path for uploads to Nextcloud: small files by bulk upload, the rest by rclone.

Used by the transfer commands when the destination is a Nextcloud remote that advertises
dav.bulkupload and the source is a local folder. Files already on the server with the same
size and modification time are skipped (as rclone would), so a re-run costs one listing.
Files the bulk request refuses are left to rclone, which runs right after and sends the large
files and anything still missing, under the same progress display and summary.
"""

from __future__ import annotations

from pathlib import Path

from rcwiz.nextcloud import bulk
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.capabilities import Capabilities
from rcwiz.rclone.events import FileDone, LogLine
from rcwiz.rclone.lsjson import file_listing
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import fastpath
from rcwiz.transfer.engine import Expected, Sink
from rcwiz.transfer.fastpath import Phase
from rcwiz.transfer.walk import Tree


def eligible(opts: TransferOptions) -> bool:
    """Bulk upload may run: a plain copy or sync (fastpath.plain) of a local folder."""
    return fastpath.plain(opts) and Path(opts.source).expanduser().is_dir()


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
    to_send = [f for f in local if not fastpath.unchanged(f.size, f.mtime, there.get(f.relative))]
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
                fastpath.log_file(
                    log, "bulk", result.relative, result.size, result.ok, result.message
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
            sink.progress(fastpath.progress(phase, expected, len(local)))
    phase.requests = uploader.requests
    return phase
