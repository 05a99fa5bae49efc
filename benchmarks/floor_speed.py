"""rcwiz against the floor and its peers, on both test servers, at a 30 ms round trip.

    .venv/bin/python benchmarks/floor_speed.py [--rounds 3] [--files 1000] [--size 2000]
        [--rtt-ms 30] [--servers sqlite,prod] [--tools floor,rcwiz,rclone-tuned,nextcloudcmd]
        [--slow-seconds 60] [--slow-rounds 1] [--cases upload,download] [--json FILE]
        [--baseline RCWIZ]

Servers: `sqlite` is the suite's Nextcloud 30 (serve.sh: PHP's built-in server, SQLite, no
memcache); `prod` the production-like one of tests/prodserver.py (PostgreSQL 15 with its own
durable defaults, Redis as the locking memcache, APCu), same PHP server. Each gets a fresh user
and benchmarks/latency_proxy.py in front (--rtt-ms: 15 ms each way). Tools, alternating which
goes first each round:

* floor: benchmarks/floor.py, the same APIs as rcwiz (bulk upload; archive download) and
  nothing else, at the best batching a first sweep found on that server;
* rcwiz: `rcwiz --json copy`;
* baseline (with --baseline RCWIZ, e.g. another checkout's .venv/bin/rcwiz): the same command
  of that rcwiz, its state apart (so before and after a change are timed in one run);
* rclone-tuned: `rclone copy --transfers 16 --checkers 16` (a power user's flags);
* nextcloudcmd: Debian's nextcloud-desktop-cmd (the desktop client's sync engine), the
  password in a .netrc (never argv), syncing a copy of the files into an empty folder (up) or
  an empty local folder from the server (down).

Cases: upload FILES x SIZE to a new folder each run; download them (uploaded once beforehand)
to a new local folder each run. Every run is verified (the server's files on disk against the
source, or the local tree against the source, byte for byte; nextcloudcmd's journal files
left out); one that does not verify is reported FAILED and not timed. On `prod` the server's
log is searched for lock refusals (`is locked`) after every run. A peer (rclone, nextcloudcmd)
whose first run of a case took longer than --slow-seconds runs --slow-rounds times in it.
Each rcwiz runs once per case before the rounds, untimed (its bytecode cache, the server's
caches).
Prints each run, then per server and case: median (min-max), runs, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchlib import (
    REPO,
    SHARED_NEXTCLOUD,
    BenchError,
    Dataset,
    Nextcloud,
    Tools,
    clean_env,
    http,
    make_dataset,
    timed,
    write_config,
)
from latency_proxy import LatencyProxy

sys.path.insert(0, str(REPO / "tests"))
import prodserver  # tests/prodserver.py: stdlib only

HERE = Path(__file__).resolve().parent
TOOLS = ("floor", "rcwiz", "baseline", "rclone-tuned", "nextcloudcmd")
RCWIZ = ("rcwiz", "baseline")  # rcwiz commands: a warm-up run each, every round
SWEEP = ((100, 3), (50, 4))  # (files per request, requests in flight)
JOURNAL = (".sync_", "._sync_", ".nextcloudsync.log", ".owncloudsync.log")
RUN_TIMEOUT = 1800.0


@dataclass
class Run:
    server: str
    case: str
    tool: str
    round: int
    wall: float | None = None
    ok: bool = False
    error: str = ""
    locked: int = 0  # lock refusals in the server's log during the run


@dataclass
class Bench:
    """One server behind its proxy, with a user and a remote `nc` for it."""

    name: str
    nc: Nextcloud
    url: str  # the proxy's
    user: str
    password: str
    config: Path
    work: Path
    services: prodserver.Services | None = None

    def files_of(self, folder: str) -> Path:
        return self.nc.workdir / "data" / self.user / "files" / folder

    def log_mark(self) -> int:
        log = self.nc.workdir / "nextcloud.log"
        return log.stat().st_size if log.exists() else 0

    def locked_since(self, mark: int) -> int:
        log = self.nc.workdir / "nextcloud.log"
        if not log.exists():
            return 0
        with open(log, "rb") as handle:
            handle.seek(mark)
            return handle.read().count(b"is locked")

    def mkcol(self, folder: str) -> None:
        http("MKCOL", f"{self.url}/remote.php/dav/files/{self.user}/{folder}", auth=self.auth)

    @property
    def auth(self) -> tuple[str, str]:
        return self.user, self.password


def start_server(name: str, work: Path, rtt_ms: float, tools: Tools, env: dict[str, str]):
    """The server NAME in WORK, a user, the proxy and an rclone.conf: (Bench, proxy)."""
    folder = work / name
    folder.mkdir()
    services = None
    if name == "prod":
        why = prodserver.unavailable()
        if why:
            raise BenchError(why)
        services = prodserver.Services(durable=True).start(folder)
        nc = Nextcloud(folder / "w", env=services.env())
        nc.started = True
        try:
            tarball = SHARED_NEXTCLOUD / "nextcloud-30.0.1-trimmed.tar.xz"
            prodserver.install(nc.workdir, services, tarball)
            nc.start()
        except BaseException:
            services.stop()
            raise
    else:
        nc = Nextcloud(folder / "w").start()
    user, password = nc.add_user("100 GB")
    proxy = LatencyProxy(("127.0.0.1", nc.port), rtt_ms / 2000).start()
    url = f"http://127.0.0.1:{proxy.port}"
    config = folder / "rclone.conf"
    write_config(
        config, tools.rclone, f"{url}/remote.php/dav/files/{user}/", user, password, env, "nc"
    )
    home = folder / "home"  # nextcloudcmd's .netrc
    home.mkdir()
    netrc = home / ".netrc"
    netrc.touch(mode=0o600)
    netrc.write_text(f"machine 127.0.0.1\nlogin {user}\npassword {password}\n")
    return Bench(name, nc, url, user, password, config, folder, services), proxy


def same_tree(a: Path, b: Path) -> bool:
    """A and B hold the same files with the same bytes (nextcloudcmd's journal left out)."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(JOURNAL)
        }

    names = files(a)
    if names != files(b):
        return False
    return all(filecmp.cmp(a / n, b / n, shallow=False) for n in names)


def argv_for(
    tool: str,
    case: str,
    bench: Bench,
    tools: Tools,
    data: Dataset,
    where: str,
    best,
    baseline: Path | None = None,
):
    """The command for TOOL in CASE; WHERE is the remote folder (up) or local folder (down);
    BASELINE: the rcwiz command the tool "baseline" runs."""
    src = str(data.path)
    if tool == "floor":
        if case == "upload":
            batch, parallel = best
            return [
                sys.executable,
                str(HERE / "floor.py"),
                "upload",
                bench.url,
                bench.user,
                src,
                where,
                "--batch",
                str(batch),
                "--parallel",
                str(parallel),
            ]
        entries = ",".join(sorted(p.name for p in data.path.iterdir()))
        return [
            sys.executable,
            str(HERE / "floor.py"),
            "download",
            bench.url,
            bench.user,
            "seed",
            where,
            "--entries",
            entries,
            "--parallel",
            str(len(entries.split(","))),
        ]
    if tool in RCWIZ:
        pair = (src, f"nc:{where}") if case == "upload" else ("nc:seed", where)
        command = tools.rcwiz if tool == "rcwiz" else baseline
        return [str(command), "--json", "--config", str(bench.config), "copy", *pair]
    if tool == "rclone-tuned":
        pair = (src, f"nc:{where}") if case == "upload" else ("nc:seed", where)
        return [
            str(tools.rclone),
            "--config",
            str(bench.config),
            "copy",
            *pair,
            "--transfers",
            "16",
            "--checkers",
            "16",
        ]
    # nextcloudcmd LOCAL URL, --path the remote folder
    local, remote = (where + ".local", where) if case == "upload" else (where, "seed")
    return ["nextcloudcmd", "--non-interactive", "-n", "--path", f"/{remote}", local, bench.url]


def one_run(tool, case, bench, tools, data, rnd, env, best, baseline=None) -> Run:
    run = Run(bench.name, case, tool, rnd)
    tag = f"{case}-{tool}-{rnd}"
    if case == "upload":
        where = f"up-{tag}"
        if tool == "nextcloudcmd":  # it syncs a folder: a copy to sync, an empty one there
            shutil.copytree(data.path, bench.work / f"{where}.local")
            bench.mkcol(where)
    else:
        where = str(bench.work / f"down-{tag}")
        if tool == "nextcloudcmd":
            Path(where).mkdir()
    argv = argv_for(tool, case, bench, tools, data, where, best, baseline)
    if tool == "nextcloudcmd" and case == "upload":
        argv[-2] = str(bench.work / f"{where}.local")
    run_env = {**env, "FLOOR_PASSWORD": bench.password, "HOME": str(bench.work / "home")}
    if tool == "baseline":  # its own state: the rclone version it remembers is another's
        run_env["XDG_STATE_HOME"] = str(bench.work / "baseline-state")
    mark = bench.log_mark()
    out, err = bench.work / f"{tag}.out", bench.work / f"{tag}.err"
    try:
        wall, code = timed(argv, run_env, out, err, RUN_TIMEOUT)
    except BenchError as exc:
        run.error = str(exc)
        return run
    run.locked = bench.locked_since(mark)
    if code != 0:
        run.error = f"exit {code}: {err.read_text(errors='replace')[-300:]}"
        return run
    got = bench.files_of(where) if case == "upload" else Path(where)
    if not same_tree(data.path, got):
        run.error = "the data did not verify"
        return run
    run.ok, run.wall = True, wall
    return run


def sweep(bench: Bench, tools: Tools, data: Dataset, env: dict[str, str]) -> tuple[int, int]:
    """The floor's fastest (batch, parallel) for uploads on this server, without refusals."""
    best, best_wall = SWEEP[0], float("inf")
    for setting in SWEEP:
        run = one_run(
            "floor", "upload", bench, tools, data, -1 - SWEEP.index(setting), env, setting
        )
        print(
            f"  sweep {bench.name} floor upload {setting}: "
            f"{run.wall and round(run.wall, 2)} s {run.error} locked={run.locked}",
            flush=True,
        )
        if run.ok and run.locked == 0 and run.wall is not None and run.wall < best_wall:
            best, best_wall = setting, run.wall
    return best


def spread(values: list[float]) -> str:
    if not values:
        return "FAILED"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}, n={len(values)})"


def report(runs: list[Run]) -> list[str]:
    lines = []
    for server in sorted({r.server for r in runs}):
        for case in ("upload", "download"):
            mine = [r for r in runs if r.server == server and r.case == case and r.round >= 0]
            if not mine:
                continue
            walls = {t: [r.wall for r in mine if r.tool == t and r.ok] for t in TOOLS}
            floor = statistics.median(walls["floor"]) if walls["floor"] else None
            for tool in TOOLS:
                got = [w for w in walls[tool] if w is not None]
                if not got and not any(r.tool == tool for r in mine):
                    continue
                ratio = f"{statistics.median(got) / floor:.2f}x floor" if got and floor else "-"
                locked = sum(r.locked for r in mine if r.tool == tool)
                lines.append(
                    f"{server:6} {case:8} {tool:13} {spread(got):32} {ratio:12} locked={locked}"
                )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--rtt-ms", type=float, default=30.0)
    parser.add_argument("--servers", default="sqlite,prod")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--slow-seconds", type=float, default=60.0)
    parser.add_argument("--slow-rounds", type=int, default=1)
    parser.add_argument("--cases", default="upload,download", help="which cases to run")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--baseline", type=Path, help="another rcwiz to time as 'baseline'")
    args = parser.parse_args()
    tools = Tools.beside_python()
    chosen = [t for t in args.tools.split(",") if t]
    if "nextcloudcmd" in chosen and shutil.which("nextcloudcmd") is None:
        print("nextcloudcmd is not installed (apt-get install nextcloud-desktop-cmd): left out")
        chosen.remove("nextcloudcmd")
    if args.baseline is not None and "baseline" not in chosen:
        chosen.insert(chosen.index("rcwiz") + 1 if "rcwiz" in chosen else 0, "baseline")
    if args.baseline is None and "baseline" in chosen:
        parser.error("the tool 'baseline' needs --baseline RCWIZ")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="rcwiz-floor-") as tmp:
        work = Path(tmp)
        env = clean_env(work)
        data = make_dataset(work / "data", args.files, args.size)
        for name in args.servers.split(","):
            bench, proxy = start_server(name, work, args.rtt_ms, tools, env)
            try:
                # Without the upload case, the seed goes one request at a time (never refused).
                uploading = "upload" in args.cases.split(",")
                best = (100, 1)
                if "floor" in chosen and uploading:
                    best = sweep(bench, tools, data, env)
                print(f"  {name}: floor batching {best}", flush=True)
                seed = argv_for("floor", "upload", bench, tools, data, "seed", best)
                out, err = work / f"{name}-seed.out", work / f"{name}-seed.err"
                seed_env = {**env, "FLOOR_PASSWORD": bench.password}
                if timed(seed, seed_env, out, err, RUN_TIMEOUT)[1] != 0:
                    raise BenchError(f"seeding failed: {err.read_text()[-300:]}")
                for case in [c for c in ("upload", "download") if c in args.cases.split(",")]:
                    slow: set[str] = set()
                    for tool in [t for t in chosen if t in RCWIZ]:  # untimed (round < 0)
                        run = one_run(tool, case, bench, tools, data, -9, env, best, args.baseline)
                        print(f"  warm-up {name} {case} {tool}: {run.wall} s {run.error}")
                    for rnd in range(args.rounds):
                        order = chosen[rnd % len(chosen) :] + chosen[: rnd % len(chosen)]
                        for tool in order:
                            if tool in slow and rnd >= args.slow_rounds:
                                continue
                            run = one_run(
                                tool, case, bench, tools, data, rnd, env, best, args.baseline
                            )
                            runs.append(run)
                            print(
                                f"{name} {case} {tool} round {rnd}: "
                                f"{run.wall and round(run.wall, 2)} s {run.error} "
                                f"locked={run.locked}",
                                flush=True,
                            )
                            peer = tool not in ("floor", *RCWIZ)  # those run every round
                            if peer and rnd == 0 and (run.wall or RUN_TIMEOUT) > args.slow_seconds:
                                slow.add(tool)
            finally:
                proxy.stop()
                bench.nc.stop()
                if bench.services is not None:
                    bench.services.stop()
    print("\nserver case     tool          median (min-max, runs)           vs floor")
    for line in report(runs):
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1))
    return 0 if all(r.ok for r in runs) else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM, or SIGINT where a background start ignored it: clean up


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    started = time.monotonic()
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    print(f"({time.monotonic() - started:.0f} s)")
    sys.exit(code)
