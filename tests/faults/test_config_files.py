"""rclone.conf and command lines that are not what rcwiz expects: each is one sentence and its
documented exit code, never a traceback, never a file changed behind the user's back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RCWIZ, rcwiz

TWICE = "[a]\ntype = webdav\nurl = http://127.0.0.1:9/first/\n\n[a]\ntype = webdav\nurl = http://127.0.0.1:9/last/\n"


def test_a_remote_defined_twice_is_not_edited(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text(TWICE)
    removed = rcwiz("--config", str(conf), "remotes", "rm", "a")
    assert removed.returncode == 8, removed.stdout + removed.stderr
    assert "rclone.conf defines [a] 2 times (lines 1 and 5)" in removed.stderr
    replaced = rcwiz(
        *("--config", str(conf), "setup", "--preset", "webdav", "--no-verify"),
        *("--url", "http://127.0.0.1:9/new/", "--user", "u", "--password-stdin"),
        *("--name", "a", "--replace", "--yes"),
        input="pw\n",
    )
    assert replaced.returncode == 8, replaced.stdout + replaced.stderr
    added = rcwiz(
        *("--config", str(conf), "setup", "--preset", "webdav", "--no-verify"),
        *("--url", "http://127.0.0.1:9/new/", "--user", "u", "--password-stdin"),
        *("--name", "new1", "--yes"),
        input="pw\n",
    )
    assert added.returncode == 8, added.stdout + added.stderr  # another name: the same file
    (error,) = [line for line in added.stderr.splitlines() if line.startswith("error:")]
    assert "[a] 2 times" in error and "rclone uses them merged" in error
    assert conf.read_text() == TWICE


def test_a_remote_defined_twice_is_one_warning_for_every_command_that_reads(
    tmp_path, quota_server, rclone_conf
):
    """rclone (1.75) merges the sections: every key of each, a key's last value winning. The
    remote below works only that way: its first section points at a dead port, its second
    at the server, and only the first holds the type, the user and the password."""
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {
            "q": {
                "url": "http://127.0.0.1:9/dead/",
                "user": quota_server.user,
                "password": quota_server.password,
            }
        },
    )
    with conf.open("a") as handle:
        handle.write(f"\n[other]\ntype = local\n\n[q]\nurl = {quota_server.url}\n")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  up:\n    source: {tmp_path / 'src'}\n    dest: q:up\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a\n")
    warning = (
        "warning: rclone.conf defines [q] 2 times (lines 1 and 11); rclone uses them merged: "
        "every key of each, a key set twice taking its last value."
    )
    base = ("--config", str(conf), "--jobs", str(jobs))
    for argv in (
        ["remotes"],
        ["quota"],
        ["copy", str(tmp_path / "src"), "q:copied"],
        ["job", "run", "up"],
        ["doctor", "q:"],
    ):
        done = rcwiz(*base, *argv)
        assert done.returncode == 0, (argv, done.stdout + done.stderr)
        assert done.stderr.count(warning) == 1, (argv, done.stderr)
    listed = rcwiz(*base, "--json", "remotes")
    assert f'"url": "{quota_server.url}"' in listed.stdout  # the merge, as rclone reads it


def test_a_corrupt_config_is_exit_8_without_raw_bytes(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_bytes(b"[a]\ntype = webdav\n\xff\xfe\x1b[31mjunk\x07\n")
    for argv in (["remotes"], ["quota"], ["copy", str(tmp_path), "a:x"]):
        done = rcwiz("--config", str(conf), *argv)
        assert done.returncode == 8, done.stdout + done.stderr
        assert "\x1b" not in done.stderr and "\x07" not in done.stderr
        assert "Traceback" not in done.stderr


def test_a_folder_given_as_config_is_exit_8(tmp_path):
    done = rcwiz("--config", str(tmp_path), "remotes")
    assert done.returncode == 8, done.stdout + done.stderr
    assert "is a folder" in done.stderr


def test_config_with_equals_and_tilde_names_one_file_everywhere(tmp_path):
    home = Path(os.environ["HOME"])
    done = rcwiz(
        *("--config=~/tilde.conf", "setup", "--preset", "webdav", "--no-verify"),
        *("--url", "http://127.0.0.1:9/", "--user", "u", "--password-stdin"),
        *("--name", "t", "--yes"),
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    assert (home / "tilde.conf").exists() and not Path("~").exists()
    listed = rcwiz("--config=~/tilde.conf", "remotes")
    assert listed.returncode == 0 and "http://127.0.0.1:9/" in listed.stdout


def test_a_relative_rclone_is_the_one_that_runs(tmp_path):
    """--rclone ./rclone: the checked binary runs, not the rclone found on PATH."""
    real = Path(sys.executable).parent / "rclone"
    marker = tmp_path / "ran"
    wrapper = tmp_path / "rclone"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "empty.conf").write_text("")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    # rclone.conf is read in-process now: a copy is what certainly starts rclone for real work.
    done = subprocess.run(
        [RCWIZ[0], "--rclone", "./rclone", "--config", "empty.conf", "copy", "src", "dst"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    ran = marker.read_text().splitlines() if marker.exists() else []
    assert any("copy" in line.split() for line in ran), ran
    assert (tmp_path / "dst" / "a.txt").read_text() == "a"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["copy", "", "x"], "SRC is empty"),
        (["copy", "{tmp}", ""], "DST is empty"),
        (["copy", "{tmp}", "{tmp}/out", "--include", "["], "mismatched"),
        (["copy", "{tmp}", "{tmp}/out", "--transfers", "0"], "--transfers"),
        (["copy", "{tmp}", "{tmp}/out", "--transfers", "-5"], "--transfers"),
        (["--stall-timeout", "nan", "copy", "{tmp}", "{tmp}/out"], "--stall-timeout"),
        (["--stall-timeout", "-1", "quota"], "--stall-timeout"),
        (["setup", "--login-flow", "--login-timeout", "nan"], "--login-timeout"),
        (["setup", "--login-flow", "--login-timeout", "-1"], "--login-timeout"),
    ],
)
def test_unusable_option_values_are_usage_errors(tmp_path, argv, said):
    (tmp_path / "empty.conf").write_text("")
    argv = [a.format(tmp=tmp_path) for a in argv]
    done = rcwiz("--config", str(tmp_path / "empty.conf"), *argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr


def test_a_symlinked_rclone_conf_stays_a_link_and_its_target_is_updated(tmp_path):
    target = tmp_path / "dotfiles" / "rclone.conf"
    target.parent.mkdir()
    target.write_text("[other]\ntype = local\n")
    link = tmp_path / "rclone.conf"
    link.symlink_to(target)
    done = rcwiz(
        *("--config", str(link), "setup", "--preset", "webdav", "--no-verify"),
        *("--url", "http://127.0.0.1:9/", "--user", "u", "--password-stdin"),
        *("--name", "n", "--yes"),
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and "[n]" in target.read_text() and "[other]" in target.read_text()
    assert (target.parent / "rclone.conf.bak").read_text() == "[other]\ntype = local\n"


def test_temp_files_a_killed_writer_left_are_removed_by_the_next_write(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text("[other]\ntype = local\n")
    stale = tmp_path / ".rclone.conf.abc123.tmp"
    stale.write_text("[half\n")
    unrelated = tmp_path / ".other.abc.tmp"
    unrelated.write_text("not ours")
    done = rcwiz(
        *("--config", str(conf), "setup", "--preset", "webdav", "--no-verify"),
        *("--url", "http://127.0.0.1:9/", "--user", "u", "--password-stdin"),
        *("--name", "n", "--yes"),
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    assert not stale.exists() and unrelated.exists()
