"""`rcwiz copy / move / sync` on the real rclone and the real quota server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pexpect
import psutil
import pytest
from helpers import (
    RCWIZ,
    json_lines,
    json_result,
    make_source,
    rclone_children,
    rcwiz,
    running_until,
    tree_size,
)


@pytest.fixture
def setup_remote(tmp_path, rclone_conf):
    def make(server, name="q", **extra):
        spec = {"url": server.url, "user": server.user, "password": server.password, **extra}
        return rclone_conf(tmp_path / "rclone.conf", {name: spec})

    return make


def test_json_copy_summary_matches_the_source(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src")
    files, size = tree_size(source)
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "q:results")
    assert done.returncode == 0, done.stderr
    docs = json_lines(done.stdout)  # every line parses
    summary = docs[-1]
    assert summary["event"] == "summary"
    assert (summary["bytes"], summary["files"], summary["errors"]) == (size, files, 0)
    assert tree_size(quota_server.root / "results") == (files, size)
    assert os.path.exists(summary["log_path"])


def test_plain_copy_logs_progress_lines_without_escape_codes(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=3, big_mib=(6,))
    done = rcwiz(
        "--config",
        str(conf),
        "copy",
        str(source),
        "q:x",
        "--bwlimit",
        "3M",
        "--log-interval",
        "0.5",
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    lines = done.stdout.splitlines()
    # The date on the first line (and on any line whose day changed), the time on every line.
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d start copy ", lines[0])
    assert all(re.match(r"(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d ", line) for line in lines)
    progress = [line for line in lines if " progress " in line]
    assert len(progress) >= 3 and all(len(line) <= 80 for line in progress)
    assert any("Done: copy" in line for line in lines)
    assert any("full rclone log: " in line for line in lines)


def test_a_copy_that_does_not_fit_is_refused_before_any_byte(
    tmp_path, quota_server_factory, setup_remote
):
    server = quota_server_factory(quota=5 * 2**20)
    conf = setup_remote(server)
    source = make_source(tmp_path / "src", small=5, big_mib=(3, 4))
    _, size = tree_size(source)
    done = rcwiz("--config", str(conf), "copy", str(source), "q:x")
    assert done.returncode == 9, done.stderr
    assert f"({size} bytes)" in done.stderr and f"({5 * 2**20} bytes)" in done.stderr
    assert "--force" in done.stderr
    assert server.used_bytes() == 0


def test_force_stops_at_the_first_507_within_seconds(tmp_path, quota_server_factory, setup_remote):
    server = quota_server_factory(quota=5 * 2**20)
    conf = setup_remote(server)
    source = make_source(tmp_path / "src", small=40, big_mib=(3, 4))
    started = time.monotonic()
    done = rcwiz("--config", str(conf), "copy", str(source), "q:x", "--force", "--transfers", "1")
    elapsed = time.monotonic() - started
    assert done.returncode == 5, done.stderr
    assert "507 Insufficient Storage" in done.stderr
    assert "run the same command again" in done.stderr.lower()
    assert elapsed < 15  # rclone alone goes on through every file and retry for minutes


def _rclones() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "rclone"]


def test_server_killed_mid_copy_ends_within_the_stall_timeout_and_resumes(
    tmp_path, quota_server_factory, setup_remote, rclone_bin
):
    server = quota_server_factory(quota=500 * 2**20)
    conf = setup_remote(server)
    source = make_source(tmp_path / "src", small=10, big_mib=(12, 12))
    proc = subprocess.Popen(
        [
            *RCWIZ,
            "--config",
            str(conf),
            "copy",
            str(source),
            "q:x",
            "--bwlimit",
            "4M",
            "--stall-timeout",
            "3",
            "--log-interval",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in proc.stdout:
            if " progress " in line and "0 B /" not in line:
                break
        server.kill()
        killed_at = time.monotonic()
        code = proc.wait(timeout=60)
        ended = time.monotonic() - killed_at
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 6, err
    assert "seems unreachable" in err and "run the same command again" in err.lower()
    assert ended < 3 + 10
    server.restart()
    again = rcwiz("--config", str(conf), "copy", str(source), "q:x")
    assert again.returncode == 0, again.stderr
    check = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "check", str(source), "q:x"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_sigint_mid_copy_exits_130_and_leaves_no_rclone(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=3, big_mib=(10,))
    argv = [
        *RCWIZ,
        "--config",
        str(conf),
        "copy",
        str(source),
        "q:x",
        "--bwlimit",
        "2M",
        "--log-interval",
        "0.2",
    ]
    with running_until(argv, " progress ") as proc:
        children = rclone_children(proc.pid)
        assert children
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        out, err = proc.stdout.read(), proc.stderr.read()
    assert code == 130, err
    assert "Interrupted" in out + err  # the summary says what was done
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive


def test_sync_lists_deletions_and_needs_yes_without_a_terminal(
    tmp_path, quota_server, setup_remote
):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=4, big_mib=())
    assert rcwiz("--config", str(conf), "copy", str(source), "q:mirror").returncode == 0
    (source / "d0" / "small-00.csv").unlink()
    (source / "d1" / "small-01.csv").unlink()
    refused = rcwiz("--config", str(conf), "sync", str(source), "q:mirror")
    assert refused.returncode == 2
    assert "d0/small-00.csv" in refused.stdout and "d1/small-01.csv" in refused.stdout
    assert "--yes" in refused.stderr
    assert (quota_server.root / "mirror" / "d0" / "small-00.csv").exists()
    done = rcwiz("--config", str(conf), "sync", str(source), "q:mirror", "--yes")
    assert done.returncode == 0, done.stderr
    assert not (quota_server.root / "mirror" / "d0" / "small-00.csv").exists()
    assert tree_size(quota_server.root / "mirror") == tree_size(source)


def test_a_refused_sync_in_json_carries_the_deletions_and_no_is_a_note(
    tmp_path, quota_server, setup_remote
):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=4, big_mib=())
    assert rcwiz("--config", str(conf), "copy", str(source), "q:mirror").returncode == 0
    (source / "d0" / "small-00.csv").unlink()
    refused = rcwiz("--json", "--config", str(conf), "sync", str(source), "q:mirror")
    assert refused.returncode == 2
    error = json_lines(refused.stdout)[-1]["error"]
    assert error["items"] == ["- d0/small-00.csv"]
    child = pexpect.spawn(
        RCWIZ[0],
        [*RCWIZ[1:], "--config", str(conf), "sync", str(source), "q:mirror"],
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
    )
    child.expect("Delete these files")
    child.send("n\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Nothing was changed." in child.before and "error:" not in child.before
    assert (quota_server.root / "mirror" / "d0" / "small-00.csv").exists()


def test_a_sync_dry_run_names_what_it_would_send_and_delete(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=4, big_mib=())
    assert rcwiz("--config", str(conf), "copy", str(source), "q:m").returncode == 0
    (source / "d0" / "small-00.csv").unlink()
    (source / "new.txt").write_text("new")
    done = rcwiz("--config", str(conf), "sync", str(source), "q:m", "--dry-run")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "would delete 1 file(s)" in out and "deleted" not in out.replace("would delete", "")
    assert out.index("would send:") < out.index("new.txt") < out.index("would delete:")
    assert out.index("would delete:") < out.index("d0/small-00.csv")
    assert "average" not in out  # nothing moved: no speed to report
    assert (quota_server.root / "m" / "d0" / "small-00.csv").exists()


def test_a_download_dry_run_names_what_it_would_fetch(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=2, big_mib=())
    assert rcwiz("--config", str(conf), "copy", str(source), "q:m").returncode == 0
    back = tmp_path / "back"
    done = rcwiz("--config", str(conf), "copy", "q:m", str(back), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "would fetch:" in done.stdout and " send" not in done.stdout, done.stdout
    assert "d0/small-00.csv" in done.stdout and not back.exists()
    as_json = rcwiz("--config", str(conf), "copy", "q:m", str(back), "--dry-run", "--json")
    summary = json_result(as_json.stdout, "copy")  # the JSON's key is the same both ways
    assert "d0/small-00.csv" in summary["would_send"] and "download" not in summary


def test_dry_run_shows_the_command_with_nextcloud_tuning_and_changes_nothing(
    tmp_path, quota_server, setup_remote
):
    user_dir = quota_server.root / "remote.php" / "dav" / "files" / quota_server.user
    user_dir.mkdir(parents=True)
    conf = setup_remote(
        quota_server,
        name="nc",
        vendor="nextcloud",
        url=f"{quota_server.url}remote.php/dav/files/{quota_server.user}/",
    )
    source = make_source(tmp_path / "src", small=3, big_mib=())
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:x", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "--webdav-nextcloud-chunk-size 64M" in done.stdout
    assert "--dry-run" in done.stdout
    assert "would transfer" in done.stdout and "in 3 file(s)" in done.stdout
    assert list(user_dir.iterdir()) == []


def test_arguments_after_double_dash_reach_rclone(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=5, big_mib=(2,))
    done = rcwiz(
        "--json", "--config", str(conf), "copy", str(source), "q:x", "--", "--max-size", "1M"
    )
    assert done.returncode == 0, done.stderr
    docs = json_lines(done.stdout)
    assert "--max-size" in docs[0]["rclone_argv"]
    assert docs[-1]["files"] == 5
    bad = rcwiz("--config", str(conf), "remotes", "--", "--max-size", "1M")
    assert bad.returncode == 2


def test_json_progress_never_exceeds_100_percent(tmp_path, quota_server, setup_remote):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=20, big_mib=(5,))
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "q:x", "--bwlimit", "8M")
    progress = [d for d in json_lines(done.stdout) if d["event"] == "progress"]
    assert progress
    assert all(d["percent"] is None or 0 <= d["percent"] <= 100 for d in progress)
    assert json.loads(done.stdout.splitlines()[-1])["outcome"] == "ok"


@pytest.mark.parametrize("json_mode", [False, True])
def test_a_closed_pipe_stops_rclone_and_exits_quietly(
    tmp_path, quota_server, setup_remote, json_mode
):
    conf = setup_remote(quota_server)
    source = make_source(tmp_path / "src", small=2, big_mib=(8,))
    argv = [
        *RCWIZ,
        *(["--json"] if json_mode else []),
        "--config",
        str(conf),
        "copy",
        str(source),
        "q:pipe",
        "--bwlimit",
        "1M",
        "--log-interval",
        "0.1",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # what `head -1` reads, then it goes away
    deadline = time.monotonic() + 30
    while not rclone_children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    children = rclone_children(proc.pid)
    assert children, "rclone never started"
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141, err
    assert "Internal error" not in err and "Traceback" not in err and "BrokenPipe" not in err
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)


@pytest.mark.parametrize("verb", ["copy", "move", "sync", "job"])
@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_missing_source_is_named_as_the_source(
    tmp_path, quota_server, setup_remote, verb, direction
):
    conf = setup_remote(quota_server)
    (tmp_path / "here").mkdir()
    source, dest = (
        (str(tmp_path / "nonexist"), "q:there")
        if direction == "up"
        else ("q:nonexist", str(tmp_path / "here"))
    )
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  j:\n    source: {source}\n    dest: {dest}\n")
    argv = (
        ["job", "run", "j"]
        if verb == "job"
        else [verb, source, dest, "--yes"][: 4 if verb == "sync" else 3]
    )
    done = rcwiz("--config", str(conf), "--jobs", str(jobs), *argv)
    assert done.returncode == 3, done.stderr
    assert f"The source was not found: {source}." in done.stderr
    assert dest not in done.stderr.split("\n")[0]


def test_a_re_run_says_the_files_were_already_there_and_prints_each_line_once(tmp_path):
    source = make_source(tmp_path / "src", small=3, big_mib=())
    first = rcwiz("copy", str(source), str(tmp_path / "out"))
    assert first.returncode == 0, first.stderr
    progress = [line for line in first.stdout.splitlines() if " progress " in line]
    assert len(progress) == len(set(line.split(" ", 1)[1] for line in progress))
    again = rcwiz("copy", str(source), str(tmp_path / "out"))
    assert again.returncode == 0, again.stderr
    assert "in 0 file(s) (3 already up to date)" in again.stdout


def test_a_sync_that_only_deletes_does_not_count_deletions_as_up_to_date(tmp_path):
    source = make_source(tmp_path / "src", small=3, big_mib=())
    out = tmp_path / "out"
    assert rcwiz("copy", str(source), str(out)).returncode == 0
    for extra in ("old-1.txt", "old-2.txt"):
        (out / extra).write_text("gone soon")
    done = rcwiz("sync", str(source), str(out), "--yes")
    assert done.returncode == 0, done.stderr
    assert "in 0 file(s) (3 already up to date)" in done.stdout, done.stdout
    assert "2 deleted" in done.stdout
