"""An upload with filters keeps the bulk upload: rcwiz asks rclone itself which local files
pass (one `rclone lsjson` of the source with the same filter flags), sends those by the fast
path, and rclone sends what it leaves by name (--files-from-raw, which rclone takes only
without filters: the names passed them already). Found in a walk: the README's own job
example, `exclude: ["*.tmp"]`, sent 3000 files one request each (7.5 min instead of 1.5)."""

from __future__ import annotations

from conftest import MiB, big_file, files_of
from helpers import rcwiz, small_tree

BULK = "/remote.php/dav/bulk"


def test_filters_keep_the_bulk_upload_and_mean_what_rclone_says(
    nc_remote, nc_user, real_nextcloud, tmp_path
):
    source = small_tree(tmp_path / "src", 12)
    (source / "set-0" / "skip.tmp").write_text("scratch")
    (source / "raw").mkdir()
    (source / "raw" / "x.txt").write_text("raw data")
    big_file(source / "middle.bin", 2 * MiB)  # between bulk and chunks: rclone sends it
    wanted = {k: v for k, v in files_of(source).items() if not k.endswith(".tmp")}
    for folder, flags in (
        ("ex", ["--exclude", "*.tmp"]),  # the README's job example
        ("rules", ["--filter", "- *.tmp", "--filter", "- raw/**"]),
    ):
        mark = real_nextcloud.log_mark()
        done = rcwiz("--config", str(nc_remote), "copy", str(source), f"nc:{folder}", *flags)
        assert done.returncode == 0, done.stderr
        assert "fast upload is off" not in done.stdout + done.stderr
        requests = real_nextcloud.requests_since(mark)
        assert any(r.method == "POST" and r.path == BULK for r in requests)
        expected = {k: v for k, v in wanted.items() if folder == "ex" or "raw/" not in k}
        assert files_of(nc_user.files / folder) == expected
        bulk = f"{len(expected) - 1} by bulk upload"  # all but middle.bin
        assert bulk in done.stdout and " 1 by rclone\n" in done.stdout, done.stdout


def test_a_filtered_sync_sends_by_bulk_and_deletes_as_rclone_does(nc_remote, nc_user, tmp_path):
    source = small_tree(tmp_path / "src", 8)
    (source / "set-0" / "skip.tmp").write_text("scratch")
    argv = ["--config", str(nc_remote), "sync", str(source), "nc:synced", "--yes"]
    assert rcwiz(*argv, "--exclude", "*.tmp").returncode == 0
    (source / "set-1" / "sample-0001.txt").unlink()
    (source / "set-2" / "new.txt").write_text("new")
    (source / "set-3" / "new.tmp").write_text("left out")
    done = rcwiz(*argv, "--exclude", "*.tmp")
    assert done.returncode == 0, done.stderr
    assert "1 by bulk upload" in done.stdout, done.stdout + done.stderr
    wanted = {k: v for k, v in files_of(source).items() if not k.endswith(".tmp")}
    assert files_of(nc_user.files / "synced") == wanted
