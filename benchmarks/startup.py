"""rcwiz's start-up: the CPU time of `rcwiz --version`, `--help`, `copy --help` and bare `rcwiz`.

Each command runs REPS times as a child (output discarded, COLUMNS=80, stdin from /dev/null),
after one run that is not counted (it writes the bytecode cache). A child's CPU is user + system
time from os.wait4, the kernel's own account of that process alone; wall time is shown beside
it. The goal is a median under 60 ms of CPU for --version and --help (issue 24); copy --help and
bare `rcwiz` are shown so that a change is seen to keep them no slower, and `python -c pass`
(the interpreter of the rcwiz timed, from its script's #! line: the same venv and its import
hooks) is the floor.

What is timed is what a user runs: by default (--rcwiz installed) a wheel of this checkout
installed into a fresh venv, as pip or pipx install it, entry-point script included (the
checkout's .venv holds an editable install, whose import hook adds ~20 ms to every start:
--rcwiz checkout times that one, --rcwiz PATH any other). With --baseline GIT-REF, rcwiz as it
was at that commit is installed the same way and timed too; with --against PATH, another rcwiz.
The tools run interleaved, run by run, so all see the same load on a shared machine. When
valgrind is installed, each command also runs once under callgrind, whose count of executed
instructions no other load changes (shown as a multiple of `python -c pass`'s).

    .venv/bin/python benchmarks/startup.py [--reps 20] [--rcwiz installed|checkout|PATH]
        [--baseline GIT-REF] [--against PATH] [--json]

Exit status: 0 when every run worked (whether or not the goal was met), 1 when a run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# benchmarks/copy_overhead.py (this script's folder is on sys.path): the wheel, the venv
from copy_overhead import BenchError, Tools, baseline_source, installed_tools

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


def interpreter(script: str) -> str:
    """The Python that runs the rcwiz script SCRIPT (its #! line): the floor to compare with."""
    with open(script, "rb") as handle:
        first = handle.readline().decode(errors="replace")
    if not first.startswith("#!"):
        return sys.executable
    return first[2:].split()[0]


def instructions(argv: Sequence[str], env: dict[str, str]) -> int | None:
    """The user-space instructions one run of ARGV executes (valgrind's callgrind, the process
    alone): a figure no other load on the machine changes, to set beside the CPU times."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    found = re.search(r"refs:\s+([\d,]+)", done.stderr)
    return int(found.group(1).replace(",", "")) if found and done.returncode == 0 else None


def measure(tools: dict[str, str], reps: int, env: dict[str, str]) -> dict[str, dict]:
    """Every case for every tool, the tools interleaved run by run."""
    python = interpreter(next(iter(tools.values())))
    argvs = {"python -c pass": [python, "-c", "pass"]}
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
        name: {
            "cpu_ms": spread(cpu[name]),
            "wall_ms": spread(wall[name]),
            "cpu_runs": cpu[name],
            "instructions": instructions(argvs[name], env),
        }
        for name in argvs
    }


# `python -c pass` on this 2-core VM when nothing else runs: a venv with no import hook (the
# wheel's) 13-21 ms, the checkout's .venv (its editable-install hook) 44-48 ms.
QUIET_PYTHON_MS = 21.0


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
    print(f"{'':40} {'CPU median':>10} {'q1-q3':>13} {'min-max':>13} {'wall':>7} {'instr.':>7}")
    bare = results["python -c pass"]["instructions"]
    for name, r in results.items():
        c = r["cpu_ms"]
        count = r["instructions"]
        ratio = f"{count / bare:6.2f}x" if count and bare else "      -"
        goal = ""
        if any(name.endswith(g) for g in GOALED):
            goal = f"  goal < {GOAL_MS:.0f}: " + ("met" if c["median"] < GOAL_MS else "missed")
        print(
            f"{name:40} {c['median']:10.1f} {c['q1']:6.1f}-{c['q3']:<6.1f} "
            f"{c['min']:6.1f}-{c['max']:<6.1f} {r['wall_ms']['median']:7.1f} {ratio}{goal}"
        )


def install(args: argparse.Namespace, folder: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The rcwiz to time (and --baseline's, --against's): {label: script}, {label: install}."""
    say = print if not args.json else (lambda text: print(text, file=sys.stderr))
    beside = Tools.beside_python()  # the checkout's .venv: its rclone, its dependencies
    if args.rcwiz == "installed":
        this = str(installed_tools(beside, folder / "this", say).rcwiz)
        how = {"this": "a wheel of the checkout in a fresh venv (as pip/pipx install it)"}
    elif args.rcwiz == "checkout":
        this, how = str(beside.rcwiz), {"this": "the checkout's .venv (editable install)"}
    else:
        this, how = args.rcwiz, {"this": f"{args.rcwiz} as given"}
    tools = {"this": this}
    if args.baseline:
        source = baseline_source(args.baseline, folder / "baseline-src")
        tools["baseline"] = str(installed_tools(beside, folder / "base", say, source).rcwiz)
        how["baseline"] = f"a wheel of {args.baseline} in a fresh venv"
    if args.against:
        tools["against"], how["against"] = args.against, f"{args.against} as given"
    return tools, how


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument(
        "--rcwiz",
        default="installed",
        help="installed (a wheel of this checkout in a fresh venv, the default), checkout "
        "(the .venv's editable install) or the PATH of an rcwiz",
    )
    parser.add_argument(
        "--baseline", metavar="GIT-REF", help="also rcwiz as it was at GIT-REF (a wheel)"
    )
    parser.add_argument("--against", help="another rcwiz, timed interleaved with the first")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="rcwiz-startup-"))
    try:
        tools, how = install(args, folder)
        for tool in tools.values():
            if shutil.which(tool) is None:
                parser.error(f"{tool} is not an executable")
        env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
        before = os.getloadavg()[0]
        results = measure(tools, args.reps, env)
        load = (before, os.getloadavg()[0])
        floor = interpreter(tools["this"])
    except BenchError as exc:
        print(f"startup.py: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        document = {"reps": args.reps, "tools": tools, "installs": how, "load": load}
        print(json.dumps({**document, "results": results}, indent=2))
    else:
        for label, tool in tools.items():
            print(f"{label}: {how[label]}: {tool}")
        print(f"floor: python -c pass with {floor}")
        show(results, args.reps, load)
        print(
            "instr.: user-space instructions of one run (valgrind), as a multiple of python -c "
            f"pass's {results['python -c pass']['instructions'] or 0:,}: the same on any load"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
