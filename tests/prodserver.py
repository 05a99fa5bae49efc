"""A production-like Nextcloud 30: PostgreSQL, Redis as the locking memcache, APCu (stdlib only).

The suite's Nextcloud (serve.sh's default: SQLite, no memcache) cannot show what production
servers do with file locks: with Redis as memcache.locking, two bulk requests writing into the
same folder at once can fail a file (`"FOLDER" is locked`). This module builds such a server
from the same ../shared/nextcloud tree, for tests/prodnc.py and benchmarks/nextcloud_speed.py:

* `Services.start(folder)` starts a throwaway PostgreSQL 15 cluster (initdb, then `postgres`
  on 127.0.0.1 and a port from the OS) and a Redis on a unix socket (`--port 0`: no TCP),
  both children of this process, both stopped by `Services.stop()`. PostgreSQL refuses to run
  as root: as root they run as the `postgres` account (setpriv), in a folder it owns.
* `install(workdir, services)` unpacks the trimmed tree, pre-seeds config.php (serve.sh's cheap
  password hashing, APCu as memcache.local, Redis as memcache.locking) and runs
  `occ maintenance:install --database pgsql`. serve.sh cannot install with another database,
  but it starts an installed WORKDIR as it is; it takes `data/owncloud.db` (SQLite's file)
  for the sign of an installed instance, so an empty one is left there.

`serve.sh WORKDIR PORT` then starts PHP's built-in server on it, with `env()` (APCu needs
apc.enable_cli=1 under PHP's built-in server and occ).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ports import PortTaken, on_a_free_port

PG_BIN = Path(os.environ.get("RCWIZ_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_ACCOUNT = "postgres"  # who runs PostgreSQL when we are root (Debian's package makes it)
DATABASE = "nextcloud"
APT_LINE = "apt-get install -y postgresql redis-server php-pgsql php-redis php-apcu"
PHP_MODULES = ("pdo_pgsql", "redis", "apcu")
READY = 60.0  # seconds PostgreSQL or Redis may take to answer
ADMIN_PASSWORD = "ncadmin-Pass1"  # as serve.sh's template
# Tests do not need crash safety; a benchmark keeps PostgreSQL's defaults (durable=True).
_FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def unavailable() -> str | None:
    """Why this server cannot run here (one line with the fix), or None."""
    missing = []
    if not (PG_BIN / "initdb").is_file():
        missing.append(f"PostgreSQL 15 ({PG_BIN}/initdb)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if shutil.which("php") is not None:
        done = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False)
        have = done.stdout.lower().split()
        missing += [f"PHP's {m}" for m in PHP_MODULES if m not in have]
    if missing:
        return f"the production-like Nextcloud needs {', '.join(missing)}; install: {APT_LINE}"
    if os.geteuid() == 0 and _account() is None:
        return f"PostgreSQL does not run as root and there is no {PG_ACCOUNT!r} account"
    return None


def _account() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(PG_ACCOUNT)
    except KeyError:
        return None


def _as_db_user(argv: list[str]) -> list[str]:
    """ARGV run as the account PostgreSQL accepts: ourselves, or `postgres` when we are root."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={PG_ACCOUNT}", f"--regid={PG_ACCOUNT}", "--clear-groups", *argv]


def _wait(ready: object, proc: subprocess.Popen, log: Path, what: str) -> None:
    """Poll READY() until true; fail at once when PROC exits, or after READY seconds."""
    deadline = time.monotonic() + READY
    while not ready():  # type: ignore[operator]
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}: {log.read_text()[-800:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not answer within {READY:.0f} s")
        time.sleep(0.05)


@dataclass
class Services:
    """PostgreSQL and Redis for one production-like Nextcloud, children of this process."""

    durable: bool = False  # PostgreSQL's own defaults (fsync on), for benchmarks
    pg_folder: Path | None = None  # the cluster (outside pytest's private temp folders)
    pg_port: int = 0
    redis_socket: Path | None = None
    ini: Path | None = None  # PHP_INI_SCAN_DIR addition: apc.enable_cli=1
    _procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, folder: Path) -> Services:
        """Start both; FOLDER (ours) gets the Redis socket, the PHP ini and the logs."""
        self.ini = folder / "php-ini"
        self.ini.mkdir(exist_ok=True)
        (self.ini / "99-rcwiz-apcu.ini").write_text("apc.enable_cli=1\n")
        self._start_postgres(folder / "postgres.log")
        self._start_redis(folder)
        return self

    def _start_postgres(self, log: Path) -> None:
        # pytest's temp folders are private to us; the postgres account needs its own.
        self.pg_folder = Path(tempfile.mkdtemp(prefix="rcwiz-pg-"))
        account = _account() if os.geteuid() == 0 else None
        if account is not None:
            os.chown(self.pg_folder, account.pw_uid, account.pw_gid)
        data = self.pg_folder / "data"
        init = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        done = subprocess.run(
            _as_db_user([*init, "-E", "UTF8", "--no-sync"]),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        on_a_free_port(lambda port: self._start_postgres_on(port, data, log))
        self._psql_tool("createdb", DATABASE)

    def _start_postgres_on(self, port: int, data: Path, log: Path) -> None:
        argv = [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(port)]
        argv += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}"]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                _as_db_user(argv + ([] if self.durable else list(_FAST))),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._procs.append(proc)
        self.pg_port = port
        try:
            _wait(self._pg_ready, proc, log, "PostgreSQL")
        except RuntimeError as exc:
            if "Address already in use" in str(exc):  # PostgreSQL's own bind refused the port
                raise PortTaken(str(exc)) from None
            raise

    def _psql_tool(self, tool: str, *args: str) -> str:
        argv = [str(PG_BIN / tool), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"]
        done = subprocess.run([*argv, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def sql(self, statement: str) -> str:
        """Run STATEMENT on Nextcloud's database (as PostgreSQL's superuser); its output."""
        return self._psql_tool("psql", "-d", DATABASE, "-At", "-c", statement)

    def _pg_ready(self) -> bool:
        argv = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]
        return subprocess.run(argv, check=False).returncode == 0

    def _start_redis(self, folder: Path) -> None:
        self.redis_socket = folder / "redis.sock"
        log = folder / "redis.log"
        argv = ["redis-server", "--port", "0", "--unixsocket", str(self.redis_socket)]
        argv += ["--unixsocketperm", "700", "--save", "", "--appendonly", "no"]
        argv += ["--dir", str(folder), "--logfile", str(log)]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self._procs.append(proc)
        _wait(self._redis_ready, proc, log, "Redis")

    def _redis_ready(self) -> bool:
        assert self.redis_socket is not None
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(str(self.redis_socket))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def env(self) -> dict[str, str]:
        """What PHP (serve.sh, occ) needs in its environment for this server."""
        return {"PHP_INI_SCAN_DIR": f":{self.ini}"}

    def stop(self) -> None:
        """Stop both (PostgreSQL's fast shutdown) and remove the cluster."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(2)  # SIGINT: PostgreSQL's fast shutdown; Redis ends too
        for proc in self._procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self.pg_folder is not None:
            shutil.rmtree(self.pg_folder, ignore_errors=True)


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def preseed(workdir: Path, services: Services) -> str:
    """config.php before the install: what serve.sh sets, plus the memcaches (PHP text)."""
    assert services.redis_socket is not None
    values = {
        "datadirectory": str(workdir / "data"),
        "logfile": str(workdir / "nextcloud.log"),
        "log_type": "file",
        "skeletondirectory": "",
        "templatedirectory": "",
        "memcache.local": "\\OC\\Memcache\\APCu",
        "memcache.locking": "\\OC\\Memcache\\Redis",
    }
    lines = [f"  {_php_string(k)} => {_php_string(v)}," for k, v in values.items()]
    lines += [
        "  'loglevel' => 2,",
        # serve.sh's cheap hashing: a login with a password costs ~1 ms, not ~100 ms
        "  'hashingMemoryCost' => 8192,",
        "  'hashingTimeCost' => 1,",
        "  'hashingThreads' => 1,",
        f"  'redis' => array('host' => {_php_string(str(services.redis_socket))}, 'port' => 0),",
    ]
    return "<?php\n$CONFIG = array (\n" + "\n".join(lines) + "\n);\n"


def unpack(workdir: Path, tarball: Path) -> None:
    """The Nextcloud tree of TARBALL in WORKDIR/nc (while the database starts, say)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "nc" / "version.php").is_file():
        subprocess.run(
            ["tar", "-C", str(workdir), "--no-same-owner", "-xJf", str(tarball)], check=True
        )


def install(workdir: Path, services: Services, tarball: Path) -> None:
    """Unpack TARBALL into WORKDIR (unless done) and install Nextcloud on SERVICES' database
    (admin only)."""
    unpack(workdir, tarball)
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    (workdir / "nc" / "config" / "config.php").write_text(preseed(workdir, services))
    argv = ["php", "occ", "--no-interaction", "maintenance:install", "--database", "pgsql"]
    argv += ["--database-name", DATABASE, "--database-host", "127.0.0.1"]
    argv += ["--database-port", str(services.pg_port), "--database-user", "postgres"]
    argv += ["--database-pass", "trust-auth", "--admin-user", "admin"]
    argv += ["--admin-pass", ADMIN_PASSWORD, "--data-dir", str(workdir / "data")]
    done = subprocess.run(
        argv,
        cwd=workdir / "nc",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **services.env()},
    )
    if done.returncode != 0:
        raise RuntimeError(f"occ maintenance:install failed: {done.stdout}{done.stderr}")
    (workdir / "data" / "owncloud.db").touch()  # serve.sh's sign of an installed WORKDIR
