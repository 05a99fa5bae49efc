"""rclone against rcwiz on a real Nextcloud 30 made distant by a latency proxy, side by side.

    .venv/bin/python benchmarks/nextcloud_speed.py [--quick] [--rtt-ms 30] [--rounds 3]
        [--slow-rounds 1] [--slow-seconds 30] [--files 1000] [--size 2000] [--mid-files 200]
        [--mid-size 10000] [--big-mb 1000] [--cap-mbps 20] [--tree] [--tree-files 20000]
        [--only CASE,...] [--rcwiz PATH] [--server sqlite|prod] [--json FILE]

Starts the Nextcloud 30 of ../shared/nextcloud (serve.sh: PHP's built-in server, SQLite; with
--server prod the production-like one of tests/prodserver.py: PostgreSQL 15, Redis locking,
APCu) in a temporary WORKDIR, creates a fresh user with a large quota, and puts
benchmarks/latency_proxy.py in front of it (--rtt-ms, default 30: 15 ms each way). A temporary
rclone.conf holds remote `nc` (webdav, vendor nextcloud, the proxy's address, the password
obscured through `rclone obscure -` on stdin). Then each case runs `rclone copy SRC DEST`
(rclone's defaults) and `rcwiz --json copy SRC DEST` (the rcwiz next to this Python, or
--rcwiz; its state and config folders in the temporary folder), alternating which goes first:

* upload-small: FILES files of SIZE bytes (1000 x 2 kB) to a new folder each round;
* upload-rerun: the same upload again onto the tool's first upload (nothing changed);
* download-small: those files (uploaded once beforehand) to a new local folder each round;
* download-rerun: the same download again onto the tool's first download;
* download-10k, download-10k-rerun: the same for MID_FILES files of MID_SIZE bytes (200 x 10 kB);
* download-archive-big: BIG_MB megabytes in files of 3 MB (below rcwiz's archive threshold,
  so rcwiz fetches them all in archives), to a new local folder each round, with the peak RSS
  (rss-download);
* tree-rerun (--tree): a re-run onto a tree of TREE_FILES files uploaded beforehand;
* upload-big: one file of BIG_MB megabytes (1 GB), and upload-big-cap: the same with the
  proxy limiting every connection to CAP_MBPS MB/s per direction (20 MB/s: what one TCP
  stream gets at a 30 ms round trip with 0.001 % loss, by Mathis et al.'s formula);
* download-big, download-big-cap: that file (placed on the server's disk and scanned
  beforehand) to a new local folder each round, uncapped and capped as the uploads (rclone's
  defaults download it in 4 streams; rcwiz in byte ranges, rcwiz.transfer.bigfiles, 4 streams
  and up to 16 where each is slow); for download-big-cap the server is restarted with 16
  workers (CAPPED_WORKERS, for every tool alike), then set back to 4;
* rss: the peak resident memory of the rcwiz process (Python, not rclone) over the big
  uploads: the kernel's high-water mark VmHWM from /proc/PID/status, read every 50 ms
  (it never falls, so the last reading is the peak); rclone's own is shown for comparison.
  rss-download: the same over the big archive downloads.

Each tool runs --rounds times per case (3), except that a tool whose first run of a case took
longer than --slow-seconds (30) runs --slow-rounds times in it (1): rclone's small-file upload.
After each run the data is verified: an upload with `rclone check LOCAL nc:DEST --one-way`
(exit 0 and every file matching; files rcwiz sent by bulk upload carry no checksum on
Nextcloud, so for them rclone compares sizes only, and the count of unchecked hashes is
reported), a download by comparing the two local trees byte for byte. A run that does not
verify is reported as FAILED and not timed. The server's request log gives the requests of
each run by method.

Prints each run, then a table: case, rclone median (min-max), rcwiz median (min-max), ratio
rclone/rcwiz (higher is better for rcwiz), goal, met/missed; --json FILE writes everything.
--quick: 100 files instead of 1000 and 100 MB instead of 1 GB (under two minutes). Exit 0
when every run verified (goals missed or not), 1 when one failed, 130 when interrupted.
Everything (server, proxy, temporary folder) is removed at the end, also after Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    REPO,
    SHARED_NEXTCLOUD,
    BenchError,
    Dataset,
    Nextcloud,
    Tools,
    by_method,
    capture,
    checked,
    clean_env,
    http,
    make_big_file,
    make_dataset,
    rcwiz_details,
    timed,
    write_config,
)
from latency_proxy import LatencyProxy

sys.path.insert(0, str(REPO / "tests"))
import prodserver  # tests/prodserver.py: stdlib only

REMOTE = "nc"
TOOLS = ("rclone", "rcwiz")
UPLOAD_METHODS = ("PUT", "POST", "MOVE", "MKCOL", "COPY", "DELETE")
RSS_POLL = 0.05
QUICK = {"files": 100, "big_mb": 100}
TREE_FOLDERS = 100


@dataclass(frozen=True)
class Goal:
    kind: str  # ratio (rclone/rcwiz >= value), rcwiz_seconds (<= value), rss_mb (< value), info
    value: float
    text: str


CASES: dict[str, tuple[str, Goal]] = {
    "upload-small": ("upload {files} x {size_text}", Goal("ratio", 10.0, ">= 10x")),
    "upload-rerun": ("upload re-run, nothing changed", Goal("rcwiz_seconds", 2.0, "rcwiz <= 2 s")),
    "download-small": ("download {files} x {size_text}", Goal("ratio", 10.0, ">= 10x")),
    "download-rerun": (
        "download re-run, nothing changed",
        Goal("rcwiz_seconds", 2.0, "rcwiz <= 2 s"),
    ),
    "download-10k": ("download {mid_files} x {mid_size_text}", Goal("info", 0.0, "-")),
    "download-10k-rerun": (
        "download re-run of those, nothing changed",
        Goal("rcwiz_seconds", 2.0, "rcwiz <= 2 s"),
    ),
    "download-archive-big": (
        "download {big_text} in files of 3 MB",
        Goal("ratio", 0.95, ">= 1x, no slower (5 % noise)"),
    ),
    "tree-rerun": (
        "re-run onto {tree_files} files",
        Goal("ratio", 1 / 1.2, "rcwiz <= 1.2x rclone"),
    ),
    "upload-big": (
        "upload {big_text}",
        Goal("ratio", 0.95, ">= 1x, no slower (5 % noise)"),
    ),
    "upload-big-cap": ("upload {big_text}, cap {cap_mbps:g} MB/s", Goal("ratio", 2.0, ">= 2x")),
    "download-big": (
        "download {big_text}",
        Goal("ratio", 0.95, ">= 1x, no slower (5 % noise)"),
    ),
    "download-big-cap": (
        "download {big_text}, cap {cap_mbps:g} MB/s",
        Goal("ratio", 2.0, ">= 2x"),
    ),
    "rss": ("peak RSS, {big_text} upload", Goal("rss_mb", 150.0, "rcwiz + its rclone < 150 MB")),
    "rss-download": (
        "peak RSS, {big_text} archive download",
        Goal("rss_mb", 150.0, "rcwiz + its rclone < 150 MB"),
    ),
}
RSS_ROWS = {"rss": ("upload-big", "upload-big-cap"), "rss-download": ("download-archive-big",)}
# download-big-cap's server serves this many requests at once (PHP's built-in server with
# PHP_CLI_SERVER_WORKERS; serve.sh's default, and every other case's, is DEFAULT_WORKERS): a
# production server (Apache, php-fpm) serves far more than 4, and with 4 no client can use
# more than 4 capped connections. The same for every tool; rclone keeps its defaults.
CAPPED_WORKERS = 16
DEFAULT_WORKERS = 4
ARCHIVE_FILE = 3 * 10**6  # the files of download-archive-big: below rcwiz's 4 MiB threshold


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    case: str
    tool: str
    round: int
    dest: str
    ok: bool = False
    wall: float | None = None  # only when the data verified
    measured: float | None = None  # the wall time, also of a run that failed
    error: str | None = None
    exit_code: int | None = None
    requests: dict[str, int] = field(default_factory=dict)  # by method, from the server's log
    requests_by_status: dict[str, int] = field(default_factory=dict)  # "MKCOL 405" -> count
    connections: int = 0  # accepted by the proxy during the run
    proxy_cpu: float | None = None  # CPU seconds the proxy's thread used during the run
    unchecked_hashes: int | None = None  # rclone check: sizes compared only
    rss_mb: float | None = None  # the process's own peak RSS (VmHWM): rcwiz's Python, rclone
    child_rss_mb: float | None = None  # rcwiz: the peak RSS of its rclone children
    bulk_files: int | None = None
    bulk_refused: int | None = None
    archive_files: int | None = None  # rcwiz: files fetched in Nextcloud archives
    archive_refused: int | None = None
    chunked_files: int | None = None  # rcwiz: big files sent in parallel chunks
    rclone_files: int | None = None
    rclone_ran: bool | None = None  # rcwiz: whether it started rclone at all
    note: str = ""

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())


def _vmhwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class PeakRss(threading.Thread):
    """Polls a process's VmHWM (its peak RSS so far) and its children's, every RSS_POLL s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.own: float | None = None
        self.children: float | None = None
        self._stop_event = threading.Event()
        try:
            import psutil  # the venv has it (rcwiz needs it); children are optional

            self._proc: Any = psutil.Process(pid)
        except Exception:  # psutil missing or the process gone: no children
            self._proc = None

    def sample(self) -> None:
        own = _vmhwm_mb(self.pid)
        if own is not None:
            self.own = max(self.own or 0.0, own)
        if self._proc is None:
            return
        try:
            kids = self._proc.children(recursive=True)
        except Exception:  # gone between polls
            return
        for kid in kids:
            value = _vmhwm_mb(kid.pid)
            if value is not None:
                self.children = max(self.children or 0.0, value)

    def run(self) -> None:
        while not self._stop_event.wait(RSS_POLL):
            self.sample()

    def watch(self) -> Callable[[], None]:
        self.sample()
        self.start()
        return self.finish

    def finish(self) -> None:
        self._stop_event.set()
        self.join()


def tree_files(root: Path) -> dict[str, Path]:
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path
    return found


def compare_trees(expected: Path, got: Path) -> int:
    """The number of files, when GOT holds exactly EXPECTED's files with the same bytes."""
    want, have = tree_files(expected), tree_files(got)
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    if missing or extra:
        raise BenchError(
            f"{got} differs from {expected}: {len(missing)} missing (e.g. {missing[:3]}), "
            f"{len(extra)} extra (e.g. {extra[:3]})"
        )
    for rel, path in want.items():
        if not filecmp.cmp(path, have[rel], shallow=False):
            raise BenchError(f"{got / rel} does not hold the bytes of {path}")
    return len(want)


# --------------------------------------------------------------------------- the bench


@dataclass
class Bench:
    tools: Tools
    env: dict[str, str]
    config: Path
    nc: Nextcloud
    user: str
    proxy: LatencyProxy
    work: Path
    logs: Path
    timeout: float
    say: Callable[[str], None]
    runs: list[Run] = field(default_factory=list)

    def rclone(self, *args: str) -> list[str]:
        return [str(self.tools.rclone), "--config", str(self.config), *args]

    def copy_argv(self, tool: str, src: str, dest: str) -> list[str]:
        if tool == "rclone":
            return self.rclone("copy", src, dest)
        return [
            str(self.tools.rcwiz),
            "--config",
            str(self.config),
            "--rclone",
            str(self.tools.rclone),
            "--json",
            "copy",
            src,
            dest,
        ]

    def verify_upload(self, local: Path, folder: str) -> dict[str, Any]:
        """`rclone check LOCAL nc:FOLDER --one-way`: exit 0 and every local file matching."""
        files = len(tree_files(local))
        done = capture(
            self.rclone("check", str(local), f"{REMOTE}:{folder}", "--one-way"),
            self.env,
            timeout=max(300.0, self.timeout),
        )
        text = done.stderr
        if done.returncode != 0:
            raise BenchError(f"rclone check exited {done.returncode}: {text.strip()[-600:]}")
        matching = re.search(r"(\d+) matching files", text)
        if matching is None or int(matching[1]) != files:
            raise BenchError(
                f"rclone check found {matching[1] if matching else 'no'} matching files of "
                f"{files}: {text.strip()[-400:]}"
            )
        unchecked = re.search(r"(\d+) hashes could not be checked", text)
        return {"unchecked_hashes": int(unchecked[1]) if unchecked else 0}

    def copy(
        self,
        case: str,
        tool: str,
        round_no: int,
        src: str,
        dest: str,
        verify: Callable[[], dict[str, Any] | None],
        rss: bool = False,
        cap: float | None = None,
    ) -> Run:
        """One timed copy, its requests counted, its data verified (FAILED when it does not)."""
        run = Run(case, tool, round_no, dest)
        name = f"{case}-{tool}-{round_no}"
        out, err = self.logs / f"{name}.out", self.logs / f"{name}.err"
        sampler: PeakRss | None = None

        def watch(proc: subprocess.Popen) -> Callable[[], None]:
            nonlocal sampler
            sampler = PeakRss(proc.pid)
            return sampler.watch()

        mark, before = self.nc.log_mark(), self.proxy.stats().connections
        cpu_before = self.proxy.cpu_seconds()
        self.proxy.cap = cap
        try:
            wall, code = timed(
                self.copy_argv(tool, src, dest),
                self.env,
                out,
                err,
                self.timeout,
                watch=watch if rss else None,
            )
        except BenchError as exc:
            run.error = str(exc)
            return self._done(run)
        finally:
            self.proxy.cap = None
        run.measured, run.exit_code = wall, code
        run.requests_by_status = dict(sorted(self.nc.requests_since(mark).items()))
        run.requests = by_method(run.requests_by_status)
        run.connections = self.proxy.stats().connections - before
        run.proxy_cpu = round(self.proxy.cpu_seconds() - cpu_before, 3)
        if sampler is not None:
            run.rss_mb, run.child_rss_mb = sampler.own, sampler.children
        try:
            if code != 0:
                tail = (
                    err.read_text(errors="replace")[-1200:] + out.read_text(errors="replace")[-600:]
                )
                raise BenchError(f"exited {code}: {tail.strip()}")
            if tool == "rcwiz":
                details = rcwiz_details(out)
                for key in (
                    "bulk_files",
                    "bulk_refused",
                    "archive_files",
                    "archive_refused",
                    "chunked_files",
                    "rclone_files",
                    "rclone_ran",
                ):
                    setattr(run, key, details[key])
            for key, value in (verify() or {}).items():
                setattr(run, key, value)
        except BenchError as exc:
            run.error = str(exc)
            return self._done(run)
        run.ok, run.wall = True, wall
        return self._done(run)

    def _done(self, run: Run) -> Run:
        self.runs.append(run)
        self.say(run_line(run))
        return run

    def alternate(
        self,
        case: str,
        one: Callable[[str, int], Run],
        rounds: int,
        slow_rounds: int,
        slow_seconds: float,
    ) -> None:
        """Both tools ROUNDS times, alternating which goes first; a tool whose first run took
        longer than SLOW_SECONDS runs SLOW_ROUNDS times in all."""
        want = dict.fromkeys(TOOLS, rounds)
        done = dict.fromkeys(TOOLS, 0)
        i = 0
        while any(done[t] < want[t] for t in TOOLS):
            i += 1
            for tool in TOOLS if i % 2 else tuple(reversed(TOOLS)):
                if done[tool] >= want[tool]:
                    continue
                done[tool] += 1
                run = one(tool, done[tool])
                took = run.measured or 0.0
                if done[tool] == 1 and took > slow_seconds:
                    want[tool] = min(want[tool], slow_rounds)

    def first_ok(self, case: str, tool: str) -> Run | None:
        return next((r for r in self.runs if r.case == case and r.tool == tool and r.ok), None)

    def failed(self, case: str, tool: str, round_no: int, why: str) -> Run:
        return self._done(Run(case, tool, round_no, "-", error=why))

    def purge(self, folder: str) -> None:
        """Remove FOLDER from the server (it goes to the user's trash bin)."""
        capture(self.rclone("purge", f"{REMOTE}:{folder}"), self.env)

    def empty_trash(self) -> None:
        """Empty the user's trash bin (the big files take disk)."""
        try:
            self.nc.occ("trashbin:cleanup", self.user)
        except BenchError as exc:
            self.say(f"  note: could not empty the trash bin: {exc}")


def run_line(r: Run) -> str:
    status = f"{r.wall:8.2f} s  ok" if r.ok else "  FAILED"
    if not r.ok and r.measured is not None:
        status += f" after {r.measured:.2f} s"
    text = f"  {r.case:<21}{r.tool:<7}#{r.round}  {status}"
    if r.requests:
        by = ", ".join(f"{m} {n}" for m, n in sorted(r.requests.items(), key=lambda kv: -kv[1]))
        text += f"; {r.request_count} requests ({by}), {r.connections} connections"
    if r.tool == "rcwiz" and r.bulk_files is not None:
        if r.case.startswith("download"):
            text += f"; archive {r.archive_files}, by rclone {r.rclone_files}"
        else:
            text += f"; bulk {r.bulk_files}, chunked {r.chunked_files}, by rclone {r.rclone_files}"
        for what, count in (("bulk", r.bulk_refused), ("archive", r.archive_refused)):
            if count:
                text += f", {what} refused {count}"
        if not r.rclone_ran:
            text += " (rclone not started)"
    if r.unchecked_hashes:
        text += f"; {r.unchecked_hashes} hashes not checkable (sizes compared)"
    if r.rss_mb is not None:
        text += f"; peak RSS {r.rss_mb:.0f} MB"
        if r.child_rss_mb is not None:
            text += f" (its rclone {r.child_rss_mb:.0f} MB)"
    if r.note:
        text += f"; {r.note}"
    if r.error:
        text += "\n      " + r.error.replace("\n", "\n      ")[:2000]
    return text


# --------------------------------------------------------------------------- the cases


@dataclass
class Plan:
    small: Dataset
    mid: Dataset
    archived: Dataset | None  # files of ARCHIVE_FILE bytes, BIG_MB in all (server: dl-big/)
    big: Path  # a folder holding one big file
    tree: Dataset | None
    rounds: int
    slow_rounds: int
    slow_seconds: float
    cap: float


def no_change(run: Run, methods: Sequence[str]) -> None:
    """Note on a re-run that sent or fetched anything (it should only have listed)."""
    sent = {m: n for m, n in run.requests.items() if m in methods and n}
    if sent:
        text = "not a no-op: " + ", ".join(f"{m} {n}" for m, n in sent.items())
        run.note = f"{run.note}; {text}" if run.note else text


def run_cases(bench: Bench, plan: Plan, only: set[str]) -> None:
    small, big = plan.small, plan.big
    rounds = (plan.rounds, plan.slow_rounds, plan.slow_seconds)

    def wanted(case: str) -> bool:
        return not only or case in only

    if wanted("upload-small") or wanted("upload-rerun"):
        bench.say("upload-small: a new folder each round")

        def up_small(tool: str, i: int) -> Run:
            dest = f"up-small/{tool}-{i}"
            return bench.copy(
                "upload-small",
                tool,
                i,
                str(small.path),
                f"{REMOTE}:{dest}",
                lambda: bench.verify_upload(small.path, dest),
            )

        bench.alternate("upload-small", up_small, *rounds)

    if wanted("upload-rerun"):
        bench.say("upload-rerun: onto each tool's first upload")

        def up_rerun(tool: str, i: int) -> Run:
            first = bench.first_ok("upload-small", tool)
            if first is None:
                return bench.failed("upload-rerun", tool, i, "no verified upload to re-run onto")
            folder = first.dest.split(":", 1)[1]
            run = bench.copy(
                "upload-rerun",
                tool,
                i,
                str(small.path),
                first.dest,
                lambda: bench.verify_upload(small.path, folder),
            )
            no_change(run, UPLOAD_METHODS)
            return run

        bench.alternate("upload-rerun", up_rerun, *rounds)

    for case, rerun, data, source in (
        ("download-small", "download-rerun", small, "dl-src"),
        ("download-10k", "download-10k-rerun", plan.mid, "dl-mid"),
    ):
        if wanted(case) or wanted(rerun):
            download_cases(bench, case, rerun, data, source, rounds, rerun=wanted(rerun))

    archived = plan.archived
    if archived is not None and (wanted("download-archive-big") or wanted("rss-download")):
        bench.say(f"download-archive-big: dl-big/ ({archived.files} files), a new folder")

        def down_big(tool: str, i: int) -> Run:
            dest = bench.work / "downloads" / f"big-{tool}-{i}"

            def verify() -> dict[str, Any]:
                count = compare_trees(archived.path, dest)
                shutil.rmtree(dest)  # a gigabyte a run: only the verdict is kept
                return {"note": f"{count} files byte-identical"}

            source = f"{REMOTE}:dl-big"
            return bench.copy("download-archive-big", tool, i, source, str(dest), verify, rss=True)

        bench.alternate("download-archive-big", down_big, *rounds)

    if plan.tree is not None and wanted("tree-rerun"):
        tree = plan.tree
        bench.say(f"tree-rerun: onto tree/ ({tree.files} files in {tree.folders} folders)")

        def tree_rerun(tool: str, i: int) -> Run:
            run = bench.copy(
                "tree-rerun",
                tool,
                i,
                str(tree.path),
                f"{REMOTE}:tree",
                lambda: bench.verify_upload(tree.path, "tree"),
            )
            no_change(run, UPLOAD_METHODS)
            return run

        bench.alternate("tree-rerun", tree_rerun, *rounds)

    for case, cap in (("upload-big", None), ("upload-big-cap", plan.cap)):
        if not wanted(case) and not wanted("rss"):
            continue
        capped = f", the proxy capping each connection at {cap / 1e6:g} MB/s" if cap else ""
        bench.say(f"{case}: one file, a new folder each round{capped}")

        def up_big(tool: str, i: int, case: str = case, cap: float | None = cap) -> Run:
            dest = f"big/{case}-{tool}-{i}"
            run = bench.copy(
                case,
                tool,
                i,
                str(big),
                f"{REMOTE}:{dest}",
                lambda: bench.verify_upload(big, dest),
                rss=True,
                cap=cap,
            )
            bench.purge(dest)
            return run

        bench.alternate(case, up_big, *rounds)
        bench.empty_trash()

    for case, cap in (("download-big", None), ("download-big-cap", plan.cap)):
        if wanted(case):
            workers = CAPPED_WORKERS if cap else None
            download_big(bench, case, big, cap, rounds, workers)


def download_big(
    bench: Bench,
    case: str,
    big: Path,
    cap: float | None,
    rounds: tuple[int, int, float],
    workers: int | None = None,
) -> None:
    """CASE: the big file from dl-one/ (placed beforehand) to a new local folder each round,
    each connection capped at CAP bytes/s (None: uncapped), the server serving WORKERS
    requests at once for every tool (None: serve.sh's default, 4; set back after)."""
    capped = f", the proxy capping each connection at {cap / 1e6:g} MB/s" if cap else ""
    served = f", the server with {workers} workers" if workers else ""
    bench.say(f"{case}: dl-one/ (one file), a new local folder each round{capped}{served}")
    if workers:
        bench.nc.restart(workers)
    try:
        _download_big(bench, case, big, cap, rounds)
    finally:
        if workers:
            bench.nc.restart(DEFAULT_WORKERS)


def _download_big(
    bench: Bench, case: str, big: Path, cap: float | None, rounds: tuple[int, int, float]
) -> None:

    def down(tool: str, i: int) -> Run:
        dest = bench.work / "downloads" / f"{case}-{tool}-{i}"

        def verify() -> dict[str, Any]:
            count = compare_trees(big, dest)
            shutil.rmtree(dest)  # a gigabyte a run: only the verdict is kept
            return {"note": f"{count} file byte-identical"}

        return bench.copy(case, tool, i, f"{REMOTE}:dl-one", str(dest), verify, cap=cap)

    bench.alternate(case, down, *rounds)


def download_cases(
    bench: Bench,
    case: str,
    rerun_case: str,
    data: Dataset,
    source: str,
    rounds: tuple[int, int, float],
    *,
    rerun: bool,
) -> None:
    """CASE: DATA's files from SOURCE/ (uploaded beforehand) to a new local folder each round;
    RERUN_CASE: the same again onto each tool's first download."""
    bench.say(f"{case}: from {source}/ (uploaded beforehand), a new local folder")

    def verified(dest: Path) -> Callable[[], dict[str, Any]]:
        return lambda: {"note": f"{compare_trees(data.path, dest)} files byte-identical"}

    def down(tool: str, i: int) -> Run:
        dest = bench.work / "downloads" / f"{case}-{tool}-{i}"
        return bench.copy(case, tool, i, f"{REMOTE}:{source}", str(dest), verified(dest))

    bench.alternate(case, down, *rounds)
    if not rerun:
        return
    bench.say(f"{rerun_case}: onto each tool's first download")

    def again(tool: str, i: int) -> Run:
        first = bench.first_ok(case, tool)
        if first is None:
            return bench.failed(rerun_case, tool, i, "no verified download to re-run")
        dest = Path(first.dest)
        run = bench.copy(rerun_case, tool, i, f"{REMOTE}:{source}", str(dest), verified(dest))
        no_change(run, ("GET",))
        return run

    bench.alternate(rerun_case, again, *rounds)


# --------------------------------------------------------------------------- the figures


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def tool_cell(runs: list[Run], unit: str = "s") -> str:
    if not runs:
        return "-"
    ok = [r.wall for r in runs if r.ok and r.wall is not None]
    failed = len(runs) - len(ok)
    if not ok:
        return f"FAILED ({failed} of {len(runs)})"
    med = statistics.median(ok)
    text = f"{_seconds(med)} {unit}"
    text += f" ({_seconds(min(ok))}–{_seconds(max(ok))})" if len(ok) > 1 else " (1 run)"
    if failed:
        text += f", {failed} FAILED"
    return text


def summarize(bench: Bench, titles: dict[str, str]) -> list[dict[str, Any]]:
    """One row per case that ran: medians, spreads, ratio, goal and verdict."""
    rows = []
    for case, (_, goal) in CASES.items():
        if case in RSS_ROWS:
            continue
        runs = [r for r in bench.runs if r.case == case]
        if not runs:
            continue
        by = {t: [r for r in runs if r.tool == t] for t in TOOLS}
        med = {t: _median([r.wall for r in by[t] if r.ok and r.wall is not None]) for t in TOOLS}
        ratio = med["rclone"] / med["rcwiz"] if med["rclone"] and med["rcwiz"] else None
        met: bool | None = None
        if goal.kind == "ratio" and ratio is not None:
            met = ratio >= goal.value
        elif goal.kind == "rcwiz_seconds" and med["rcwiz"] is not None:
            met = med["rcwiz"] <= goal.value
        rows.append(
            {
                "case": case,
                "title": titles[case],
                "goal": goal.text,
                "rclone": tool_cell(by["rclone"]),
                "rcwiz": tool_cell(by["rcwiz"]),
                "rclone_median_s": med["rclone"],
                "rcwiz_median_s": med["rcwiz"],
                "rclone_seconds": [r.wall for r in by["rclone"]],
                "rcwiz_seconds": [r.wall for r in by["rcwiz"]],
                "ratio": ratio,
                "round_ratios": round_ratios(by["rclone"], by["rcwiz"]),
                "met": met,
                "failed": sum(not r.ok for r in runs),
            }
        )
    for case, measured in RSS_ROWS.items():
        row = rss_row(bench, case, measured, titles[case])
        if row is not None:
            rows.append(row)
    return rows


def rss_row(bench: Bench, case: str, measured: Sequence[str], title: str) -> dict[str, Any] | None:
    """The peak RSS of each tool over the runs of the MEASURED cases (None when none ran)."""
    runs = [r for r in bench.runs if r.case in measured and r.ok]
    own = {t: [r.rss_mb for r in runs if r.tool == t and r.rss_mb is not None] for t in TOOLS}
    if not own["rcwiz"] and not own["rclone"]:
        return None
    peak = {t: max(v) if v else None for t, v in own.items()}
    kids = [r.child_rss_mb for r in runs if r.tool == "rcwiz" and r.child_rss_mb is not None]
    # rcwiz and its rclone together: the sum of each one's peak (an upper bound).
    both = [
        (r.rss_mb or 0.0) + (r.child_rss_mb or 0.0)
        for r in runs
        if r.tool == "rcwiz" and r.rss_mb is not None
    ]
    total = max(both) if both else None
    goal = CASES[case][1]
    rcwiz_text = "-"
    if total is not None:
        rcwiz_text = f"{total:.0f} MB"
        rcwiz_text += f" (its rclone {max(kids):.0f} MB)" if kids else " (no rclone ran)"
    return {
        "case": case,
        "title": title,
        "goal": goal.text,
        "rclone": f"{peak['rclone']:.0f} MB" if peak["rclone"] else "-",
        "rcwiz": rcwiz_text,
        "rclone_peak_mb": peak["rclone"],
        "rcwiz_peak_mb": peak["rcwiz"],
        "rcwiz_rclone_child_peak_mb": max(kids) if kids else None,
        "rcwiz_with_rclone_peak_mb": total,
        "ratio": None,
        "round_ratios": [],
        "met": total < goal.value if total is not None else None,
        "failed": 0,
    }


def round_ratios(rclone: list[Run], rcwiz: list[Run]) -> list[float]:
    """rclone's time over rcwiz's, per round: the two runs of a round ran one after the other,
    so what else the machine was doing then weighs on both."""
    times = {r.round: r.wall for r in rcwiz if r.ok and r.wall}
    return [r.wall / times[r.round] for r in rclone if r.ok and r.wall and r.round in times]


def table(rows: list[dict[str, Any]]) -> str:
    head = [
        "case",
        "rclone median (min–max)",
        "rcwiz median (min–max)",
        "rclone/rcwiz (per round)",
        "goal",
        "result",
    ]
    body = []
    for row in rows:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-"
        spread = row.get("round_ratios") or []
        if len(spread) > 1:
            ratio += f" ({min(spread):.2f}–{max(spread):.2f})"
        if row["failed"] and row["met"] is None:
            verdict = "FAILED"
        else:
            verdict = {True: "met", False: "missed", None: "-"}[row["met"]]
            if row["failed"]:
                verdict += f" ({row['failed']} run(s) FAILED)"
        body.append([row["title"], row["rclone"], row["rcwiz"], ratio, row["goal"], verdict])
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), rule, *(line(r) for r in body)])


def request_notes(bench: Bench, counts: dict[str, int]) -> list[str]:
    """Requests per file of the small-file cases (case -> files; median run), from the
    server's log."""
    notes = []
    for case, files in counts.items():
        parts = []
        for tool in TOOLS:
            runs = [r for r in bench.runs if r.case == case and r.tool == tool and r.ok]
            if not runs:
                continue
            run = sorted(runs, key=lambda r: r.request_count)[len(runs) // 2]
            methods = sorted(run.requests.items(), key=lambda kv: -kv[1])
            by = ", ".join(f"{m} {n / files:.2f}" for m, n in methods)
            parts.append(f"{tool} {run.request_count / files:.2f} ({by})")
        if parts:
            notes.append(f"requests per file, {case}: " + "; ".join(parts))
    return notes


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK['files']} files and {QUICK['big_mb']} MB (for development)",
    )
    p.add_argument(
        "--rtt-ms",
        type=float,
        default=30.0,
        help="round trip the proxy adds (default 30: 15 ms each way)",
    )
    p.add_argument("--rounds", type=int, default=3, help="runs per tool and case (default 3)")
    p.add_argument(
        "--slow-rounds",
        type=int,
        default=1,
        help="runs of a tool whose first run of a case was slow (default 1)",
    )
    p.add_argument(
        "--slow-seconds",
        type=float,
        default=30.0,
        help="a first run longer than this is slow (default 30)",
    )
    p.add_argument("--files", type=int, help="small files (default 1000; --quick 100)")
    p.add_argument("--size", type=int, default=2000, help="bytes per small file (default 2000)")
    p.add_argument("--mid-files", type=int, default=200, help="download-10k: files (200)")
    p.add_argument("--mid-size", type=int, default=10_000, help="download-10k: bytes (10000)")
    p.add_argument("--big-mb", type=int, help="the big file in MB (default 1000; --quick 100)")
    p.add_argument(
        "--cap-mbps",
        type=float,
        default=20.0,
        help="upload-big-cap: MB/s (10**6 bytes) per connection (default 20)",
    )
    p.add_argument("--tree", action="store_true", help="add the re-run onto a large tree")
    p.add_argument("--tree-files", type=int, default=20_000, help="its files (default 20000)")
    p.add_argument(
        "--only", help="comma-separated cases to run (default: all): " + ", ".join(c for c in CASES)
    )
    p.add_argument("--rcwiz", type=Path, help="the rcwiz to time (default: next to this Python)")
    p.add_argument("--quota", default="100 GB", help='the user\'s quota (default "100 GB")')
    p.add_argument("--timeout", type=float, default=1800, help="seconds one copy may take")
    p.add_argument(
        "--server",
        choices=("sqlite", "prod"),
        default="sqlite",
        help="the suite's Nextcloud (default) or the production-like one (tests/prodserver.py)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the results as JSON")
    args = p.parse_args(argv)
    args.files = args.files or (QUICK["files"] if args.quick else 1000)
    args.big_mb = args.big_mb or (QUICK["big_mb"] if args.quick else 1000)
    sizes = (args.files, args.size, args.mid_files, args.mid_size, args.big_mb)
    if min(*sizes, args.rounds, args.slow_rounds) < 1:
        p.error("--files, --size, --mid-*, --big-mb, --rounds and --slow-rounds must be positive")
    if args.rtt_ms < 0 or args.cap_mbps <= 0 or args.timeout <= 0 or args.tree_files < 1:
        p.error("--rtt-ms must be >= 0, --cap-mbps, --timeout and --tree-files positive")
    args.only = {c.strip() for c in args.only.split(",")} if args.only else set()
    unknown = args.only - set(CASES)
    if unknown:
        p.error(f"unknown case(s) {', '.join(sorted(unknown))}; choose from {', '.join(CASES)}")
    if "tree-rerun" in args.only:
        args.tree = True
    return args


def seed(nc: Nextcloud, user: str, local: Path, folder: str) -> None:
    """Put LOCAL's files into USER's FOLDER/ on the server's disk and have it scan them: a
    gigabyte in seconds, where an upload at 30 ms would take minutes (times are kept)."""
    shutil.copytree(local, nc.workdir / "data" / user / "files" / folder)
    nc.occ("files:scan", f"--path={user}/files/{folder}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _size_text(size: int) -> str:
    return f"{size / 1000:g} kB" if size >= 1000 else f"{size} B"


def round_trip(url: str, count: int = 10) -> float:
    """Median seconds of GET /status.php (a new connection each time, as PHP's server wants)."""
    import urllib.request

    times = []
    for _ in range(count):
        start = time.perf_counter()
        with urllib.request.urlopen(f"{url}/status.php", timeout=30) as reply:
            reply.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def say(text: str) -> None:
        print(text, flush=True)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="rcwiz-bench-nc-"))
    nc = Nextcloud(work / "server")
    proxy: LatencyProxy | None = None
    services: prodserver.Services | None = None
    bench: Bench | None = None
    result: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "complete": False,
    }
    code = 1
    try:
        tools = Tools.beside_python()
        if args.rcwiz is not None:
            tools = Tools(rclone=tools.rclone, rcwiz=args.rcwiz.resolve())
        env = clean_env(work)
        # The big uploads (trash emptied per case), and the archived files locally, on the
        # server and one download of them at a time.
        need = (2 * args.rounds + 4) * args.big_mb * 10**6 + 2 * 10**9
        free = shutil.disk_usage(work).free
        if free < need:
            raise BenchError(f"{free / 1e9:.1f} GB free in {work}; this run needs {need / 1e9:.1f}")
        rclone_version = checked([str(tools.rclone), "version"], env).splitlines()[0].strip()
        rcwiz_version = checked([str(tools.rcwiz), "--version"], env).strip()

        say(f"starting Nextcloud (../shared/nextcloud/serve.sh, {args.server}) …")
        if args.server == "prod":
            services = start_prod(nc, work)
        else:
            nc.start()
        status = json.loads(http("GET", f"{nc.url}/status.php")[1] or b"{}")
        user, password = nc.add_user(args.quota)
        proxy = LatencyProxy(("127.0.0.1", nc.port), args.rtt_ms / 2000).start()
        proxy_url = f"http://127.0.0.1:{proxy.port}"
        direct_rtt, proxied_rtt = round_trip(nc.url), round_trip(proxy_url)
        config = work / "rclone.conf"
        dav_url = f"{proxy_url}/remote.php/dav/files/{user}/"
        write_config(config, tools.rclone, dav_url, user, password, env, remote=REMOTE)
        logs = work / "logs"
        logs.mkdir()
        bench = Bench(tools, env, config, nc, user, proxy, work, logs, args.timeout, say)

        say(f"generating {args.files} files of {args.size} B and one of {args.big_mb} MB …")
        small = make_dataset(work / "data" / "small", args.files, args.size)
        mid = make_dataset(work / "data" / "mid", args.mid_files, args.mid_size)
        big = work / "data" / "big"
        make_big_file(big / "big.bin", args.big_mb * 10**6)
        archived = None
        if not args.only or args.only & {"download-archive-big", "rss-download"}:
            count = max(1, args.big_mb * 10**6 // ARCHIVE_FILE)
            archived = make_dataset(work / "data" / "archived", count, ARCHIVE_FILE)
        tree = None
        if args.tree:
            say(f"generating {args.tree_files} files of {args.size} B for the tree …")
            tree = make_dataset(work / "data" / "tree", args.tree_files, args.size, TREE_FOLDERS)

        versions = {
            "rclone": rclone_version,
            "rcwiz": rcwiz_version,
            "rcwiz_path": str(tools.rcwiz),
            "nextcloud": status.get("versionstring"),
            "python": platform.python_version(),
            "host": platform.node(),
            "cores": os.cpu_count(),
        }
        settings = {
            k: (sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
        }
        result.update(versions=versions, settings=settings, user=user)
        result["proxy"] = {
            "rtt_ms": args.rtt_ms,
            "direct_status_ms": direct_rtt * 1000,
            "proxied_status_ms": proxied_rtt * 1000,
        }
        say(
            f"Nextcloud {status.get('versionstring', '?')} at {nc.url} (PHP built-in server), "
            f"user {user}, quota {args.quota}\n"
            f"proxy 127.0.0.1:{proxy.port}: +{args.rtt_ms:g} ms round trip; GET /status.php "
            f"{direct_rtt * 1000:.1f} ms direct, {proxied_rtt * 1000:.1f} ms through it\n"
            f"{rclone_version}; {rcwiz_version} ({tools.rcwiz}); {os.cpu_count()} cores"
        )

        # Warm-up, not timed: PHP's OPcache for the request types, rcwiz's capability cache,
        # and the folder both downloads read (bulk-uploaded by rcwiz, then checked).
        say("warm-up: uploads and a download, not timed; the download source dl-src/ …")
        warm = make_dataset(work / "data" / "warm", 10, args.size)
        checked(bench.rclone("copy", str(warm.path), f"{REMOTE}:warmup"), env)
        checked(bench.rclone("copy", f"{REMOTE}:warmup", str(work / "warm-down")), env)
        for data, folder in ((small, "dl-src"), (mid, "dl-mid")):
            checked(bench.copy_argv("rcwiz", str(data.path), f"{REMOTE}:{folder}"), env)
            bench.verify_upload(data.path, folder)
        if not args.only or args.only & {"download-big", "download-big-cap"}:
            say("placing dl-one/ (the big file) in the server's data folder …")
            seed(nc, user, big, "dl-one")
            bench.verify_upload(big, "dl-one")
        if archived is not None:
            say(f"placing dl-big/ ({archived.files} files) in the server's data folder …")
            seed(nc, user, archived.path, "dl-big")
            bench.verify_upload(archived.path, "dl-big")
        if tree is not None:
            say(f"uploading the tree ({tree.files} files) with rcwiz, not timed …")
            start = time.perf_counter()
            checked(bench.copy_argv("rcwiz", str(tree.path), f"{REMOTE}:tree"), env)
            bench.verify_upload(tree.path, "tree")
            say(f"  took {time.perf_counter() - start:.1f} s with the check")

        plan = Plan(
            small,
            mid,
            archived,
            big,
            tree,
            args.rounds,
            args.slow_rounds,
            args.slow_seconds,
            args.cap_mbps * 1e6,
        )
        run_cases(bench, plan, args.only)

        big_text = f"{args.big_mb / 1000:g} GB" if args.big_mb >= 1000 else f"{args.big_mb} MB"
        names = {
            "files": args.files,
            "size_text": _size_text(args.size),
            "mid_files": args.mid_files,
            "mid_size_text": _size_text(args.mid_size),
            "big_text": big_text,
            "tree_files": args.tree_files,
            "cap_mbps": args.cap_mbps,
        }
        titles = {case: title.format(**names) for case, (title, _) in CASES.items()}
        rows = summarize(bench, titles)
        say("")
        say(table(rows))
        counts = {"upload-small": args.files, "download-small": args.files}
        counts["download-10k"] = args.mid_files
        for note in request_notes(bench, counts):
            say(note)
        unchecked = [r for r in bench.runs if r.ok and r.unchecked_hashes]
        if unchecked:
            say(
                "rclone check compared sizes only for files without a checksum on the server "
                "(bulk-uploaded files carry none): "
                + ", ".join(sorted({f"{r.case} by {r.tool}" for r in unchecked}))
            )
        result.update(summary=rows, complete=True)
        failed = [r for r in bench.runs if not r.ok]
        if failed:
            say(f"{len(failed)} run(s) FAILED (their data did not verify): not timed")
        code = 1 if failed else 0
        return code
    except BenchError as exc:
        print(f"nextcloud_speed.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nextcloud_speed.py: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if bench is not None:
            result["runs"] = [asdict(r) for r in bench.runs]
            if bench.runs:
                result["requests_total"] = dict(
                    sum((Counter(r.requests) for r in bench.runs), Counter())
                )
        if args.json is not None and bench is not None:
            args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            print(f"results written to {args.json}", file=sys.stderr)
        if proxy is not None:
            proxy.stop()
        try:
            nc.stop()
        finally:
            if services is not None:
                services.stop()
            shutil.rmtree(work, ignore_errors=True)


def start_prod(nc: Nextcloud, work: Path) -> prodserver.Services:
    """NC made the production-like server (tests/prodserver.py) and started; its services."""
    why = prodserver.unavailable()
    if why:
        raise BenchError(why)
    folder = work / "services"
    folder.mkdir()
    services = prodserver.Services(durable=True).start(folder)
    nc.env = services.env()
    nc.started = True
    try:
        tarball = SHARED_NEXTCLOUD / "nextcloud-30.0.1-trimmed.tar.xz"
        prodserver.install(nc.workdir, services, tarball)
        nc.start()
    except BaseException:
        services.stop()
        raise
    return services


if __name__ == "__main__":
    sys.exit(main())
