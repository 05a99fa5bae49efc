"""Pieces the Nextcloud benchmarks share (small_files.py, nextcloud_speed.py); stdlib only.

* the tools (rclone and rcwiz next to the Python running the script) and their environment;
* running a child: to the end with its output captured, or timed with its output in files,
  in its own session so that Ctrl-C reaches only the script, which then stops the child;
* a temporary rclone.conf with one Nextcloud remote, the password obscured through stdin;
* datasets of random files, and what `rcwiz --json copy` says it did (bulk upload or rclone);
* a real Nextcloud 30 from ../shared/nextcloud (serve.sh): start, users, request log, stop;
  `served`: one with a user, behind benchmarks/latency_proxy.py, as the tool comparisons use it;
* `run_main`: a benchmark's main work, with Ctrl-C and SIGTERM ending it through its cleanup.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HELPER_TIMEOUT = 300.0  # seconds for one helper run (mkdir, size, check, purge, occ)
HTTP_TIMEOUT = 60.0
MAX_FOLDERS = 5
REPO = Path(__file__).resolve().parent.parent
SHARED_NEXTCLOUD = Path(
    os.environ.get("RCWIZ_SHARED_NEXTCLOUD", REPO.parent / "shared" / "nextcloud")
)
NC_ADMIN = ("admin", "ncadmin-Pass1")


class BenchError(Exception):
    """A run broke (non-zero exit, wrong result, timeout): the numbers would mean nothing."""


# --------------------------------------------------------------------------- tools and env


@dataclass(frozen=True)
class Tools:
    rclone: Path
    rcwiz: Path

    @classmethod
    def beside_python(cls) -> Tools:
        """The venv's rclone and rcwiz, next to the Python running this script, else PATH."""
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
        return cls(rclone=found["rclone"], rcwiz=found["rcwiz"])


def clean_env(workdir: Path, drop: Sequence[str] = ()) -> dict[str, str]:
    """The children's environment: no RCLONE_* of the caller (nor the variables in DROP),
    rcwiz's state (capabilities cache, logs) and configuration under WORKDIR.

    Python caches bytecode, under WORKDIR: an installed rcwiz has its .pyc files (pip writes
    them), while PYTHONDONTWRITEBYTECODE (set in some shells) on an editable checkout without
    __pycache__ makes every run compile rcwiz's modules again: 0.3 s of CPU more for a
    Nextcloud download (measured 2026-12-07, load 4), which a benchmark would charge to rcwiz.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_") and k not in drop}
    env["XDG_STATE_HOME"] = str(workdir / "state")
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_CACHE_HOME"] = str(workdir / "cache")
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def label(argv: Sequence[str]) -> str:
    """`rclone size` for `/x/rclone --config C size --json bench:x`: names errors."""
    words = [Path(argv[0]).name]
    rest = list(argv[1:])
    if rest[:1] == ["--config"]:
        rest = rest[2:]
    return " ".join(words + rest[:1])


def capture(
    argv: Sequence[str],
    env: dict[str, str],
    stdin: str | None = None,
    timeout: float = HELPER_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ARGV to the end (killed after TIMEOUT, or when interrupted)."""
    try:
        return subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{label(argv)} took longer than {timeout:.0f} s") from exc


def checked(argv: Sequence[str], env: dict[str, str], stdin: str | None = None) -> str:
    done = capture(argv, env, stdin)
    if done.returncode != 0:
        raise BenchError(f"{label(argv)} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def stop_group(proc: subprocess.Popen) -> None:
    """End PROC's process group (it leads its own session): TERM, then KILL."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue


def timed(
    argv: Sequence[str],
    env: dict[str, str],
    out: Path,
    err: Path,
    timeout: float,
    watch: Callable[[subprocess.Popen], Callable[[], None]] | None = None,
) -> tuple[float, int]:
    """Run ARGV with stdout/stderr to files; (wall seconds, exit code).

    The child runs in its own session, so Ctrl-C reaches only this script, which then stops
    the child (and rclone under rcwiz) before cleaning up. WATCH, if given, is called with the
    child once it runs and returns what to call once it has ended (a memory sampler, say).
    """
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )
        done = watch(proc) if watch is not None else None
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            stop_group(proc)
            raise BenchError(f"{Path(argv[0]).name} ran longer than {timeout:.0f} s") from exc
        except BaseException:
            stop_group(proc)
            raise
        finally:
            if done is not None:
                done()
        return time.perf_counter() - start, code


def write_config(
    path: Path,
    rclone: Path,
    dav_url: str,
    login: str,
    password: str,
    env: dict[str, str],
    remote: str = "bench",
) -> None:
    """A Nextcloud remote called REMOTE; the password obscured through stdin, never argv."""
    obscured = checked([str(rclone), "obscure", "-"], env, stdin=password).strip()
    text = (
        f"[{remote}]\ntype = webdav\nurl = {dav_url}\nvendor = nextcloud\n"
        f"user = {login}\npass = {obscured}\n"
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Dataset:
    path: Path
    files: int
    bytes: int
    folders: int


def make_dataset(folder: Path, files: int, size: int, max_folders: int = MAX_FOLDERS) -> Dataset:
    """FILES files of SIZE random bytes in a few subfolders (every other one a level deeper):
    at most MAX_FOLDERS, one per 20 files."""
    folders = min(max_folders, max(1, files // 20))
    made = set()
    for i in range(files):
        k = i % folders
        sub = folder / f"set-{k}" / ("deep" if k % 2 else "")
        sub.mkdir(parents=True, exist_ok=True)
        made.add(sub)
        (sub / f"file-{i:05d}.bin").write_bytes(os.urandom(size))
    return Dataset(folder, files, files * size, len(made))


def make_big_file(path: Path, size: int) -> None:
    """One file of SIZE random bytes (written 8 MiB at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = 8 * 1024 * 1024
    with open(path, "wb") as handle:
        left = size
        while left:
            n = min(left, block)
            handle.write(os.urandom(n))
            left -= n


def rcwiz_details(stdout: Path) -> dict[str, Any]:
    """From `rcwiz --json copy`'s events and the log its start event names: how the files
    went (bulk upload, parallel chunks, archive download or rclone), whether rclone ran, and
    the summary."""
    events = []
    for line in stdout.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    summary = next((e for e in reversed(events) if e.get("event") == "summary"), None)
    if summary is None or summary.get("outcome") != "ok":
        raise BenchError(f"rcwiz --json did not end with an ok summary: {events[-1:]}")
    start = next((e for e in events if e.get("event") == "start"), {})
    details: dict[str, Any] = {
        "summary_duration": summary.get("duration"),
        "bulk_files": 0,
        "bulk_refused": 0,
        "archive_files": 0,
        "archive_refused": 0,
        "chunked_files": 0,
        "rclone_files": 0,
        "rclone_ran": False,
        "log_path": start.get("log_path") or summary.get("log_path"),
    }
    log = Path(details["log_path"]) if details["log_path"] else None
    if log is None or not log.is_file():
        raise BenchError(f"rcwiz named no readable log ({details['log_path']})")
    with open(log, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("rcwiz") == "bulk" and "ok" in entry:
                if entry.get("how") == "chunks":
                    details["chunked_files"] += bool(entry["ok"])
                else:
                    details["bulk_files" if entry["ok"] else "bulk_refused"] += 1
            elif entry.get("rcwiz") == "archive" and "ok" in entry:
                details["archive_files" if entry["ok"] else "archive_refused"] += 1
            elif entry.get("rcwiz") == "start":
                details["rclone_ran"] = True
            elif str(entry.get("msg", "")).startswith("Copied"):
                details["rclone_files"] += 1
    return details


# --------------------------------------------------------------------------- a real Nextcloud


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# One request-log line of php -S: "[pid] [date] 127.0.0.1:port [207]: PROPFIND /path"
_REQUEST = re.compile(r"\[(\d{3})\]: ([A-Z]+) (\S+)")


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> tuple[int, bytes]:
    """One HTTP request; (status, body). Errors with a status are returned, not raised."""
    all_headers = dict(headers or {})
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        all_headers["Authorization"] = f"Basic {token}"
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Nextcloud:
    """A Nextcloud 30 from ../shared/nextcloud, run by serve.sh in WORKDIR on a free port
    (PHP's built-in server: SQLite, no memcache, one request per connection)."""

    def __init__(
        self, workdir: Path, shared: Path = SHARED_NEXTCLOUD, env: dict[str, str] | None = None
    ) -> None:
        self.workdir = workdir
        self.env = env or {}  # for PHP (the production-like server's PHP_INI_SCAN_DIR)
        self.serve = shared / "serve.sh"
        self.url = ""
        self.port = 0
        self.started = False

    @staticmethod
    def unavailable(shared: Path = SHARED_NEXTCLOUD) -> str | None:
        """Why it cannot run here (one line), or None."""
        if not (shared / "serve.sh").is_file():
            return f"the real Nextcloud is not at {shared} (set RCWIZ_SHARED_NEXTCLOUD)"
        if shutil.which("php") is None:
            return "PHP is missing (see ../shared/nextcloud/README.md for the apt-get line)"
        return None

    def _serve(self, *args: str, timeout: float = HELPER_TIMEOUT) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(
                [str(self.serve), *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"serve.sh {args[0]} took longer than {timeout:.0f} s") from exc

    def start(self) -> Nextcloud:
        """Unpack, install from the template and start; a busy port is retried."""
        why = self.unavailable(self.serve.parent)
        if why:
            raise BenchError(why)
        for _ in range(3):
            self.port = free_port()
            self.started = True  # from here on, stop() has something to stop
            done = self._serve(str(self.workdir), str(self.port))
            if done.returncode == 0:
                self.url = done.stdout.strip().splitlines()[-1].rstrip("/")
                return self
            if done.returncode != 4:  # 4: port busy
                break
        raise BenchError(f"serve.sh exited {done.returncode}: {done.stderr.strip()[-800:]}")

    def restart(self, workers: int) -> None:
        """Start it again on the same port (a proxy in front keeps its target) with WORKERS
        requests served at once (serve.sh's NC_WORKERS: PHP_CLI_SERVER_WORKERS)."""
        self.stop()
        self.env = {**self.env, "NC_WORKERS": str(workers)}
        self.started = True
        done = self._serve(str(self.workdir), str(self.port))
        if done.returncode != 0:
            raise BenchError(f"serve.sh exited {done.returncode}: {done.stderr.strip()[-800:]}")

    def stop(self) -> None:
        if self.started and (self.workdir / "php.pid").exists():
            self._serve("--stop", str(self.workdir), timeout=60)
        self.started = False

    def occ(self, *args: str, timeout: float = HELPER_TIMEOUT) -> str:
        done = self._serve("--occ", str(self.workdir), *args, timeout=timeout)
        if done.returncode != 0:
            raise BenchError(f"occ {' '.join(args)} failed: {(done.stdout + done.stderr)[-800:]}")
        return done.stdout

    def ocs(self, method: str, path: str, data: dict[str, str] | None = None, auth=NC_ADMIN) -> Any:
        """An OCS call (as the admin by default); the data of its envelope."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"OCS-APIRequest": "true", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, raw = http(method, f"{self.url}{path}?format=json", body, headers, auth)
        try:
            document = json.loads(raw)
            meta = document["ocs"]["meta"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchError(f"OCS {method} {path}: HTTP {status}, {raw[:300]!r}") from exc
        if status >= 300 or meta.get("statuscode") not in (100, 200):
            raise BenchError(f"OCS {method} {path}: HTTP {status}, {meta}")
        return document["ocs"]["data"]

    def add_user(self, quota: str, prefix: str = "bench") -> tuple[str, str]:
        """A new user (OCS provisioning, as an admin would): (user id, password)."""
        name = f"{prefix}{secrets.token_hex(4)}"
        password = f"Pw-{secrets.token_hex(10)}!"
        self.ocs(
            "POST",
            "/ocs/v2.php/cloud/users",
            {"userid": name, "password": password, "quota": quota},
        )
        return name, password

    def http_delete(self, path: str, auth: tuple[str, str]) -> int:
        """DELETE PATH (under the server's root) as AUTH; the status."""
        return http("DELETE", f"{self.url}{path}", auth=auth)[0]

    @property
    def request_log(self) -> Path:
        return self.workdir / "php-server.log"

    def log_mark(self) -> int:
        """A place in the request log; requests_since(mark) counts what came after."""
        try:
            return self.request_log.stat().st_size
        except FileNotFoundError:
            return 0

    def requests_since(self, mark: int) -> Counter[str]:
        """The requests answered since MARK, by method and status: "MKCOL 405" -> count."""
        with open(self.request_log, "rb") as handle:
            handle.seek(mark)
            text = handle.read().decode("utf-8", "replace")
        found: Counter[str] = Counter()
        for line in text.splitlines():
            match = _REQUEST.search(line)
            if match:
                found[f"{match[2]} {match[1]}"] += 1
        return found


def by_method(requests: dict[str, int]) -> dict[str, int]:
    """{"MKCOL 405": 3, "MKCOL 201": 1} -> {"MKCOL": 4}."""
    found: Counter[str] = Counter()
    for key, count in requests.items():
        found[key.split()[0]] += count
    return dict(found)


# --------------------------------------------------------------------------- a bench's set-up


@dataclass
class Served:
    """A fresh Nextcloud with one user, seen through a LatencyProxy (`served`)."""

    tools: Tools
    env: dict[str, str]
    nc: Nextcloud
    proxy: Any  # latency_proxy.LatencyProxy
    user: str
    password: str
    config: Path  # rclone.conf with the remote for the user, through the proxy
    logs: Path  # an empty folder for the runs' output


@contextlib.contextmanager
def served(work: Path, rtt_ms: float, remote: str, quota: str = "100 GB") -> Iterator[Served]:
    """The Nextcloud of ../shared/nextcloud in WORK/server, a new user with QUOTA, and
    benchmarks/latency_proxy.py in front of it adding RTT_MS to each round trip; REMOTE in
    WORK/rclone.conf reaches the user through the proxy. Everything is stopped and WORK
    removed at the end, however the benchmark ends."""
    from latency_proxy import LatencyProxy  # (it imports this module for its self-test)

    nc = Nextcloud(work / "server")
    proxy: LatencyProxy | None = None
    try:
        tools = Tools.beside_python()
        env = clean_env(work)
        print("starting Nextcloud (../shared/nextcloud/serve.sh) …", flush=True)
        nc.start()
        user, password = nc.add_user(quota)
        proxy = LatencyProxy(("127.0.0.1", nc.port), rtt_ms / 2000).start()
        config = work / "rclone.conf"
        dav_url = f"http://127.0.0.1:{proxy.port}/remote.php/dav/files/{user}/"
        write_config(config, tools.rclone, dav_url, user, password, env, remote=remote)
        logs = work / "logs"
        logs.mkdir()
        yield Served(tools, env, nc, proxy, user, password, config, logs)
    finally:
        if proxy is not None:
            proxy.stop()
        try:
            nc.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_main(
    name: str, body: Callable[[], int], result: object = None, json_path: Path | None = None
) -> int:
    """BODY (a benchmark's work; its exit code) with SIGTERM and SIGINT raised as
    KeyboardInterrupt, so that its cleanup runs (servers stopped, children killed, files
    removed); a BenchError is one line and exit 1, an interrupt exit 130. NAME: the script's.
    RESULT (what BODY filled in so far) is written to JSON_PATH, if given, however it ended."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    try:
        return body()
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        if json_path is not None:
            json_path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
