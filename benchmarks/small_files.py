"""Many small files to a real Nextcloud: raw `rclone copy` against `rcwiz copy` (bulk upload).

    RCWIZ_BENCH_PASSWORD=... .venv/bin/python benchmarks/small_files.py \\
        --url https://cloud.example.org --user USER [--user-id ID] \\
        [--files 300] [--size 10000] [--rounds 1] [--keep] [--json]
    .venv/bin/python benchmarks/small_files.py --url URL --user USER --password-stdin < pwfile

The password (or an app password) comes from the environment variable RCWIZ_BENCH_PASSWORD
or, with --password-stdin, from the first line of stdin; never from argv. The script writes a
temporary rclone.conf with one Nextcloud remote (type webdav, vendor nextcloud, the password
obscured through `rclone obscure -` on stdin), generates FILES files of SIZE random bytes in a
few subfolders, and then each round uploads the same files twice, each time to a fresh folder
under rcwiz-bench-STAMP/ in the account's home:

* raw `rclone --config C copy SRC bench:rcwiz-bench-STAMP/rclone-N` (rclone's defaults);
* `rcwiz --config C --json copy SRC bench:rcwiz-bench-STAMP/rcwiz-N`;

raw rclone first on odd rounds, rcwiz first on even ones. Each run is timed (wall clock) and
checked with `rclone size --json` (file count and bytes must match the source). rcwiz's JSON
summary names its log, which tells how many files went by bulk upload and how many by rclone.

The goal (from the issue): rclone/rcwiz >= 20 on a real Nextcloud, where 300 files of 10 kB
took rclone 97 s and bulk upload 4.2 s. Missing the goal is reported, not failed: the exit
status is 0 when every run worked, 1 when one broke, 130 when interrupted. At the end the
remote folder rcwiz-bench-STAMP is purged (unless --keep; on Nextcloud it goes to the trash
bin) and the local temporary folder removed, also after Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import benchlib  # benchmarks/benchlib.py (this script's folder is on sys.path)
from benchlib import (
    BenchError,
    Dataset,
    Tools,
    capture,
    checked,
    make_dataset,
    rcwiz_details,
    timed,
    write_config,
)

GOAL_RATIO = 20.0  # rclone time / rcwiz time, on a real Nextcloud
ISSUE_FIGURES = {"files": 300, "size": 10_000, "rclone_s": 97.0, "bulk_s": 4.2}
REMOTE = "bench"
PASSWORD_ENV = "RCWIZ_BENCH_PASSWORD"
SMALL_FILE = 1024 * 1024  # rcwiz.nextcloud.bulk.SMALL_FILE: larger files go through rclone
HTTP_TIMEOUT = 30.0


# --------------------------------------------------------------------------- env


def clean_env(workdir: Path) -> dict[str, str]:
    """The children's environment (benchlib.clean_env) without the password variable."""
    return benchlib.clean_env(workdir, drop=(PASSWORD_ENV,))


# --------------------------------------------------------------------------- the server


@dataclass(frozen=True)
class Server:
    url: str  # base URL, no trailing slash
    login: str  # the login name (basic auth)
    password: str

    def ocs(self, route: str) -> Any:
        """GET /ocs/v2.php/ROUTE?format=json as the user; the `data` of the OCS envelope."""
        request = urllib.request.Request(f"{self.url}/ocs/v2.php/{route}?format=json")
        token = base64.b64encode(f"{self.login}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        request.add_header("OCS-APIRequest", "true")
        request.add_header("Accept", "application/json")
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as reply:
            return json.loads(reply.read())["ocs"]["data"]


def server_info(server: Server) -> dict[str, object]:
    """Version and dav.bulkupload from the capabilities, the user id from cloud/user."""
    info: dict[str, object] = {"version": None, "bulkupload": None, "user_id": None}
    problems = []
    try:
        data = server.ocs("cloud/capabilities")
        info["version"] = (data.get("version") or {}).get("string")
        info["bulkupload"] = ((data.get("capabilities") or {}).get("dav") or {}).get("bulkupload")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problems.append(f"capabilities: {exc}")
    try:
        info["user_id"] = server.ocs("cloud/user")["id"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"cloud/user: {exc}")
    info["problems"] = problems
    return info


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    tool: str  # rclone or rcwiz
    round: int
    folder: str
    wall: float
    count: int  # files on the server afterwards (rclone size)
    bytes: int
    bulk_files: int | None = None  # rcwiz: files sent by bulk upload (from its log)
    bulk_refused: int | None = None  # rcwiz: files the bulk request refused
    rclone_files: int | None = None  # rcwiz: files its rclone phase copied
    summary_duration: float | None = None  # rcwiz: the duration in its JSON summary


def remote_size(tools: Tools, config: Path, env: dict[str, str], folder: str) -> tuple[int, int]:
    argv = [str(tools.rclone), "--config", str(config), "size", "--json", f"{REMOTE}:{folder}"]
    data = json.loads(checked(argv, env))
    return int(data["count"]), int(data["bytes"])


@dataclass
class Bench:
    tools: Tools
    env: dict[str, str]
    config: Path
    dataset: Dataset
    top: str  # rcwiz-bench-STAMP, in the account's home
    logs: Path
    timeout: float

    def run(self, tool: str, round_no: int) -> Run:
        """One upload of the dataset to a fresh folder, timed and checked."""
        folder = f"{self.top}/{tool}-{round_no}"
        src, dest = str(self.dataset.path), f"{REMOTE}:{folder}"
        conf = ["--config", str(self.config)]
        if tool == "rclone":
            argv = [str(self.tools.rclone), *conf, "copy", src, dest]
        else:
            argv = [
                str(self.tools.rcwiz),
                *conf,
                "--rclone",
                str(self.tools.rclone),
                "--json",
                "copy",
                src,
                dest,
            ]
        out, err = self.logs / f"{tool}-{round_no}.out", self.logs / f"{tool}-{round_no}.err"
        wall, code = timed(argv, self.env, out, err, self.timeout)
        if code != 0:
            tail = err.read_text(errors="replace")[-1500:] + out.read_text(errors="replace")[-800:]
            raise BenchError(f"{tool} copy to {folder} exited {code}:\n{tail}")
        count, size = remote_size(self.tools, self.config, self.env, folder)
        if (count, size) != (self.dataset.files, self.dataset.bytes):
            raise BenchError(
                f"{tool} copy left {count} files / {size} bytes in {folder}, "
                f"expected {self.dataset.files} / {self.dataset.bytes}"
            )
        run = Run(tool, round_no, folder, wall, count, size)
        if tool == "rcwiz":
            details = rcwiz_details(out)
            run.bulk_files = details["bulk_files"]
            run.bulk_refused = details["bulk_refused"]
            run.rclone_files = details["rclone_files"]
            run.summary_duration = details["summary_duration"]
        return run


# --------------------------------------------------------------------------- reporting


def run_line(r: Run, files: int) -> str:
    rate = files / r.wall if r.wall > 0 else 0.0
    text = (
        f"  {r.tool + ' copy':<12}{r.wall:>9.2f} s {rate:>8.1f} files/s   checked {r.count} files"
    )
    if r.tool == "rcwiz":
        text += f"; bulk upload {r.bulk_files}, rclone {r.rclone_files}"
        if r.bulk_refused:
            text += f", refused by bulk {r.bulk_refused}"
    return text


def summarize(runs: list[Run], dataset: Dataset, bulk_capability: object) -> dict[str, object]:
    rclone = [r for r in runs if r.tool == "rclone"]
    rcwiz = [r for r in runs if r.tool == "rcwiz"]
    med = statistics.median
    rclone_s, rcwiz_s = med(r.wall for r in rclone), med(r.wall for r in rcwiz)
    ratio = rclone_s / rcwiz_s if rcwiz_s > 0 else float("inf")
    bulk_files = sum(r.bulk_files or 0 for r in rcwiz)
    return {
        "rounds": len(rcwiz),
        "rclone_seconds": [round(r.wall, 3) for r in rclone],
        "rcwiz_seconds": [round(r.wall, 3) for r in rcwiz],
        "rclone_seconds_median": round(rclone_s, 3),
        "rcwiz_seconds_median": round(rcwiz_s, 3),
        "ratio": round(ratio, 2),
        "ratio_per_round": [
            round(a.wall / b.wall, 2) for a, b in zip(rclone, rcwiz, strict=True) if b.wall > 0
        ],
        "goal_ratio": GOAL_RATIO,
        "goal_met": ratio >= GOAL_RATIO,
        "rclone_files_per_second": round(dataset.files / rclone_s, 2) if rclone_s else None,
        "rcwiz_files_per_second": round(dataset.files / rcwiz_s, 2) if rcwiz_s else None,
        "bulk_capability": bulk_capability,
        "bulk_used": bulk_files > 0,
        "bulk_files": bulk_files,
        "bulk_refused": sum(r.bulk_refused or 0 for r in rcwiz),
        "rcwiz_rclone_files": sum(r.rclone_files or 0 for r in rcwiz),
        "files_sent_by_rcwiz": dataset.files * len(rcwiz),
    }


def summary_text(s: dict[str, object]) -> str:
    median = " (medians)" if s["rounds"] != 1 else ""
    verdict = "met" if s["goal_met"] else "missed"
    lines = [
        f"raw rclone: {s['rclone_seconds_median']:.2f} s, rcwiz: {s['rcwiz_seconds_median']:.2f} s"
        f"{median}",
        f"ratio rclone/rcwiz: {s['ratio']:.1f}x (goal >= {GOAL_RATIO:g}x on a real Nextcloud:"
        f" {verdict})",
        f"rcwiz used bulk upload: {'yes' if s['bulk_used'] else 'NO'} "
        f"({s['bulk_files']} of {s['files_sent_by_rcwiz']} files; {s['rcwiz_rclone_files']} by "
        f"its rclone phase; server capability dav.bulkupload = {s['bulk_capability']!r})",
        f"issue's figures on a real Nextcloud 30 ({ISSUE_FIGURES['files']} x "
        f"{ISSUE_FIGURES['size']} B): rclone {ISSUE_FIGURES['rclone_s']:g} s, bulk upload "
        f"{ISSUE_FIGURES['bulk_s']:g} s",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        where = "stdin (--password-stdin)" if from_stdin else f"${PASSWORD_ENV}"
        raise BenchError(
            f"no password: give it (or an app password) in {where}; it is never read from argv"
        )
    return password


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the Nextcloud's address, e.g. https://cloud.x")
    p.add_argument("--user", required=True, help="login name (basic auth)")
    p.add_argument(
        "--user-id",
        help="the user id in the WebDAV URL (default: read from cloud/user, else --user)",
    )
    p.add_argument("--files", type=int, default=300, help="number of files (default 300)")
    p.add_argument("--size", type=int, default=10_000, help="bytes per file (default 10000)")
    p.add_argument("--rounds", type=int, default=1, help="rounds, each both tools (default 1)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the password from stdin's first line (else ${PASSWORD_ENV})",
    )
    p.add_argument("--keep", action="store_true", help="leave the uploaded folders on the server")
    p.add_argument("--timeout", type=float, default=1800, help="seconds one copy may take")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    if args.files < 1 or args.size < 1 or args.rounds < 1 or args.timeout <= 0:
        p.error("--files, --size, --rounds and --timeout must be positive")
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        p.error("--url must be an http:// or https:// address (no query or fragment)")
    args.url = args.url.rstrip("/")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def purge(tools: Tools, config: Path, env: dict[str, str], top: str, say: Callable) -> bool:
    argv = [str(tools.rclone), "--config", str(config), "purge", f"{REMOTE}:{top}"]
    try:
        done = capture(argv, env)
    except (BenchError, KeyboardInterrupt) as exc:
        say(f"could not remove {top} from the server ({exc or 'interrupted'}); remove it by hand")
        return False
    if done.returncode != 0:
        say(f"could not remove {top} from the server: {done.stderr.strip()[-300:]}")
        return False
    say(f"removed {top} from the server")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="rcwiz-bench-small-"))
    tools: Tools | None = None
    env: dict[str, str] = {}
    config = workdir / "rclone.conf"
    top: str | None = None  # set once this script created the remote folder
    try:
        password = read_password(args.password_stdin)
        tools = Tools.beside_python()
        env = clean_env(workdir)
        logs = workdir / "logs"
        logs.mkdir()
        server = Server(args.url, args.user, password)
        info = server_info(server)
        user_id = args.user_id or info["user_id"] or args.user
        if args.user_id and info["user_id"] and info["user_id"] != args.user_id:
            say(f"note: the server says the user id is {info['user_id']!r}, not {args.user_id!r}")
        for problem in info["problems"]:  # type: ignore[attr-defined]
            say(f"note: could not read {problem}")
        dav_url = f"{args.url}/remote.php/dav/files/{quote(str(user_id), safe='')}/"
        write_config(config, tools.rclone, dav_url, args.user, password, env)
        rclone_version = checked([str(tools.rclone), "version"], env).splitlines()[0].strip()
        rcwiz_version = checked([str(tools.rcwiz), "--version"], env).strip()

        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"rcwiz-bench-{stamp}-{secrets.token_hex(3)}"
        rc = [str(tools.rclone), "--config", str(config)]
        if capture([*rc, "lsjson", "--stat", f"{REMOTE}:{name}"], env).returncode == 0:
            raise BenchError(f"{name} already exists on the server; run again")
        checked([*rc, "mkdir", f"{REMOTE}:{name}"], env)  # also proves the login works
        top = name

        if args.size >= SMALL_FILE:
            say(f"note: files of {SMALL_FILE} bytes or more go through rclone under rcwiz too")
        say(f"generating {args.files} files of {args.size} random bytes …")
        dataset = make_dataset(workdir / "source", args.files, args.size)
        say(
            f"small-file upload: {dataset.files} files x {args.size} B "
            f"({dataset.bytes / 2**20:.1f} MiB) in {dataset.folders} folders, "
            f"{args.rounds} round(s)\n"
            f"server: {args.url} (Nextcloud {info['version'] or '?'}), login {args.user}, "
            f"user id {user_id}, dav.bulkupload = {info['bulkupload']!r}\n"
            f"{rclone_version}, {rcwiz_version}; remote folder: {top}"
        )
        bench = Bench(tools, env, config, dataset, top, logs, args.timeout)
        runs: list[Run] = []
        for i in range(1, args.rounds + 1):
            order = ("rclone", "rcwiz") if i % 2 else ("rcwiz", "rclone")
            pair = [bench.run(tool, i) for tool in order]
            runs += pair
            by = {r.tool: r for r in pair}
            ratio = by["rclone"].wall / by["rcwiz"].wall if by["rcwiz"].wall > 0 else 0.0
            say(
                f"round {i} ({order[0]} first)\n"
                + "\n".join(run_line(r, dataset.files) for r in pair)
                + f"\n  ratio rclone/rcwiz: {ratio:.1f}x"
            )
        summary = summarize(runs, dataset, info["bulkupload"])
        say(summary_text(summary))
        if args.json:
            result = {
                "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "server": {
                    "url": args.url,
                    "version": info["version"],
                    "bulkupload": info["bulkupload"],
                    "login": args.user,
                    "user_id": user_id,
                },
                "client": {
                    "rclone": rclone_version,
                    "rcwiz": rcwiz_version,
                    "python": platform.python_version(),
                    "host": platform.node(),
                },
                "config": {
                    "files": dataset.files,
                    "size": args.size,
                    "bytes": dataset.bytes,
                    "folders": dataset.folders,
                    "rounds": args.rounds,
                    "remote_folder": top,
                },
                "runs": [asdict(r) for r in runs],
                "summary": summary,
                "issue": ISSUE_FIGURES,
            }
            print(json.dumps(result))
        return 0
    except BenchError as exc:
        print(f"small_files.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("small_files.py: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if top is not None and tools is not None:
            if args.keep:
                say(f"kept {top} on the server (--keep)")
            else:
                purge(tools, config, env, top, say)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
