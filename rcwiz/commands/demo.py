"""`rcwiz demo`: the whole tool on loopback, with no account and no network.

It starts the quota-reporting WebDAV server (rcwiz.demo.server) in a temporary folder, creates
a remote in a temporary rclone.conf (never the user's), copies a generated sample folder
with live progress, then shows the remotes table and a quota report, and cleans up.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz.events import Expected
from rcwiz.quota.report import CRIT_PERCENT, WARN_PERCENT, Row, state_of
from rcwiz.rclone.about import about
from rcwiz.rclone.config import list_remotes
from rcwiz.rclone.config_edit import add_remote, obscure
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import engine
from rcwiz.ui.console import Console
from rcwiz.ui.output import Output
from rcwiz.ui.progress import make_sink

if TYPE_CHECKING:
    from rcwiz.context import Context

REMOTE = "demo"
USER = "demo"
QUOTA = 256 * 1024 * 1024
# A research-like folder: many small files and a few large ones (about 60 MiB in all).
SMALL_FILES = 60
SMALL_SIZES = (1_024, 4_096, 16_384, 65_536)
BIG_FILES = (8, 16, 32)  # MiB


@dataclass(frozen=True)
class Sample:
    path: Path
    files: int
    bytes: int


def make_sample(folder: Path) -> Sample:
    """Write the sample dataset under FOLDER; return its file count and size."""
    total = 0
    count = 0
    for i in range(SMALL_FILES):
        sub = folder / f"run-{i % 3:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        size = SMALL_SIZES[i % len(SMALL_SIZES)]
        (sub / f"measurement-{i:03d}.csv").write_bytes(os.urandom(size))
        total += size
        count += 1
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for mib in BIG_FILES:
        size = mib * 1024 * 1024
        with open(raw / f"image-{mib:02d}MiB.tif", "wb") as handle:
            for _ in range(mib):
                handle.write(os.urandom(1024 * 1024))
        total += size
        count += 1
    return Sample(folder, count, total)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the server running and print how to use it (Ctrl-C stops)",
    )
    parser.add_argument(
        "--log-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds between progress lines when not on a terminal",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    from rcwiz.demo.server import QuotaServer  # optional extra: rcwiz[demo]
    from rcwiz.ui.tables import quota_table, remotes_table

    console = ctx.console
    workdir = Path(tempfile.mkdtemp(prefix="rcwiz-demo-"))
    try:
        password = secrets.token_urlsafe(16)
        (workdir / "server").mkdir()
        with QuotaServer(workdir / "server", user=USER, password=password, quota=QUOTA) as server:
            conf = workdir / "rclone.conf"
            rclone = Rclone.locate(ctx.rclone_path, conf)
            add_remote(
                conf,
                REMOTE,
                {
                    "type": "webdav",
                    "url": server.url,
                    "vendor": "other",
                    "user": USER,
                    "pass": obscure(rclone, password),
                },
            )
            console.note(
                f"[bold]rcwiz demo[/]: a WebDAV server with a "
                f"{QUOTA // 2**20} MiB quota is running at {server.url}"
            )
            console.note(f"remote '{REMOTE}:' was written to {conf}")
            sample = make_sample(workdir / "sample")
            console.note(
                f"copying a sample dataset: {sample.files} files, {sample.bytes / 2**20:.1f} MiB"
            )
            opts = TransferOptions(source=str(sample.path), dest=f"{REMOTE}:research/sample")
            summary = engine.run(
                rclone,
                opts,
                make_sink(console, args.log_interval),
                expected=Expected(bytes=sample.bytes, files=sample.files),
                log_path=workdir / "copy.jsonl",
            )
            remotes = list_remotes(rclone)
            usage = about(rclone, f"{REMOTE}:")
            row = Row(usage.remote, usage, state=state_of(usage, WARN_PERCENT, CRIT_PERCENT))

            def show(console: Console) -> None:
                console.out.print()
                console.out.print(remotes_table(remotes, title="Remotes (rcwiz remotes)"))
                console.out.print(quota_table([row], title="Quota (rcwiz quota)"))

            data = {
                "event": "demo",
                "remotes": [r.as_dict() for r in remotes],
                "quota": [usage.as_dict()],
                "copied": summary.as_dict(),
            }
            ctx.render(Output(data, show))  # now: --keep goes on serving after it
            if args.keep:
                _keep_running(ctx, server.url, conf)
        return Output()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _keep_running(ctx: Context, url: str, conf: Path) -> None:
    out = ctx.console.err if ctx.console.json else ctx.console.out
    out.print(f"\nThe demo server keeps running at {url}", markup=False)
    out.print("In another terminal, try:", markup=False)
    for command in (
        f"rcwiz --config {conf} remotes",
        f"rclone --config {conf} ls demo:",
        f"rcwiz --config {conf} copy SOMEFOLDER demo:uploads",
    ):
        out.print(f"  {command}", markup=False)
    out.print("Press Ctrl-C to stop it; the demo's files are then removed.", markup=False)
    try:
        signal.pause()
    except KeyboardInterrupt:
        out.print("Demo server stopped.", markup=False)
