"""The bulk upload fast path against the real Nextcloud 30, read from its request log."""

from __future__ import annotations

import os

from conftest import MiB, big_file, files_of, same_bytes
from helpers import json_lines, rcwiz, small_tree


def posts_to_bulk(requests):
    return [r for r in requests if r.method == "POST" and r.path == "/remote.php/dav/bulk"]


def puts(requests, user):
    prefix = f"/remote.php/dav/files/{user.name}/"
    return [r for r in requests if r.method == "PUT" and r.path.startswith(prefix)]


def test_bulk_upload_carries_the_small_files_and_a_rerun_sends_nothing(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    source = small_tree(tmp_path / "src", 120)
    big_file(source / "big.bin", 3 * MiB)  # above the bulk threshold: rclone sends it
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:project")
    assert done.returncode == 0, done.stderr
    requests = real_nextcloud.requests_since(mark)
    bulk = posts_to_bulk(requests)
    # A folder of 30 files each, the first requests of batching.FIRST files (the pace:
    # transfer.batching.Pace), the rest of each folder in one or more requests after them.
    assert 4 < len(bulk) <= 12 and all(r.status == 200 for r in bulk)
    assert [r.path.rsplit("/", 1)[1] for r in puts(requests, nc_user)] == ["big.bin"]
    summary = json_lines(done.stdout)[-1]
    expected = files_of(source)
    assert (summary["files"], summary["bytes"], summary["errors"]) == (
        len(expected),
        sum(expected.values()),
        0,
    )
    assert same_bytes(source, nc_user.files / "project")
    mark = real_nextcloud.log_mark()
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:project")
    assert again.returncode == 0, again.stderr
    requests = real_nextcloud.requests_since(mark)
    assert posts_to_bulk(requests) == [] and puts(requests, nc_user) == []
    assert (json_lines(again.stdout)[-1]["files"], json_lines(again.stdout)[-1]["bytes"]) == (0, 0)


def test_bulk_files_keep_their_modification_times(nc_user, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 6)
    stamp = 1_700_000_000
    for path in source.rglob("*.txt"):
        os.utime(path, (stamp, stamp))
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:times")
    assert done.returncode == 0, done.stderr
    for path in (nc_user.files / "times").rglob("*.txt"):
        assert int(path.stat().st_mtime) == stamp


def test_bulk_leaves_a_name_it_cannot_carry_to_rclone(real_nextcloud, nc_user, nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 5)
    odd = source / "line\r\nbreak.txt"
    odd.write_bytes(b"odd one\n")
    mark = real_nextcloud.log_mark()
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:odd")
    assert done.returncode == 0, done.stderr
    requests = real_nextcloud.requests_since(mark)
    bulk = posts_to_bulk(requests)
    assert len(bulk) == 1 and bulk[0].status == 200
    # rclone stores control characters as their Unicode pictures (CR -> U+240D, LF -> U+240A).
    stored = nc_user.files / "odd" / "line\u240d\u240abreak.txt"
    assert stored.read_bytes() == b"odd one\n"
    assert len(files_of(nc_user.files / "odd")) == 6
    summary = json_lines(done.stdout)[-1]
    assert (summary["files"], summary["errors"]) == (6, 0)
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:odd")
    assert again.returncode == 0 and json_lines(again.stdout)[-1]["files"] == 0


def test_bulk_off_on_the_server_leaves_everything_to_rclone(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    real_nextcloud.occ("config:system:set", "bulkupload.enabled", "--value=false", "--type=boolean")
    try:
        source = small_tree(tmp_path / "src", 8)
        mark = real_nextcloud.log_mark()
        done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:nobulk")
    finally:
        real_nextcloud.occ("config:system:delete", "bulkupload.enabled")
    assert done.returncode == 0, done.stderr
    requests = real_nextcloud.requests_since(mark)
    assert posts_to_bulk(requests) == [] and len(puts(requests, nc_user)) == 8
    assert same_bytes(source, nc_user.files / "nobulk")


def test_bulk_preflight_lists_files_the_server_will_refuse(nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 3)
    (source / "download.part").write_text("half")
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:project")
    assert "will refuse 1 file" in done.stderr and "download.part" in done.stderr


def test_names_every_nextcloud_refuses_are_named_before_the_run(nc_user, nc_remote, tmp_path):
    """More than 250 bytes, only spaces: refused by Nextcloud whatever its capabilities say
    (rclone tried each three times, a 404 and a 400, and nothing had said so before)."""
    source = small_tree(tmp_path / "src", 2)
    odd = ["x" * 247 + ".txt", "   "]
    for name in odd:
        (source / name).write_text("odd\n")
    done = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:odd")
    assert done.returncode != 0, done.stderr  # rclone tried them all the same
    assert "will refuse 2 file(s)" in done.stderr, done.stderr
    assert "longer than 250 bytes" in done.stderr and "only spaces" in done.stderr
    arrived = {p.name for p in (nc_user.files / "odd").iterdir()}
    assert not arrived & set(odd) and arrived  # the server refused them, not the rest


def test_a_name_with_a_tab_left_to_rclone_arrives_as_rclone_names_it(nc_user, nc_remote, tmp_path):
    """Found in a walk: the one file a fast path left to rclone was named by its bytes in
    --files-from-raw; rclone sent it under its raw name and the server answered 400, three
    times (a whole run of rclone sends it as `tab\u2409name.txt`, which Nextcloud takes)."""
    source = small_tree(tmp_path / "src", 3)
    (source / "sub").mkdir()
    (source / "sub" / "tab\tname.txt").write_text("tab\n")
    argv = ("--config", str(nc_remote), "copy", str(source), "nc:tabbed")
    done = rcwiz(*argv)
    assert done.returncode == 0, done.stderr
    assert (nc_user.files / "tabbed" / "sub" / "tab\u2409name.txt").read_text() == "tab\n"


def test_files_left_out_by_filters_are_not_named_as_refused(nc_remote, tmp_path):
    source = small_tree(tmp_path / "src", 3)
    (source / "download.part").write_text("half")
    (source / "back\\slash.txt").write_text("b")
    (source / ".htaccess").write_text("h")
    argv = ["--config", str(nc_remote), "copy", str(source), "nc:filtered"]
    done = rcwiz(*argv, "--exclude", "*.part", "--exclude", ".htaccess")
    assert "will refuse 1 file" in done.stderr, done.stderr
    assert "the character \\ is not allowed" in done.stderr  # shown once, not as '\\\\'
    assert "download.part" not in done.stderr and ".htaccess" not in done.stderr
    clean = rcwiz(*argv, "--exclude", "*.part", "--exclude", ".htaccess", "--exclude", "back*")
    assert clean.returncode == 0, clean.stderr
    assert "refuse" not in clean.stderr
