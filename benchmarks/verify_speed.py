"""Proof by content: `rcwiz check` against `rclone check --download` on a real Nextcloud 30 made
distant by the latency proxy, side by side.

    .venv/bin/python benchmarks/verify_speed.py [--quick] [--files 1000] [--size 2000]
        [--rtt-ms 30] [--rounds 3] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh) in a temporary folder, a fresh user,
and benchmarks/latency_proxy.py in front of it (--rtt-ms, default 30), as nextcloud_speed.py
does. FILES files of SIZE bytes (1000 x 2 kB) go up with `rcwiz copy` (bulk upload: the server
keeps no checksum for them, so `rclone check` without --download would compare sizes only).
Then, --rounds times, alternating which goes first:

* rclone: `rclone check --download LOCAL nc:verify` (rclone's defaults: 8 checkers, one GET
  per file);
* rcwiz: `rcwiz --json check LOCAL nc:verify` (one listing, the content through Nextcloud's
  archive download, hashed as it arrives).

Each run must exit 0 and rcwiz must say it compared every file by content. Afterwards one file
is changed in the server's data folder with its size and time kept, and both tools must exit 1
(not timed). Prints each run and a table: median (min-max) per tool, the ratio rclone/rcwiz
with its range over rounds, the goal (>= 10x) met or missed. Exit 0 when every run gave the
right answer, 1 when one did not, 130 when interrupted. Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import BenchError, capture, checked, make_dataset, run_main, served, timed

REMOTE = "nc"
FOLDER = "verify"
GOAL = 10.0  # rcwiz at least this many times faster than rclone check --download
TIMEOUT = 1800.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--rtt-ms", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 files, 1 round")
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.rounds = 100, 1
    return args


def _run(argv: list[str], env: dict[str, str], logs: Path, name: str) -> tuple[float, int, str]:
    """(seconds, exit code, stdout) of ARGV, its output kept in LOGS."""
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    seconds, code = timed(argv, env, out, err, TIMEOUT)
    return seconds, code, out.read_text(encoding="utf-8", errors="replace")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result: dict[str, Any] = {"settings": vars(args) | {"json": str(args.json)}, "runs": []}
    return run_main("verify_speed.py", lambda: _bench(args, result), result, args.json)


def _bench(args: argparse.Namespace, result: dict[str, Any]) -> int:
    work = Path(tempfile.mkdtemp(prefix="rcwiz-bench-verify-"))
    with served(work, args.rtt_ms, REMOTE) as bench:
        tools, env, nc, user, logs = bench.tools, bench.env, bench.nc, bench.user, bench.logs
        config = bench.config
        data = make_dataset(work / "data", args.files, args.size)
        rcwiz = [str(tools.rcwiz), "--config", str(config)]
        rclone = [str(tools.rclone), "--config", str(config)]
        sent = json.loads(
            checked([*rcwiz, "--json", "copy", str(data.path), f"{REMOTE}:{FOLDER}"], env)
            .strip()
            .splitlines()[-1]
        )
        if sent.get("bulk_files") != args.files:
            raise BenchError(f"the upload did not go by bulk upload: {sent}")
        print(
            f"{args.files} files of {args.size} B sent by bulk upload; +{args.rtt_ms:g} ms "
            f"round trip through the proxy; {args.rounds} round(s), alternating",
            flush=True,
        )
        argvs = {
            "rclone": [*rclone, "check", "--download", str(data.path), f"{REMOTE}:{FOLDER}"],
            "rcwiz": [*rcwiz, "--json", "check", str(data.path), f"{REMOTE}:{FOLDER}"],
        }
        times: dict[str, list[float]] = {"rclone": [], "rcwiz": []}
        ok = True
        for round_ in range(args.rounds):
            order = ["rclone", "rcwiz"] if round_ % 2 == 0 else ["rcwiz", "rclone"]
            for tool in order:
                seconds, code, out = _run(argvs[tool], env, logs, f"{tool}-{round_}")
                good = code == 0
                if tool == "rcwiz" and good:
                    report = json.loads(out.strip().splitlines()[-1])
                    good = report["compared_by"] == {"hash": 0, "content": args.files}
                ok &= good
                times[tool].append(seconds)
                result["runs"].append({"tool": tool, "round": round_, "s": seconds, "ok": good})
                print(f"  round {round_ + 1} {tool:6} {seconds:7.2f} s  exit {code}", flush=True)

        # A file changed behind Nextcloud's back, its size and time kept: both must see it.
        stored = sorted((nc.workdir / "data" / user / "files" / FOLDER).rglob("*.bin"))[0]
        before = stored.stat()
        content = bytearray(stored.read_bytes())
        content[0] ^= 0xFF
        stored.write_bytes(bytes(content))
        os.utime(stored, ns=(before.st_atime_ns, before.st_mtime_ns))
        caught = {
            tool: capture(argv, env, timeout=TIMEOUT).returncode for tool, argv in argvs.items()
        }
        result["changed_file_exit"] = caught
        print(f"one file changed on the server's disk: exit codes {caught}", flush=True)
        ok &= caught == {"rclone": 1, "rcwiz": 1}

        ratios = [a / b for a, b in zip(times["rclone"], times["rcwiz"], strict=True)]
        ratio = statistics.median(times["rclone"]) / statistics.median(times["rcwiz"])
        met = "met" if ratio >= GOAL else "missed"
        summary = {
            "rclone_s": times["rclone"],
            "rcwiz_s": times["rcwiz"],
            "ratio": round(ratio, 2),
            "ratio_per_round": [round(r, 2) for r in ratios],
            "goal": GOAL,
            "met": ratio >= GOAL,
        }
        result["summary"] = summary
        print()
        print(f"verify {args.files} x {args.size} B (bulk-uploaded), {args.rtt_ms:g} ms RTT")
        print(f"  rclone check --download  {_spread(times['rclone'])}")
        print(f"  rcwiz check              {_spread(times['rcwiz'])}")
        print(
            f"  ratio {ratio:.2f}x (per round {min(ratios):.2f}-{max(ratios):.2f}); "
            f"goal >= {GOAL:g}x: {met}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
