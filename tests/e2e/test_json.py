"""--json: every command's stdout is JSON only, and its last line is one result document with
the same envelope, on success and on failure alike (README, "JSON output")."""

from __future__ import annotations

import os

import pytest
from helpers import ENVELOPE, json_lines, json_result, rcwiz


@pytest.fixture
def world(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  local:\n    source: {src}\n    dest: {tmp_path / 'dst'}\n")
    conf = tmp_path / "rclone.conf"
    conf.write_text("")  # no remotes yet
    return {"src": src, "jobs": jobs, "conf": conf, "tmp": tmp_path}


SUCCEEDS = [
    ("remotes", []),
    ("quota", []),
    ("job list", ["job", "list"]),
    ("job validate", ["job", "validate"]),
    ("job show", ["job", "show", "local"]),
    ("job history", ["job", "history"]),
    ("copy", ["copy", "{src}", "{tmp}/out"]),
    ("job run", ["job", "run", "local"]),
]
FAILS = [
    ("copy", ["copy", "{tmp}/nonexist", "{tmp}/out"], 3, "DirectoryNotFound"),
    ("copy", ["copy", "--bogus", "a", "b"], 2, "UsageError"),
    ("copy", ["copy", "{src}", "{tmp}/out", "--transfers", "0"], 2, "UsageError"),
    ("job run", ["job", "run", "nosuchjob"], 2, "UsageError"),
    ("share", ["share"], 2, "UsageError"),
    ("quota", ["quota", "--warn", "99", "--crit", "10"], 2, "UsageError"),
    ("quota", ["quota", "nosuchremote:"], 3, "RemoteNotFound"),  # as for copy and share
    ("doctor", ["doctor", "no/such"], 2, "UsageError"),
    ("setup", ["setup", "--preset", "webdav"], 2, "UsageError"),
    ("remotes rm", ["remotes", "rm", "nosuchremote"], 3, "RemoteNotFound"),
]


def _argv(world, argv):
    return [a.format(**{k: str(v) for k, v in world.items()}) for a in argv]


@pytest.mark.parametrize(("command", "argv"), SUCCEEDS, ids=[c for c, _ in SUCCEEDS])
def test_a_success_ends_with_one_result_document(world, command, argv):
    done = rcwiz(
        "--json",
        "--config",
        str(world["conf"]),
        "--jobs",
        str(world["jobs"]),
        command.split()[0] if not argv else argv[0],
        *_argv(world, argv[1:]),
    )
    assert done.returncode == 0, done.stderr
    json_lines(done.stdout)  # every line is JSON
    doc = json_result(done.stdout, command)
    assert doc["ok"] is True and "error" not in doc


@pytest.mark.parametrize(("command", "argv", "code", "kind"), FAILS)
def test_a_failure_is_one_json_document_with_the_error(world, command, argv, code, kind):
    done = rcwiz(
        "--json", "--config", str(world["conf"]), "--jobs", str(world["jobs"]), *_argv(world, argv)
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    docs = json_lines(done.stdout)
    doc = json_result(done.stdout, command)
    assert doc["exit_code"] == code
    if kind is None:
        return
    assert set(doc["error"]) == {"type", "message", "hint", "items"}
    assert doc["error"]["type"] == kind and doc["error"]["message"]
    assert done.stderr.startswith("error: ") or "\nerror: " in done.stderr  # text for people
    assert all(set(d) >= ENVELOPE for d in docs[-1:])


def test_remotes_rm_is_named_like_a_job_action(world):
    world["conf"].write_text("[gone]\ntype = webdav\nurl = http://127.0.0.1:9/\n")
    done = rcwiz(
        "--json", "--config", str(world["conf"]), "remotes", "rm", "gone", "--keep-app-password"
    )
    assert done.returncode == 0, done.stderr
    assert json_result(done.stdout, "remotes rm")["removed"] == "gone"
    assert json_result(rcwiz("--json", "--config", str(world["conf"]), "remotes").stdout, "remotes")


def test_a_failed_transfer_document_carries_its_summary(world, quota_server_factory, rclone_conf):
    server = quota_server_factory(quota=1_000_000)
    conf = rclone_conf(world["conf"], {"q": server})
    (world["src"] / "big.bin").write_bytes(os.urandom(3_000_000))
    done = rcwiz("--json", "--config", str(conf), "copy", str(world["src"]), "q:x", "--force")
    assert done.returncode == 5, done.stderr
    doc = json_result(done.stdout, "copy")
    assert doc["event"] == "summary" and doc["outcome"] == "failed"
    assert doc["error"]["type"] == "QuotaExceeded" and "507" in doc["error"]["message"]
    assert json_lines(done.stdout)[0]["event"] == "start"


def test_version_is_a_json_document_with_json():
    done = rcwiz("--json", "--version")
    assert done.returncode == 0
    doc = json_result(done.stdout, "version")
    assert doc["ok"] is True and doc["rcwiz"] == rcwiz("--version").stdout.split()[1]
