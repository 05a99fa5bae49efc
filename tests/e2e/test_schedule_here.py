"""`rcwiz job schedule` knows which schedulers work on this machine (issue 25.4): crontab and
scrontab on PATH, a systemd user session to talk to. Nothing is written for one that does not
work, what to do is said when none does, and --remove needs no time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import json_result, rcwiz


@pytest.fixture
def base(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text("[q]\ntype = local\n")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  nightly:\n    source: {tmp_path}\n    dest: q:results\n")
    return ["--config", str(conf), "--jobs", str(jobs)]


def nothing_here(tmp_path: Path) -> dict[str, str]:
    """An environment with no crontab or scrontab on PATH and no systemd user bus."""
    path = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if not any(os.path.exists(os.path.join(p, t)) for t in ("crontab", "scrontab"))
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {
        "PATH": path,
        "XDG_RUNTIME_DIR": str(runtime),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime}/no-bus",
    }


def fake_crontab(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A stand-in for crontab(1) keeping the table in a file (rcwiz's editing is tested)."""
    table = tmp_path / "crontab.txt"
    table.write_text("0 1 * * * backup.sh\n")
    bindir = tmp_path / "cron-bin"
    bindir.mkdir()
    fake = bindir / "crontab"
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat {table}; else cat > {table}; fi\n')
    fake.chmod(0o755)
    return table, {**env, "PATH": f"{bindir}{os.pathsep}{env['PATH']}"}


def test_with_no_scheduler_the_text_comes_with_what_to_do(base, tmp_path):
    env = nothing_here(tmp_path)
    shown = rcwiz(*base, "job", "schedule", "nightly", "--daily", "02:30", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("30 2 * * * ") and "Install with --install" not in shown.stdout
    assert "No scheduler works here" in shown.stderr and "crontab is not installed" in shown.stderr
    assert "rcwiz job run nightly" in shown.stderr
    done = rcwiz(*base, "job", "schedule", "nightly", "--daily", "02:30", "--install", env=env)
    assert done.returncode == 1 and "nothing was installed" in done.stderr


def test_systemd_without_a_user_session_writes_no_unit(base, tmp_path):
    env = nothing_here(tmp_path)
    args = [*base, "job", "schedule", "nightly", "--daily", "02:30", "--via", "systemd"]
    done = rcwiz(*args, "--install", env=env)
    assert done.returncode == 1, done.stderr
    assert "no systemd user session here" in done.stderr and "nothing was installed" in done.stderr
    units = Path(os.environ["XDG_CONFIG_HOME"]).parent / "systemd"
    assert not list(units.rglob("rcwiz-job-*")) and not list(tmp_path.rglob("rcwiz-job-*"))
    _, with_cron = fake_crontab(tmp_path, env)
    other = rcwiz(*args, "--install", env=with_cron)
    assert other.returncode == 1 and "Use --via cron, which works here." in other.stderr


def test_cron_is_the_default_where_only_cron_works_and_remove_needs_no_time(base, tmp_path):
    table, env = fake_crontab(tmp_path, nothing_here(tmp_path))
    done = rcwiz(
        *base, "--json", "job", "schedule", "nightly", "--daily", "03:15", "--install", env=env
    )
    assert done.returncode == 0, done.stderr
    assert json_result(done.stdout)["scheduler"] == "cron"
    assert table.read_text().splitlines()[1].startswith("15 3 * * * ")
    removed = rcwiz(*base, "job", "schedule", "nightly", "--remove", env=env)
    assert removed.returncode == 0, removed.stderr
    assert "removed the crontab line" in removed.stdout
    assert table.read_text() == "0 1 * * * backup.sh\n"
    no_time = rcwiz(*base, "job", "schedule", "nightly", env=env)
    assert no_time.returncode == 2 and "--daily HH:MM or --cron EXPR" in no_time.stderr
