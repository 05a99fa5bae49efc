"""A 10^5-file tree on a real Nextcloud: rcwiz against `rclone copy` for a re-run with nothing to
do, a re-run with 1 % of the files changed, and the listing; wall time and peak memory.

    .venv/bin/python benchmarks/scale.py [--files 100000] [--rounds 3] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh: PHP's built-in server, SQLite) in a
temporary folder, makes a user with no quota, writes FILES small files straight into the
user's folder on the server's disk and has the server index them (`occ files:scan`), as
nextcloud_review.py does (its `seed`: 100 folders of 10 subfolders, 100 to 400 bytes each),
and writes the same tree locally with each file's modification time set to the server copy's,
so that both sides hold the same files. Then ROUNDS times, the two tools in turn (rcwiz first
in odd rounds, rclone in even ones), case by case:

* **nothing to do**: `rclone copy LOCAL bench:data` and `rcwiz copy LOCAL bench:data`; the
  server must be left as it was (no file count change, no new upload);
* **the listing**: `rclone lsjson -R --files-only bench:data` against rcwiz's own listing of
  the same folder (rcwiz.transfer.fastpath.remote_listing in a child Python: Nextcloud's one
  PROPFIND, else rclone's), each must count FILES files;
* **1 % changed**: before each run, 1 % of the local files (a fresh set for every run) get new
  bytes of another length and a new time; each copy must leave exactly those bytes on the
  server's disk.

Each run is one child process, timed from start to exit; its peak resident memory (VmHWM,
polled every 50 ms by nextcloud_speed.PeakRss) is taken for the process itself (rcwiz's
Python, or rclone) and for its children (the rclone under rcwiz, when it runs). Goals (issue
26): rcwiz's re-runs within 1.2x of rclone's and never slower, rcwiz's peak RSS <= 300 MB.
Prints each run, then the medians with the spread (lowest-highest); exit 0 when every run
checked (a missed goal is reported, not failed), 1 when a run broke, 130 when interrupted.
Seeding and the scan take about 20 minutes of CPU on a 2-core machine. Everything is removed
at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchlib import BenchError, Nextcloud, Tools, clean_env, timed, write_config
from nextcloud_review import seed, seed_account
from nextcloud_speed import PeakRss

GOAL_RATIO = 1.2
GOAL_RSS_MB = 300.0
RUN_TIMEOUT = 3600.0
CHANGED_SHARE = 100  # one file in this many changes before a "1 % changed" run

# rcwiz's listing of REMOTE:PATH, as a copy's fast path makes it (argv: config, remote path).
LISTING = """
import sys
from rcwiz.clock import Clock
from rcwiz.nextcloud.account import account
from rcwiz.rclone.run import Rclone
from rcwiz.transfer.fastpath import remote_listing

rclone = Rclone.locate(config=sys.argv[1])
rclone.clock = Clock(stall=120)
found, how = remote_listing(rclone, account(rclone, sys.argv[2]), sys.argv[2])
print(len(found.files), how)
"""


@dataclass
class Run:
    case: str  # "nothing", "changed", "listing"
    tool: str  # "rclone", "rcwiz"
    wall: float
    rss_mb: float | None  # the process's own peak (rcwiz's Python, or rclone)
    child_rss_mb: float | None  # rcwiz's rclone, when it ran


class Bench:
    def __init__(self, tools: Tools, env: dict[str, str], conf: Path, work: Path) -> None:
        self.tools, self.env, self.conf, self.work = tools, env, conf, work
        self.runs: list[Run] = []

    def argv(self, case: str, tool: str, local: Path) -> list[str]:
        rclone = [str(self.tools.rclone), "--config", str(self.conf)]
        wiz = [str(self.tools.rcwiz), "--config", str(self.conf), "--rclone", str(rclone[0])]
        if case == "listing":
            if tool == "rclone":
                return [*rclone, "lsjson", "-R", "--files-only", "bench:data"]
            return [sys.executable, "-c", LISTING, str(self.conf), "bench:data"]
        if tool == "rclone":
            return [*rclone, "copy", str(local), "bench:data"]
        return [*wiz, "copy", str(local), "bench:data"]

    def run(self, case: str, tool: str, local: Path) -> tuple[Run, str]:
        out, err = self.work / f"{case}-{tool}.out", self.work / f"{case}-{tool}.err"
        peak: list[PeakRss] = []

        def watch(proc: object) -> object:
            peak.append(PeakRss(proc.pid))  # type: ignore[attr-defined]
            return peak[0].watch()

        wall, code = timed(
            self.argv(case, tool, local), self.env, out, err, RUN_TIMEOUT, watch=watch
        )
        if code != 0:
            raise BenchError(f"{tool} ({case}) exited {code}: {err.read_text()[-800:]}")
        run = Run(case, tool, wall, peak[0].own, peak[0].children)
        self.runs.append(run)
        print(
            f"  {case:<8} {tool:<7} {wall:8.2f} s   peak RSS {_mb(run.rss_mb)}"
            + (f" (its rclone {_mb(run.child_rss_mb)})" if run.child_rss_mb else ""),
            flush=True,
        )
        return run, out.read_text()


def _mb(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f} MB"


def mirror_times(server_files: Path, local: Path) -> None:
    """Give each local file the modification time of its copy on the server's disk."""
    for folder, _, names in os.walk(local):
        for name in names:
            path = Path(folder, name)
            there = (server_files / path.relative_to(local)).stat().st_mtime
            os.utime(path, (there, there))


def change_share(local: Path, salt: int) -> dict[str, bytes]:
    """New bytes (another length) for one local file in CHANGED_SHARE, chosen by SALT."""
    changed: dict[str, bytes] = {}
    paths = sorted(Path(f, n) for f, _, names in os.walk(local) for n in names)
    for i, path in enumerate(paths):
        if i % CHANGED_SHARE == salt % CHANGED_SHARE:
            body = f"changed {salt} ".encode() * (10 + i % 20)
            path.write_bytes(body)
            changed[path.relative_to(local).as_posix()] = body
    return changed


def check_arrived(server_files: Path, changed: dict[str, bytes]) -> None:
    wrong = [rel for rel, body in changed.items() if (server_files / rel).read_bytes() != body]
    if wrong:
        raise BenchError(f"{len(wrong)} changed files did not arrive, e.g. {wrong[:3]}")


def count_files(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


def summary(runs: list[Run]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for case in ("nothing", "changed", "listing"):
        row: dict[str, object] = {}
        for tool in ("rclone", "rcwiz"):
            walls = [r.wall for r in runs if (r.case, r.tool) == (case, tool)]
            rss = [r.rss_mb for r in runs if (r.case, r.tool) == (case, tool) and r.rss_mb]
            kids = [
                r.child_rss_mb for r in runs if (r.case, r.tool) == (case, tool) and r.child_rss_mb
            ]
            if walls:
                row[tool] = {
                    "wall_median": statistics.median(walls),
                    "wall_range": [min(walls), max(walls)],
                    "rss_peak_mb": max(rss) if rss else None,
                    "child_rss_peak_mb": max(kids) if kids else None,
                }
        if "rclone" in row and "rcwiz" in row:
            ratio = row["rcwiz"]["wall_median"] / row["rclone"]["wall_median"]  # type: ignore[index]
            row["ratio"] = ratio
            row["ratio_goal_met"] = ratio <= GOAL_RATIO if case != "listing" else None
            rss = row["rcwiz"]["rss_peak_mb"]  # type: ignore[index]
            row["rss_goal_met"] = rss is not None and rss <= GOAL_RSS_MB
        out[case] = row
    return out


def summary_text(s: dict[str, dict[str, object]], files: int) -> str:
    lines = [f"\n{files} files: median wall (lowest-highest), peak RSS"]
    for case, row in s.items():
        for tool in ("rclone", "rcwiz"):
            t = row.get(tool)
            if isinstance(t, dict):
                low, high = t["wall_range"]
                kid = (
                    f", its rclone {_mb(t['child_rss_peak_mb'])}" if t["child_rss_peak_mb"] else ""
                )
                lines.append(
                    f"  {case:<8} {tool:<7} {t['wall_median']:8.2f} s ({low:.2f}-{high:.2f})  "
                    f"RSS {_mb(t['rss_peak_mb'])}{kid}"
                )
        if "ratio" in row:
            goal = row["ratio_goal_met"]
            verdict = (
                "" if goal is None else f"; goal <= {GOAL_RATIO}: {'met' if goal else 'MISSED'}"
            )
            rss = "met" if row["rss_goal_met"] else "MISSED"
            lines.append(
                f"  {case:<8} rcwiz/rclone {row['ratio']:.2f}{verdict}; rcwiz RSS <= "
                f"{GOAL_RSS_MB:.0f} MB: {rss}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3, help="0 with --workdir: only seed it")
    p.add_argument("--json", metavar="FILE")
    p.add_argument(
        "--workdir",
        metavar="DIR",
        help="keep the seeded server and local tree in DIR and reuse them on the next run "
        "(seeding and indexing 10^5 files take 20 minutes); DIR is not removed",
    )
    args = p.parse_args(argv)
    if args.files < CHANGED_SHARE or args.rounds < (0 if args.workdir else 1):
        p.error(f"--files must be at least {CHANGED_SHARE} and --rounds positive (0: only seed)")
    if args.workdir:
        work = Path(args.workdir).expanduser().resolve()
        work.mkdir(parents=True, exist_ok=True)
        return bench_in(work, args)
    with tempfile.TemporaryDirectory(
        prefix="rcwiz-bench-scale-", ignore_cleanup_errors=True
    ) as tmp:
        return bench_in(Path(tmp), args)


def bench_in(work: Path, args: argparse.Namespace) -> int:
    """The benchmark with its server, local tree and state in WORK (kept there if seeded)."""
    tools = Tools.beside_python()
    env = clean_env(work)
    nc = Nextcloud(work / "server")
    try:
        print("starting Nextcloud (../shared/nextcloud/serve.sh) …", flush=True)
        nc.start()
        conf = work / "rclone.conf"
        local = work / "local"
        seeded = Seeded.load(work)
        if seeded is None or seeded.files != args.files:
            if seeded is not None:
                raise BenchError(
                    f"{work} holds {seeded.files} seeded files, not {args.files}: "
                    "give another --workdir"
                )
            seeded = seed_server(nc, tools, env, conf, local, args.files)
            seeded.save(work)
        else:
            write_config(conf, tools.rclone, seeded.url(nc), seeded.user, seeded.password, env)
            print(f"reusing the {seeded.files} files seeded in {work}", flush=True)
        server_files = nc.workdir / "data" / seeded.user / "files" / "data"
        settle(server_files, local, args.files)
        bench = Bench(tools, env, conf, work)
        order = ("rcwiz", "rclone")  # rcwiz's runs are the short ones: first in round 1
        for round_ in range(args.rounds):
            tools_now = order if round_ % 2 == 0 else order[::-1]
            print(f"round {round_ + 1} ({tools_now[0]} first)", flush=True)
            for tool in tools_now:
                bench.run("nothing", tool, local)
                if count_files(server_files) != args.files:
                    raise BenchError(f"{tool} changed the server's file count")
            for tool in tools_now:
                _, out = bench.run("listing", tool, local)
                listed = len(json.loads(out)) if tool == "rclone" else int(out.split()[0])
                if listed != args.files:
                    raise BenchError(f"{tool} listed {listed} files, not {args.files}")
            for tool in tools_now:
                seeded.changes += 1  # a new set of files and new bytes for every run
                seeded.save(work)
                changed = change_share(local, seeded.changes)
                bench.run("changed", tool, local)
                check_arrived(server_files, changed)
    except KeyboardInterrupt:
        return 130
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        nc.stop()
    result = summary(bench.runs)
    print(summary_text(result, args.files))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"files": args.files, "runs": [asdict(r) for r in bench.runs], "summary": result}
            )
            + "\n"
        )
    return 0


@dataclass
class Seeded:
    """What a --workdir holds (WORK/seeded.json, private): the seeded user and how many
    "1 % changed" runs it has seen (each run's changes must differ from every earlier one's)."""

    files: int
    user: str
    password: str
    changes: int = 0

    @staticmethod
    def load(work: Path) -> Seeded | None:
        path = work / "seeded.json"
        return Seeded(**json.loads(path.read_text())) if path.is_file() else None

    def save(self, work: Path) -> None:
        path = work / "seeded.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(asdict(self)) + "\n")

    def url(self, nc: Nextcloud) -> str:
        return f"{nc.url}/remote.php/dav/files/{self.user}/"


def seed_server(
    nc: Nextcloud, tools: Tools, env: dict[str, str], conf: Path, local: Path, files: int
) -> Seeded:
    """A new user holding FILES files, written on the server's disk and indexed, and the
    same tree in LOCAL."""
    user, password, server_files, _ = seed_account(nc, tools, env, conf, files)
    started = time.perf_counter()
    seed(local, files)
    print(f"wrote them again here in {time.perf_counter() - started:.1f} s", flush=True)
    seeded = Seeded(files, user, password)
    mirror_times(server_files, local)
    return seeded


def settle(server_files: Path, local: Path, files: int) -> None:
    """Make LOCAL hold what the server's disk holds (bytes and times), where a broken earlier
    run left them apart; the server's count must be FILES."""
    if count_files(server_files) != files:
        raise BenchError(f"the server holds {count_files(server_files)} files, not {files}")
    mended = 0
    for folder, _, names in os.walk(server_files):
        for name in names:
            there = Path(folder, name)
            here = local / there.relative_to(server_files)
            mine, theirs = here.stat(), there.stat()
            if mine.st_size != theirs.st_size or int(mine.st_mtime) != int(theirs.st_mtime):
                here.write_bytes(there.read_bytes())
                os.utime(here, (theirs.st_mtime, theirs.st_mtime))
                mended += 1
    if mended:
        print(f"{mended} local file(s) set back to the server's copy", flush=True)


if __name__ == "__main__":
    sys.exit(main())
