"""The archive download fast path against the real Nextcloud 30, read from its request log.

One failure comes from the real server itself: a file in its cache but gone from its disk
makes it cut the archive off and append an error page. The faults it cannot be made to show
on demand (a hostile entry, an error page alone, HTTP 500, a stall, a Nextcloud 31) come from
archive_faults.ArchiveFaults, a proxy in front of the real server that replaces only its
archive answers: the listing and rclone's fallback still go to the real Nextcloud.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from archive_faults import HOSTILE, LEGACY, ArchiveFaults
from conftest import MiB, big_file, files_of, same_bytes
from helpers import RCWIZ, json_lines, rcwiz, small_tree
from realnc import wait_for


def upload(conf: Path, source: Path, folder: str) -> None:
    done = rcwiz("--config", str(conf), "copy", str(source), f"nc:{folder}")
    assert done.returncode == 0, done.stderr


def archive_gets(requests):
    return [r for r in requests if r.method == "GET" and r.path.startswith(LEGACY)]


def file_gets(requests, user):
    prefix = f"/remote.php/dav/files/{user.name}/"
    return [r for r in requests if r.method == "GET" and r.path.startswith(prefix)]


def listing(rclone_bin: Path, conf: Path, remote: str) -> dict[str, dict]:
    done = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "lsjson", "-R", "--files-only", remote],
        capture_output=True,
        text=True,
        check=True,
    )
    return {entry["Path"]: entry for entry in json.loads(done.stdout)}


def mtime_of(entry: dict) -> float:
    from datetime import datetime

    return datetime.fromisoformat(entry["ModTime"].replace("Z", "+00:00")).timestamp()


def summary_of(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    return json_lines(done.stdout)[-1]


def rclone_ran(summary: dict) -> bool:
    """rclone itself ran in this transfer (its start line is in the run's log)."""
    log = Path(summary["log_path"]).read_text().splitlines()
    return any(json.loads(line).get("rcwiz") == "start" for line in log)


def test_small_files_come_in_a_few_archives_with_the_listings_times_and_a_rerun_fetches_nothing(
    real_nextcloud, nc_user, nc_remote, tmp_path, rclone_bin
):
    source = small_tree(tmp_path / "src", 230)
    (source / "set-1" / "deeper").mkdir()
    (source / "set-1" / "deeper" / "note.txt").write_text("deep down\n")
    big_file(source / "big.bin", 5 * MiB)  # above the archive threshold: rclone fetches it
    upload(nc_remote, source, "project")
    listed = listing(rclone_bin, nc_remote, "nc:project")
    back = tmp_path / "back"
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:project", str(back))
    summary = summary_of(done)
    requests = real_nextcloud.requests_since(mark)
    archives = archive_gets(requests)
    assert 1 <= len(archives) <= 4 and all(r.status == 200 for r in archives)
    assert [r.path.rsplit("/", 1)[1] for r in file_gets(requests, nc_user)] == ["big.bin"]
    assert same_bytes(source, back)
    for rel, entry in listed.items():
        local = (back / rel).stat()
        assert (local.st_size, local.st_mtime) == (entry["Size"], mtime_of(entry)), rel
    expected = files_of(source)
    assert (summary["files"], summary["bytes"], summary["errors"]) == (
        len(expected),
        sum(expected.values()),
        0,
    )
    assert summary["archive_files"] == len(expected) - 1
    assert "small file(s) came in" in done.stderr and "Traceback" not in done.stderr

    mark = real_nextcloud.log_mark()
    again = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:project", str(back))
    summary = summary_of(again)
    requests = real_nextcloud.requests_since(mark)
    assert archive_gets(requests) == [] and file_gets(requests, nc_user) == []
    assert (summary["files"], summary["bytes"]) == (0, 0)
    assert not rclone_ran(summary)  # nothing was left: one listing, no second one by rclone


def test_only_what_changed_comes_again(real_nextcloud, nc_user, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 12)
    upload(nc_remote, source, "delta")
    back = tmp_path / "back"
    assert summary_of(rcwiz("--json", "--config", str(nc_remote), "copy", "nc:delta", str(back)))
    assert nc_user.dav("PUT", "delta/set-0/sample-0000.txt", b"changed on the server")[0] == 204
    assert nc_user.dav("PUT", "delta/set-2/added.txt", b"new on the server")[0] == 201
    kept = back / "set-3" / "sample-0003.txt"
    before = kept.stat()
    os.utime(back / "set-1" / "sample-0001.txt", (1_600_000_000, 1_600_000_000))
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:delta", str(back))
    summary = summary_of(done)
    names = {d["name"] for d in json_lines(done.stdout) if d.get("event") == "file"}
    assert names == {"set-0/sample-0000.txt", "set-2/added.txt", "set-1/sample-0001.txt"}
    assert summary["files"] == 3 and summary["archive_files"] == 3
    assert (back / "set-0" / "sample-0000.txt").read_bytes() == b"changed on the server"
    assert (back / "set-2" / "added.txt").read_bytes() == b"new on the server"
    assert kept.stat().st_ino == before.st_ino and kept.stat().st_mtime == before.st_mtime
    requests = real_nextcloud.requests_since(mark)
    assert len(archive_gets(requests)) + len(file_gets(requests, nc_user)) <= 3


def test_a_folder_of_empty_files_comes_as_a_zip64_archive(real_nextcloud, nc_remote, tmp_path):
    source = tmp_path / "src"
    (source / "e").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (source / "e" / name).write_bytes(b"")
    upload(nc_remote, source, "zeros")
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:zeros", str(tmp_path / "back"))
    assert summary_of(done)["archive_files"] == 3
    assert len(archive_gets(real_nextcloud.requests_since(mark))) == 1
    assert files_of(tmp_path / "back") == {"e/a": 0, "e/b": 0, "e/c": 0}


def test_sync_fetches_by_archive_and_rclone_deletes_what_the_server_lacks(
    real_nextcloud, nc_remote, tmp_path
):
    source = small_tree(tmp_path / "src", 8)
    upload(nc_remote, source, "mirror")
    back = tmp_path / "back"
    back.mkdir()
    (back / "stale.txt").write_text("not on the server")
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "sync", "nc:mirror", str(back), "--yes")
    summary = summary_of(done)
    assert len(archive_gets(real_nextcloud.requests_since(mark))) >= 1
    assert summary["deleted"] == 1 and summary["archive_files"] == 8 and rclone_ran(summary)
    assert same_bytes(source, back)


@pytest.mark.parametrize("flags", [["--checksum"], ["--include", "*.txt"], ["--", "--update"]])
def test_checksum_filters_and_extra_flags_leave_the_download_to_rclone(
    real_nextcloud, nc_remote, tmp_path, flags
):
    source = small_tree(tmp_path / "src", 4)
    upload(nc_remote, source, "plain")
    mark = real_nextcloud.log_mark()
    back = tmp_path / "back"
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:plain", str(back), *flags)
    assert summary_of(done)["archive_files"] == 0
    assert archive_gets(real_nextcloud.requests_since(mark)) == []
    assert same_bytes(source, back)


# --------------------------------------------------------------------------- faults


def test_a_file_the_real_server_cannot_put_in_an_archive_leaves_the_download_to_rclone(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    """A file in Nextcloud's file cache but gone from its disk: the real server starts the
    archive of its folder, fails at that file and appends its error page to what it sent.
    Asked once more, it sends the archive without that file (the failure took it out of the
    file cache): the other files come by archive, and rclone finds nothing left."""
    source = small_tree(tmp_path / "src", 6)
    upload(nc_remote, source, "ghost")
    gone = "set-1/sample-0001.txt"
    (nc_user.files / "ghost" / gone).unlink()
    (source / gone).unlink()
    back = tmp_path / "back"
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:ghost", str(back))
    summary = summary_of(done)
    log = [json.loads(line) for line in Path(summary["log_path"]).read_text().splitlines()]
    (again,) = [entry for entry in log if entry.get("rcwiz") == "archive-again"]
    assert "does not end with its index" in again["failure"]
    notes = [line for line in done.stderr.splitlines() if "did not come by archive" in line]
    assert len(notes) == 1 and "the archive did not hold it" in notes[0], done.stderr
    assert (summary["files"], summary["archive_files"], summary["errors"]) == (5, 5, 0)
    assert same_bytes(source, back) and [p.name for p in back.rglob(".*")] == []
    assert file_gets(real_nextcloud.requests_since(mark), nc_user) == []
    assert "Traceback" not in done.stderr


@pytest.fixture
def spoiled(nc_user, tmp_path, rclone_conf, real_nextcloud):
    """make(mode) -> (proxy, rclone.conf whose nc: goes through it to the real server)."""
    proxies = []

    def make(mode: str):
        proxy = ArchiveFaults(real_nextcloud.url, mode).__enter__()
        proxies.append(proxy)
        conf = rclone_conf(
            tmp_path / f"{mode}.conf",
            {"nc": nc_user.remote(url=f"{proxy.url}/remote.php/dav/files/{nc_user.name}/")},
        )
        return proxy, conf

    yield make
    for proxy in proxies:
        proxy.__exit__()


def test_a_hostile_archive_entry_is_refused_and_rclone_fetches_the_files(
    real_nextcloud, nc_user, nc_remote, spoiled, tmp_path
):
    source = small_tree(tmp_path / "src", 6)
    upload(nc_remote, source, "trap")
    proxy, conf = spoiled("hostile")
    back = tmp_path / "deep" / "back"
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", "nc:trap", str(back))
    summary = summary_of(done)
    assert proxy.archive_requests, "the fast path was not taken"
    assert not (tmp_path / "deep" / "escaped.txt").exists()
    assert not Path(HOSTILE[1]).exists()
    assert same_bytes(source, back)  # every file, by rclone, and nothing else
    assert summary["archive_files"] == 0 and summary["files"] == 6

    def gets() -> int:  # php -S logs a request once it has answered it: rclone may be gone first
        return len(file_gets(real_nextcloud.requests_since(mark), nc_user))

    wait_for(lambda: gets() >= 6, 10, "the server's log of rclone's six GETs")
    assert gets() == 6
    notes = [line for line in done.stderr.splitlines() if "did not come by archive" in line]
    assert len(notes) == 1 and "outside the destination" in notes[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("truncate", "does not end with its index"),
        ("html", "text/html, not a zip"),
        ("error", "HTTP 500"),
    ],
)
def test_a_failed_archive_falls_back_to_rclone_with_one_notice(
    real_nextcloud, nc_user, nc_remote, spoiled, tmp_path, mode, reason
):
    source = small_tree(tmp_path / "src", 5)
    upload(nc_remote, source, "fallback")
    proxy, conf = spoiled(mode)
    back = tmp_path / "back"
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", "nc:fallback", str(back))
    summary = summary_of(done)
    assert len(proxy.archive_requests) == 2, "the fast path was not taken, or not asked again"
    assert same_bytes(source, back)
    assert (summary["files"], summary["archive_files"], summary["errors"]) == (5, 0, 0)
    assert len(file_gets(real_nextcloud.requests_since(mark), nc_user)) == 5
    notes = [line for line in done.stderr.splitlines() if "did not come by archive" in line]
    assert len(notes) == 1 and reason in notes[0], done.stderr
    assert "Traceback" not in done.stderr
    assert [p.name for p in back.rglob(".*")] == []  # no temporary file left


def test_an_archive_cut_off_once_is_asked_for_again_and_rclone_is_not_needed(
    real_nextcloud, nc_user, nc_remote, spoiled, tmp_path
):
    # As the production-like server does at times with several archives in flight.
    source = small_tree(tmp_path / "src", 5)
    upload(nc_remote, source, "again")
    proxy, conf = spoiled("truncate-once")
    back = tmp_path / "back"
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", "nc:again", str(back))
    summary = summary_of(done)
    assert len(proxy.archive_requests) == 2  # the cut one, and the same once more
    assert proxy.archive_requests[0] == proxy.archive_requests[1]
    assert same_bytes(source, back)
    assert (summary["files"], summary["archive_files"], summary["errors"]) == (5, 5, 0)
    assert file_gets(real_nextcloud.requests_since(mark), nc_user) == []
    assert not rclone_ran(summary)
    log = [json.loads(line) for line in Path(summary["log_path"]).read_text().splitlines()]
    (again,) = [entry for entry in log if entry.get("rcwiz") == "archive-again"]
    assert "does not end with its index" in again["failure"]
    assert "did not come by archive" not in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_while_an_archive_arrives_leaves_nothing_half_written(nc_remote, spoiled, tmp_path):
    source = small_tree(tmp_path / "src", 20, size=20_000)
    upload(nc_remote, source, "slow")
    proxy, conf = spoiled("stall")
    back = tmp_path / "back"
    argv = [*RCWIZ, "--config", str(conf), "copy", "nc:slow", str(back)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proxy.stalled.wait(60), "no archive request came"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Interrupted" in out + err
    assert back.is_dir() and list(back.rglob("*")) == []  # no file, no temporary file


def test_a_nextcloud_31_is_asked_through_webdav(nc_remote, spoiled, tmp_path):
    source = small_tree(tmp_path / "src", 9)
    upload(nc_remote, source, "newer")
    proxy, conf = spoiled("nextcloud-31")
    back = tmp_path / "back"
    done = rcwiz("--json", "--config", str(conf), "copy", "nc:newer", str(back))
    assert summary_of(done)["archive_files"] == 9
    assert proxy.archive_requests and all(
        "/remote.php/dav/files/" in path and "accept=zip" in path for path in proxy.archive_requests
    )
    assert same_bytes(source, back)


def test_an_archive_that_stops_coming_ends_the_run_within_the_stall_timeout(
    nc_remote, spoiled, tmp_path
):
    source = small_tree(tmp_path / "src", 20, size=20_000)
    upload(nc_remote, source, "hung")
    proxy, conf = spoiled("stall")
    back = tmp_path / "back"
    stall = 3.0
    began = time.monotonic()
    argv = ["--stall-timeout", f"{stall:g}", "--config", str(conf), "copy", "nc:hung", str(back)]
    done = rcwiz(*argv)
    took = time.monotonic() - began
    assert proxy.stalled.is_set()
    assert done.returncode == 6, done.stderr
    assert "stopped answering: nothing, or only a trickle, came for 3 s" in done.stderr
    assert "Traceback" not in done.stderr
    assert took < stall + 12, f"took {took:.1f} s"  # the listing, Python, rclone's start-up
    assert list(back.rglob("*")) == []


# --------------------------------------------------------------------------- the local disk


def test_a_download_larger_than_the_local_disk_is_refused_from_the_one_listing(
    real_nextcloud, nc_remote, small_disk, tmp_path
):
    source = small_tree(tmp_path / "src", 30, size=100_000)  # 3 MB for a 2 MiB disk
    upload(nc_remote, source, "toobig")
    mark = real_nextcloud.log_mark()
    done = rcwiz("--config", str(nc_remote), "copy", "nc:toobig", str(small_disk / "in"))
    assert done.returncode == 9, done.stderr
    assert f"({sum(files_of(source).values())} bytes)" in done.stderr
    assert "Traceback" not in done.stderr and not (small_disk / "in").exists()
    assert archive_gets(real_nextcloud.requests_since(mark)) == []


def test_a_forced_download_onto_a_full_disk_stops_with_whole_files_only(
    nc_remote, small_disk, tmp_path
):
    source = small_tree(tmp_path / "src", 30, size=100_000)
    upload(nc_remote, source, "fills")
    into = small_disk / "in"
    done = rcwiz("--config", str(nc_remote), "copy", "nc:fills", str(into), "--force")
    assert done.returncode == 12, done.stdout + done.stderr
    assert "local disk is full" in done.stderr and "Traceback" not in done.stderr
    arrived = files_of(into)
    assert arrived and len(arrived) < 30
    for rel in arrived:  # what is there is whole: no partial file under a real name
        assert (into / rel).read_bytes() == (source / rel).read_bytes(), rel


def test_a_big_file_onto_a_full_disk_stops_with_the_disk_named(nc_remote, small_disk, tmp_path):
    """A file fetched in byte ranges (rcwiz.body_to_file) meets a full disk: the same clear
    error and exit code as a small one, never a traceback, and nothing under the real name."""
    source = tmp_path / "src"
    source.mkdir()
    big_file(source / "big.bin", 6 * MiB)
    upload(nc_remote, source, "fullbig")
    into = small_disk / "in"
    done = rcwiz("--config", str(nc_remote), "copy", "nc:fullbig", str(into), "--force", "--json")
    assert done.returncode == 12, done.stdout + done.stderr
    assert "local disk is full" in done.stderr and "Traceback" not in done.stderr
    assert not (into / "big.bin").exists()
    log = Path(json_lines(done.stdout)[-1]["log_path"]).read_text()
    ranged = [r for r in json_lines(log) if r.get("rcwiz") == "ranged"]  # it met the full disk
    assert [r["message"] for r in ranged] == ["it could not be written (No space left on device)"]
