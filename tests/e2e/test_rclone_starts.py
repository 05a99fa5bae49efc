"""Which rclone runs a command starts, seen by the real rclone behind a wrapper that writes
each command line to a file: a copy to a plain WebDAV remote starts rclone once (the copy);
`remotes` and `quota` start none; an encrypted rclone.conf still works, through rclone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import rcwiz


@pytest.fixture
def logged(tmp_path: Path, rclone_bin: Path) -> tuple[Path, Path]:
    """(a wrapper that logs each run and execs the real rclone, its log)."""
    log = tmp_path / "runs.log"
    wrapper = tmp_path / "bin" / "rclone"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{rclone_bin}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


def runs(log: Path) -> list[str]:
    """The rclone command lines logged, without the version check (cached per binary)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if line.split()[-1:] != ["version"]]


@pytest.fixture
def world(tmp_path, quota_server_factory, rclone_conf):
    server = quota_server_factory(quota=50 * 2**20)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.bin").write_bytes(os.urandom(10_000))
    return {"conf": conf, "src": src, "server": server}


def test_a_copy_to_plain_webdav_starts_rclone_once(world, logged):
    wrapper, log = logged
    done = rcwiz(
        "--rclone", str(wrapper), "--config", str(world["conf"]), "copy", str(world["src"]), "q:dst"
    )
    assert done.returncode == 0, done.stderr
    started = runs(log)
    assert len(started) == 1 and " copy " in f" {started[0]} ", started
    assert sorted(p.name for p in (world["server"].root / "dst").iterdir()) == [
        "f0.bin",
        "f1.bin",
        "f2.bin",
    ]


def test_a_copy_that_will_not_fit_is_refused_before_rclone_copies(
    tmp_path, quota_server_factory, rclone_conf, logged
):
    wrapper, log = logged
    server = quota_server_factory(quota=5000)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    (tmp_path / "big.bin").write_bytes(os.urandom(20_000))
    done = rcwiz(
        "--rclone", str(wrapper), "--config", str(conf), "copy", str(tmp_path / "big.bin"), "q:"
    )
    assert done.returncode != 0
    assert "only" in done.stderr and "free" in done.stderr, done.stderr
    # Only the dry run that gives the exact bytes to send (rclone.conf and the free space
    # were read without rclone).
    started = runs(log)
    assert len(started) == 1 and "--dry-run" in started[0], started


def test_remotes_and_quota_start_no_rclone(world, logged):
    wrapper, log = logged
    base = ["--rclone", str(wrapper), "--config", str(world["conf"])]
    listed = rcwiz(*base, "remotes")
    assert listed.returncode == 0 and "q" in listed.stdout, listed.stderr
    quota = rcwiz(*base, "quota", "q:")
    assert quota.returncode == 0, quota.stderr
    assert "50" in quota.stdout  # the 50 MiB quota, from the server's own answer
    assert runs(log) == []


def test_an_encrypted_rclone_conf_still_works_through_rclone(world, logged, rclone_bin):
    wrapper, log = logged
    conf, env = world["conf"], {"RCLONE_CONFIG_PASS": "a-config-password"}
    subprocess.run(
        [str(rclone_bin), "--config", str(conf), "config", "encryption", "set"],
        env={**os.environ, **env},
        input=f"{env['RCLONE_CONFIG_PASS']}\n" * 2,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "RCLONE_ENCRYPT_V0:" in conf.read_text()
    done = rcwiz(
        "--rclone", str(wrapper), "--config", str(conf), "copy", str(world["src"]), "q:enc", env=env
    )
    assert done.returncode == 0, done.stderr
    started = runs(log)
    assert any("config dump" in line for line in started), started
    assert (world["server"].root / "enc" / "f0.bin").exists()
    locked = rcwiz(
        "--rclone", str(wrapper), "--config", str(conf), "copy", str(world["src"]), "q:enc2"
    )
    assert locked.returncode != 0 and "Traceback" not in locked.stderr
    assert "RCLONE_CONFIG_PASS" in locked.stderr + locked.stdout
