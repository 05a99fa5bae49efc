"""rcwiz's fixed cost around a copy, measured directly: the time before rclone starts and after
it ends, against raw rclone's same run (issue 26: fixed cost <= 80 ms).

    .venv/bin/python benchmarks/fixed_cost.py [--rounds 20] [--rcwiz installed|checkout] [--json]

It sets up what copy_overhead.py sets up (a wheel of this checkout in a fresh venv, `rclone
serve webdav` on 127.0.0.1, a temporary rclone.conf) and copies a tree of one 1-byte file,
ROUNDS times with raw `rclone copy` (rcwiz's logging flags) and ROUNDS times with `rcwiz copy`,
alternating which goes first, each to a fresh folder, checked and removed. Both run the real
rclone through the same stand-in: a bash script that appends bash's $EPOCHREALTIME (no process
started to read the clock) before it runs rclone and after rclone exits, then exits with
rclone's status. This script notes the clock just before it starts a run and when the run has
ended, so each run splits into

* before: from the start to rclone's start (Python's start-up, imports, argument parsing,
  rclone.conf, the free space by PROPFIND, any other rclone run, for rcwiz; bash's start-up
  for both);
* rclone: the copy itself (from the first rclone to start to the last to end);
* after: from rclone's end to the process's end (rcwiz's summary and exit; bash's exit).

rcwiz's fixed cost is its before + after minus raw rclone's (the stand-in's bash cancels
out), per round and as the median; the difference of the medians of the wall times is shown
beside it. When valgrind is installed, one more rcwiz copy runs under callgrind, whose count of
the instructions rcwiz's process executes (rclone not included) no other load changes: the
figure to compare on a shared machine (benchmarks/startup.py counts the same way).
Linux only; everything lives in a temporary folder that is removed at the end.
Exit status: 0 when every run worked (whether or not the goal was met), 1 when a run broke.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# benchmarks/copy_overhead.py (this script's folder is on sys.path): the setup and one run.
from copy_overhead import (
    GOAL_FIXED_SECONDS,
    Bench,
    BenchError,
    Server,
    Tools,
    busy_cores,
    clean_env,
    installed_tools,
    machine,
    make_dataset,
    measure,
    versions,
    write_config,
)
from startup import instructions, interpreter

STAND_IN = """#!/bin/bash
# rclone with its start and end stamped (benchmarks/fixed_cost.py)
printf 'start %s\\n' "$EPOCHREALTIME" >> {stamps}
{rclone} "$@"
code=$?
printf 'end %s\\n' "$EPOCHREALTIME" >> {stamps}
exit $code
"""


def stand_in(folder: Path, rclone: Path) -> tuple[Path, Path]:
    """(the stand-in script, the file it stamps) for the real RCLONE."""
    stamps, script = folder / "stamps", folder / "rclone"
    stamps.touch()
    script.write_text(
        STAND_IN.format(stamps=shlex.quote(str(stamps)), rclone=shlex.quote(str(rclone)))
    )
    script.chmod(0o755)
    return script, stamps


def _epoch(text: str) -> float:
    return float(text.replace(",", "."))  # $EPOCHREALTIME follows the locale's decimal point


def one_run(bench: Bench, kind: str, dest: str, stamps: Path) -> dict[str, float]:
    """One 1-byte copy to a fresh folder, timed and split at rclone's start and end."""
    target = bench.server_root / dest
    if target.exists():
        shutil.rmtree(target)
    stamps.write_text("")
    out, err = bench.logs / f"{dest}.out", bench.logs / f"{dest}.err"
    started = time.time()  # the same clock as $EPOCHREALTIME (CLOCK_REALTIME)
    _, code, own, children, _ = measure(
        bench.argv(kind, dest),
        bench.env,
        out,
        err,
        timeout=bench.timeout,
        split_children=kind == "rcwiz",
    )
    ended = time.time()  # after the reaping too: for both kinds alike, well under 1 ms
    if code != 0:
        tail = err.read_text(errors="replace")[-1500:] + out.read_text(errors="replace")[-800:]
        raise BenchError(f"{kind} copy to {dest} exited {code}:\n{tail}")
    copied = [p for p in target.rglob("*") if p.is_file()] if target.exists() else []
    if [p.stat().st_size for p in copied] != [bench.dataset.bytes]:
        raise BenchError(f"{kind} copy to {dest} left {len(copied)} files, not the 1-byte file")
    shutil.rmtree(target)
    marks = [line.split() for line in stamps.read_text().splitlines() if line.strip()]
    starts = [_epoch(m[1]) for m in marks if m[0] == "start"]
    ends = [_epoch(m[1]) for m in marks if m[0] == "end"]
    if not starts or len(starts) != len(ends):
        raise BenchError(f"{kind} copy to {dest}: rclone's stamps are incomplete: {marks}")
    return {
        "wall": ended - started,
        "before": min(starts) - started,
        "rclone": max(ends) - min(starts),
        "after": ended - max(ends),
        "rclone_runs": float(len(starts)),
        "own_cpu": own if kind == "rcwiz" else 0.0,
        "rclone_cpu": children if kind == "rcwiz" else own,
    }


def rounds_of(bench: Bench, rounds: int, stamps: Path, say: Callable[[str], None]) -> dict:
    """ROUNDS pairs, raw first on even rounds, after one uncounted pair."""
    for kind in ("raw", "rcwiz"):
        one_run(bench, kind, f"f-warm-{kind}", stamps)
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "rcwiz": []}
    for i in range(rounds):
        for kind in ("raw", "rcwiz") if i % 2 == 0 else ("rcwiz", "raw"):
            runs[kind].append(one_run(bench, kind, f"f-{kind}-{i}", stamps))
        w, r = runs["rcwiz"][-1], runs["raw"][-1]
        say(
            f"round {i:2d}: rcwiz {1000 * w['before']:6.1f} + {1000 * w['rclone']:6.1f} + "
            f"{1000 * w['after']:5.1f} ms, raw {1000 * r['before']:5.1f} + "
            f"{1000 * r['rclone']:6.1f} + {1000 * r['after']:5.1f} ms (before + rclone + after)"
        )
    return runs


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and range, in milliseconds."""
    ms = [1000 * v for v in values]
    q1, _, q3 = statistics.quantiles(ms, n=4, method="inclusive")
    return {"median": statistics.median(ms), "q1": q1, "q3": q3, "min": min(ms), "max": max(ms)}


def summarize(runs: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    raw, wiz = runs["raw"], runs["rcwiz"]
    fixed = [
        (w["before"] + w["after"]) - (r["before"] + r["after"])
        for w, r in zip(wiz, raw, strict=True)
    ]
    keys = ("wall", "before", "rclone", "after", "own_cpu", "rclone_cpu")
    summary: dict[str, object] = {
        kind: {key: spread([run[key] for run in kinds]) for key in keys}
        for kind, kinds in runs.items()
    }
    summary["fixed_ms"] = spread(fixed)
    summary["wall_difference_ms"] = 1000 * (
        statistics.median(r["wall"] for r in wiz) - statistics.median(r["wall"] for r in raw)
    )
    summary["rclone_runs_per_rcwiz_copy"] = max(r["rclone_runs"] for r in wiz)
    summary["goal_ms"] = 1000 * GOAL_FIXED_SECONDS
    summary["goal_met"] = statistics.median(fixed) <= GOAL_FIXED_SECONDS
    return summary


def counted(bench: Bench) -> dict[str, int | None]:
    """Instructions of one rcwiz copy (its process alone) and of `python -c pass` with the
    same interpreter, under callgrind; None without valgrind."""
    copy = instructions(bench.argv("rcwiz", "f-counted"), bench.env)
    shutil.rmtree(bench.server_root / "f-counted", ignore_errors=True)
    bare = instructions([interpreter(str(bench.tools.rcwiz)), "-c", "pass"], bench.env)
    return {"rcwiz copy": copy, "python -c pass": bare}


def counted_text(counts: dict[str, int | None]) -> str:
    copy, bare = counts["rcwiz copy"], counts["python -c pass"]
    if not copy or not bare:
        return "  instructions: not counted (no valgrind, or the run under it failed)"
    return (
        f"  instructions (callgrind, rcwiz's process alone): one copy {copy / 1e6:.1f} M, "
        f"python -c pass {bare / 1e6:.1f} M ({copy / bare:.1f}x)"
    )


def summary_text(s: dict, load: tuple[float, float], rounds: int) -> str:
    def cell(d: dict[str, float]) -> str:
        return f"{d['median']:7.1f} ({d['q1']:.1f}-{d['q3']:.1f}; {d['min']:.1f}-{d['max']:.1f})"

    lines = [
        f"load average {load[0]:.2f} before, {load[1]:.2f} after; {rounds} rounds; ms: median "
        "(q1-q3; lowest-highest)",
        f"  {'':22}{'raw rclone':>40}{'rcwiz copy':>42}",
    ]
    for key, label in (
        ("wall", "wall"),
        ("before", "before rclone starts"),
        ("rclone", "rclone running"),
        ("after", "after rclone ends"),
        ("own_cpu", "own CPU (rcwiz)"),
        ("rclone_cpu", "rclone's CPU"),
    ):
        lines.append(f"  {label:22}{cell(s['raw'][key]):>40}{cell(s['rcwiz'][key]):>42}")
    met = "met" if s["goal_met"] else "MISSED"
    lines.append(
        f"  rcwiz's fixed cost (its before + after minus raw's, per round): {cell(s['fixed_ms'])}"
        f"; goal <= {s['goal_ms']:.0f} ms: {met}"
    )
    lines.append(
        f"  difference of the median wall times: {s['wall_difference_ms']:.1f} ms; rclone runs "
        f"per rcwiz copy: {s['rclone_runs_per_rcwiz_copy']:.0f}"
    )
    return "\n".join(lines)


def setup(
    folder: Path, how: str, say: Callable[[str], None]
) -> tuple[Bench, Server, Path, dict[str, object]]:
    """The venv, the server, the config and the 1-byte dataset; rclone through the stand-in."""
    tools = Tools.beside_python()
    if how == "installed":
        tools = installed_tools(tools, folder / "install", say)
    for name in [k for k in os.environ if k.startswith("RCLONE_")]:
        del os.environ[name]  # the caller's rclone settings must not change the runs
    env = clean_env(folder)
    logs, root, config = folder / "logs", folder / "server", folder / "rclone.conf"
    for path in (logs, root):
        path.mkdir()
    config.touch(mode=0o600)
    info = {**machine(), **versions(tools, env), "install": how}
    server = Server(tools.rclone, root, config, env)
    write_config(config, tools.rclone, server.port, server.password, env)
    script, stamps = stand_in(folder, tools.rclone)
    dataset = make_dataset(folder / "dataset", 1, 1 / 2**20)
    bench = Bench(
        dataclasses.replace(tools, rclone=script),
        env,
        config,
        server,
        root,
        dataset,
        logs,
        ("--webdav-pacer-min-sleep", "0"),
        120.0,
    )
    return bench, server, stamps, info


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=20, help="measured pairs (default 20)")
    p.add_argument(
        "--rcwiz",
        choices=("installed", "checkout"),
        default="installed",
        help="a wheel in a fresh venv (default) or the checkout's editable install",
    )
    p.add_argument("--json", action="store_true", help="print the numbers as one JSON object")
    args = p.parse_args(argv)
    if args.rounds < 2:
        p.error("--rounds must be at least 2")

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    folder = Path(tempfile.mkdtemp(prefix="rcwiz-fixed-"))
    server: Server | None = None
    try:
        bench, server, stamps, info = setup(folder, args.rcwiz, say)
        say(f"rcwiz's fixed cost: {info['rcwiz']} ({args.rcwiz}), {info['rclone']}")
        load = os.getloadavg()[0]
        info["busy_cores_before"] = busy_cores()
        runs = rounds_of(bench, args.rounds, stamps, say)
        info["busy_cores_after"] = busy_cores()
        summary = summarize(runs)
        counts = summary["instructions"] = counted(bench)
        say(summary_text(summary, (load, os.getloadavg()[0]), args.rounds))
        say(counted_text(counts))
        if args.json:
            print(json.dumps({"machine": info, "summary": summary, "runs": runs}))
        return 0
    except BenchError as exc:
        print(f"fixed_cost.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fixed_cost.py: interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
