"""Faults on this machine's side: a full local disk, an unwritable config folder."""

from __future__ import annotations

import os

import pytest
from helpers import rcwiz


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
