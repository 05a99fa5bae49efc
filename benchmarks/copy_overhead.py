"""rcwiz's overhead against raw rclone, measured in one run on loopback, alternating.

    .venv/bin/python benchmarks/copy_overhead.py [--rounds N] [--files N] [--size-mib N]
        [--long-size-mib N] [--long-rounds N] [--rcwiz installed|checkout] [--json]

Builds a wheel of this checkout and installs it into a fresh venv (rcwiz as users get it;
the checkout's editable install adds an import hook to every start), starts `rclone serve
webdav` on 127.0.0.1 over a temporary folder (password in the environment, never in argv),
writes a temporary rclone.conf for it, and then measures two datasets of random bytes (many
small files and a few big ones): a short copy (--size-mib, default 400 MiB, 5 rounds) and a
long one (--long-size-mib, default 4000 MiB, 3 rounds). Each round copies the dataset

* with raw `rclone copy`, given the same logging flags rcwiz adds itself
  (--use-json-log --stats 500ms --stats-log-level NOTICE -v --ask-password=false), its
  stderr written to a file the way rcwiz writes its log;
* with `rcwiz copy`, stdout to a file (its plain-line mode);

alternating which goes first (raw first on even rounds), each to a fresh destination, and
then once with raw rclone's plain defaults (no JSON log, no stats) for information. After the
rounds, `rcwiz --json copy` runs once. A warm-up pair runs first and is not counted.

Every copy gets --webdav-pacer-min-sleep 0 (rcwiz after `--`): with rclone's default 10 ms
pacer the small files are capped at about 30 a second, so the run would time the pacer, not
the copy (--pacer-min-sleep default measures that case). Python may cache bytecode (in the
temporary folder), as an installed rcwiz would have its .pyc files.

The "copy s" column is rclone's own elapsedTime from the copy's last stats line; wall time
minus it is what happens around the copy (start-up, rcwiz's helper rclone runs, exit).

CPU time: raw rclone's comes from wait4's rusage. For rcwiz, the script waits until the
rcwiz process is a zombie without reaping it (waitid with WNOWAIT) and reads /proc/PID/stat:
utime + stime are rcwiz's own CPU, cutime + cstime the rclone processes it waited for
(the copy itself: rclone.conf and the free space are read in-process; the version check is
cached per binary).

Goals (issue 26): wall-time ratio rcwiz/raw <= 1.03 and rcwiz's fixed cost (its wall time
outside rclone's copy minus raw rclone's) <= 80 ms; rcwiz's own CPU <= 5 % of its rclone's
CPU; reported for each dataset with the median and the spread (lowest-highest) of the
rounds. rcwiz's cost is mostly fixed (Python start-up, the pre-flight), so the short copy
shows that cost and the long one the steady state. Missing a goal is reported, not failed:
the exit status is 0 unless a run broke. When a goal is missed (or with --breakdown yes)
the fixed costs of rcwiz are timed one by one. Linux only; everything lives in a temporary
folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

GOAL_WALL_RATIO = 1.03
GOAL_FIXED_SECONDS = 0.080
GOAL_CPU_SHARE = 0.05
REMOTE = "bench"
USER = "bench"
STATS_FLAGS = ("--stats", "500ms", "--stats-log-level", "NOTICE", "-v")
# The options rcwiz's Rclone.argv adds to every run, plus its stats flags (rcwiz/rclone/).
RCWIZ_FLAGS = ("--use-json-log", *STATS_FLAGS, "--ask-password=false")
SERVER_READY_TIMEOUT = 15.0
SMALL_SHARE = 0.06  # part of the bytes in small files; the rest is split among the big ones
BIG_SHARE_OF_FILES = 0.05  # one file in twenty is big
SETTLE_SECONDS = 0.3
# Cores busy (from /proc/stat) while the benchmark sits idle: above this, other work is
# running and the figures are noisier.
BUSY_WARNING = 0.15
CLK_TCK = os.sysconf("SC_CLK_TCK")
_STARTED = re.compile(r"WebDav Server started on \[http://127\.0\.0\.1:(\d+)/\]")


class BenchError(Exception):
    """A run broke (non-zero exit, wrong result, timeout): the numbers would mean nothing."""


# --------------------------------------------------------------------------- tools and env


@dataclass(frozen=True)
class Tools:
    python: Path
    rclone: Path
    rcwiz: Path

    @classmethod
    def beside_python(cls) -> Tools:
        """The venv's rclone and rcwiz, next to the Python running this script."""
        bindir = Path(sys.executable).parent
        found = {}
        for name in ("rclone", "rcwiz"):
            path = bindir / name
            if not (path.is_file() and os.access(path, os.X_OK)):
                which = shutil.which(name)
                if which is None:
                    raise BenchError(f"{name} was found neither in {bindir} nor on PATH")
                path = Path(which)
            found[name] = path
        return cls(python=Path(sys.executable), rclone=found["rclone"], rcwiz=found["rcwiz"])


REPO = Path(__file__).resolve().parent.parent


def installed_tools(
    tools: Tools, folder: Path, say: Callable[[str], None], source: Path = REPO
) -> Tools:
    """rcwiz as users get it: a wheel of this checkout (or of SOURCE), installed into a fresh
    venv.

    The checkout's own .venv holds rcwiz as an editable install, whose import hook costs
    ~15 ms at every start (measured); a wheel has none. The new venv borrows the checkout's
    installed dependencies through a .pth line (rich, PyYAML, ...; the editable hook is not
    loaded that way) and keeps using its rclone.
    """
    wheels, venv = folder / "wheel", folder / "venv"
    say("building and installing a wheel of rcwiz (pass --rcwiz checkout to skip) …")
    pip = [str(tools.python), "-m", "pip", "--disable-pip-version-check", "-q"]
    capture([*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)], dict(os.environ))
    built = sorted(wheels.glob("rcwiz-*.whl"))
    if not built:
        raise BenchError(f"pip wheel left no rcwiz wheel in {wheels}")
    base = getattr(sys, "_base_executable", sys.executable)
    capture([base, "-m", "venv", "--without-pip", str(venv)], dict(os.environ))
    python = venv / "bin" / "python"
    site = capture(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        dict(os.environ),
    ).strip()
    deps = sysconfig.get_path("purelib")  # this Python's (the checkout's .venv)
    Path(site, "rcwiz_bench_deps.pth").write_text(deps + "\n", encoding="utf-8")
    capture(
        [*pip, "--python", str(python), "install", "--no-deps", str(built[-1])], dict(os.environ)
    )
    rcwiz = venv / "bin" / "rcwiz"
    if not rcwiz.is_file():
        raise BenchError(f"installing {built[-1].name} made no {rcwiz}")
    return Tools(python=python, rclone=tools.rclone, rcwiz=rcwiz)


def baseline_source(ref: str, folder: Path) -> Path:
    """The checkout's files at git REF (`git archive`: no worktree, no change to the repo)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if archive.returncode != 0:
        raise BenchError(f"git archive {ref} failed: {archive.stderr.decode()[-300:]}")
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def clean_env(state: Path) -> dict[str, str]:
    """The environment for every child: no RCLONE_* of the caller, rcwiz's state in STATE.

    Python may cache bytecode, under STATE: an installed rcwiz has its .pyc files (pip writes
    them), while PYTHONDONTWRITEBYTECODE on an editable checkout would make every run compile
    rcwiz's modules again (the breakdown shows what that costs).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    env["XDG_STATE_HOME"] = str(state / "state")
    env["XDG_CONFIG_HOME"] = str(state / "config")
    env["PYTHONPYCACHEPREFIX"] = str(state / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("NO_COLOR", None)
    return env


def capture(
    argv: Sequence[str], env: dict[str, str], stdin: str | None = None, timeout: float = 300
) -> str:
    """ARGV's stdout (a failure or TIMEOUT seconds is a BenchError; pip on a busy machine
    takes minutes)."""
    try:
        done = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(argv[:3])} took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[:3])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout


# --------------------------------------------------------------------------- the server


class Server:
    """`rclone serve webdav ROOT` on 127.0.0.1:0; the port is read from its JSON log."""

    def __init__(self, rclone: Path, root: Path, config: Path, env: dict[str, str]) -> None:
        self.password = secrets.token_hex(12) + "!"  # the "!" keeps it from being base64url
        argv = [str(rclone), "--config", str(config), "serve", "webdav", str(root)]
        argv += ["--addr", "127.0.0.1:0", "--dir-cache-time", "1s", "--use-json-log"]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "RCLONE_USER": USER, "RCLONE_PASS": self.password},
        )
        self.lines: list[str] = []
        self._port: int | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(SERVER_READY_TIMEOUT) or self._port is None:
            self.stop()
            raise BenchError(f"rclone serve webdav did not start: {self.lines[-5:]}")
        self.port = self._port

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # ends when the server exits
            self.lines.append(line.rstrip("\n"))
            if self._port is None and (match := _STARTED.search(line)):
                self._port = int(match.group(1))
                self._ready.set()
        self._ready.set()

    def cpu(self) -> float:
        """The server's CPU seconds so far (user + system)."""
        return proc_stat_cpu(self.proc.pid)[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def write_config(path: Path, rclone: Path, port: int, password: str, env: dict[str, str]) -> None:
    """A webdav remote for the server; the password obscured through stdin, never argv."""
    obscured = capture([str(rclone), "obscure", "-"], env, stdin=password).strip()
    text = (
        f"[{REMOTE}]\ntype = webdav\nurl = http://127.0.0.1:{port}/\nvendor = other\n"
        f"user = {USER}\npass = {obscured}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True)
class Dataset:
    path: Path
    files: int
    bytes: int


def make_dataset(folder: Path, files: int, size_mib: float, seed: int = 7) -> Dataset:
    """FILES files of random bytes, SIZE_MIB in all: many small ones and one in twenty big."""
    rng = random.Random(seed)
    total = int(size_mib * 1024 * 1024)
    big = max(1, round(files * BIG_SHARE_OF_FILES))
    small = files - big
    small_mean = (total * SMALL_SHARE) / small if small else 0
    sizes = [max(1, int(small_mean * rng.uniform(0.2, 1.8))) for _ in range(small)]
    rest = max(big, total - sum(sizes))
    sizes += [rest // big + (1 if i < rest % big else 0) for i in range(big)]
    for i, size in enumerate(sizes):
        if i < small:
            target = folder / "small" / f"run-{i % 10:02d}" / f"sample-{i:04d}.dat"
        else:
            target = folder / "big" / f"volume-{i - small:03d}.raw"
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            left = size
            while left > 0:  # bounded: `left` shrinks by up to 8 MiB each time
                chunk = min(left, 8 * 1024 * 1024)
                handle.write(os.urandom(chunk))
                left -= chunk
    return Dataset(folder, len(sizes), sum(sizes))


def tree_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under FOLDER."""
    count = total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            count += 1
            total += os.lstat(os.path.join(root, name)).st_size
    return count, total


# --------------------------------------------------------------------------- measuring one run


@dataclass
class Run:
    kind: str  # raw, rcwiz, plain, json
    dest: str
    wall: float
    rclone_cpu: float  # raw: the rclone process; rcwiz: every rclone it waited for
    rcwiz_cpu: float | None  # rcwiz's own user + system time (None for raw rclone)
    server_cpu: float
    rusage_total: float  # cross-check: wait4's self + children
    rclone_elapsed: float | None  # elapsedTime of the copy's last stats line (None: no stats)

    @property
    def label(self) -> str:
        return {
            "raw": "raw rclone (same flags)",
            "rcwiz": "rcwiz copy",
            "plain": "raw rclone (defaults)",
            "json": "rcwiz --json copy",
            "base": "rcwiz copy, baseline",
        }[self.kind]


def proc_stat_cpu(pid: int) -> tuple[float, float]:
    """(own CPU, waited-for children's CPU) in seconds from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rpartition(")")[2].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14 to 17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def _rusage_cpu(usage: object) -> float:
    return float(usage.ru_utime + usage.ru_stime)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _deadline(proc: subprocess.Popen, seconds: float) -> Iterator[list[bool]]:
    """Kill PROC's process group (it leads a new session) if it runs longer than SECONDS,
    or if the benchmark is interrupted while waiting for it (Ctrl-C does not reach it)."""
    fired = [False]

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def expire() -> None:
        fired[0] = True
        kill()

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    except BaseException:
        kill()
        proc.wait()
        raise
    finally:
        timer.cancel()


def measure(
    argv: Sequence[str],
    env: dict[str, str],
    stdout: Path,
    stderr: Path,
    *,
    timeout: float,
    split_children: bool,
) -> tuple[float, int, float, float, float]:
    """Run ARGV; return (wall, exit code, own CPU, children's CPU, wait4 total CPU).

    With SPLIT_CHILDREN the process is caught as a zombie before it is reaped, so its own CPU
    and its waited-for children's can be told apart (for raw rclone both come from wait4).
    """
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        with _deadline(proc, timeout) as fired:
            if split_children:
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                wall = time.perf_counter() - start
                own, children = proc_stat_cpu(proc.pid)
                _, status, usage = os.wait4(proc.pid, 0)
            else:
                _, status, usage = os.wait4(proc.pid, 0)
                wall = time.perf_counter() - start
                own, children = _rusage_cpu(usage), 0.0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    if fired[0]:
        raise BenchError(f"{Path(argv[0]).name} ran longer than {timeout:.0f} s and was killed")
    return wall, code, own, children, _rusage_cpu(usage)


@dataclass
class Bench:
    tools: Tools
    env: dict[str, str]
    config: Path
    server: Server
    server_root: Path
    dataset: Dataset
    logs: Path
    pacer: tuple[str, ...]
    timeout: float
    baseline: Path | None = None  # the rcwiz of --baseline REF (kind "base")

    def argv(self, kind: str, dest: str) -> list[str]:
        src, remote = str(self.dataset.path), f"{REMOTE}:{dest}"
        rclone = [str(self.tools.rclone), "--config", str(self.config)]
        if kind == "raw":
            return [*rclone, "copy", src, remote, *RCWIZ_FLAGS, *self.pacer]
        if kind == "plain":
            return [*rclone, "copy", src, remote, *self.pacer]
        wiz = [
            str(self.baseline if kind == "base" and self.baseline else self.tools.rcwiz),
            "--config",
            str(self.config),
            "--rclone",
            str(self.tools.rclone),
        ]
        if kind == "json":
            wiz.append("--json")
        return [*wiz, "copy", src, remote, *(["--", *self.pacer] if self.pacer else [])]

    def run(self, kind: str, dest: str) -> Run:
        """One copy to a fresh destination, checked, then removed from the server."""
        target = self.server_root / dest
        if target.exists():
            shutil.rmtree(target)
        os.sync()  # earlier writes flushed, so they do not land in this run's time
        time.sleep(SETTLE_SECONDS)
        out, err = self.logs / f"{dest}.out", self.logs / f"{dest}.err"
        rcwiz_logs = Path(self.env["XDG_STATE_HOME"]) / "rcwiz" / "logs"
        before = set(rcwiz_logs.glob("*.jsonl"))
        server_before = self.server.cpu()
        wall, code, own, children, total = measure(
            self.argv(kind, dest),
            self.env,
            out,
            err,
            timeout=self.timeout,
            split_children=kind in ("rcwiz", "json", "base"),
        )
        server_cpu = self.server.cpu() - server_before
        if code != 0:
            tail = err.read_text(errors="replace")[-1500:] + out.read_text(errors="replace")[-800:]
            raise BenchError(f"{kind} copy to {dest} exited {code}:\n{tail}")
        got = tree_size(target)
        if got != (self.dataset.files, self.dataset.bytes):
            raise BenchError(
                f"{kind} copy to {dest} left {got[0]} files / {got[1]} bytes on the server, "
                f"expected {self.dataset.files} / {self.dataset.bytes}"
            )
        if kind == "json":
            _check_json_output(out)
        shutil.rmtree(target)
        if kind in ("rcwiz", "json", "base"):
            new = sorted(set(rcwiz_logs.glob("*.jsonl")) - before)
            elapsed = last_elapsed(new[-1]) if new else None
            result = Run(kind, dest, wall, children, own, server_cpu, total, elapsed)
        else:
            result = Run(kind, dest, wall, own, None, server_cpu, total, last_elapsed(err))
        return result


def last_elapsed(log: Path) -> float | None:
    """rclone's own elapsedTime on the last stats line of LOG (its JSON log)."""
    elapsed = None
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if '"stats"' not in line:
                continue
            with contextlib.suppress(ValueError, KeyError, TypeError):
                elapsed = float(json.loads(line)["stats"]["elapsedTime"])
    return elapsed


def _check_json_output(path: Path) -> None:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not events or events[-1].get("event") != "summary" or events[-1].get("outcome") != "ok":
        raise BenchError(f"rcwiz --json did not end with an ok summary: {events[-1:]}")


# --------------------------------------------------------------------------- the rounds


def run_rounds(
    bench: Bench, rounds: int, say: Callable[[str], None], tag: str = "s0"
) -> list[list[Run]]:
    kinds = ("raw", "rcwiz", "base") if bench.baseline else ("raw", "rcwiz")
    say(f"warm-up (not counted): one copy each of {', '.join(kinds)}")
    for kind in kinds:
        bench.run(kind, f"{tag}-warm-{kind}")
    table: list[list[Run]] = []
    for i in range(rounds):
        # Each kind goes first in turn (raw first on even rounds without a baseline).
        order = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]
        names = {kind: f"{tag}-{kind}-{i}" for kind in kinds}
        pair = [bench.run(kind, names[kind]) for kind in order]
        pair.append(bench.run("plain", f"{tag}-plain-{i}"))
        table.append(pair)
        say(round_table(f"round {i} ({order[0]} first)", pair))
    return table


def round_table(title: str, runs: Sequence[Run]) -> str:
    lines = [
        title,
        f"  {'run':<26}{'wall s':>8}{'copy s':>8}{'rclone CPU s':>14}{'rcwiz CPU s':>13}"
        f"{'server CPU s':>14}",
    ]
    for r in runs:
        own = "-" if r.rcwiz_cpu is None else f"{r.rcwiz_cpu:.2f}"
        copy = "-" if r.rclone_elapsed is None else f"{r.rclone_elapsed:.3f}"
        lines.append(
            f"  {r.label:<26}{r.wall:>8.3f}{copy:>8}{r.rclone_cpu:>14.2f}{own:>13}"
            f"{r.server_cpu:>14.2f}"
        )
    return "\n".join(lines)


def summarize(table: list[list[Run]], json_run: Run | None, mib: float) -> dict[str, object]:
    def of(kind: str) -> list[Run]:
        return [r for pair in table for r in pair if r.kind == kind]

    raw, wiz, plain = of("raw"), of("rcwiz"), of("plain")
    med = statistics.median
    raw_wall, wiz_wall = med(r.wall for r in raw), med(r.wall for r in wiz)
    ratio = wiz_wall / raw_wall
    paired = [w.wall / r.wall for w, r in zip(wiz, raw, strict=True)]
    own = sum(r.rcwiz_cpu or 0.0 for r in wiz)
    children = sum(r.rclone_cpu for r in wiz)
    share = own / children if children else float("inf")
    # Wall time around rclone's own copy time (start-up, helper runs, exit): tells a slower
    # copy from a slower wrapper. Their difference is rcwiz's fixed cost, and dividing it by
    # the allowed 3 % gives the copy length from which that cost alone meets the goal.
    raw_out = _median_of(_outside(r) for r in raw)
    wiz_out = _median_of(_outside(r) for r in wiz)
    fixed = None if raw_out is None or wiz_out is None else wiz_out - raw_out
    # Per round: rcwiz's time outside its copy minus raw rclone's in the same round.
    fixed_rounds = [
        _outside(w) - _outside(r)  # type: ignore[operator]
        for w, r in zip(wiz, raw, strict=True)
        if _outside(w) is not None and _outside(r) is not None
    ]
    summary: dict[str, object] = {
        "rounds": len(table),
        "mib": mib,
        "raw_wall_median": raw_wall,
        "rcwiz_wall_median": wiz_wall,
        "plain_wall_median": med(r.wall for r in plain),
        "wall_ratio": ratio,
        "wall_ratio_paired_median": med(paired),
        "wall_ratio_paired_range": [min(paired), max(paired)],
        "raw_wall_range": [min(r.wall for r in raw), max(r.wall for r in raw)],
        "rcwiz_wall_range": [min(r.wall for r in wiz), max(r.wall for r in wiz)],
        "fixed_overhead_rounds": fixed_rounds,
        "wall_overhead_seconds": wiz_wall - raw_wall,
        "raw_copy_elapsed_median": _median_of(r.rclone_elapsed for r in raw),
        "rcwiz_copy_elapsed_median": _median_of(r.rclone_elapsed for r in wiz),
        "raw_outside_copy_median": raw_out,
        "rcwiz_outside_copy_median": wiz_out,
        "fixed_overhead_seconds": fixed,
        "copy_seconds_for_wall_goal": None if fixed is None else fixed / (GOAL_WALL_RATIO - 1),
        "raw_rclone_cpu_median": med(r.rclone_cpu for r in raw),
        "plain_rclone_cpu_median": med(r.rclone_cpu for r in plain),
        "rcwiz_own_cpu_median": med(r.rcwiz_cpu or 0.0 for r in wiz),
        "rcwiz_rclone_cpu_median": med(r.rclone_cpu for r in wiz),
        "cpu_share": share,
        "goal_wall_ratio": GOAL_WALL_RATIO,
        "goal_cpu_share": GOAL_CPU_SHARE,
        "goal_fixed_seconds": GOAL_FIXED_SECONDS,
        "wall_goal_met": ratio <= GOAL_WALL_RATIO,
        "fixed_goal_met": fixed is not None and fixed <= GOAL_FIXED_SECONDS,
        "cpu_goal_met": share <= GOAL_CPU_SHARE,
    }
    base = of("base")
    if base:
        base_out = _median_of(_outside(r) for r in base)
        base_paired = [b.wall / r.wall for b, r in zip(base, raw, strict=True)]
        summary["baseline"] = {
            "wall_median": med(r.wall for r in base),
            "wall_range": [min(r.wall for r in base), max(r.wall for r in base)],
            "wall_ratio": med(r.wall for r in base) / raw_wall,
            "wall_ratio_paired_median": med(base_paired),
            "wall_ratio_paired_range": [min(base_paired), max(base_paired)],
            "fixed_overhead_seconds": None
            if base_out is None or raw_out is None
            else base_out - raw_out,
            "own_cpu_median": med(r.rcwiz_cpu or 0.0 for r in base),
            "rclone_cpu_median": med(r.rclone_cpu for r in base),
        }
    if json_run is not None:
        summary["json_run"] = {
            "wall": json_run.wall,
            "wall_ratio": json_run.wall / raw_wall,
            "rcwiz_own_cpu": json_run.rcwiz_cpu,
            "rclone_cpu": json_run.rclone_cpu,
            "cpu_share": (json_run.rcwiz_cpu or 0.0) / json_run.rclone_cpu,
        }
    return summary


def _s(value: object) -> str:
    return "?" if value is None else f"{value:.3f} s"


def _outside(run: Run) -> float | None:
    return None if run.rclone_elapsed is None else run.wall - run.rclone_elapsed


def _median_of(values: Iterator[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def summary_text(s: dict[str, object]) -> str:
    def met(flag: object) -> str:
        return "met" if flag else "MISSED"

    def spread(key: str) -> str:
        low, high = s[key]  # type: ignore[misc]
        return f"{low:.3f}-{high:.3f}"

    rounds = s["fixed_overhead_rounds"]
    per_round = (
        f"{1000 * min(rounds):.0f}-{1000 * max(rounds):.0f} ms"  # type: ignore[call-overload]
        if rounds
        else "?"
    )
    lines = [
        f"summary, {s['mib']:.0f} MiB (median of {s['rounds']} rounds; lowest-highest)",
        f"  wall time: raw rclone {s['raw_wall_median']:.3f} s ({spread('raw_wall_range')}), "
        f"rcwiz {s['rcwiz_wall_median']:.3f} s ({spread('rcwiz_wall_range')}) "
        f"(+{s['wall_overhead_seconds']:.3f} s); raw rclone with defaults "
        f"{s['plain_wall_median']:.3f} s",
        f"  wall-time ratio rcwiz/raw: {s['wall_ratio']:.3f} (per-round ratios: median "
        f"{s['wall_ratio_paired_median']:.3f}, {spread('wall_ratio_paired_range')}); "
        f"goal <= {GOAL_WALL_RATIO}: {met(s['wall_goal_met'])}",
        f"  rclone's own copy time (elapsedTime): raw {_s(s['raw_copy_elapsed_median'])}, "
        f"under rcwiz {_s(s['rcwiz_copy_elapsed_median'])}; wall time outside the copy: "
        f"raw {_s(s['raw_outside_copy_median'])}, rcwiz {_s(s['rcwiz_outside_copy_median'])}",
        f"  fixed cost of rcwiz around the copy: {_s(s['fixed_overhead_seconds'])} (per round "
        f"{per_round}); goal <= {1000 * GOAL_FIXED_SECONDS:.0f} ms: {met(s['fixed_goal_met'])};"
        f" alone it stays within {GOAL_WALL_RATIO} for copies longer than "
        f"{_s(s['copy_seconds_for_wall_goal'])}",
        f"  rcwiz's own CPU {s['rcwiz_own_cpu_median']:.2f} s vs its rclone processes' "
        f"{s['rcwiz_rclone_cpu_median']:.2f} s (raw rclone alone: "
        f"{s['raw_rclone_cpu_median']:.2f} s; with defaults {s['plain_rclone_cpu_median']:.2f} s)",
        f"  rcwiz's own CPU as a share of rclone's: {100 * s['cpu_share']:.1f} %; goal <= "
        f"{100 * GOAL_CPU_SHARE:.0f} %: {met(s['cpu_goal_met'])}",
    ]
    if isinstance(b := s.get("baseline"), dict):
        low, high = b["wall_ratio_paired_range"]
        lines.append(
            f"  baseline rcwiz (--baseline): wall {b['wall_median']:.3f} s "
            f"({b['wall_range'][0]:.3f}-{b['wall_range'][1]:.3f}), ratio {b['wall_ratio']:.3f} "
            f"(per round {low:.3f}-{high:.3f}), fixed cost {_s(b['fixed_overhead_seconds'])}, "
            f"own CPU {b['own_cpu_median']:.2f} s, its rclone CPU {b['rclone_cpu_median']:.2f} s"
        )
    if isinstance(j := s.get("json_run"), dict):
        lines.append(
            f"  rcwiz --json (one run): wall {j['wall']:.3f} s (ratio {j['wall_ratio']:.3f}), "
            f"own CPU {j['rcwiz_own_cpu']:.2f} s = {100 * j['cpu_share']:.1f} % of rclone's"
        )
    return "\n".join(lines)


def verdict_text(summaries: Sequence[dict[str, object]]) -> str:
    """One line per dataset: the two goals, and the copy length rcwiz's fixed cost allows."""
    lines = [
        f"\ngoals (wall-time ratio <= {GOAL_WALL_RATIO}, fixed cost <= "
        f"{1000 * GOAL_FIXED_SECONDS:.0f} ms, rcwiz's CPU <= 5 % of rclone's), per dataset:"
    ]
    for s in summaries:
        wall = "met" if s["wall_goal_met"] else "MISSED"
        fixed = "met" if s["fixed_goal_met"] else "MISSED"
        cpu = "met" if s["cpu_goal_met"] else "MISSED"
        lines.append(
            f"  {s['mib']:>7.0f} MiB, raw copy {s['raw_wall_median']:.2f} s: ratio "
            f"{s['wall_ratio']:.3f} ({wall}), fixed cost {_s(s['fixed_overhead_seconds'])} "
            f"({fixed}), CPU share {100 * s['cpu_share']:.1f} % ({cpu}); within "
            f"{GOAL_WALL_RATIO} from {_s(s['copy_seconds_for_wall_goal'])} of copying"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the breakdown


def _timed(argv: Sequence[str], env: dict[str, str], reps: int) -> dict[str, float]:
    """Median wall and CPU (self + children) of REPS runs of ARGV, output discarded."""
    walls, cpus = [], []
    for _ in range(reps):
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        with _deadline(proc, 60):
            _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(_rusage_cpu(usage))
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_ms": 1000 * statistics.median(walls), "cpu_ms": 1000 * statistics.median(cpus)}


def _in_process(fn: Callable[[], object], reps: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall_ms": 1000 * statistics.median(walls), "cpu_ms": 1000 * statistics.median(cpus)}


def import_times(python: Path, env: dict[str, str], floor_ms: float = 3.0) -> list[dict]:
    """The imports of `python -X importtime -m rcwiz copy --help`, two levels deep.

    Top-level imports (cumulative ms, largest first), each with its direct imports; entries
    under FLOOR_MS are left out. -X importtime itself makes imports about a third slower.
    """
    done = subprocess.run(
        [str(python), "-X", "importtime", "-m", "rcwiz", "copy", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    top: list[dict] = []
    pending: list[dict] = []  # level-1 imports; importtime prints children before the parent
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if not match or len(match.group(2)) > 2:
            continue
        row = {"module": match.group(3), "cumulative_ms": int(match.group(1)) / 1000}
        if match.group(2):
            pending.append(row)
            continue
        row["children"] = sorted(
            (c for c in pending if c["cumulative_ms"] >= floor_ms),
            key=lambda c: -c["cumulative_ms"],
        )
        pending = []
        if row["cumulative_ms"] >= floor_ms:
            top.append(row)
    return sorted(top, key=lambda r: -r["cumulative_ms"])


def replay_costs(rclone_log: Path, dataset: Dataset, folder: Path, reps: int) -> dict[str, object]:
    """rcwiz's per-line work, without start-up: transfer.run fed a captured rclone log.

    A stand-in "rclone" (a shell script) writes the log of a real raw run to stderr at full
    speed; rcwiz's real engine reads, parses, tallies, logs and shows it with each sink. The
    figure is this process's CPU (the stand-in's own CPU is not counted).
    """
    from rcwiz.rclone.run import Rclone
    from rcwiz.rclone.transfer import TransferOptions
    from rcwiz.transfer import engine
    from rcwiz.transfer.watchdog import Watchdog
    from rcwiz.ui.console import Console, Stream
    from rcwiz.ui.live import LiveSink
    from rcwiz.ui.progress import JsonSink, PlainSink

    script = folder / "replay-rclone"
    script.write_text('#!/bin/sh\nexec cat "$REPLAY_LOG" >&2\n')
    script.chmod(0o755)
    stand_in = Rclone(binary=script, env={"REPLAY_LOG": str(rclone_log)})
    opts = TransferOptions(source=str(dataset.path), dest=f"{REMOTE}:replay")
    lines = sum(1 for _ in rclone_log.open(encoding="utf-8"))

    def console(*, terminal: bool = False, json_mode: bool = False) -> Console:
        out = Stream(io.StringIO(), force_terminal=terminal, width=120)
        return Console(out=out, err=out, json=json_mode, json_stream=io.StringIO())

    sinks: dict[str, Callable[[], object]] = {
        "plain": lambda: PlainSink(console(), 10.0),
        "json": lambda: JsonSink(console(json_mode=True)),
        "live": lambda: LiveSink(console(terminal=True)),
    }
    result: dict[str, object] = {"lines": lines}
    for name, make in sinks.items():

        def once(make: Callable[[], object] = make) -> None:
            engine.run(
                stand_in,
                opts,
                make(),  # type: ignore[arg-type]
                log_path=folder / "replay.jsonl",
                watch=Watchdog(stall_timeout=stand_in.clock.stall),
            )

        result[name] = _in_process(once, reps)
    return result


def breakdown(bench: Bench, reps: int) -> dict[str, object]:
    """Each fixed cost of `rcwiz copy`, timed alone (medians of REPS, in milliseconds)."""
    from rcwiz.rclone.run import Rclone
    from rcwiz.rclone.transfer import TransferOptions
    from rcwiz.transfer import preflight
    from rcwiz.transfer.endpoint import sides_of

    tools, env, conf = bench.tools, bench.env, str(bench.config)
    py, rclone = str(tools.python), str(tools.rclone)
    helper = [rclone, "--config", conf, "--ask-password=false", "--use-json-log"]
    copy_help = [str(tools.rcwiz), "copy", "--help"]
    src = str(bench.dataset.path)
    opts = TransferOptions(source=src, dest=f"{REMOTE}:breakdown")
    # rcwiz's own modules compiled on every run (an editable checkout with
    # PYTHONDONTWRITEBYTECODE); the standard library and site-packages keep their .pyc files.
    cold = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    out: dict[str, object] = {}
    out["processes"] = {
        "python -c pass (interpreter start-up)": _timed([py, "-c", "pass"], env, reps),
        "python -c 'import rcwiz.cli'": _timed([py, "-c", "import rcwiz.cli"], env, reps),
        "rcwiz copy --help (copy's start-up)": _timed([*copy_help], env, reps),
        "rcwiz copy --help, no bytecode cache": _timed([*copy_help], cold, reps),
        "rclone version": _timed([rclone, "version"], env, reps),
        "rclone listremotes --json": _timed([*helper, "listremotes", "--json"], env, reps),
        "rclone config dump": _timed([*helper, "config", "dump"], env, reps),
        "rclone about REMOTE: --json": _timed(
            [*helper, "about", f"{REMOTE}:", "--json"], env, reps
        ),
    }
    os.environ.update({k: env[k] for k in ("XDG_STATE_HOME", "XDG_CONFIG_HOME")})
    rc = Rclone.locate(tools.rclone, bench.config)
    out["in_rcwiz"] = {
        "Rclone.locate (version check)": _in_process(
            lambda: Rclone.locate(tools.rclone, bench.config), reps
        ),
        "sides_of (rclone.conf, in-process)": _in_process(
            lambda: sides_of(rc, src, opts.dest), reps
        ),
        "preflight.check_space (free space by PROPFIND + local walk)": _in_process(
            lambda: preflight.check_space(rc, opts, None), reps
        ),
        "preflight.local_size (local walk alone)": _in_process(
            lambda: preflight.local_size(src), reps
        ),
        "preflight.dry_run (not run by copy here)": _in_process(
            lambda: preflight.dry_run(rc, opts), max(1, reps // 2)
        ),
    }
    procs = out["processes"]
    # rclone.conf and the free space are read in-process, one after the other (no rclone
    # starts before the copy): copy's start-up plus those two.
    steps = out["in_rcwiz"]
    out["fixed_wall_ms"] = (
        procs["rcwiz copy --help (copy's start-up)"]["wall_ms"]
        + steps["sides_of (rclone.conf, in-process)"]["wall_ms"]
        + steps["preflight.check_space (free space by PROPFIND + local walk)"]["wall_ms"]
    )
    raw_logs = sorted(bench.logs.glob("*-raw-*.err"))
    if raw_logs:
        out["event_loop"] = replay_costs(raw_logs[0], bench.dataset, bench.logs, reps)
    out["imports"] = import_times(tools.python, env)
    return out


def breakdown_text(b: dict[str, object]) -> str:
    lines = ["breakdown of rcwiz's fixed costs (median ms; wall / CPU)"]
    for section in ("processes", "in_rcwiz"):
        for name, t in b.get(section, {}).items():  # type: ignore[union-attr]
            lines.append(f"  {name:<48}{t['wall_ms']:>8.1f} /{t['cpu_ms']:>7.1f}")
    loop = b.get("event_loop")
    if isinstance(loop, dict):
        n = loop["lines"]
        lines.append(f"  event loop, a captured raw-rclone log of {n} lines replayed:")
        for sink in ("plain", "json", "live"):
            t = loop[sink]
            per = 1000 * t["cpu_ms"] / max(1, n)
            lines.append(
                f"    {sink + ' sink':<46}{t['wall_ms']:>8.1f} /{t['cpu_ms']:>7.1f}"
                f"  ({per:.0f} µs CPU a line)"
            )
    fixed = b.get("fixed_wall_ms")
    if isinstance(fixed, float):
        lines.append(
            f"  rcwiz copy --help plus rclone.conf and the free space in-process: {fixed:.0f} ms"
            " wall"
        )
    lines.append("  imports (python -X importtime -m rcwiz copy --help, cumulative ms, >= 3 ms):")
    for row in b.get("imports", []):  # type: ignore[union-attr]
        lines.append(f"    {row['module']:<46}{row['cumulative_ms']:>8.1f}")
        for child in row["children"]:
            lines.append(f"      {child['module']:<44}{child['cumulative_ms']:>8.1f}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def versions(tools: Tools, env: dict[str, str]) -> dict[str, str]:
    first = capture([str(tools.rclone), "version"], env).splitlines()[0].strip()
    wiz = capture([str(tools.rcwiz), "--version"], env).strip()
    return {"rclone": first, "rcwiz": wiz, "python": platform.python_version()}


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores other processes kept busy during SECONDS while this benchmark waited."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as handle:
            ticks = [int(x) for x in handle.readline().split()[1:]]
        idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
        return sum(ticks[:8]), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    elapsed = (total1 - total0) or 1
    return round((os.cpu_count() or 1) * (1 - (idle1 - idle0) / elapsed), 2)


def machine() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        model = next((ln.split(":", 1)[1].strip() for ln in handle if "model name" in ln), "")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    p.add_argument("--files", type=int, default=200, help="files in each dataset (default 200)")
    p.add_argument("--size-mib", type=float, default=400, help="dataset size (default 400 MiB)")
    p.add_argument(
        "--long-size-mib",
        type=float,
        default=4000,
        help="then the same with a dataset this big (default 4000 MiB; 0 skips it)",
    )
    p.add_argument(
        "--long-rounds", type=int, default=3, help="measured rounds of the long copy (default 3)"
    )
    p.add_argument(
        "--pacer-min-sleep",
        default="0",
        metavar="DURATION",
        help="--webdav-pacer-min-sleep for every copy (default 0; 'default' leaves rclone's 10ms)",
    )
    p.add_argument(
        "--breakdown",
        choices=("auto", "yes", "no"),
        default="auto",
        help="time rcwiz's fixed costs one by one (auto: when a goal is missed)",
    )
    p.add_argument(
        "--rcwiz",
        choices=("installed", "checkout"),
        default="installed",
        help="time a wheel installed into a fresh venv (default) or the checkout's editable rcwiz",
    )
    p.add_argument(
        "--baseline",
        metavar="GIT-REF",
        help="also time rcwiz as it was at GIT-REF (a wheel of `git archive REF`), in the same "
        "rounds, each kind going first in turn: before and after in one run",
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds one copy may take")
    p.add_argument("--json", action="store_true", help="print the numbers as one JSON object")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.long_rounds < 1 or args.files < 1 or args.size_mib <= 0:
        p.error("--rounds, --long-rounds, --files and --size-mib must be positive")
    if args.long_size_mib < 0:
        p.error("--long-size-mib must be positive (or 0 to skip the long copy)")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not sys.platform.startswith("linux"):
        print("copy_overhead.py needs Linux (/proc, waitid).", file=sys.stderr)
        return 1

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    pacer = (
        ()
        if args.pacer_min_sleep == "default"
        else ("--webdav-pacer-min-sleep", args.pacer_min_sleep)
    )
    # SIGTERM (and SIGINT, even when inherited ignored) ends the benchmark through the
    # cleanup below: the server stopped, the running copy killed, the temp folder removed.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="rcwiz-bench-"))
    server: Server | None = None
    try:
        checkout = tools = Tools.beside_python()
        if args.rcwiz == "installed":
            tools = installed_tools(checkout, workdir / "install", say)
        baseline = None
        if args.baseline:
            source = baseline_source(args.baseline, workdir / "baseline-src")
            baseline = installed_tools(checkout, workdir / "install-base", say, source).rcwiz
        for name in [k for k in os.environ if k.startswith("RCLONE_")]:
            del os.environ[name]  # the caller's rclone settings must not change the runs
        env = clean_env(workdir)
        logs, root, config = workdir / "logs", workdir / "server", workdir / "rclone.conf"
        for folder in (logs, root):
            folder.mkdir()
        config.touch(mode=0o600)
        info = {**machine(), **versions(tools, env)}
        server = Server(tools.rclone, root, config, env)
        write_config(config, tools.rclone, server.port, server.password, env)
        say(
            f"rcwiz copy overhead: {info['cpus']} CPUs, {info['rclone']}, {info['rcwiz']}\n"
            f"raw rclone flags: {' '.join([*RCWIZ_FLAGS, *pacer])}\n"
            f"rcwiz: copy SRC DST{' -- ' + ' '.join(pacer) if pacer else ''} (stdout to a file)"
        )
        info["busy_cores_before"] = busy = busy_cores()
        if busy > BUSY_WARNING:
            say(
                f"note: {busy:.2f} cores busy while this benchmark was idle: other work shares them"
            )
        sizes = [(args.size_mib, args.rounds)]
        if args.long_size_mib:
            sizes.append((args.long_size_mib, args.long_rounds))
        measured: list[dict[str, object]] = []
        first: Bench | None = None
        for i, (size_mib, rounds) in enumerate(sizes):
            say(f"\ngenerating {args.files} files, {size_mib:g} MiB of random bytes …")
            dataset = make_dataset(workdir / f"dataset-{i}", args.files, size_mib)
            bench = Bench(
                tools, env, config, server, root, dataset, logs, pacer, args.timeout, baseline
            )
            say(
                f"dataset {i + 1} of {len(sizes)}: {dataset.files} files, "
                f"{dataset.bytes / 2**20:.1f} MiB, {rounds} rounds"
            )
            table = run_rounds(bench, rounds, say, tag=f"s{i}")
            json_run = bench.run("json", f"s{i}-json")
            say(round_table("extra run", [json_run]))
            summary = summarize(table, json_run, dataset.bytes / 2**20)
            say(summary_text(summary))
            measured.append(
                {
                    "config": {"rounds": rounds, "files": dataset.files, "bytes": dataset.bytes},
                    "runs": [[{**asdict(r), "label": r.label} for r in pair] for pair in table]
                    + [[{**asdict(json_run), "label": json_run.label}]],
                    "summary": summary,
                }
            )
            if first is None:
                first = bench  # the breakdown uses the first (short) dataset
            else:
                shutil.rmtree(dataset.path)
        info["busy_cores_after"] = busy = busy_cores()
        if busy > BUSY_WARNING:
            say(f"note: {busy:.2f} cores busy after the rounds: other work shared the CPUs")
        say(verdict_text([m["summary"] for m in measured]))  # type: ignore[misc]
        result: dict[str, object] = {
            "machine": info,
            "config": {"raw_flags": [*RCWIZ_FLAGS, *pacer], "pacer": args.pacer_min_sleep},
            "datasets": measured,
        }
        missed = not all(
            m["summary"]["wall_goal_met"]  # type: ignore[index]
            and m["summary"]["fixed_goal_met"]  # type: ignore[index]
            and m["summary"]["cpu_goal_met"]  # type: ignore[index]
            for m in measured
        )
        if first is not None and (args.breakdown == "yes" or (args.breakdown == "auto" and missed)):
            say("timing rcwiz's fixed costs …")
            result["breakdown"] = breakdown(first, reps=5)
            say(breakdown_text(result["breakdown"]))  # type: ignore[arg-type]
        if args.json:
            print(json.dumps(result, indent=None))
        return 0
    except BenchError as exc:
        print(f"copy_overhead.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("copy_overhead.py: interrupted", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
