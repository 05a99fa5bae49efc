"""A real Nextcloud 30 on 127.0.0.1 for the tests marked `nextcloud` (pytest plugin).

`../shared/nextcloud/serve.sh WORKDIR PORT` starts Nextcloud 30.0.1 with PHP's built-in server
(SQLite, no memcache, no cron) in about a second; its README lists what works. This plugin
starts one per test session in a temporary WORKDIR on a free port and stops it at the end.

Fixtures:

* ``real_nextcloud`` (session): the running server, a RealNextcloud.
* ``nc_user``: a new user on it for this test (a random name and password, quota 1 GB), so
  tests never see each other's files; ``nc_user_factory(quota=...)`` makes more.
* ``nc_remote``: an rclone.conf holding remote ``nc:`` (vendor nextcloud) for ``nc_user``.
* ``cached_nextcloud`` (session): a second instance with APCu as its memcache, as production
  servers run (it caches the WebDAV quota figures); needs php-apcu.

Every test that uses one of them gets the marker ``nextcloud`` (``pytest -m nextcloud`` runs
them). Without PHP or ``../shared/nextcloud`` they are skipped with one line saying how to
get them, unless RCWIZ_REQUIRE_NEXTCLOUD=1 (set by .ci/run), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ports import PortTaken, on_a_free_port

ROOT = Path(__file__).resolve().parents[1]
SHARED_NEXTCLOUD = Path(
    os.environ.get("RCWIZ_SHARED_NEXTCLOUD", ROOT.parent / "shared" / "nextcloud")
)
SERVE = SHARED_NEXTCLOUD / "serve.sh"
APPROVE = SHARED_NEXTCLOUD / "loginflow-approve.sh"
ADMIN = ("admin", "ncadmin-Pass1")
APT_LINE = (
    "apt-get install -y php-cli php-sqlite3 php-xml php-mbstring php-curl php-gd php-zip "
    "php-intl php-bcmath php-gmp xz-utils"
)
FIXTURES = ("real_nextcloud", "nc_user", "nc_user_factory", "nc_remote", "cached_nextcloud")
# One request-log line of php -S: "[pid] [date] 127.0.0.1:port [207]: PROPFIND /path"
_REQUEST = re.compile(r"\[(\d{3})\]: ([A-Z]+) (\S+)")


def unavailable() -> str | None:
    """Why the real Nextcloud cannot run here (one line), or None when it can."""
    if not SERVE.is_file():
        return f"the real Nextcloud is not at {SHARED_NEXTCLOUD} (clone rcwiz beside ../shared)"
    if shutil.which("php") is None:
        return f"PHP is missing; install it with: {APT_LINE}"
    return None


@dataclass(frozen=True)
class Request:
    """One request the server answered, from its request log."""

    status: int
    method: str
    path: str


@dataclass
class NcUser:
    """A Nextcloud user made for one test."""

    server: RealNextcloud
    name: str
    password: str = field(repr=False)

    @property
    def dav_url(self) -> str:
        return f"{self.server.url}/remote.php/dav/files/{self.name}/"

    def remote(self, **overrides: str) -> dict[str, str]:
        """This user as an rclone.conf remote (for the rclone_conf fixture), vendor nextcloud;
        OVERRIDES replace a value (a wrong password, a proxy's URL)."""
        spec = {"url": self.dav_url, "user": self.name, "password": self.password}
        return {**spec, "vendor": "nextcloud", **overrides}

    @property
    def files(self) -> Path:
        """The user's files as the server stores them on disk (read them; write via WebDAV)."""
        return self.server.workdir / "data" / self.name / "files"

    @property
    def uploads(self) -> Path:
        """Where chunked uploads wait for assembly (/remote.php/dav/uploads/USER/)."""
        return self.server.workdir / "data" / self.name / "uploads"

    def ocs(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        return self.server.ocs(method, path, data, auth=(self.name, self.password))

    def put(self, path: str, data: bytes) -> bytes:
        """DATA stored at PATH by WebDAV (its folder made first, one level); DATA."""
        folder = path.rpartition("/")[0]
        if folder:
            self.dav("MKCOL", folder)
        status, _ = self.dav("PUT", path, data)
        assert status in (201, 204), status
        return data

    def usage(self) -> dict[str, int]:
        """OCS cloud/user quota figures: free, used, total (bytes)."""
        quota = self.ocs("GET", "/ocs/v2.php/cloud/user")["quota"]
        return {k: int(quota[k]) for k in ("free", "used", "total") if k in quota}

    def set_quota(self, quota: str) -> None:
        """Set the quota the way an admin does ("50 MB", "none")."""
        self.server.ocs(
            "PUT", f"/ocs/v2.php/cloud/users/{self.name}", {"key": "quota", "value": quota}
        )

    def dav(
        self,
        method: str,
        path: str = "",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One WebDAV request under the user's files; returns (status, body)."""
        url = self.dav_url + urllib.parse.quote(path.lstrip("/"))
        return self.server.http(method, url, body, headers, auth=(self.name, self.password))


@dataclass
class RealNextcloud:
    """A running ../shared/nextcloud instance: its URL, WORKDIR, request log and admin tools."""

    workdir: Path
    url: str = ""
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)  # for php (PHP_INI_SCAN_DIR)

    def _serve(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SERVE), *args],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            env={**os.environ, **self.env, **(env or {})},
        )

    def start(self, memcache: str | None = None) -> RealNextcloud:
        """Install (with MEMCACHE as memcache.local, if given) and start on a free port."""
        if memcache is not None:
            installed = self._serve("--install", str(self.workdir))
            if installed.returncode != 0:
                raise RuntimeError(f"serve.sh --install: {installed.stderr.strip()}")
            self.occ("config:system:set", "memcache.local", "--value", memcache)
        return on_a_free_port(self._start_on)

    def _start_on(self, port: int) -> RealNextcloud:
        done = self._serve(str(self.workdir), str(port))
        # serve.sh's own check (exit 4), or php -S failing to bind after it (exit 6).
        if (done.returncode == 4 and "in use" in done.stderr) or (
            done.returncode == 6 and "Address already in use" in done.stderr
        ):
            raise PortTaken(done.stderr.strip())
        if done.returncode != 0:
            raise RuntimeError(f"serve.sh exited {done.returncode}: {done.stderr.strip()}")
        self.port = port
        self.url = done.stdout.strip().splitlines()[-1].rstrip("/")
        return self

    def stop(self) -> None:
        self._serve("--stop", str(self.workdir))

    def occ(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = self._serve("--occ", str(self.workdir), *args, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"occ {' '.join(args)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    # ----------------------------------------------------------------------- HTTP

    def http(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = ADMIN,
    ) -> tuple[int, bytes]:
        all_headers = dict(headers or {})
        if auth is not None:
            token = b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def ocs(
        self,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        auth: tuple[str, str] = ADMIN,
    ) -> Any:
        """Call an OCS endpoint; return its data (fails the test on an error status)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"OCS-APIRequest": "true", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, raw = self.http(method, f"{self.url}{path}?format=json", body, headers, auth)
        document = json.loads(raw)
        meta = document["ocs"]["meta"]
        assert status < 300 and meta["statuscode"] in (100, 200), (status, meta)
        return document["ocs"]["data"]

    # ----------------------------------------------------------------------- users

    def add_user(self, quota: str = "1 GB", prefix: str = "u") -> NcUser:
        """A new user with a random password (OCS provisioning, as an admin would)."""
        name = f"{prefix}{secrets.token_hex(4)}"
        password = f"Pw-{secrets.token_hex(10)}!"
        self.ocs(
            "POST",
            "/ocs/v2.php/cloud/users",
            {"userid": name, "password": password, "quota": quota},
        )
        return NcUser(self, name, password)

    def approve(self, login_url: str, user: NcUser) -> None:
        """Grant a Login Flow v2 request as USER would in the browser."""
        done = subprocess.run(
            [str(APPROVE), login_url, user.name, user.password],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    # ----------------------------------------------------------------------- logs

    @property
    def request_log(self) -> Path:
        return self.workdir / "php-server.log"

    def log_mark(self) -> int:
        """A place in the request log; requests_since(mark) returns what came after."""
        return self.request_log.stat().st_size

    def requests_since(self, mark: int) -> list[Request]:
        with open(self.request_log, "rb") as handle:
            handle.seek(mark)
            text = handle.read().decode("utf-8", "replace")
        found = []
        for line in text.splitlines():
            match = _REQUEST.search(line)
            if match:
                found.append(Request(int(match[1]), match[2], urllib.parse.unquote(match[3])))
        return found

    def nextcloud_log_since(self, mark: int) -> list[dict[str, Any]]:
        path = self.workdir / "nextcloud.log"
        if not path.exists():
            return []
        with open(path, "rb") as handle:
            handle.seek(mark)
            lines = handle.read().decode("utf-8", "replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def nextcloud_log_mark(self) -> int:
        path = self.workdir / "nextcloud.log"
        return path.stat().st_size if path.exists() else 0


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll PREDICATE until it is truthy (for state that another process changes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


# --------------------------------------------------------------------------- pytest


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the real Nextcloud, so `-m nextcloud` selects it.

    Every worker of a parallel run (`make test`: pytest-xdist, --dist loadgroup) starts its own
    real Nextcloud; the tests of the second one with APCu go to one worker together, so it is
    started once.
    """
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if set(FIXTURES) & used:
            item.add_marker(pytest.mark.nextcloud)
        if "cached_nextcloud" in used:
            item.add_marker(pytest.mark.xdist_group("cached_nextcloud"))


def _skip_or_fail(reason: str | None) -> None:
    if reason is None:
        return
    if os.environ.get("RCWIZ_REQUIRE_NEXTCLOUD") == "1":
        pytest.fail(f"RCWIZ_REQUIRE_NEXTCLOUD=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_nextcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealNextcloud]:
    """The real Nextcloud 30 for this session (skipped, or failed in CI, where it cannot run)."""
    _skip_or_fail(unavailable())
    server = RealNextcloud(tmp_path_factory.mktemp("nextcloud"))
    try:
        yield server.start()
    finally:
        server.stop()


def _apcu_missing() -> str | None:
    done = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False)
    if "apcu" not in done.stdout.lower().split():
        return "PHP's APCu is missing; install it with: apt-get install -y php-apcu"
    return None


@pytest.fixture(scope="session")
def cached_nextcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealNextcloud]:
    """A second real Nextcloud 30 with APCu as memcache.local, as production servers run.

    APCu works for PHP's built-in server only with apc.enable_cli=1, added through an extra
    ini folder (PHP_INI_SCAN_DIR) for the server and occ alike.
    """
    _skip_or_fail(unavailable() or _apcu_missing())
    ini = tmp_path_factory.mktemp("php-ini")
    (ini / "99-rcwiz-apcu.ini").write_text("apc.enable_cli=1\n")
    server = RealNextcloud(
        tmp_path_factory.mktemp("nextcloud-apcu"), env={"PHP_INI_SCAN_DIR": f":{ini}"}
    )
    try:
        yield server.start(memcache="\\OC\\Memcache\\APCu")
    finally:
        server.stop()


@pytest.fixture
def nc_user_factory(real_nextcloud: RealNextcloud) -> Callable[..., NcUser]:
    """make(quota="1 GB") -> a new user on the real Nextcloud."""
    return real_nextcloud.add_user


@pytest.fixture
def nc_user(nc_user_factory: Callable[..., NcUser]) -> NcUser:
    return nc_user_factory()


@pytest.fixture
def nc_remote(nc_user: NcUser, tmp_path: Path, rclone_conf: Callable[..., Path]) -> Path:
    """rclone.conf (in tmp_path) with remote `nc:` for nc_user, vendor nextcloud."""
    return rclone_conf(tmp_path / "rclone.conf", {"nc": nc_user.remote()})
