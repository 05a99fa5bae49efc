"""The rcwiz command driven as a user would: a separate process, real rclone, real servers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import RCWIZ, json_lines, json_result, rclone_children, rcwiz, running_until

from rcwiz.commands.demo import BIG_FILES, SMALL_FILES, SMALL_SIZES

COMMANDS = ["setup", "remotes", "quota", "usage", "copy", "move", "sync", "check", "job"]
COMMANDS += ["share", "trash", "uploads", "versions", "review", "doctor", "demo"]
JOB_ACTIONS = ["list", "show", "add", "edit", "rm", "validate", "run", "history", "schedule"]
NESTED = {"trash": {"list", "restore", "rm", "empty"}, "uploads": {"list", "rm"}}


# The demos run on one worker of a parallel run, one after the other: a test looks for any
# demo's rclone left running, and another worker's demo would be one.
DEMOS = pytest.mark.xdist_group("demo")


def every_command() -> list[list[str]]:
    """Every command and subcommand, read from the parser itself (so none is forgotten)."""
    import argparse

    from rcwiz.cli import build_parser

    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        found.append(prefix)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return found


def test_the_command_list_is_complete():
    commands = every_command()
    assert {c[0] for c in commands if len(c) == 1} == set(COMMANDS)
    assert {c[1] for c in commands if len(c) == 2 and c[0] == "job"} == set(JOB_ACTIONS)
    for command, actions in NESTED.items():
        assert {c[1] for c in commands if len(c) == 2 and c[0] == command} == actions


def test_version_and_module_entry_point():
    done = rcwiz("--version", process=True)  # the installed command itself, as its own process
    assert done.returncode == 0 and done.stdout.startswith("rcwiz ")


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "rcwiz")
def test_unknown_option_exits_2_with_usage(command):
    done = rcwiz(*command, "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: rcwiz")
    assert "Traceback" not in done.stderr


def test_missing_rclone_has_its_own_exit_code():
    done = rcwiz("--rclone", "/nonexistent", "remotes")
    assert done.returncode == 7
    assert "rclone was not found at /nonexistent" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 2  # one sentence, one hint


def test_a_file_that_is_not_a_program_is_not_called_missing(tmp_path):
    data = tmp_path / "notes.txt"
    data.write_text("not a program")
    done = rcwiz("--rclone", str(data), "remotes")
    assert done.returncode == 7 and "is not a program" in done.stderr
    assert "not found" not in done.stderr


def test_too_old_rclone_is_refused_with_the_reason(tmp_path):
    old = tmp_path / "rclone"
    old.write_text("#!/bin/sh\necho 'rclone v1.60.1-DEV'\n")
    old.chmod(0o755)
    done = rcwiz("remotes", env={"RCLONE_BINARY": str(old)})
    assert done.returncode == 7
    assert "rclone 1.60.1" in done.stderr and "too old" in done.stderr
    assert "listremotes --json" in done.stderr


def test_remotes_json_lists_settings_but_never_a_password(tmp_path, rclone_conf, webdav_server):
    conf = rclone_conf(
        tmp_path / "x.conf",
        {
            "alpha": webdav_server,
            "nc": {
                "url": "https://cloud.example.org/remote.php/dav/files/jdoe/",
                "user": "jdoe",
                "vendor": "nextcloud",
                "password": "app-password-xyz!",
            },
        },
    )
    done = rcwiz("--config", str(conf), "remotes", "--json")
    assert done.returncode == 0, done.stderr
    remotes = {r["name"]: r for r in json_result(done.stdout, "remotes")["remotes"]}
    assert set(remotes) == {"alpha", "nc"}
    assert remotes["nc"]["vendor"] == "nextcloud"
    assert remotes["nc"]["url"] == "https://cloud.example.org/remote.php/dav/files/jdoe/"
    assert remotes["alpha"] == {
        "name": "alpha",
        "type": "webdav",
        "vendor": "other",
        "url": webdav_server.url,
        "user": webdav_server.user,
        "source": "file",
        "description": "",
    }
    obscured = [
        line.split(" = ")[1] for line in conf.read_text().splitlines() if line.startswith("pass = ")
    ]
    assert obscured and all(o not in done.stdout for o in obscured)
    assert "pass" not in {key for r in remotes.values() for key in r}
    assert webdav_server.password not in done.stdout


def test_remotes_table_and_empty_config(tmp_path, rclone_conf, webdav_server):
    conf = rclone_conf(tmp_path / "x.conf", {"alpha": webdav_server})
    done = rcwiz("remotes", "--config", str(conf))
    assert done.returncode == 0 and "alpha" in done.stdout and webdav_server.url in done.stdout
    (tmp_path / "empty.conf").write_text("")
    empty = rcwiz("--config", str(tmp_path / "empty.conf"), "remotes")
    assert empty.returncode == 0 and "No remotes are configured" in empty.stdout
    default = rcwiz("remotes")  # rclone's own file, not there yet: no remotes, not an error
    assert default.returncode == 0 and "No remotes are configured" in default.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["remotes"],
        ["quota"],
        ["copy", "x:", "y"],
        ["job", "add", "j", "--source", "/tmp", "--dest", "x:y"],
    ],
)
def test_a_named_config_that_does_not_exist_is_an_error_not_an_empty_config(tmp_path, command):
    missing = tmp_path / "typo.conf"
    for how in (["--config", str(missing)], []):
        done = rcwiz(*how, *command, env={} if how else {"RCLONE_CONFIG": str(missing)})
        assert done.returncode == 8, done.stdout + done.stderr
        assert f"{missing} (" in done.stderr and "does not exist" in done.stderr
        assert not missing.exists()


def test_doctor_fails_a_named_config_that_does_not_exist(tmp_path):
    done = rcwiz("--config", str(tmp_path / "typo.conf"), "doctor")
    assert done.returncode == 1 and "typo.conf does not exist" in done.stdout


def test_encrypted_config_needs_its_password(tmp_path, rclone_conf, webdav_server, rclone_bin):
    conf = rclone_conf(tmp_path / "enc.conf", {"alpha": webdav_server})
    subprocess.run(
        [
            str(rclone_bin),
            "--config",
            str(conf),
            "config",
            "encryption",
            "set",
            "--password-command",
            "printf %s cfgpw",
        ],
        check=True,
        capture_output=True,
    )
    locked = rcwiz("--config", str(conf), "remotes", "--json", timeout=30)
    assert locked.returncode == 8
    assert "RCLONE_CONFIG_PASS" in locked.stderr and "Traceback" not in locked.stderr
    opened = rcwiz("--config", str(conf), "remotes", "--json", env={"RCLONE_CONFIG_PASS": "cfgpw"})
    assert opened.returncode == 0, opened.stderr
    assert [r["name"] for r in json_result(opened.stdout)["remotes"]] == ["alpha"]


def _sample_size() -> tuple[int, int]:
    small = sum(SMALL_SIZES[i % len(SMALL_SIZES)] for i in range(SMALL_FILES))
    return SMALL_FILES + len(BIG_FILES), small + sum(m * 2**20 for m in BIG_FILES)


@DEMOS
def test_demo_runs_in_under_a_minute_and_shows_progress_remote_and_quota():
    start = time.monotonic()
    done = rcwiz("demo", timeout=90)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 60
    out = done.stdout
    assert " progress " in out  # plain progress lines: stdout is not a terminal here
    assert "\x1b[" not in out
    files, _ = _sample_size()
    assert f"in {files} file(s)" in out
    assert "demo" in out and "webdav" in out and "http://127.0.0.1:" in out  # remotes table
    assert "256.0 MiB" in out  # the quota report's total


@DEMOS
def test_demo_json_reports_exact_numbers():
    done = rcwiz("--json", "demo", timeout=90)
    assert done.returncode == 0, done.stderr
    docs = json_lines(done.stdout)
    files, size = _sample_size()
    final = json_result(done.stdout, "demo")
    summary = final["copied"]
    assert (summary["bytes"], summary["files"], summary["outcome"]) == (size, files, "ok")
    assert docs[0]["event"] == "start" and final["event"] == "demo"
    assert final["quota"][0]["used"] == size
    assert final["quota"][0]["total"] == 256 * 2**20
    assert final["quota"][0]["free"] == 256 * 2**20 - size
    assert final["remotes"][0]["name"] == "demo"


def _rclones_of(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "rclone" and marker in cmdline:
            found.append(proc)
    return found


@DEMOS
def test_sigint_mid_copy_exits_130_and_leaves_no_rclone():
    with running_until([*RCWIZ, "demo", "--log-interval", "0.2"], " progress ") as proc:
        children = rclone_children(proc.pid)
        assert children, "rclone should be running mid-copy"
        mine = os.path.join(os.environ["TMPDIR"], "rcwiz-demo-")  # another worker may run a demo
        assert _rclones_of(mine), "this demo's rclone is found by its folder"
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
    assert code == 130, err
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
    assert not _rclones_of(mine)


@DEMOS
def test_sigkill_of_rcwiz_takes_rclone_down_too():
    argv = [*RCWIZ, "demo", "--log-interval", "0.2"]
    with running_until(argv, " progress ", stderr=subprocess.DEVNULL) as proc:
        children = rclone_children(proc.pid)
        assert children
        proc.kill()
        proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
    # What nobody could remove (the demo's 58 MB folder) is removed here, not left in TMPDIR.
    (left,) = Path(os.environ["TMPDIR"]).glob("rcwiz-demo-*")
    shutil.rmtree(left)


def test_python_m_rcwiz_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "rcwiz", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "remotes" in done.stdout


def test_remotes_rm_keeps_the_others_and_no_copy_of_the_removed_password(
    tmp_path, rclone_conf, webdav_server
):
    conf = rclone_conf(tmp_path / "r.conf", {"keep": webdav_server, "gone": webdav_server})
    before = conf.read_text()
    keep_section = before[before.index("[keep]") : before.index("[gone]")]
    gone_pass = next(line for line in before.split("[gone]")[1].splitlines() if "pass" in line)
    done = rcwiz("--config", str(conf), "remotes", "rm", "gone")
    assert done.returncode == 0, done.stderr
    after = conf.read_text()
    assert "[gone]" not in after and keep_section.strip() in after
    backup = (tmp_path / "r.conf.bak").read_text()
    assert "[gone]" in backup and webdav_server.url in backup  # what it was, to set it up again
    assert gone_pass not in backup and gone_pass.split("=")[1].strip() not in backup
    assert keep_section in backup  # the other remotes' passwords are where they always were


def test_remotes_rm_revoke_says_when_there_is_no_app_password_to_revoke(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text("[a]\ntype = webdav\nurl = http://127.0.0.1:9/\nvendor = nextcloud\n")
    done = rcwiz("--config", str(conf), "remotes", "rm", "a", "--revoke")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Nothing to revoke" in done.stdout + done.stderr
    assert "[a]" not in conf.read_text()


def test_remotes_rm_refuses_a_file_rclone_cannot_read(tmp_path):
    conf = tmp_path / "broken.conf"
    conf.write_text("[a]\ntype = webdav\nurl = http://127.0.0.1:9/\n[b\nthis is not ini\n")
    done = rcwiz("--config", str(conf), "remotes", "rm", "a")
    assert done.returncode == 8, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert conf.read_text().startswith("[a]") and not (tmp_path / "broken.conf.bak").exists()


def test_sentences_wrap_at_words_on_a_narrow_terminal():
    """rich breaks the lines itself (the terminal would cut words in half)."""
    import pexpect

    missing = "/nonexistent/typo.conf"  # short: a word longer than a line is folded
    child = pexpect.spawn(
        RCWIZ[0],
        [*RCWIZ[1:], "--config", str(missing), "remotes"],
        encoding="utf-8",
        timeout=30,
        dimensions=(24, 40),
        env={**os.environ, "COLUMNS": "40"},  # under pytest the child otherwise sees 80
    )
    child.expect(pexpect.EOF)
    child.close()
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", child.before)
    lines = [line for line in text.splitlines() if line.strip()]
    words = [w for line in lines for w in line.split()]
    assert child.exitstatus == 8 and lines
    assert all(len(line) <= 40 for line in lines), lines
    assert "does" in words and "exist." in words  # whole words, not "doe" + "s"
