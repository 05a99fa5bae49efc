"""`rcwiz copy` up and down, `--dry-run`, `--json` and `quota` against the real Nextcloud 30."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import MB, MiB, big_file, files_of, rclone_check, same_bytes
from helpers import RCWIZ, json_lines, json_result, rcwiz, running_until, small_tree

# rcwiz uploads to Nextcloud in 64 MiB chunks: a file above that goes as a chunked upload.
CHUNK = 64 * MiB


def test_copy_up_and_down_of_small_files_and_a_chunked_file(
    real_nextcloud, nc_user, nc_remote, tmp_path, rclone_bin
):
    source = small_tree(tmp_path / "src", 40)
    big_file(source / "raw" / "image.bin", CHUNK + 3 * MiB)
    mark = real_nextcloud.log_mark()
    up = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:project")
    assert up.returncode == 0, up.stderr
    summary = json_lines(up.stdout)[-1]
    expected = files_of(source)
    assert (summary["files"], summary["bytes"], summary["errors"]) == (
        len(expected),
        sum(expected.values()),
        0,
    )
    assert same_bytes(source, nc_user.files / "project")
    checked = rclone_check(rclone_bin, nc_remote, source, "nc:project")
    assert checked.returncode == 0, checked.stderr
    uploads = [
        r
        for r in real_nextcloud.requests_since(mark)
        if r.path.startswith(f"/remote.php/dav/uploads/{nc_user.name}/")
    ]
    assert {r.method for r in uploads} >= {"MKCOL", "PUT", "MOVE"}  # chunked upload v2
    down = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:project", str(tmp_path / "back"))
    assert down.returncode == 0, down.stderr
    back = json_lines(down.stdout)[-1]
    assert (back["files"], back["bytes"]) == (len(expected), sum(expected.values()))
    assert same_bytes(source, tmp_path / "back")


def test_copy_json_events_describe_the_run(nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 3)
    big_file(source / "big.bin", 2 * MiB)
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:ev")
    assert done.returncode == 0, done.stderr
    docs = json_lines(done.stdout)
    assert docs[0]["event"] == "start" and docs[-1]["event"] == "summary"
    names = {d["name"] for d in docs if d["event"] == "file" and d["outcome"] == "new"}
    assert names == set(files_of(source))
    assert all(
        0 <= d["percent"] <= 100
        for d in docs
        if d["event"] == "progress" and d["percent"] is not None
    )


def test_copy_dry_run_changes_nothing_on_the_server(nc_user, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 5)
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:dry", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "--webdav-nextcloud-chunk-size 64M" in done.stdout
    assert "would transfer" in done.stdout and "in 5 file(s)" in done.stdout
    assert not (nc_user.files / "dry").exists()
    assert nc_user.usage()["used"] == 0


def test_copy_rerun_transfers_nothing(nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 12)
    first = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:again")
    assert first.returncode == 0, first.stderr
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:again")
    assert again.returncode == 0, again.stderr
    summary = json_lines(again.stdout)[-1]
    assert (summary["files"], summary["bytes"]) == (0, 0)


def test_quota_json_gives_the_servers_exact_bytes(nc_user, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 7)
    big_file(source / "b.bin", 3 * MiB + 17)
    assert rcwiz("--config", str(nc_remote), "copy", str(source), "nc:q").returncode == 0
    done = rcwiz("--json", "--config", str(nc_remote), "quota")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["remotes"]
    stored = sum(files_of(nc_user.files).values())
    assert row["used"] == stored == sum(files_of(source).values())
    assert row["total"] == 2**30 and row["free"] == 2**30 - stored
    table = rcwiz("--config", str(nc_remote), "quota")
    assert table.returncode == 0 and "nc:" in table.stdout and "1.0 GiB" in table.stdout


def test_copy_ctrl_c_during_a_chunked_upload_exits_130(nc_user, nc_remote, tmp_path):
    source = tmp_path / "src"
    big_file(source / "huge.bin", CHUNK + 8 * MiB)
    argv = [
        *RCWIZ,
        "--config",
        str(nc_remote),
        "copy",
        str(source),
        "nc:big",
        "--bwlimit",
        "20M",
        "--log-interval",
        "0.2",
    ]
    with running_until(argv, " progress ") as proc:
        deadline = time.monotonic() + 60
        while not (nc_user.uploads.exists() and any(nc_user.uploads.iterdir())):
            assert time.monotonic() < deadline, "no chunked upload started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not (nc_user.files / "big" / "huge.bin").exists()
    # Nothing is left in the upload area: the session rclone started is removed, and said so.
    assert list(nc_user.uploads.iterdir()) == []
    assert "Removed 1 unfinished upload(s)" in out


def test_507_at_a_chunked_upload_leaves_no_upload_behind(nc_user_factory, tmp_path, rclone_conf):
    user = nc_user_factory(quota="50 MB")
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {"nc": user.remote()},
    )
    big_file(tmp_path / "src" / "too-big.bin", CHUNK + 4 * MiB)
    done = rcwiz("--config", str(conf), "copy", str(tmp_path / "src"), "nc:x", "--force")
    assert done.returncode == 5, done.stderr
    assert not user.uploads.exists() or list(user.uploads.iterdir()) == []
    assert not (user.files / "x" / "too-big.bin").exists()


def test_download_of_a_missing_folder_names_the_source(nc_remote, tmp_path):
    done = rcwiz("--config", str(nc_remote), "copy", "nc:no/such/folder", str(tmp_path / "x"))
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr


def test_rclone_sees_what_rcwiz_uploaded(nc_remote, tmp_path, rclone_bin):
    source = small_tree(tmp_path / "src", 4)
    assert rcwiz("--config", str(nc_remote), "copy", str(source), "nc:seen").returncode == 0
    listed = subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "lsf", "-R", "nc:seen"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert {line for line in listed.stdout.splitlines() if not line.endswith("/")} == set(
        files_of(source)
    )


def test_copy_dry_run_shows_the_exact_command_it_runs(nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 3)
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:dry", "--dry-run")
    assert done.returncode == 0, done.stderr
    (shown,) = [
        line
        for line in done.stdout.splitlines()
        if " copy " in line and "--" in line and not line[:4].isdigit()
    ]
    log = Path(done.stdout.split("full rclone log: ")[1].split()[0])
    ran = json.loads(log.read_text().splitlines()[0])["argv"]
    assert shlex.split(shown) == ran
    assert {"--config", str(nc_remote), "--use-json-log", "--ask-password=false"} <= set(ran)


# --------------------------------------------------------------------------- cached quota


QUOTA = 50 * MiB  # Nextcloud's "50 MB"


@pytest.fixture
def cached_user(cached_nextcloud, tmp_path, rclone_conf):
    """A user on the APCu Nextcloud, and an rclone.conf for it (remote nc:)."""
    user = cached_nextcloud.add_user(quota="50 MB")
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {"nc": user.remote()},
    )
    return user, conf


def webdav_quota(user):
    """What WebDAV (and so `rclone about`) says: used and available bytes."""
    status, body = user.dav("PROPFIND", "", headers={"Depth": "0"})
    assert status == 207
    text = body.decode()
    used = int(text.split("quota-used-bytes>")[1].split("<")[0])
    free = int(text.split("quota-available-bytes>")[1].split("<")[0])
    return used, free


def test_quota_reads_nextcloud_now_not_its_cached_webdav_figures(cached_user):
    user, conf = cached_user
    assert webdav_quota(user) == (0, QUOTA)  # read once: now the server caches it
    assert user.dav("PUT", "ten.bin", os.urandom(10 * MB))[0] == 201
    assert webdav_quota(user) == (0, QUOTA), "the cache did not hold: the test proves nothing"
    done = rcwiz("--json", "--config", str(conf), "quota")
    assert done.returncode == 0, done.stderr
    (row,) = json_result(done.stdout, "quota")["remotes"]
    assert (row["used"], row["free"], row["source"]) == (10 * MB, QUOTA - 10 * MB, "ocs")


def test_preflight_sees_space_freed_a_moment_ago(cached_user, tmp_path):
    user, conf = cached_user
    assert user.dav("PUT", "old.bin", os.urandom(40 * MB))[0] == 201
    assert webdav_quota(user) == (40 * MB, QUOTA - 40 * MB)  # cached from now on
    assert user.dav("DELETE", "old.bin")[0] == 204
    assert webdav_quota(user)[1] == QUOTA - 40 * MB, "the cache did not hold: it proves nothing"
    source = tmp_path / "src"
    big_file(source / "new.bin", 30 * MB)
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:x")
    assert done.returncode == 0, done.stderr
    assert (user.files / "x" / "new.bin").stat().st_size == 30 * MB
