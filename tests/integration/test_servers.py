"""The test servers themselves, checked with the real rclone binary.

Every later integration test trusts these servers: that the right password works and a wrong
one gets 401, that the quota server reports exactly the quota it was given and refuses with
507 an upload that would not fit (storing nothing), and that it can die and come back on the
same port.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from rcwiz.demo.server import QuotaServer

FAIL_FAST = ("--low-level-retries", "1", "--retries", "1")


def rclone(
    rclone_bin: Path, *args: str, config: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run rclone with JSON logs on stderr; the config is given explicitly when needed."""
    argv = [str(rclone_bin), *args, "--use-json-log", "-v"]
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def log_records(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def errors(stderr: str) -> list[str]:
    return [r["msg"] for r in log_records(stderr) if r["level"] in ("error", "critical")]


def write_bytes(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def stored_files(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_size for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(params=["rclone-serve", "quota-server"])
def any_server(request: pytest.FixtureRequest) -> Any:
    """Each test using this runs once against each server."""
    if request.param == "rclone-serve":
        return request.getfixturevalue("webdav_server")
    return request.getfixturevalue("quota_server")


@pytest.fixture
def conf_for(tmp_path: Path, rclone_conf: Callable) -> Callable[..., Path]:
    """conf_for(server, password=None) writes a one-remote config named `dav`."""

    def write(server: Any, password: str | None = None) -> Path:
        remote = {"url": server.url, "user": server.user, "password": password or server.password}
        return rclone_conf(tmp_path / "rclone.conf", {"dav": remote})

    return write


# --------------------------------------------------------------------------- both servers


def test_lsd_and_copy_with_the_right_password(
    any_server: Any, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    (any_server.root / "Photos").mkdir()
    conf = conf_for(any_server)

    listed = rclone(rclone_bin, "lsd", "dav:", config=conf)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[-1] == "Photos"

    src = tmp_path / "src"
    write_bytes(src / "a.bin", 1000)
    write_bytes(src / "deep" / "b.bin", 20_000)
    copied = rclone(rclone_bin, "copy", str(src), "dav:upload", config=conf)
    assert copied.returncode == 0, copied.stderr
    assert stored_files(any_server.root / "upload") == {"a.bin": 1000, "deep/b.bin": 20_000}
    assert (any_server.root / "upload/deep/b.bin").read_bytes() == (src / "deep/b.bin").read_bytes()


def test_wrong_password_gets_401(any_server: Any, conf_for: Callable, rclone_bin: Path) -> None:
    conf = conf_for(any_server, password="not-the-password")

    listed = rclone(rclone_bin, "lsd", "dav:", *FAIL_FAST, config=conf)

    assert listed.returncode == 1
    assert any("401" in msg for msg in errors(listed.stderr)), listed.stderr


def test_dead_url_is_refused(
    dead_url: str, rclone_conf: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    remote = {"url": dead_url, "user": "nobody", "password": "x"}
    conf = rclone_conf(tmp_path / "rclone.conf", {"dav": remote})

    listed = rclone(rclone_bin, "lsd", "dav:", *FAIL_FAST, config=conf, timeout=20)

    assert listed.returncode != 0
    assert "connection refused" in listed.stderr


def test_passwords_never_appear_in_argv(webdav_server: Any, quota_server: Any) -> None:
    for server in (webdav_server, quota_server):
        cmdline = " ".join(psutil.Process(server.proc.pid).cmdline())
        assert server.password not in cmdline
        assert "--pass" not in cmdline


# --------------------------------------------------------------------------- about


def test_rclone_serve_reports_no_quota(
    webdav_server: Any, conf_for: Callable, rclone_bin: Path
) -> None:
    about = rclone(rclone_bin, "about", "dav:", "--json", config=conf_for(webdav_server))

    assert about.returncode == 0, about.stderr
    assert json.loads(about.stdout) == {}


def test_quota_server_reports_exact_quota(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    write_bytes(root / "one.bin", 1234)
    write_bytes(root / "sub" / "deeper" / "two.bin", 56_789)
    server = quota_server_factory(quota=10_000_000, root=root)

    about = rclone(rclone_bin, "about", "dav:", "--json", config=conf_for(server))

    assert about.returncode == 0, about.stderr
    used = 1234 + 56_789
    assert json.loads(about.stdout) == {
        "total": 10_000_000,
        "used": used,
        "free": 10_000_000 - used,
    }


def test_quota_server_without_quota_reports_none(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path
) -> None:
    server = quota_server_factory(quota=None)

    about = rclone(rclone_bin, "about", "dav:", "--json", config=conf_for(server))

    assert about.returncode == 0, about.stderr
    assert json.loads(about.stdout) == {}


# --------------------------------------------------------------------------- 507


def test_upload_over_quota_gets_507_and_stores_nothing(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    write_bytes(root / "kept.bin", 60_000)
    server = quota_server_factory(quota=100_000, root=root)
    src = write_bytes(tmp_path / "src" / "too-big.bin", 50_000)

    copied = rclone(
        rclone_bin, "copy", str(src.parent), "dav:", *FAIL_FAST, config=conf_for(server)
    )

    assert copied.returncode == 1
    assert any("507" in msg for msg in errors(copied.stderr)), copied.stderr
    assert stored_files(root) == {"kept.bin": 60_000}


def test_refused_replacement_leaves_the_old_file_intact_on_the_server(
    quota_server_factory: Callable, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    old = write_bytes(root / "data.bin", 60_000).read_bytes()
    write_bytes(root / "other.bin", 30_000)
    server = quota_server_factory(quota=100_000, root=root)

    # 30 000 + 80 000 > 100 000 once data.bin's old 60 000 are replaced.
    assert _put(server, "/data.bin", os.urandom(80_000), chunked=False) == 507
    assert (root / "data.bin").read_bytes() == old


def test_rclone_deletes_the_old_file_after_a_refused_replacement(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    """A tripwire on rclone, not on the server: after a failed PUT over an existing file,
    rclone's webdav backend waits 1 s and sends DELETE for it, so the old version is lost."""
    root = tmp_path / "root"
    write_bytes(root / "data.bin", 60_000)
    write_bytes(root / "other.bin", 30_000)
    server = quota_server_factory(quota=100_000, root=root)
    write_bytes(tmp_path / "src" / "data.bin", 80_000)

    copied = rclone(
        rclone_bin, "copy", str(tmp_path / "src"), "dav:", *FAIL_FAST, config=conf_for(server)
    )

    assert copied.returncode == 1
    assert any("507" in msg for msg in errors(copied.stderr)), copied.stderr
    assert stored_files(root) == {"other.bin": 30_000}


def test_replacing_a_file_counts_only_the_difference(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    write_bytes(root / "data.bin", 60_000)
    server = quota_server_factory(quota=100_000, root=root)
    new = write_bytes(tmp_path / "src" / "data.bin", 90_000)

    copied = rclone(
        rclone_bin, "copy", str(new.parent), "dav:", *FAIL_FAST, config=conf_for(server)
    )

    assert copied.returncode == 0, copied.stderr
    assert (root / "data.bin").read_bytes() == new.read_bytes()


def test_parallel_uploads_never_overshoot_the_quota(
    quota_server_factory: Callable, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    server = quota_server_factory(quota=100_000)
    for i in range(5):
        write_bytes(tmp_path / "src" / f"f{i}.bin", 30_000)

    copied = rclone(
        rclone_bin,
        "copy",
        str(tmp_path / "src"),
        "dav:",
        "--transfers",
        "5",
        *FAIL_FAST,
        config=conf_for(server),
    )

    assert copied.returncode == 1
    assert sum("507" in msg for msg in errors(copied.stderr)) >= 2, copied.stderr
    assert sorted(stored_files(server.root).values()) == [30_000] * 3


def _put(server: Any, path: str, body: bytes, *, chunked: bool) -> int:
    """PUT with http.client; chunked=True sends no Content-Length (rclone never does that)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    token = b64encode(f"{server.user}:{server.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    try:
        if chunked:
            blocks = iter(body[i : i + 65536] for i in range(0, len(body), 65536))
            conn.request("PUT", path, body=blocks, headers=headers, encode_chunked=True)
        else:
            conn.request("PUT", path, body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def test_chunked_upload_is_metered_and_a_refused_one_removed(
    quota_server_factory: Callable, tmp_path: Path
) -> None:
    (tmp_path / "root").mkdir()
    server = quota_server_factory(quota=3_000_000, root=tmp_path / "root")

    assert _put(server, "/fits.bin", os.urandom(2_000_000), chunked=True) == 201
    assert _put(server, "/too-big.bin", os.urandom(1_500_000), chunked=True) == 507
    assert stored_files(server.root) == {"fits.bin": 2_000_000}


# --------------------------------------------------------------------------- lifecycle


def test_kill_then_restart_on_the_same_port(
    quota_server: Any, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    conf = conf_for(quota_server)
    write_bytes(tmp_path / "src" / "a.bin", 5000)
    assert rclone(rclone_bin, "copy", str(tmp_path / "src"), "dav:", config=conf).returncode == 0
    port = quota_server.port

    quota_server.kill()
    down = rclone(rclone_bin, "lsf", "dav:", *FAIL_FAST, config=conf, timeout=20)
    assert down.returncode != 0
    assert "connection refused" in down.stderr

    quota_server.restart()
    assert quota_server.port == port
    up = rclone(rclone_bin, "lsf", "dav:", config=conf)
    assert up.returncode == 0, up.stderr
    assert up.stdout.split() == ["a.bin"]

    assert quota_server.stop() == 0  # SIGTERM is a clean exit


def test_delay_slows_every_request(quota_server_factory: Callable) -> None:
    server = quota_server_factory(delay=0.4)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        started = time.monotonic()
        conn.request("OPTIONS", "/")
        conn.getresponse().read()
        assert time.monotonic() - started >= 0.4
    finally:
        conn.close()


def test_cli_refuses_to_start_without_a_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RCWIZ_DEVSERVER_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "rcwiz.demo.server", "--root", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "RCWIZ_DEVSERVER_PASSWORD" in done.stderr
    assert done.stdout == ""


def test_sigint_is_a_clean_exit(quota_server: Any) -> None:
    quota_server.proc.send_signal(signal.SIGINT)
    assert quota_server.proc.wait(10) == 0


def test_import_works_without_the_demo_extra() -> None:
    """rcwiz imports devserver freely; only starting a server needs wsgidav and cheroot."""
    code = (
        "import sys; sys.modules['wsgidav'] = None\n"
        "import rcwiz.demo.server as d\n"
        "try:\n"
        "    d.QuotaServer('.', user='u', password='p')\n"
        "except d.DemoExtraMissing as e:\n"
        "    print(e.hint)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'rcwiz[demo]'" in done.stdout


@pytest.fixture
def in_process_server(tmp_path: Path) -> Iterator[QuotaServer]:
    write_bytes(tmp_path / "root" / "x.bin", 777)
    with QuotaServer(tmp_path / "root", user="u", password="in-process!", quota=5000) as server:
        yield server


def test_in_process_server(
    in_process_server: QuotaServer, rclone_conf: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    server = in_process_server
    assert server.url == f"http://127.0.0.1:{server.port}/"
    assert server.port > 0
    assert server.used_bytes() == 777
    remote = {"url": server.url, "user": "u", "password": "in-process!"}
    conf = rclone_conf(tmp_path / "rclone.conf", {"dav": remote})

    about = rclone(rclone_bin, "about", "dav:", "--json", config=conf)

    assert json.loads(about.stdout) == {"total": 5000, "used": 777, "free": 5000 - 777}


def test_many_files_and_a_big_one_copy_quickly(
    quota_server: Any, conf_for: Callable, rclone_bin: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    for i in range(50):
        write_bytes(src / f"small-{i:02}.bin", 2000)
    write_bytes(src / "big.bin", 20 * 1024 * 1024)

    copied = rclone(rclone_bin, "copy", str(src), "dav:", config=conf_for(quota_server))

    assert copied.returncode == 0, copied.stderr
    assert stored_files(quota_server.root) == stored_files(src)
