"""rcwiz's start-up: the CPU time of `rcwiz --version`, `--help`, `copy --help` and bare `rcwiz`.

Each command runs REPS times as a child (output discarded, COLUMNS=80, stdin from /dev/null),
after one run that is not counted (it writes the bytecode cache). A child's CPU is user + system
time from os.wait4, the kernel's own account of that process alone; wall time is shown beside
it. The goal is a median under 60 ms of CPU for --version and --help (issue 24); copy --help and
bare `rcwiz` are shown so that a change is seen to keep them no slower, and `python -c pass`
(the same interpreter, so the same venv and its import hooks) is the floor.

With --against PATH, another rcwiz (main's, say) runs each command too, interleaved run by run
with this one, so both see the same load on a shared machine.

    .venv/bin/python benchmarks/startup.py [--reps 20] [--rcwiz PATH] [--against PATH] [--json]

Exit status: 0 when every run worked (whether or not the goal was met), 1 when a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

GOAL_MS = 60.0  # CPU, median, for --version and --help
GOALED = ("rcwiz --version", "rcwiz --help")
CASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rcwiz --version", ("--version",)),
    ("rcwiz --help", ("--help",)),
    ("rcwiz copy --help", ("copy", "--help")),
    ("rcwiz (lists commands)", ()),
)


def cpu_ms(argv: Sequence[str], env: dict[str, str]) -> tuple[float, float]:
    """One run of ARGV: (CPU ms, wall ms) of the child alone. A failed run is an error."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: the figures mean nothing")
    return 1000 * (usage.ru_utime + usage.ru_stime), 1000 * wall


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and range: one run on a shared machine says little, their spread does."""
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {
        "median": statistics.median(values),
        "q1": q1,
        "q3": q3,
        "min": min(values),
        "max": max(values),
    }


def measure(tools: dict[str, str], reps: int, env: dict[str, str]) -> dict[str, dict]:
    """Every case for every tool, the tools interleaved run by run."""
    argvs = {"python -c pass": [sys.executable, "-c", "pass"]}
    for label, tool in tools.items():
        for case, args in CASES:
            argvs[f"{label}: {case}" if len(tools) > 1 else case] = [tool, *args]
    for argv in argvs.values():
        cpu_ms(argv, env)  # warm-up: the bytecode cache, the page cache
    cpu: dict[str, list[float]] = {name: [] for name in argvs}
    wall: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(reps):
        for name, argv in argvs.items():
            c, w = cpu_ms(argv, env)
            cpu[name].append(c)
            wall[name].append(w)
    return {
        name: {"cpu_ms": spread(cpu[name]), "wall_ms": spread(wall[name]), "cpu_runs": cpu[name]}
        for name in argvs
    }


QUIET_PYTHON_MS = 13.0  # `python -c pass` on this 2-core VM when nothing else runs


def show(results: dict[str, dict], reps: int, load: tuple[float, float]) -> None:
    cores = os.cpu_count() or 1
    print(f"load average {load[0]:.1f} before, {load[1]:.1f} after, on {cores} cores")
    floor = results["python -c pass"]["cpu_ms"]["median"]
    if floor > 1.5 * QUIET_PYTHON_MS:
        print(
            f"busy machine: python -c pass took {floor:.0f} ms of CPU (about {QUIET_PYTHON_MS:.0f}"
            " when quiet); every figure is inflated alike, so compare them with it"
        )
    print(f"CPU (user+sys of the child) and wall time, ms, {reps} runs each")
    print(f"{'':40} {'CPU median':>10} {'q1-q3':>13} {'min-max':>13} {'wall':>7}")
    for name, r in results.items():
        c = r["cpu_ms"]
        goal = ""
        if any(name.endswith(g) for g in GOALED):
            goal = f"  goal < {GOAL_MS:.0f}: " + ("met" if c["median"] < GOAL_MS else "missed")
        print(
            f"{name:40} {c['median']:10.1f} {c['q1']:6.1f}-{c['q3']:<6.1f} "
            f"{c['min']:6.1f}-{c['max']:<6.1f} {r['wall_ms']['median']:7.1f}{goal}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    beside = Path(sys.executable).parent / "rcwiz"
    parser.add_argument("--reps", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument("--rcwiz", default=str(beside), help="the rcwiz to time")
    parser.add_argument("--against", help="another rcwiz, timed interleaved with the first")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    tools = {"this": args.rcwiz}
    if args.against:
        tools["against"] = args.against
    for tool in tools.values():
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not an executable")
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    before = os.getloadavg()[0]
    results = measure(tools, args.reps, env)
    load = (before, os.getloadavg()[0])
    if args.json:
        document = {"reps": args.reps, "tools": tools, "load": load, "results": results}
        print(json.dumps(document, indent=2))
    else:
        print("tools: " + ", ".join(f"{k} = {v}" for k, v in tools.items()))
        show(results, args.reps, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
