"""The measurements behind the upload fast path's settings, on a real Nextcloud 30 made distant.

    .venv/bin/python benchmarks/nextcloud_tuning.py [--rtt-ms 30] [--rounds 3] [--files 1000]
        [--size 2000] [--big-mb 1000] [--cap-mbps 20] [--only bulk,chunks,rclone]
        [--json FILE]

The same set-up as nextcloud_speed.py (the Nextcloud 30 of ../shared/nextcloud, a fresh user,
benchmarks/latency_proxy.py in front of it at --rtt-ms), and three sweeps, each run --rounds
times in an order that changes from round to round, so that what else the machine does
weighs on every setting alike:

* bulk: FILES files of SIZE bytes by bulk upload with 1, 2, 3 and 4 requests in flight
  (rcwiz.transfer.bulk.REQUESTS_IN_FLIGHT), each to a fresh folder; the connections the
  client opened (rcwiz.http.Client.opened) against the requests it sent;
* chunks: one file of BIG_MB megabytes by rcwiz's parallel chunked upload (rcwiz.nextcloud.
  chunked) with chunks of 10, 16, 32 and 64 MiB, 4 at once, and 32 MiB with 1, 2, 4 and 8 at
  once, without and with the proxy's per-connection cap of CAP_MBPS MB/s;
* rclone: the same file by `rclone copy` with `--webdav-nextcloud-chunk-size` 10M (rclone's
  default), 32M, 64M and 100M, without and with the cap.

Each run is one child process, timed from start to exit, its peak resident memory (VmHWM,
with its children's) sampled every 50 ms, its data checked afterwards (`rclone check
--one-way` for the big file, the file count and bytes for the small ones). Prints one line
per run and a table per sweep: median (min-max) seconds and peak RSS. Exit 0 when every run
verified, 1 when one failed, 130 when interrupted. Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    BenchError,
    Nextcloud,
    Tools,
    capture,
    checked,
    make_big_file,
    make_dataset,
    served,
    timed,
)
from latency_proxy import LatencyProxy
from nextcloud_speed import PeakRss

REMOTE = "nc"

# One upload by rcwiz's own code, the setting under test given on the command line.
BULK_CHILD = """
import sys, time
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud import bulk as protocol
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import bulk
from rcwiz.events import Expected
from rcwiz.transfer.walk import walk

from rcwiz.counting import Tally
from rcwiz.transfer.bulk_run import Phase, Run
from rcwiz.transfer.engine import RunLog
from rcwiz.transfer.fastpath import Channel

server, user, password, source, dest, in_flight = sys.argv[1:7]
bulk.REQUESTS_IN_FLIGHT = int(in_flight)


class Quiet:
    def start(self, *args): pass
    def progress(self, p): pass
    def tuning(self, flags): pass
    def file_done(self, d): pass
    def log(self, line): pass
    def finish(self, s): pass
    def closed(self): pass


tree = walk(source)
opts = TransferOptions(source=source, dest=f"nc:{dest}")
uploader = protocol.Uploader(Account("nc:", server, user, user, password, "/"), opts.dest)
channel = Channel(opts, Quiet(), Tally("copy"), RunLog(None, print), print)
state = Run(channel, Expected(tree.bytes, len(tree.files)), 0, Phase(), set())
bulk._send_small(state, uploader, tree.files)
if state.phase.left:
    sys.exit(f"{len(state.phase.left)} file(s) not sent")
print(f"requests {state.phase.requests + len(tree.folders) + 1}, connections "
      f"{uploader.client.opened}")
"""

CHUNKS_CHILD = """
import os, sys
from rcwiz.nextcloud import chunked
from rcwiz.nextcloud.account import Account

server, user, password, path, dest, chunk, parallel = sys.argv[1:8]
account = Account("nc:", server, user, user, password, "/")
client = account.client()
parts = dest.split("/")[:-1]
for depth in range(1, len(parts) + 1):
    client.request("MKCOL", f"/remote.php/dav/files/{user}/{'/'.join(parts[:depth])}/")
info = os.stat(path)
upload = chunked.Upload(
    account, dest, chunked.Source(path, info.st_size, info.st_mtime),
    chunk=int(chunk) * 2**20, parallel=int(parallel),
)
upload.run()
print(f"chunks of {upload.chunk / 2**20:.1f} MiB, {upload.parallel} at once")
"""


@dataclass
class Run:
    sweep: str
    setting: str
    round: int
    capped: bool
    ok: bool = False
    seconds: float | None = None
    rss_mb: float | None = None  # the process and its children: the sum of their peaks
    said: str = ""
    error: str | None = None


@dataclass
class Tuning:
    tools: Tools
    env: dict[str, str]
    config: Path
    nc: Nextcloud
    user: str
    password: str
    proxy: LatencyProxy
    logs: Path
    say: Callable[[str], None]
    runs: list[Run]

    def rclone(self, *args: str) -> list[str]:
        return [str(self.tools.rclone), "--config", str(self.config), *args]

    def one(
        self,
        run: Run,
        argv: list[str],
        verify: Callable[[], None],
        cleanup: Callable[[], None],
    ) -> None:
        name = f"{run.sweep}-{run.setting}-{run.round}-{int(run.capped)}".replace(" ", "_")
        out, err = self.logs / f"{name}.out", self.logs / f"{name}.err"
        sampler: PeakRss | None = None

        def watch(proc: Any) -> Callable[[], None]:
            nonlocal sampler
            sampler = PeakRss(proc.pid)
            return sampler.watch()

        self.proxy.cap = CAP if run.capped else None
        try:
            seconds, code = timed(argv, self.env, out, err, 3600, watch=watch)
            if code != 0:
                raise BenchError(f"exited {code}: {err.read_text(errors='replace')[-800:]}")
            verify()
            run.ok, run.seconds = True, seconds
            said = out.read_text(errors="replace").strip().splitlines()
            run.said = said[-1] if said else ""
        except BenchError as exc:
            run.error = str(exc)
        finally:
            self.proxy.cap = None
            if sampler is not None:
                run.rss_mb = (sampler.own or 0.0) + (sampler.children or 0.0)
            cleanup()
        self.runs.append(run)
        status = f"{run.seconds:7.2f} s" if run.ok else "FAILED"
        cap = ", capped" if run.capped else ""
        rss = f", peak RSS {run.rss_mb:.0f} MB" if run.rss_mb else ""
        self.say(f"  {run.sweep} {run.setting}{cap} #{run.round}: {status}{rss}  {run.said}")
        if run.error:
            self.say(f"      {run.error[:800]}")

    def check_big(self, local: Path, folder: str) -> None:
        done = capture(
            self.rclone("check", str(local), f"{REMOTE}:{folder}", "--one-way"), self.env
        )
        if done.returncode != 0 or "0 differences found" not in done.stderr:
            raise BenchError(f"rclone check: {done.stderr.strip()[-400:]}")

    def check_count(self, folder: str, files: int, size: int) -> None:
        found = json.loads(checked(self.rclone("size", "--json", f"{REMOTE}:{folder}"), self.env))
        if (found["count"], found["bytes"]) != (files, files * size):
            raise BenchError(f"{folder} holds {found}, not {files} files of {size} B")

    def purge(self, folder: str) -> None:
        capture(self.rclone("purge", f"{REMOTE}:{folder}"), self.env)
        self.nc.occ("trashbin:cleanup", self.user)
        capture(["sync"], self.env)  # the next run should not pay for this one's writes


CAP = 20e6


def rotated(items: list[Any], round_no: int) -> list[Any]:
    """ITEMS in an order that differs from round to round (rotated, every other one reversed)."""
    shift = round_no % len(items)
    order = items[shift:] + items[:shift]
    return order if round_no % 2 else list(reversed(order))


def sweeps(t: Tuning, args: argparse.Namespace, small: Path, big: Path) -> None:
    server = f"http://127.0.0.1:{t.proxy.port}"
    secret = [server, t.user, t.password]
    py = sys.executable
    for round_no in range(1, args.rounds + 1):
        if "bulk" in args.only:
            for k in rotated([1, 2, 3, 4], round_no):
                folder = f"tuning/bulk-{k}-{round_no}"
                t.one(
                    Run("bulk", f"{k} in flight", round_no, False),
                    [py, "-c", BULK_CHILD, *secret, str(small), folder, str(k)],
                    lambda f=folder: t.check_count(f, args.files, args.size),
                    lambda f=folder: t.purge(f),
                )
        for capped in (False, True):
            settings: list[tuple[str, str, list[str], str]] = []  # sweep, setting, argv, folder
            if "chunks" in args.only:
                for size, n in ((10, 4), (16, 4), (32, 4), (64, 4), (32, 1), (32, 2), (32, 8)):
                    folder = f"tuning/chunks/{size}-{n}"
                    argv = [py, "-c", CHUNKS_CHILD, *secret, str(big), f"{folder}/{big.name}"]
                    settings.append(
                        ("chunks", f"{size} MiB x{n}", [*argv, str(size), str(n)], folder)
                    )
            if "rclone" in args.only:
                for size in ("10M", "32M", "64M", "100M"):
                    folder = f"tuning/rclone/{size}"
                    argv = t.rclone("copy", str(big), f"{REMOTE}:{folder}")
                    argv += ["--webdav-nextcloud-chunk-size", size]
                    settings.append(("rclone", f"chunk {size}", argv, folder))
            for sweep, setting, argv, folder in rotated(settings, round_no) if settings else []:
                t.one(
                    Run(sweep, setting, round_no, capped),
                    argv,
                    lambda f=folder: t.check_big(big.parent, f),
                    lambda f=folder: t.purge(f),
                )


def tables(runs: list[Run]) -> str:
    lines = []
    for sweep in ("bulk", "chunks", "rclone"):
        mine = [r for r in runs if r.sweep == sweep]
        if not mine:
            continue
        lines += [
            "",
            f"| {sweep} | capped | seconds, median (min–max) | peak RSS |",
            "|---|---|---|---|",
        ]
        for setting in dict.fromkeys(r.setting for r in mine):
            for capped in (False, True):
                these = [r for r in mine if r.setting == setting and r.capped == capped]
                ok = sorted(r.seconds for r in these if r.ok and r.seconds is not None)
                if not these:
                    continue
                cell = (
                    "FAILED"
                    if not ok
                    else f"{statistics.median(ok):.2f} ({ok[0]:.2f}–{ok[-1]:.2f})"
                )
                rss = max((r.rss_mb or 0.0) for r in these)
                lines.append(f"| {setting} | {'yes' if capped else 'no'} | {cell} | {rss:.0f} MB |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rtt-ms", type=float, default=30.0, help="round trip added (default 30)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each setting (default 3)")
    p.add_argument("--files", type=int, default=1000, help="small files (default 1000)")
    p.add_argument("--size", type=int, default=2000, help="bytes per small file (default 2000)")
    p.add_argument("--big-mb", type=int, default=1000, help="the big file in MB (default 1000)")
    p.add_argument("--cap-mbps", type=float, default=20.0, help="per-connection cap (MB/s)")
    p.add_argument("--only", default="bulk,chunks,rclone", help="sweeps to run")
    p.add_argument("--json", type=Path, metavar="FILE", help="write every run as JSON")
    args = p.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",")}
    if args.only - {"bulk", "chunks", "rclone"} or min(args.rounds, args.files, args.big_mb) < 1:
        p.error("--only takes bulk, chunks, rclone; --rounds, --files, --big-mb are positive")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    global CAP
    args = parse_args(argv)
    CAP = args.cap_mbps * 1e6
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="rcwiz-bench-tuning-"))
    runs: list[Run] = []

    def say(text: str) -> None:
        print(text, flush=True)

    try:
        with served(work, args.rtt_ms, REMOTE) as s:
            small = make_dataset(work / "data" / "small", args.files, args.size).path
            big = work / "data" / "big" / "big.bin"
            make_big_file(big, args.big_mb * 10**6)
            say(
                f"+{args.rtt_ms:g} ms round trip, cap {args.cap_mbps:g} MB/s per connection "
                f"when capped; {args.files} x {args.size} B, {args.big_mb} MB; "
                f"{args.rounds} rounds"
            )
            tuning = Tuning(
                s.tools, s.env, s.config, s.nc, s.user, s.password, s.proxy, s.logs, say, runs
            )
            checked(tuning.rclone("mkdir", f"{REMOTE}:tuning"), s.env)
            sweeps(tuning, args, small, big)
        say(tables(runs))
        return 1 if any(not r.ok for r in runs) else 0
    except BenchError as exc:
        print(f"nextcloud_tuning.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nextcloud_tuning.py: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if args.json is not None:
            args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
