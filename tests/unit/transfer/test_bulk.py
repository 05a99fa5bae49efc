"""What the upload fast path decides from one listing, before any request (pure parts)."""

from pathlib import Path

from rcwiz.nextcloud import bulk as nextcloud_bulk
from rcwiz.nextcloud.bulk import SMALL_FILE
from rcwiz.nextcloud.capabilities import Capabilities
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import bulk
from rcwiz.transfer.walk import LocalFile, Tree

CAPS = Capabilities.from_ocs(
    {
        "capabilities": {
            "dav": {"bulkupload": "1.0", "chunking": "1.0"},
            "files": {"forbidden_filename_extensions": [".part"]},
        }
    }
)


def tree(*files: tuple[str, int, float]) -> Tree:
    return Tree(Path("/src"), [LocalFile(n, f"/src/{n}", size, mtime) for n, size, mtime in files])


def names(files: list[LocalFile]) -> list[str]:
    return [f.relative for f in files]


def test_choose_splits_by_size_and_leaves_what_it_cannot_carry_to_rclone():
    local = tree(
        ("same.txt", 10, 1000.0),
        ("new.txt", 10, 1000.0),
        ("mid.bin", SMALL_FILE, 1000.0),
        ("big.bin", bulk.BIG_FILE, 1000.0),
        ("half.part", 10, 1000.0),
        ("line\nbreak.txt", 10, 1000.0),
    )
    there = {"same.txt": (10, 1000.4), "mid.bin": (1, 1000.0)}
    to_send, small, big, rest = bulk.choose(local, there, CAPS)
    assert names(to_send) == names(local.files[1:])
    assert names(small) == ["new.txt"] and names(big) == ["big.bin"]
    assert names(rest) == ["mid.bin", "half.part", "line\nbreak.txt"]


def test_choose_takes_a_dry_runs_names_instead_of_a_listing():
    local = tree(("a.txt", 10, 1.0), ("b.txt", 10, 1.0))
    to_send, small, _, _ = bulk.choose(local, {}, CAPS, wanted={"b.txt"})
    assert names(to_send) == names(small) == ["b.txt"]


def test_a_listing_of_files_proves_their_folders_exist():
    assert nextcloud_bulk.existing_folders([]) == set()
    assert nextcloud_bulk.existing_folders(["x.txt", "a/b/c.txt"]) == {"", "a", "a/b"}


def test_the_fast_path_is_off_where_rclone_alone_keeps_the_meaning(tmp_path):
    plain = TransferOptions(str(tmp_path), "nc:x")
    assert bulk.applies(plain)
    # Filters are honoured: rcwiz asks rclone which files pass (actions.transfer._passing).
    assert bulk.applies(TransferOptions(str(tmp_path), "nc:x", include=("*.csv",)))
    for changed in (
        TransferOptions(str(tmp_path), "nc:x", bwlimit="1M"),
        TransferOptions(str(tmp_path), "nc:x", checksum=True),
        TransferOptions(str(tmp_path), "nc:x", extra=("--size-only",)),
        TransferOptions(str(tmp_path), "nc:x", verb="move"),
        TransferOptions(str(tmp_path), "nc:x", dry_run=True),
        TransferOptions(str(tmp_path / "missing"), "nc:x"),
    ):
        assert not bulk.applies(changed), changed
