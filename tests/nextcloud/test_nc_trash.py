"""`rcwiz trash` against the real Nextcloud 30: what a deletion leaves, restored, deleted,
emptied; and the server's own limit on the trash, as rcwiz states it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from helpers import json_result, rcwiz
from realnc import wait_for

FILES = {
    "proj/keep.csv": 1000,
    "proj/old/a.bin": 3000,
    "proj/old/deep/b.bin": 5000,
    "proj/draft.txt": 700,
    "notes.md": 250,
}


@pytest.fixture
def trashed(nc_user):
    """Files in nested folders, then a file, a folder and a deep file deleted."""
    for folder in ("proj", "proj/old", "proj/old/deep"):
        assert nc_user.dav("MKCOL", folder)[0] == 201
    data = {path: os.urandom(size) for path, size in FILES.items()}
    for path, body in data.items():
        assert nc_user.dav("PUT", path, body)[0] == 201
    before = time.time()
    for path in ("proj/draft.txt", "proj/old", "notes.md"):
        assert nc_user.dav("DELETE", path)[0] == 204
    return data, before, time.time()


def trash_list(conf):
    done = rcwiz("--json", "--config", str(conf), "trash", "list", "nc:")
    assert done.returncode == 0, done.stderr
    return json_result(done.stdout, "trash list")


def test_list_finds_every_deleted_item_with_where_when_and_size(
    nc_user, nc_remote, trashed, rclone_bin
):
    _, before, after = trashed
    listed = trash_list(nc_remote)
    found = {i["original"]: i for i in listed["items"]}
    assert set(found) == {"proj/draft.txt", "proj/old", "notes.md"}
    assert found["proj/old"]["folder"] and found["proj/old"]["bytes"] == 3000 + 5000
    assert found["notes.md"]["bytes"] == 250 and found["proj/draft.txt"]["bytes"] == 700
    assert all(int(before) - 1 <= i["deleted"] <= after + 1 for i in found.values())
    assert listed["bytes"] == 250 + 700 + 8000
    # The quota's "used" holds only the files left, as `rclone size` counts them.
    size = subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "size", "--json", "nc:"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert nc_user.usage()["used"] == 1000 == int(size.stdout.split('"bytes":')[1].split(",")[0])
    assert listed["limit"] == (nc_user.usage()["total"] - 1000) // 2
    text = rcwiz("--config", str(nc_remote), "trash", "list", "nc:")
    assert "proj/old/" in text.stdout and "rcwiz trash restore nc:" in text.stdout


def test_restore_puts_a_file_and_a_whole_folder_back_where_they_were(nc_user, nc_remote, trashed):
    data, _, _ = trashed
    folder = next(i for i in trash_list(nc_remote)["items"] if i["original"] == "proj/old")
    base = ["--config", str(nc_remote), "trash", "restore", "nc:"]
    done = rcwiz(*base, folder["id"])  # by id
    assert done.returncode == 0 and "Restored the folder proj/old" in done.stdout
    assert rcwiz(*base, "notes.md").returncode == 0  # by the path it had
    for path in ("proj/old/a.bin", "proj/old/deep/b.bin", "notes.md"):
        assert nc_user.dav("GET", path) == (200, data[path])
    assert [i["original"] for i in trash_list(nc_remote)["items"]] == ["proj/draft.txt"]
    missing = rcwiz(*base, "no/such.txt")
    assert missing.returncode == 3 and "nothing was changed" in missing.stderr


def test_a_file_whose_folder_is_gone_goes_back_into_that_folder(nc_user, nc_remote, trashed):
    """Found in a walk: after a sync deleted a folder's files and then the folder, a file
    restored by its path landed in the home folder (the server's rule when the folder it
    was in is gone) while rcwiz said it was back where it was."""
    data, _, _ = trashed
    assert nc_user.dav("DELETE", "proj/keep.csv")[0] == 204  # a sync: the file, then
    assert nc_user.dav("DELETE", "proj")[0] == 204  # its folder, now empty
    base = ["--config", str(nc_remote), "trash", "restore", "nc:"]
    done = rcwiz(*base, "proj/keep.csv")
    assert done.returncode == 0, done.stderr
    assert "Restored the file proj/keep.csv" in done.stdout
    assert nc_user.dav("GET", "proj/keep.csv") == (200, data["proj/keep.csv"])
    assert nc_user.dav("GET", "keep.csv")[0] == 404


def test_rm_and_empty_delete_for_good_only_after_a_yes(nc_user, nc_remote, trashed):
    base = ["--config", str(nc_remote), "trash"]
    unasked = rcwiz(*base, "rm", "nc:", "notes.md")
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    assert len(trash_list(nc_remote)["items"]) == 3
    assert rcwiz(*base, "rm", "nc:", "notes.md", "--yes").returncode == 0
    left = trash_list(nc_remote)["items"]
    assert sorted(i["original"] for i in left) == ["proj/draft.txt", "proj/old"]
    assert rcwiz(*base, "empty", "nc:").returncode == 2
    done = rcwiz("--json", *base, "empty", "nc:", "--yes")
    assert json_result(done.stdout)["deleted"] == 2
    assert trash_list(nc_remote)["items"] == []
    assert not any(p.is_file() for p in (nc_user.files.parent / "files_trashbin").rglob("*"))


def run_queued_commands(server, user: str) -> None:
    """Run once, as cron.php would, the commands the server queued for USER's background jobs:
    the trash bin's Expire, queued at each deletion. cron.php runs every job that is due, for
    every user of the suite's server, which took 30 s in the suite for nothing this test reads."""
    listed = server.occ(
        "background-job:list", "--class=OC\\Command\\CommandJob", "--limit=10000", "--output=json"
    )
    jobs = [job for job in json.loads(listed) if user in str(job.get("argument"))]  # its Expire
    assert jobs, f"no command was queued for {user}: the deletions scheduled no expiry"
    for job in jobs:
        server.occ("background-job:execute", str(job["id"]), "--force-execute")


def test_the_server_keeps_the_trash_within_half_the_free_quota(
    real_nextcloud, nc_user_factory, tmp_path, rclone_conf
):
    """What the README states about the limit, on the real server: past 50% of the free
    quota, the server's background job removes the oldest items first."""
    user = nc_user_factory(quota="10 MB")  # 10 MiB to Nextcloud
    conf = rclone_conf(tmp_path / "rclone.conf", {"nc": user.remote()})
    assert user.dav("PUT", "keep.bin", os.urandom(4 * 2**20))[0] == 201
    for name in ("first.bin", "second.bin"):
        assert user.dav("PUT", name, os.urandom(5 * 2**19))[0] == 201
        deleted = int(time.time())
        assert user.dav("DELETE", name)[0] == 204
        # Deletion times are whole seconds: the next deletion falls in a later one.
        wait_for(lambda deleted=deleted: int(time.time()) > deleted + 1, 5, "the next second")
    listed = trash_list(conf)
    assert listed["limit"] == 3 * 2**20 and listed["bytes"] == 5 * 2**20 > listed["limit"]
    run_queued_commands(real_nextcloud, user.name)
    assert [i["original"] for i in trash_list(conf)["items"]] == ["second.bin"]
