"""The command line forgives what a new user types (issue 25.6): the command list for a bare
`rcwiz`, the nearest command, option or remote for a typo, each (sub)command's own usage, global
options after the command, and what removing a remote does to the jobs that use it."""

from __future__ import annotations

import pytest
from helpers import rcwiz

from rcwiz.parser import COMMANDS

CONF = (
    "[nextcloud]\ntype = webdav\nurl = http://127.0.0.1:9/remote.php/dav/files/a/\n"
    "vendor = nextcloud\nuser = a\n"
)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "rclone.conf"
    path.write_text(CONF)
    return path


def test_rcwiz_alone_lists_the_commands():
    done = rcwiz()
    assert done.returncode == 0, done.stderr
    assert all(f"    {name} " in done.stdout for name, _, _ in COMMANDS)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [(["cpy"], "'copy'"), (["job", "rnu", "x"], "'run'"), (["qouta"], "'quota'")],
)
def test_a_mistyped_command_gets_the_nearest_one(typed, meant):
    done = rcwiz(*typed)
    assert done.returncode == 2
    assert f"there is no command '{typed[-2] if len(typed) == 3 else typed[0]}'" in done.stderr
    assert f"did you mean {meant}?" in done.stderr


@pytest.mark.parametrize("command", [["remotes"], ["copy"], ["job", "list"], ["share"]])
def test_version_is_a_global_option_after_the_command_too(command):
    done = rcwiz(*command, "--version")
    assert done.returncode == 0 and done.stdout.startswith("rcwiz "), done.stderr


def test_an_unknown_option_is_named_under_the_commands_own_usage():
    done = rcwiz("copy", "--bogus", "a", "b")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: rcwiz copy ")
    assert "unknown option '--bogus'" in done.stderr and "did you mean" not in done.stderr
    near = rcwiz("copy", "--dry-rn", "a", "b")
    assert "unknown option '--dry-rn' (did you mean '--dry-run'?)" in near.stderr


def test_an_unknown_option_is_named_when_arguments_are_missing_too():
    done = rcwiz("copy", "-x")
    assert done.returncode == 2
    assert "unknown option '-x'" in done.stderr and "required: SRC, DST" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["copy", ".", "nextclod:x"],
        ["check", ".", "nextclod:x"],
        ["quota", "nextclod:"],
        ["share", "nextclod:x", "--list"],
        ["remotes", "rm", "nextclod"],
    ],
    ids=lambda c: c[0],
)
def test_a_mistyped_remote_gets_the_nearest_one_in_every_command(conf, command):
    done = rcwiz("--config", str(conf), *command, cwd=conf.parent)
    assert done.returncode == 3, done.stderr
    assert "no remote named 'nextclod:'" in done.stderr
    assert "Did you mean 'nextcloud:'?" in done.stderr


def test_removing_a_remote_names_the_jobs_that_use_it(conf, tmp_path):
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n"
        "  nightly: {source: /tmp, dest: 'nextcloud:x'}\n"
        "  inputs: {source: 'nextcloud:y', dest: /tmp/y}\n"
        "  local: {source: /tmp, dest: /tmp/z}\n"
    )
    done = rcwiz("--config", str(conf), "--jobs", str(jobs), "remotes", "rm", "nextcloud")
    assert done.returncode == 0, done.stderr
    assert "Jobs inputs, nightly use nextcloud: and will fail" in done.stderr
    assert "local" not in done.stderr


def test_the_remote_name_offered_is_a_free_one(conf):
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        "http://127.0.0.1:9",
        "--user",
        "b",
        "--password-stdin",
        "--yes",
        "--no-verify",
        input="pw\n",
    )
    assert done.returncode == 0, done.stderr
    text = conf.read_text()
    assert text.startswith(CONF) and "[nextcloud2]\n" in text
