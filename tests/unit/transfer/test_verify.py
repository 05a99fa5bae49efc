"""The comparison behind `rcwiz check`: which way each file is proven, and what it reports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from rcwiz.rclone.lsjson import Listing
from rcwiz.transfer.verify import Report, checksums, compare
from rcwiz.transfer.walk import walk


def test_checksums_as_nextcloud_writes_them() -> None:
    text = "SHA1:AB12 MD5:cd34 ADLER32:0001"
    assert checksums(text) == {"sha1": "ab12", "md5": "cd34"}
    assert checksums("") == {}


def _tree(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def test_each_file_is_proven_the_cheapest_way_and_sides_are_named(tmp_path: Path) -> None:
    files = {"hashed": b"one", "read": b"two", "changed": b"three", "bigger": b"4", "mine": b"5"}
    _tree(tmp_path, files)
    remote = Listing(
        files={
            "hashed": (3, 0.0),
            "read": (3, 0.0),
            "changed": (5, 0.0),
            "bigger": (2, 0.0),
            "theirs": (1, 0.0),
        },
        checksums={"hashed": "SHA1:" + hashlib.sha1(b"one").hexdigest()},
    )
    asked: list[Mapping[str, int]] = []

    def fetch(wanted: Mapping[str, int]) -> tuple[dict[str, str], dict[str, str]]:
        asked.append(dict(wanted))
        sha1 = hashlib.sha1
        return {"read": sha1(b"two").hexdigest(), "changed": sha1(b"THREE").hexdigest()}, {}

    tree = walk(tmp_path)
    assert tree is not None
    up = compare(tree, remote, local_is_source=True, report=Report("a", "b"), fetch=fetch)
    assert asked == [{"read": 3, "changed": 5}]  # no checksum, same size: read
    assert up.same == {"hash": 1, "content": 1}
    assert up.differ == [("bigger", "size"), ("changed", "content")]
    assert (up.missing, up.extra) == (["mine"], ["theirs"])
    assert not up.identical
    down = compare(tree, remote, local_is_source=False, report=Report("b", "a"), fetch=fetch)
    assert (down.missing, down.extra) == (["theirs"], ["mine"])


def test_a_file_the_server_did_not_send_is_unreadable_not_equal(tmp_path: Path) -> None:
    _tree(tmp_path, {"x": b"data"})
    tree = walk(tmp_path)
    assert tree is not None
    report = compare(
        tree,
        Listing(files={"x": (4, 0.0)}),
        local_is_source=True,
        report=Report("a", "b"),
        fetch=lambda wanted: ({}, {"x": "the server answered HTTP 500"}),
    )
    assert report.unreadable == [("x", "the server answered HTTP 500")]
    assert not report.identical
    assert report.differences(20) == [
        "1 file(s) could not be compared:",
        "  x  (the server answered HTTP 500)",
    ]
