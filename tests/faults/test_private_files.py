"""Everything rcwiz writes is private whatever the umask, and hooks nobody else could have
written are the only ones it runs.

On a shared login node a log names every file sent, and a jobs file (or an rclone.conf) that
others can write runs their commands as you. Every file rcwiz leaves is 0600 and every folder
it creates 0700 under umask 002 and 022 alike; a jobs file or rclone.conf others can write is
refused for hooks (exit 11, the chmod that fixes it) and shown by `rcwiz doctor`.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import rcwiz


def under_umask(mask: int, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """`rcwiz ARGS` run with umask MASK, as for a user whose shell sets it (what it starts,
    rclone and the hooks, inherit it)."""
    return rcwiz(*args, input=stdin, umask=mask)


def modes_under(home: Path, before: set[Path]) -> dict[str, str]:
    """Every file and folder under HOME that was not in BEFORE, with its mode."""
    return {
        str(p.relative_to(home)): f"{stat.S_IMODE(p.lstat().st_mode):04o}"
        for p in sorted(home.rglob("*"))
        if p not in before
    }


@pytest.mark.parametrize("mask", [0o002, 0o022])
def test_every_file_is_0600_and_every_folder_0700_whatever_the_umask(mask, tmp_path, quota_server):
    home = Path(os.environ["HOME"])
    before = set(home.rglob("*"))  # the XDG folders the test environment made
    source = tmp_path / "src"
    source.mkdir()
    for n in range(3):
        (source / f"f{n}.txt").write_text(f"file {n}\n")
    setup = ("setup", "--preset", "webdav", "--url", quota_server.url, "--vendor", "other")
    setup += ("--user", quota_server.user, "--password-stdin", "--name", "q", "--yes")
    hooks = ("--before", "seq 1 100", "--after", "echo after")
    steps = [
        setup,
        (*setup, "--replace"),  # rclone.conf.bak
        ("copy", str(source), "q:copied"),
        ("quota",),
        ("job", "add", "up", "--source", str(source), "--dest", "q:job", "--yes", *hooks),
        ("job", "add", "down", "--source", "q:job", "--dest", str(tmp_path / "d"), "--yes"),
        ("job", "run", "up"),
        ("job", "run", "down"),
    ]
    for args in steps:
        done = under_umask(mask, *args, stdin=quota_server.password + "\n")
        assert done.returncode == 0, (args, done.stderr)
    made = modes_under(home, before)
    wanted = ["rclone/rclone.conf", "rclone/rclone.conf.bak", "rcwiz/jobs.yaml"]
    wanted += ["rcwiz/history.jsonl", "rcwiz/quota.jsonl", "rcwiz/logs"]
    for name in wanted:
        assert any(path.endswith(name) for path in made), (name, made)
    assert any("-job-up-before.log" in path for path in made), made  # 100 lines: kept
    wrong = {
        path: mode
        for path, mode in made.items()
        if mode != ("0700" if (home / path).is_dir() else "0600")
    }
    assert wrong == {}, f"under umask {mask:03o}: {wrong}"


@pytest.mark.parametrize("mask", [0o002, 0o022])
def test_a_run_with_its_own_rclone_conf_makes_no_folder_of_rclone_s_default_one(
    mask, tmp_path, quota_server, rclone_conf
):
    """`--config FILE` (as `rcwiz demo` uses its own): rclone's version check used to run
    without it and made ~/.config/rclone at 0775 under umask 002, which then held the user's
    rclone.conf from `rcwiz setup`, and `job run` refused every hook for it."""
    conf = rclone_conf(tmp_path / "cfg" / "rclone.conf", {"q": quota_server})
    config_home = tmp_path / "config-home"  # not yet made (the fixture's rclone made HOME's)
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    for args in (("quota",), ("copy", str(source), "q:copied")):
        done = rcwiz(
            "--config", str(conf), *args, umask=mask, env={"XDG_CONFIG_HOME": str(config_home)}
        )
        assert done.returncode == 0, (args, done.stderr)
    assert not config_home.exists(), modes_under(config_home, set())


@pytest.fixture
def job_with_hook(tmp_path, quota_server, rclone_conf):
    conf = rclone_conf(tmp_path / "cfg" / "rclone.conf", {"q": quota_server})
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    marker = tmp_path / "hook-ran"
    jobs = tmp_path / "jobs" / "jobs.yaml"
    jobs.parent.mkdir(mode=0o700)
    jobs.write_text(
        f"jobs:\n  up:\n    source: {source}\n    dest: q:up\n    before: touch {marker}\n"
    )
    jobs.chmod(0o600)
    return conf, jobs, marker


def run_job(conf: Path, jobs: Path) -> subprocess.CompletedProcess:
    return rcwiz("--config", str(conf), "--jobs", str(jobs), "job", "run", "up")


def doctor(conf: Path, jobs: Path) -> subprocess.CompletedProcess:
    return rcwiz("--config", str(conf), "--jobs", str(jobs), "doctor")


@pytest.mark.parametrize("which", ["jobs file", "jobs folder", "rclone.conf", "config folder"])
def test_hooks_others_could_have_written_are_refused_and_doctor_shows_the_chmod(
    which, job_with_hook
):
    conf, jobs, marker = job_with_hook
    place = {
        "jobs file": (jobs, 0o620),
        "jobs folder": (jobs.parent, 0o770),
        "rclone.conf": (conf, 0o602),
        "config folder": (conf.parent, 0o777),
    }[which]
    place[0].chmod(place[1])
    done = run_job(conf, jobs)
    assert done.returncode == 11, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"{place[0]} can be written by" in error and "were not run" in error, error
    assert f"chmod go-w {place[0]}" in done.stderr
    assert not marker.exists() and "Traceback" not in done.stderr
    checked = doctor(conf, jobs)
    assert f"chmod go-w {place[0]}" in checked.stdout, checked.stdout
    assert checked.returncode == 1
    # rclone reads such a file all the same: its remotes are still checked (they were "not
    # checked: rclone cannot read rclone.conf")
    assert "q: reachable" in checked.stdout and "cannot read" not in checked.stdout
    subprocess.run(["chmod", "go-w", str(place[0])], check=True)
    again = run_job(conf, jobs)
    assert again.returncode == 0, again.stderr
    assert marker.exists()
    assert "writable by others" not in doctor(conf, jobs).stdout
