"""A bulk request whose answer comes later than the stall timeout, on the real Nextcloud 30
behind request_faults.RequestFaults ("late": the server writes every file of the request, its
answer is held until rcwiz goes away), as a big account on a busy server does: the run goes on
and counts every file once (rcwiz.transfer.late), where it used to stop with exit 6. A request
the server never took (the "hung" fault) still stops the run: test_nc_stops.py.

A request whose answer never came may have been written all the same, after rcwiz looked:
its files, left to rclone, are then found there by rclone, and counted once, as bulk upload's.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import files_of, same_bytes
from helpers import json_lines, rcwiz
from request_faults import GATEWAY, LATE, RequestFaults

STALL = 5.0  # the server writes the first request's files well within it
FILES = 60  # in one folder: its requests go one after another


def one_folder(folder: Path, count: int) -> Path:
    """COUNT files of a few kB in FOLDER/docs."""
    (folder / "docs").mkdir(parents=True)
    for i in range(count):
        (folder / "docs" / f"note-{i:03d}.txt").write_bytes(os.urandom(1000 + i))
    return folder


def test_a_bulk_answer_later_than_the_stall_timeout_does_not_end_the_run(
    nc_user, nc_remote, rclone_conf, tmp_path
):
    source = one_folder(tmp_path / "src", FILES)
    with RequestFaults(nc_user.server.url, "bulk", LATE, times=1) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "late.conf", {"nc": nc_user.remote(url=url)})
        argv = ["--json", "--stall-timeout", f"{STALL:g}", "--config", str(conf)]
        done = rcwiz(*argv, "copy", str(source), "nc:late")
    assert proxy.answered["bulk"].is_set(), "the first bulk request never reached the server"
    # held until rcwiz gave up on it (its clock started as its last byte left, a little
    # before the proxy had read the request)
    assert proxy.lasted["bulk"] >= STALL - 0.5, "its answer was not held to the stall timeout"
    assert done.returncode == 0, done.stderr
    assert "got no answer within the stall timeout" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert same_bytes(source, nc_user.files / "late")
    summary = json_lines(done.stdout)[-1]
    expected = files_of(source)
    assert (summary["files"], summary["bytes"], summary["errors"]) == (
        len(expected),
        sum(expected.values()),
        0,
    )
    # Nothing was left out, nor stored under another name: a re-run has nothing to do.
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:late")
    assert again.returncode == 0 and json_lines(again.stdout)[-1]["files"] == 0


def test_files_a_bulk_request_wrote_without_an_answer_are_counted_once(
    nc_user, nc_remote, rclone_conf, tmp_path
):
    """The server writes the first bulk request, a proxy in front answers 504 (it gave up
    waiting): its files go to rclone, which finds them there. They arrived in this run, sent
    by rcwiz: the summary counts each once (it counted none of them, 0 of 60, before)."""
    source = one_folder(tmp_path / "src", FILES)
    with RequestFaults(nc_user.server.url, "bulk", GATEWAY, times=1) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "gateway.conf", {"nc": nc_user.remote(url=url)})
        done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:gateway")
    assert proxy.answered["bulk"].is_set(), "the first bulk request never reached the server"
    assert done.returncode == 0, done.stderr
    assert "a bulk upload request failed" in done.stderr, done.stderr
    assert same_bytes(source, nc_user.files / "gateway")
    summary = json_lines(done.stdout)[-1]
    expected = files_of(source)
    counted = (summary["files"], summary["bytes"], summary["errors"], summary["checked"])
    assert counted == (len(expected), sum(expected.values()), 0, 0), summary
    # the first request's files by bulk upload (found by rclone), the others rclone sent
    assert summary["bulk_files"] > 0, summary
    assert summary["bulk_files"] + summary["rclone_files"] == len(expected), summary
