"""Resumed uploads: a big upload to a real Nextcloud 30 at a 30 ms round trip, stopped at 70 %
by SIGTERM and by SIGKILL, then run again: the bytes the re-run moves, rcwiz against rclone.

    .venv/bin/python benchmarks/resume_upload.py [--size-mb 1000] [--at 0.7] [--rtt-ms 30]
        [--rounds 1] [--quick] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh) in a temporary folder, a fresh user,
and benchmarks/latency_proxy.py in front of it (--rtt-ms), as nextcloud_speed.py does. One file
of SIZE_MB megabytes of random bytes. For each tool (rcwiz, rclone) and each signal (SIGTERM,
SIGKILL), --rounds times, into a fresh folder:

* the first run (`rcwiz copy SRC nc:F`, `rclone copy SRC nc:F`, their defaults) is stopped
  once AT of the file is on the server: for rcwiz, confirmed chunks in its resume ledger; for
  rclone, the chunks in its upload session on the server's disk. The signal goes to the run's
  process group, as a Slurm time limit sends it (SIGTERM) or ends it (SIGKILL);
* the re-run (the same command) is timed, and the bytes it sends through the proxy (client to
  server: the chunks and every request) are counted;
* the file on the server must have the source's SHA-1 (read from the server's data folder),
  and what the run left in the upload area is measured (rclone leaves its first session).

A file smaller than 8 chunks of 32 MiB is sent as 8 chunks all at once (they arrive together),
so a stop at 70 % needs a file of about 400 MB or more (--quick: 500 MB).

Prints each run and a table: the re-run's bytes as a share of the file (median, min-max), its
time, the goal (rcwiz <= 35 %) met or missed. Exit 0 when every run gave the right file, 1
when one did not, 130 when interrupted. Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import BenchError, Tools, make_big_file, run_main, served, timed
from latency_proxy import LatencyProxy

REMOTE = "nc"
GOAL = 0.35  # rcwiz's re-run moves at most this share of the file
TIMEOUT = 1800.0
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1000, help="the file, in 10**6 bytes")
    parser.add_argument("--at", type=float, default=0.7, help="the share on the server at the stop")
    parser.add_argument("--rtt-ms", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a 500 MB file")
    parser.add_argument("--json", type=Path, help="write every run and the summary here")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb = 500
    return args


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while block := handle.read(8 * 2**20):
            digest.update(block)
    return digest.hexdigest()


def ledger_bytes(state: Path, size: int) -> int:
    """Bytes rcwiz's resume ledger says the server confirmed (its chunk size from the record)."""
    total = 0
    for path in (state / "rcwiz" / "resume").glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced
        chunk = int(record["chunk"])
        total += sum(min(chunk, size - (int(n) - 1) * chunk) for n in record["chunks"])
    return total


def session_bytes(uploads: Path) -> int:
    """Bytes of the chunks in the user's upload area, on the server's disk."""
    if not uploads.is_dir():
        return 0
    total = 0
    for path in uploads.rglob("*"):
        try:
            if path.is_file() and path.name != ".file":
                total += path.stat().st_size
        except OSError:
            continue  # assembled or removed meanwhile
    return total


def stop_at(
    argv: list[str], env: dict[str, str], logs: Path, name: str, held: Any, goal: int, how: int
) -> tuple[float, int]:
    """Run ARGV until HELD() >= GOAL bytes, then send HOW to its group; (seconds, exit)."""
    with open(logs / f"{name}.out", "wb") as out, open(logs / f"{name}.err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while held() < goal:
                if proc.poll() is not None:
                    raise BenchError(f"{name} ended (exit {proc.returncode}) before the stop")
                if time.monotonic() > deadline:
                    raise BenchError(f"{name} did not reach the stop within {TIMEOUT:.0f} s")
                time.sleep(0.02)
            os.killpg(proc.pid, how)
            code = proc.wait(120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return time.perf_counter() - start, code


def one_run(
    tool: str, how: str, round_: int, ctx: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """Stop TOOL's upload at AT with HOW, run it again; what the re-run moved, and the file."""
    tools: Tools = ctx["tools"]
    env, config, source, size = ctx["env"], ctx["config"], ctx["source"], ctx["size"]
    proxy: LatencyProxy = ctx["proxy"]
    folder = f"resume-{tool}-{how.lower()}-{round_}"
    if tool == "rcwiz":
        argv = [str(tools.rcwiz), "--config", str(config), "--json", "copy"]

        def held() -> int:
            return ledger_bytes(Path(env["XDG_STATE_HOME"]), size)
    else:
        argv = [str(tools.rclone), "--config", str(config), "copy"]
        base = session_bytes(ctx["uploads"])

        def held() -> int:
            return session_bytes(ctx["uploads"]) - base

    argv += [str(source.parent), f"{REMOTE}:{folder}"]
    logs = ctx["logs"]
    before = proxy.stats().bytes_up
    first_s, first_code = stop_at(
        argv, env, logs, f"{folder}-1", held, int(args.at * size), SIGNALS[how]
    )
    first_bytes = proxy.stats().bytes_up - before
    on_server = held()
    before = proxy.stats().bytes_up
    seconds, code = timed(argv, env, logs / f"{folder}-2.out", logs / f"{folder}-2.err", TIMEOUT)
    moved = proxy.stats().bytes_up - before
    stored = ctx["files"] / folder / source.name
    good = code == 0 and stored.is_file() and sha1_of(stored) == ctx["sha1"]
    resumed = None
    if tool == "rcwiz" and code == 0:
        lines = (logs / f"{folder}-2.out").read_text().strip().splitlines()
        resumed = json.loads(lines[-1]).get("resumed_bytes")
    left = session_bytes(ctx["uploads"])
    run = {
        "tool": tool,
        "signal": how,
        "round": round_,
        "first_s": round(first_s, 2),
        "first_exit": first_code,
        "first_bytes_up": first_bytes,
        "held_at_stop": on_server,
        "rerun_s": round(seconds, 2),
        "rerun_exit": code,
        "rerun_bytes_up": moved,
        "rerun_share": round(moved / size, 4),
        "resumed_bytes": resumed,
        "left_in_uploads": left,
        "identical": good,
        "load": round(os.getloadavg()[0], 2),
    }
    print(
        f"  {tool:6} {how:7} stopped at {on_server / size:5.1%} (exit {first_code}); re-run "
        f"{seconds:6.2f} s, moved {moved / size:6.1%} of the file, exit {code}, "
        f"{'identical' if good else 'NOT IDENTICAL'}; {left / 1e6:.0f} MB left in uploads; "
        f"load {run['load']:.2f}",
        flush=True,
    )
    # The next run starts from a clean slate: the file removed, every session removed.
    remove = [str(tools.rcwiz), "--config", str(config), "uploads", "rm", f"{REMOTE}:", "--yes"]
    subprocess.run(remove, env=env, capture_output=True, check=False, timeout=300)
    ctx["nc"].http_delete(f"/remote.php/dav/files/{ctx['user']}/{folder}", ctx["auth"])
    return run


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.1%} ({min(values):.1%}-{max(values):.1%})"


def _loads(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result: dict[str, Any] = {"settings": vars(args) | {"json": str(args.json)}, "runs": []}
    return run_main("resume_upload.py", lambda: _bench(args, result), result, args.json)


def _bench(args: argparse.Namespace, result: dict[str, Any]) -> int:
    work = Path(tempfile.mkdtemp(prefix="rcwiz-bench-resume-"))
    with served(work, args.rtt_ms, REMOTE) as bench:
        tools, env, nc, proxy, logs = bench.tools, bench.env, bench.nc, bench.proxy, bench.logs
        config, user, password = bench.config, bench.user, bench.password
        size = args.size_mb * 10**6
        source = work / "data" / "big.bin"
        make_big_file(source, size)
        ctx = {
            "tools": tools,
            "env": env,
            "config": config,
            "source": source,
            "size": size,
            "sha1": sha1_of(source),
            "proxy": proxy,
            "logs": logs,
            "nc": nc,
            "user": user,
            "auth": (user, password),
            "files": nc.workdir / "data" / user / "files",
            "uploads": nc.workdir / "data" / user / "uploads",
        }
        print(
            f"one file of {args.size_mb} MB; +{args.rtt_ms:g} ms round trip through the proxy; "
            f"stopped at {args.at:.0%}, then run again; {args.rounds} round(s)",
            flush=True,
        )
        for round_ in range(args.rounds):
            for tool in ("rcwiz", "rclone") if round_ % 2 == 0 else ("rclone", "rcwiz"):
                for how in SIGNALS:
                    result["runs"].append(one_run(tool, how, round_, ctx, args))
        runs = result["runs"]
        ok = all(r["identical"] for r in runs)
        print()
        print(f"re-run after a stop at {args.at:.0%}, {args.size_mb} MB, {args.rtt_ms:g} ms RTT")
        summary: dict[str, Any] = {"goal": GOAL}
        for tool in ("rcwiz", "rclone"):
            for how in SIGNALS:
                mine = [r for r in runs if (r["tool"], r["signal"]) == (tool, how)]
                shares = [r["rerun_share"] for r in mine]
                times = [r["rerun_s"] for r in mine]
                summary[f"{tool}_{how}"] = {"share": shares, "seconds": times}
                print(
                    f"  {tool:6} after {how:7}  moved {_spread(shares)} of the file, "
                    f"{statistics.median(times):.2f} s"
                )
        loads = [r["load"] for r in runs]
        summary["load"] = loads
        print(f"  load average (1 min) at each re-run's end: {_loads(loads)}")
        worst = max(r["rerun_share"] for r in runs if r["tool"] == "rcwiz")
        summary["met"] = worst <= GOAL
        result["summary"] = summary
        met = "met" if worst <= GOAL else "missed"
        print(f"  goal: rcwiz's re-run <= {GOAL:.0%} of the file: {met}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
