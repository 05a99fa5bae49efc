"""A hung server: it accepts connections and never answers (or stops answering mid-transfer).

rclone alone waits its 5-minute idle timeout per request, with retries, and rcwiz used to wait
with it. Every command that talks to a server must end within the stall timeout (plus a few
seconds for the processes to stop) with exit 6 and one sentence.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import RCWIZ, json_result, rcwiz
from nextcloud.conftest import big_file

STALL = 3.0
MARGIN = 12.0  # rclone stopping, the probe's own timeout, Python starting


class Silent:
    """A TCP server on 127.0.0.1 that accepts every connection, reads, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/remote.php/dav/files/u/"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)  # held open, never answered

    def close(self) -> None:
        self.sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()


@pytest.fixture
def hung_conf(tmp_path: Path, silent: Silent, rclone_conf) -> Path:
    """h: a plain WebDAV remote and hn: a Nextcloud one, both on the silent server."""
    spec = {"url": silent.url, "user": "u", "password": "secret-pw"}
    return rclone_conf(tmp_path / "rclone.conf", {"h": spec, "hn": {**spec, "vendor": "nextcloud"}})


def timed(*args: str, input: str | None = None) -> tuple[subprocess.CompletedProcess, float]:
    began = time.monotonic()
    done = rcwiz("--stall-timeout", f"{STALL:g}", *args, input=input, timeout=STALL * 20)
    return done, time.monotonic() - began


def assert_stalled(done: subprocess.CompletedProcess, elapsed: float, silent: Silent) -> None:
    assert done.returncode == 6, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert silent.accepted > 0, "nothing ever reached the silent server: this proves nothing"
    assert elapsed < STALL + MARGIN, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("remote", ["h", "hn"])
def test_quota_gives_up_on_a_hung_server(hung_conf, silent, remote):
    done, elapsed = timed("--config", str(hung_conf), "quota", f"{remote}:")
    # quota reports every remote, so one that does not answer is a row, not a crash
    assert done.returncode == 6, done.stdout + done.stderr  # the row says why
    assert "Traceback" not in done.stderr
    assert silent.accepted > 0
    assert elapsed < STALL + MARGIN, f"took {elapsed:.1f} s"
    assert "unreachable" in done.stdout


def test_quota_check_says_unknown_for_a_hung_server(hung_conf, silent):
    done, elapsed = timed("--config", str(hung_conf), "quota", "h:", "--check")
    assert "UNKNOWN" in done.stdout
    assert elapsed < STALL + MARGIN, f"took {elapsed:.1f} s"


def test_copy_to_a_hung_server_stops_at_the_pre_flight(tmp_path, hung_conf, silent):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    done, elapsed = timed("--config", str(hung_conf), "copy", str(tmp_path / "src"), "h:x")
    assert_stalled(done, elapsed, silent)
    assert "did not answer" in done.stderr


def test_copy_from_a_hung_server_stops(tmp_path, hung_conf, silent):
    done, elapsed = timed("--config", str(hung_conf), "copy", "h:x", str(tmp_path / "in"))
    assert_stalled(done, elapsed, silent)


def test_copy_from_a_hung_nextcloud_stops_at_its_listing(tmp_path, hung_conf, silent):
    done, elapsed = timed("--config", str(hung_conf), "copy", "hn:x", str(tmp_path / "in"))
    assert_stalled(done, elapsed, silent)


def test_json_error_for_a_hung_server(tmp_path, hung_conf, silent):
    done, elapsed = timed("--json", "--config", str(hung_conf), "copy", "h:x", str(tmp_path))
    assert_stalled(done, elapsed, silent)
    error = json_result(done.stdout, "copy")
    assert error["ok"] is False and error["exit_code"] == 6


def test_share_on_a_hung_nextcloud_stops(hung_conf, silent):
    done, elapsed = timed("--config", str(hung_conf), "share", "hn:x", "--link")
    assert_stalled(done, elapsed, silent)


def test_doctor_marks_a_hung_server_failed_and_ends(hung_conf, silent):
    done, elapsed = timed("--config", str(hung_conf), "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert elapsed < STALL + MARGIN + STALL, f"took {elapsed:.1f} s"  # about, then the clock


def test_setup_against_a_hung_server_saves_nothing(tmp_path, silent):
    conf = tmp_path / "rclone.conf"
    done, elapsed = timed(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "webdav",
        "--url",
        silent.url,
        "--user",
        "u",
        "--password-stdin",
        "--name",
        "h",
        "--yes",
        input="pw\n",
    )
    assert_stalled(done, elapsed, silent)
    assert not conf.exists() or "[h]" not in conf.read_text()


def test_a_nextcloud_that_hangs_mid_upload_is_stopped(tmp_path, nc_remote, real_nextcloud):
    """The real Nextcloud, frozen with SIGSTOP while a file is on its way, then thawed."""
    source = tmp_path / "src"
    big_file(source / "big.bin", 24 * 2**20)
    group = int((real_nextcloud.workdir / "php.pid").read_text())
    argv = [*RCWIZ, "--stall-timeout", f"{STALL:g}", "--config", str(nc_remote)]
    argv += ["copy", str(source), "nc:frozen", "--bwlimit", "4M", "--log-interval", "0.2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    frozen_at = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if " progress " in line and "0 B /" not in line:
                break
        os.killpg(group, signal.SIGSTOP)
        frozen_at = time.monotonic()
        code = proc.wait(timeout=STALL * 20)
        ended = time.monotonic() - frozen_at
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        if frozen_at is not None:
            os.killpg(group, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    assert code == 6, err
    assert "hung" in err and "Traceback" not in err
    assert ended < STALL + MARGIN, f"took {ended:.1f} s"


def test_a_nextcloud_that_hangs_during_rcwiz_s_own_chunked_upload_is_stopped(
    tmp_path, nc_remote, real_nextcloud
):
    """The same freeze while rcwiz sends a big file's chunks itself (no rclone to watch): the
    run ends within the stall timeout, keeps the session for the next run (issue 23: chunks had
    arrived, progress counts only confirmed ones), and does not hand the file to rclone to wait
    all over again."""
    source = tmp_path / "src"
    big_file(source / "big.bin", 400 * 2**20)  # several seconds of chunks on loopback
    group = int((real_nextcloud.workdir / "php.pid").read_text())
    argv = [*RCWIZ, "--stall-timeout", f"{STALL:g}", "--config", str(nc_remote)]
    argv += ["copy", str(source), "nc:frozen-chunks", "--log-interval", "0.2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    frozen_at = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if re.search(r" progress [1-9][0-9]?(\.[0-9])?% ", line):  # chunks on their way
                break
        os.killpg(group, signal.SIGSTOP)
        frozen_at = time.monotonic()
        code = proc.wait(timeout=STALL * 20)
        ended = time.monotonic() - frozen_at
        out = proc.stdout.read()
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        if frozen_at is not None:
            os.killpg(group, signal.SIGCONT)
        if proc.poll() is None:
            proc.kill()
    assert code == 6, out + err
    assert "Traceback" not in err and "rclone will send it" not in err
    assert "rcwiz keeps that for the next run" in err, err
    assert ended < STALL + MARGIN, f"took {ended:.1f} s"
