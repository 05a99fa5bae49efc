"""A big download from the real Nextcloud, interrupted and re-run: rcwiz against rclone.

    .venv/bin/python benchmarks/resume_download.py [--size-mb 1000] [--rtt-ms 30]
        [--cap-mbps 20] [--at 0.7] [--rounds 1] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh) in a temporary folder, uploads one
file of SIZE_MB megabytes (random bytes) straight to it, and puts benchmarks/latency_proxy.py
in front (--rtt-ms, 30: 15 ms each way; --cap-mbps, 20: each connection limited to 20 MB/s per
direction, what one TCP stream gets on such a link). Then, for each tool:

* whole: an uninterrupted download into a new folder (rclone with its defaults: multi-thread
  download of 4 streams above 256 MiB, `--multi-thread-streams 4 --multi-thread-cutoff 256M`
  said explicitly; rcwiz: its ranged download), timed;
* sigterm, sigkill: a download interrupted once AT (0.7) of the file's bytes are on disk
  (the destination folder's allocated blocks, partial files included, polled every 50 ms), by
  SIGTERM or SIGKILL to the tool's process group, then the same command again: the bytes the
  proxy carried from the server during the re-run, as a share of the file (goal: rcwiz at most
  0.35), and the re-run's time.

Every finished download is compared byte for byte with the file uploaded; one that differs is
reported as FAILED. The cases run --rounds times (which tool goes first alternates by round);
prints each run with the load average, and a table of medians with their min-max; --json
FILE writes everything. Exit 0 when
every run verified and rcwiz's re-runs met the goal, 1 otherwise, 130 when interrupted. The
server, the proxy and the temporary folder are removed at the end.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import BenchError, Nextcloud, Tools, checked, clean_env, make_big_file, write_config
from latency_proxy import LatencyProxy

REMOTE = "bench"
GOAL = 0.35  # the re-run moves at most this share of the file
TIMEOUT = 1800.0


def on_disk(folder: Path) -> int:
    """Bytes allocated under FOLDER (sparse partial files count what they hold)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            total += path.lstat().st_blocks * 512 if path.is_file() else 0
        except OSError:
            continue
    return total


class Bench:
    def __init__(self, tools: Tools, env: dict[str, str], config: Path, proxy: LatencyProxy):
        self.tools, self.env, self.config, self.proxy = tools, env, config, proxy

    def argv(self, tool: str, dest: Path) -> list[str]:
        if tool == "rclone":
            return [
                str(self.tools.rclone),
                "--config",
                str(self.config),
                "copy",
                f"{REMOTE}:big",
                str(dest),
                "--multi-thread-streams",
                "4",
                "--multi-thread-cutoff",
                "256M",
            ]
        return [
            str(self.tools.rcwiz),
            "--config",
            str(self.config),
            "copy",
            f"{REMOTE}:big",
            str(dest),
        ]

    def run(
        self, tool: str, dest: Path, stop_at: int | None = None, how: int = 0
    ) -> dict[str, Any]:
        """One download into DEST (stopped by HOW once STOP_AT bytes are on disk)."""
        before = self.proxy.stats().bytes_down
        began = time.perf_counter()
        proc = subprocess.Popen(
            self.argv(tool, dest),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            while stop_at is not None and proc.poll() is None:
                if dest.exists() and on_disk(dest) >= stop_at:
                    os.killpg(proc.pid, how)
                    break
                time.sleep(0.05)
            _, err = proc.communicate(timeout=TIMEOUT)
        except BaseException:
            with_kill(proc)
            raise
        seconds = time.perf_counter() - began
        moved = self.proxy.stats().bytes_down - before
        return {
            "seconds": round(seconds, 2),
            "moved": moved,
            "code": proc.returncode,
            "err": err.decode()[-400:],
        }


def with_kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


CASES = ("whole", "sigterm", "sigkill")


def one_run(
    bench: Bench, tool: str, case: str, dest: Path, source: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """TOOL's download of CASE into DEST (interrupted first unless whole), checked and removed."""
    size = source.stat().st_size
    entry: dict[str, Any] = {}
    if case != "whole":
        how = signal.SIGTERM if case == "sigterm" else signal.SIGKILL
        entry["first"] = bench.run(tool, dest, int(args.at * size), how)
    rerun = bench.run(tool, dest)
    entry.update(rerun)
    entry["share"] = round(rerun["moved"] / size, 3)
    entry["verified"] = rerun["code"] == 0 and filecmp.cmp(source, dest / "big.bin", shallow=False)
    entry["load"] = round(os.getloadavg()[0], 2)
    print(
        f"{case:8} {tool:6} {entry['seconds']:8.1f} s  moved {entry['share']:6.1%} "
        f"{'verified' if entry['verified'] else 'FAILED'}  load {entry['load']:.2f}",
        file=sys.stderr,
        flush=True,
    )
    shutil.rmtree(dest, ignore_errors=True)
    return entry


def _spread(values: list[float], form: str) -> str:
    """The median of VALUES and their range, each in FORM."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{mid:{form}} ({low:{form}}-{high:{form}})"


def summary(runs: dict[str, list[dict[str, Any]]], size: int, args: argparse.Namespace) -> dict:
    """Print the table (median and min-max over the rounds) and return it as data."""
    table: dict[str, Any] = {}
    print(
        f"\n{args.size_mb} MB, {args.rtt_ms:g} ms RTT, {args.cap_mbps:g} MB/s per connection, "
        f"{args.rounds} round(s): median (min-max)"
    )
    for case in CASES:
        for tool in ("rclone", "rcwiz"):
            mine = runs[f"{case}/{tool}"]
            seconds = [e["seconds"] for e in mine]
            shares = [e["share"] for e in mine]
            table[f"{case}/{tool}"] = {"seconds": seconds, "share": shares}
            line = f"{case:8} {tool:6} {_spread(seconds, '.1f')} s"
            if case == "whole":
                line += f", {size / statistics.median(seconds) / 1e6:.1f} MB/s"
            else:
                line += f", re-run moved {_spread(shares, '.1%')} (goal rcwiz <= {GOAL:.0%})"
            print(line)
    loads = [e["load"] for mine in runs.values() for e in mine]
    print(f"load average (1 min) at each run's end: {_spread(loads, '.2f')}")
    table["load"] = loads
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--rtt-ms", type=float, default=30)
    parser.add_argument("--cap-mbps", type=float, default=20)
    parser.add_argument("--at", type=float, default=0.7)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rcwiz-bench-resume-"))
    nc = Nextcloud(work / "nc")
    proxy: LatencyProxy | None = None
    results: dict[str, Any] = {"settings": vars(args) | {"json": str(args.json)}, "runs": {}}
    ok = True
    try:
        tools = Tools.beside_python()
        env = clean_env(work)
        size = args.size_mb * 10**6
        if shutil.disk_usage(work).free < 6 * size:
            raise BenchError(f"{6 * size / 1e9:.1f} GB free are needed in {work}")
        print("starting Nextcloud and uploading the file …", file=sys.stderr)
        nc.start()
        user, password = nc.add_user("none")
        source = work / "data" / "big.bin"
        make_big_file(source, size)
        direct = work / "direct.conf"
        write_config(
            direct,
            tools.rclone,
            f"{nc.url}/remote.php/dav/files/{user}/",
            user,
            password,
            env,
            REMOTE,
        )
        checked(
            [
                str(tools.rclone),
                "--config",
                str(direct),
                "copy",
                str(source.parent),
                f"{REMOTE}:big",
            ],
            env,
        )
        proxy = LatencyProxy(
            ("127.0.0.1", nc.port), args.rtt_ms / 2000, cap=args.cap_mbps * 1e6
        ).start()
        config = work / "rclone.conf"
        dav_url = f"http://127.0.0.1:{proxy.port}/remote.php/dav/files/{user}/"
        write_config(config, tools.rclone, dav_url, user, password, env, REMOTE)
        bench = Bench(tools, env, config, proxy)
        for round_ in range(args.rounds):
            order = ("rclone", "rcwiz") if round_ % 2 == 0 else ("rcwiz", "rclone")
            for case in CASES:
                for tool in order:
                    entry = one_run(bench, tool, case, work / f"{tool}-{case}", source, args)
                    entry["round"] = round_
                    ok = ok and entry["verified"]
                    if tool == "rcwiz" and case != "whole":
                        ok = ok and entry["share"] <= GOAL
                    results["runs"].setdefault(f"{case}/{tool}", []).append(entry)
        results["summary"] = summary(results["runs"], size, args)
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if proxy is not None:
            proxy.stop()
        nc.stop()
        shutil.rmtree(work, ignore_errors=True)
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
