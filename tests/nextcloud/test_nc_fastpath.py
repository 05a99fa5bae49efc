"""The upload fast path against the real Nextcloud 30: what rclone is left, big files in
parallel chunks, and what an interruption or a failure leaves behind (the server's log)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

from conftest import MiB, big_file, rclone_check, same_bytes
from helpers import RCWIZ, json_lines, rcwiz, small_tree
from realnc import wait_for

from rcwiz.nextcloud.chunked import chunk_size_for
from rcwiz.transfer.bulk import BIG_FILE, CHUNK, CHUNKS_IN_FLIGHT

BULK = "/remote.php/dav/bulk"


def uploads_of(requests, user):
    """The chunked-upload requests: (method, session, chunk or "" ) in the order answered."""
    prefix = f"/remote.php/dav/uploads/{user.name}/"
    found = []
    for r in requests:
        if r.path.startswith(prefix):
            session, _, rest = r.path[len(prefix) :].partition("/")
            found.append((r.method, r.status, session, rest))
    return found


def dest_requests(requests, user, folder):
    prefix = f"/remote.php/dav/files/{user.name}/{folder}"
    return [r for r in requests if r.path.startswith(prefix)]


def listings(requests, user, folder):
    """Folder -> how many times it was listed (PROPFIND of the folder's URL with its slash;
    rclone also looks at the destination without one, to see whether it is a file)."""
    prefix = f"/remote.php/dav/files/{user.name}/"
    return Counter(
        r.path[len(prefix) :].rstrip("/")
        for r in requests
        if r.method == "PROPFIND" and r.path.endswith("/") and r.path.startswith(prefix + folder)
    )


def rclone_argv(stdout: str) -> list[str] | None:
    """The rclone transfer the run started (from its log), or None when it started none."""
    start = json_lines(stdout)[0]
    for line in Path(start["log_path"]).read_text().splitlines():
        entry = json.loads(line)
        if entry.get("rcwiz") == "start":
            return entry["argv"]
    return None


def sha1_of(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def test_a_rerun_lists_the_destination_once_and_starts_no_rclone_copy(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    source = small_tree(tmp_path / "src", 60)
    first = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:again")
    assert first.returncode == 0, first.stderr
    assert rclone_argv(first.stdout) is None  # every file went by bulk upload
    mark = real_nextcloud.log_mark()
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:again")
    assert again.returncode == 0, again.stderr
    summary = json_lines(again.stdout)[-1]
    assert (summary["outcome"], summary["files"], summary["bytes"]) == ("ok", 0, 0)
    assert rclone_argv(again.stdout) is None
    seen = dest_requests(real_nextcloud.requests_since(mark), nc_user, "again")
    assert {r.method for r in seen} == {"PROPFIND"}
    # one request for the whole tree (Depth: infinity), not one per folder
    assert listings(seen, nc_user, "again") == {"again": 1}


def test_rclone_gets_only_the_files_left_and_does_not_list_again(
    real_nextcloud, nc_user, nc_remote, tmp_path, rclone_bin
):
    source = small_tree(tmp_path / "src", 30)
    big_file(source / "set-1" / "medium.bin", 3 * MiB)  # neither small nor big: rclone's
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:left")
    assert done.returncode == 0, done.stderr
    argv = rclone_argv(done.stdout)
    assert argv is not None and "--no-traverse" in argv
    listed = Path(argv[argv.index("--files-from-raw") + 1])
    assert not listed.exists()  # a temporary file, removed after the run
    seen = dest_requests(real_nextcloud.requests_since(mark), nc_user, "left")
    assert [r.path.rsplit("/", 1)[1] for r in seen if r.method == "PUT"] == ["medium.bin"]
    # rcwiz's listing found nothing (404); rclone looked up its one file, listed no folder.
    folders = [r for r in seen if r.method == "PROPFIND" and r.path.endswith("/")]
    assert len(folders) <= 1
    summary = json_lines(done.stdout)[-1]
    assert (summary["files"], summary["bulk_files"], summary["errors"]) == (31, 30, 0)
    assert same_bytes(source, nc_user.files / "left")
    assert rclone_check(rclone_bin, nc_remote, source, "nc:left").returncode == 0


def test_a_big_file_goes_in_parallel_chunks_with_its_checksum_and_time(
    real_nextcloud, nc_user, nc_remote, tmp_path, rclone_bin
):
    source = tmp_path / "src"
    big = big_file(source / "raw" / "image.bin", BIG_FILE + 5 * MiB + 123)
    stamp = 1_700_000_000
    os.utime(big, (stamp, stamp))
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:chunks")
    assert done.returncode == 0, done.stderr
    assert rclone_argv(done.stdout) is None
    requests = real_nextcloud.requests_since(mark)
    chunks = uploads_of(requests, nc_user)
    (session,) = {s for _, _, s, _ in chunks}
    assert session.startswith("rcwiz-chunked-upload-")
    size = big.stat().st_size
    count = -(-size // chunk_size_for(size, CHUNK, CHUNKS_IN_FLIGHT))
    assert sorted(c for m, st, _, c in chunks if m == "PUT" and st == 201) == sorted(
        str(n) for n in range(1, count + 1)
    )
    assert [(m, st) for m, st, _, c in chunks if c == ".file"] == [("MOVE", 201)]
    assert not [r for r in dest_requests(requests, nc_user, "chunks") if r.method == "PUT"]
    stored = nc_user.files / "chunks" / "raw" / "image.bin"
    assert same_bytes(source, nc_user.files / "chunks")
    assert int(stored.stat().st_mtime) == stamp
    listed = subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "lsjson", "--hash", "nc:chunks/raw"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(listed.stdout)[0]["Hashes"]["sha1"] == sha1_of(big)
    checked = rclone_check(rclone_bin, nc_remote, source, "nc:chunks")
    assert checked.returncode == 0 and "could not be checked" not in checked.stderr
    assert list(nc_user.uploads.iterdir()) == []
    summary = json_lines(done.stdout)[-1]
    assert (summary["files"], summary["chunked_files"]) == (1, 1)
    mark = real_nextcloud.log_mark()
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:chunks")
    assert again.returncode == 0, again.stderr
    assert uploads_of(real_nextcloud.requests_since(mark), nc_user) == []
    assert json_lines(again.stdout)[-1]["files"] == 0


def test_ctrl_c_during_parallel_chunks_leaves_no_session(nc_user, nc_remote, tmp_path):
    source = tmp_path / "src"
    big_file(source / "huge.bin", 4 * BIG_FILE)
    argv = [*RCWIZ, "--config", str(nc_remote), "copy", str(source), "nc:stopped"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(
            lambda: nc_user.uploads.is_dir() and any(nc_user.uploads.iterdir()),
            60,
            "a chunked upload session",
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (nc_user.files / "stopped" / "huge.bin").exists()
    assert list(nc_user.uploads.iterdir()) == []


def test_507_at_the_first_chunk_stops_and_leaves_no_session(nc_user_factory, tmp_path, rclone_conf):
    user = nc_user_factory(quota="50 MB")
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {"nc": user.remote()},
    )
    big_file(tmp_path / "src" / "too-big.bin", 55 * MiB)  # more than the quota, and big
    mark = user.server.log_mark()
    done = rcwiz("--json", "--config", str(conf), "copy", str(tmp_path / "src"), "nc:x", "--force")
    assert done.returncode == 5, done.stderr
    chunks = uploads_of(user.server.requests_since(mark), user)
    assert ("PUT", 507) in {(m, st) for m, st, _, _ in chunks}
    assert not [c for m, _, _, c in chunks if m == "MOVE"]
    assert not user.uploads.exists() or list(user.uploads.iterdir()) == []
    assert not (user.files / "x" / "too-big.bin").exists()
    events = json_lines(done.stdout)
    summary = events[-1]
    assert (summary["event"], summary["outcome"], summary["files"]) == ("summary", "failed", 0)
    assert summary["errors"] == 1 and "too-big.bin did not fit" in summary["error"]["message"]
    failed = [e for e in events if e.get("event") == "file" and e.get("outcome") == "failed"]
    assert [e["name"] for e in failed] == ["too-big.bin"]


def test_a_failed_chunked_upload_falls_back_to_rclone(
    real_nextcloud, nc_user, nc_remote, tmp_path, rclone_bin
):
    source = tmp_path / "src"
    # Big enough for rcwiz's chunks, small enough for rclone to send in one PUT.
    big_file(source / "data.bin", BIG_FILE + 2 * MiB)
    # The server cannot make an upload session: where its upload area goes, there is a file.
    nc_user.uploads.parent.mkdir(parents=True, exist_ok=True)
    nc_user.uploads.write_text("not a folder")
    try:
        mark = real_nextcloud.log_mark()
        done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:fell")
    finally:
        nc_user.uploads.unlink()
    assert done.returncode == 0, done.stderr
    requests = real_nextcloud.requests_since(mark)
    assert [m for m, st, _, _ in uploads_of(requests, nc_user) if st < 300] == []
    puts = [r for r in dest_requests(requests, nc_user, "fell") if r.method == "PUT"]
    assert [r.path.rsplit("/", 1)[1] for r in puts] == ["data.bin"]
    assert "the chunked upload of data.bin failed" in done.stderr  # a warning says so
    log = Path(json_lines(done.stdout)[0]["log_path"]).read_text()
    assert any(
        entry.get("how") == "chunks" and not entry["ok"]
        for entry in map(json.loads, log.splitlines())
    )
    summary = json_lines(done.stdout)[-1]
    assert (summary["files"], summary["chunked_files"]) == (1, 0)
    assert same_bytes(source, nc_user.files / "fell")
    assert rclone_check(rclone_bin, nc_remote, source, "nc:fell").returncode == 0


def test_a_sync_with_nothing_to_delete_or_send_starts_no_second_rclone(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    source = small_tree(tmp_path / "src", 20)
    first = rcwiz("--json", "--config", str(nc_remote), "sync", str(source), "nc:mirror", "--yes")
    assert first.returncode == 0, first.stderr
    assert same_bytes(source, nc_user.files / "mirror")
    (source / "set-0" / "sample-0000.txt").unlink()
    (source / "set-2" / "fresh.txt").write_bytes(b"fresh")
    mark = real_nextcloud.log_mark()
    second = rcwiz("--json", "--config", str(nc_remote), "sync", str(source), "nc:mirror", "--yes")
    assert second.returncode == 0, second.stderr
    assert same_bytes(source, nc_user.files / "mirror")  # sent, and deleted by rclone's sync
    assert sum(r.method == "POST" and r.path == BULK for r in real_nextcloud.requests_since(mark))
    mark = real_nextcloud.log_mark()
    third = rcwiz("--json", "--config", str(nc_remote), "sync", str(source), "nc:mirror", "--yes")
    assert third.returncode == 0, third.stderr
    assert rclone_argv(third.stdout) is None  # the dry run was the only rclone that listed
    seen = dest_requests(real_nextcloud.requests_since(mark), nc_user, "mirror")
    assert {r.method for r in seen} == {"PROPFIND"}
    assert set(listings(seen, nc_user, "mirror").values()) == {1}


def test_options_that_keep_the_fast_path_off_are_named(nc_remote, tmp_path, real_nextcloud):
    source = small_tree(tmp_path / "src", 3)
    mark = real_nextcloud.log_mark()
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:slow", "--bwlimit", "10M")
    assert done.returncode == 0, done.stderr
    assert "fast upload is off with --bwlimit" in done.stdout + done.stderr
    assert not [r for r in real_nextcloud.requests_since(mark) if "/dav/bulk" in r.path]
    back = rcwiz("--config", str(nc_remote), "copy", "nc:slow", str(tmp_path / "b"), "--checksum")
    assert back.returncode == 0, back.stderr
    assert "fast download is off with --checksum" in back.stdout + back.stderr


def test_names_with_a_leading_or_trailing_space_are_not_called_refused(
    nc_user, nc_remote, tmp_path
):
    """Nextcloud 30 stores them as they are: no warning that they will fail, and they arrive."""
    source = tmp_path / "src"
    source.mkdir()
    for name in (" lead space.txt", "trail space.txt "):
        (source / name).write_text(name)
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:spaces")
    assert done.returncode == 0, done.stderr
    assert "will refuse" not in done.stdout + done.stderr
    assert sorted(p.name for p in (nc_user.files / "spaces").iterdir()) == sorted(
        p.name for p in source.iterdir()
    )
