"""What a re-run says on the real Nextcloud 30 (issue 25.5): the files the fast path's listing
compared are counted as checked (text and --json), the log is not called rclone's when
rclone never ran, the start event names the fast path instead of a fake argv, and empty
folders rclone leaves out are said once."""

from __future__ import annotations

from helpers import json_lines, rcwiz, small_tree


def test_an_upload_re_run_says_what_it_compared(real_nextcloud, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 25)
    (source / "nothing-here" / "deeper").mkdir(parents=True)
    first = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:up")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("empty folder(s), such as nothing-here,") == 1
    assert "--create-empty-src-dirs" in first.stdout
    again = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:up")
    assert again.returncode == 0, again.stderr
    assert "(25 already up to date)" in again.stdout
    assert "full rclone log" not in again.stdout and " log: " in again.stdout
    events = json_lines(
        rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:up").stdout
    )
    start, result = events[0], events[-1]
    assert (start["event"], start["via"], start["rclone_argv"]) == ("start", "bulk-upload", None)
    assert (result["checked"], result["files"], result["rclone_ran"]) == (25, 0, False)


def test_a_download_re_run_says_what_it_compared(real_nextcloud, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 12)
    assert rcwiz("--config", str(nc_remote), "copy", str(source), "nc:down").returncode == 0
    target = tmp_path / "target"
    assert rcwiz("--config", str(nc_remote), "copy", "nc:down", str(target)).returncode == 0
    events = json_lines(
        rcwiz("--json", "--config", str(nc_remote), "copy", "nc:down", str(target)).stdout
    )
    start, result = events[0], events[-1]
    assert start["via"] == "archive-download" and start["rclone_argv"] is None
    assert (result["checked"], result["files"], result["rclone_ran"]) == (12, 0, False)


def test_a_run_rclone_does_keeps_its_argv_and_its_log_name(real_nextcloud, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 3)
    done = rcwiz(
        "--json", "--config", str(nc_remote), "copy", str(source), "nc:plain", "--checksum"
    )
    start, result = json_lines(done.stdout)[0], json_lines(done.stdout)[-1]
    assert start["via"] == "rclone" and "nc:plain" in start["rclone_argv"]
    assert result["rclone_ran"] is True and result["files"] == 3
