"""The archive download phase's decisions: when it runs, what it fetches, when rclone may rest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rcwiz.counting import Tally
from rcwiz.rclone.config import Remote
from rcwiz.rclone.events import FileDone
from rcwiz.rclone.lsjson import Listing
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import archive

NEXTCLOUD = Remote("nc", "webdav", vendor="nextcloud")
DOWN = TransferOptions(source="nc:data", dest="/tmp/rcwiz-test-dest")


def test_it_runs_for_a_plain_download_from_a_nextcloud_only(tmp_path):
    opts = replace(DOWN, dest=str(tmp_path / "new"))
    assert archive.applies(opts, NEXTCLOUD)
    assert archive.applies(replace(opts, verb="sync"), NEXTCLOUD)
    assert not archive.applies(opts, Remote("nc", "webdav", vendor="other"))
    assert not archive.applies(opts, None)
    assert not archive.applies(replace(opts, verb="move"), NEXTCLOUD)
    assert not archive.applies(replace(opts, dest="other:x"), NEXTCLOUD)
    assert not archive.applies(replace(opts, checksum=True), NEXTCLOUD)
    (tmp_path / "file").write_text("x")
    assert not archive.applies(replace(opts, dest=str(tmp_path / "file")), NEXTCLOUD)
    assert not archive.applies(replace(opts, source="nc:odd\u240dname"), NEXTCLOUD)


def prepared(**todo: tuple[int, float]) -> archive.Prepared:
    files = {name.replace("__", "/"): entry for name, entry in todo.items()}
    return archive.Prepared(Listing(files=files), files)


def test_only_small_files_with_plain_names_come_by_archive():
    found = archive.Prepared(
        Listing(),
        {
            "a/small": (10, 0.0),
            "a/edge": (archive.SMALL_FILE - 1, 0.0),
            "a/big": (archive.SMALL_FILE, 0.0),
            "a/line\r\nbreak": (10, 0.0),  # rclone stores it under other characters
            "a/../up": (10, 0.0),  # no server should list it; never written anyway
        },
    )
    assert found.small() == {"a/small": 10, "a/edge": archive.SMALL_FILE - 1}
    assert found.bytes == 30 + 2 * archive.SMALL_FILE - 1


@pytest.mark.parametrize(
    ("verb", "extra", "done", "left"),
    [
        ("copy", False, 2, False),
        ("copy", True, 2, False),  # copy deletes nothing: local extras do not matter
        ("sync", True, 2, True),  # rclone must delete them
        ("sync", False, 2, False),
        ("copy", False, 1, True),  # a file did not come
    ],
)
def test_rclone_runs_when_files_are_left_or_a_sync_has_something_to_delete(verb, extra, done, left):
    found = prepared(a=(1, 0.0), b=(1, 0.0))
    found.extra = extra
    tally = Tally(verb)
    for name in list(found.todo)[:done]:
        tally.add(FileDone(name, "new", 1, None, "Copied from a Nextcloud archive"), "archive")
    assert archive.nothing_left(replace(DOWN, verb=verb), found, tally) is not left
