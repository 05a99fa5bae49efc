"""Faults on this machine's side: a full local disk, an unwritable config folder."""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers import rcwiz


@pytest.fixture
def small_disk(tmp_path):
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
def remote_with_data(tmp_path, quota_server, rclone_conf):
    for i in range(4):
        (quota_server.root / f"part{i}.bin").write_bytes(os.urandom(1024 * 1024))
    return rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})


def test_a_download_larger_than_the_local_disk_is_refused_first(small_disk, remote_with_data):
    done = rcwiz("--config", str(remote_with_data), "copy", "q:", str(small_disk / "in"))
    assert done.returncode == 9, done.stderr
    assert "(4194304 bytes)" in done.stderr and "Traceback" not in done.stderr
    assert not (small_disk / "in").exists()


def test_a_forced_download_stops_when_the_disk_fills(small_disk, remote_with_data):
    done = rcwiz(
        "--config",
        str(remote_with_data),
        "copy",
        "q:",
        str(small_disk / "in"),
        "--force",
        "--transfers",
        "1",
    )
    assert done.returncode == 12, done.stderr
    assert "local disk is full" in done.stderr and "Traceback" not in done.stderr


def test_an_unwritable_config_folder_is_a_config_error(tmp_path, quota_server):
    conf = "/proc/rcwiz-cannot-write-here/rclone.conf"
    done = rcwiz(
        "--config",
        conf,
        "setup",
        "--preset",
        "webdav",
        "--url",
        quota_server.url,
        "--user",
        quota_server.user,
        "--password-stdin",
        "--name",
        "x",
        "--yes",
        input=quota_server.password + "\n",
    )
    assert done.returncode == 8, done.stderr
    assert "cannot be written" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def state_is_a_file(tmp_path, monkeypatch):
    """XDG_STATE_HOME names a file: nothing can be recorded there (root ignores permissions)."""
    blocker = tmp_path / "state-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    return blocker


def test_a_copy_succeeds_when_its_log_cannot_be_kept(tmp_path, state_is_a_file):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    done = rcwiz("copy", str(tmp_path / "src"), str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "log cannot be kept" in warnings[0]
    assert "full rclone log" not in done.stdout  # no path to a log that does not exist


def test_a_quota_report_succeeds_when_its_history_cannot_be_kept(
    tmp_path, state_is_a_file, quota_server, rclone_conf
):
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})
    done = rcwiz("--config", str(conf), "quota", "q:")
    assert done.returncode == 0, done.stderr
    assert "q:" in done.stdout and "not recorded" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_log_that_fills_the_disk_stops_but_the_transfer_goes_on(
    tmp_path, small_disk, monkeypatch, quota_server, rclone_conf
):
    monkeypatch.setenv("XDG_STATE_HOME", str(small_disk))
    (small_disk / "filler").write_bytes(b"\0" * (2 * 1024 * 1024 - 16 * 1024))
    source = tmp_path / "src"
    source.mkdir()
    for i in range(400):  # enough per-file log lines to fill what is left
        (source / f"file-with-a-long-name-to-make-long-log-lines-{i:04d}.txt").write_text("x")
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})
    done = rcwiz("--config", str(conf), "copy", str(source), "q:x")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert len(list((quota_server.root / "x").iterdir())) == 400
    assert "log stops here" in done.stderr, done.stderr  # the disk really did fill


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path):
    source = tmp_path / "src\x1b[2J"
    source.mkdir()
    (source / "bell\x07\x1b]0;title\x07.txt").write_text("x")
    for extra in ([], ["--dry-run"]):
        done = rcwiz("copy", str(source), str(tmp_path / "out\x1b[31m"), *extra)
        assert done.returncode == 0, done.stderr
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout
        assert "\\x1b" in done.stdout  # shown, escaped
