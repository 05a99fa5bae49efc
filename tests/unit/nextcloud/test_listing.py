"""The whole-tree listing read from a real answer: Nextcloud 30.0.1's PROPFIND Depth: infinity
of a small tree (odd names, an empty folder, an empty file, a time from 2024), captured with
rclone's own `lsjson -R` of the same tree at the same moment (tests/data/nextcloud/). The
reader must give exactly rclone's listing, and refuse any answer it cannot trust."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rcwiz.nextcloud.listing import Unusable, read
from rcwiz.rclone.lsjson import Listing, listing_of

DATA = Path(__file__).parents[2] / "data" / "nextcloud"
ANSWER = (DATA / "propfind-depth-infinity.xml").read_bytes()
PREFIX = "/remote.php/dav/files/alice/capture/"


def rclones_listing() -> Listing:
    return listing_of(json.loads((DATA / "propfind-depth-infinity.lsjson").read_text()))


def responses(answer: bytes) -> list[bytes]:
    return re.findall(rb"<d:response>.*?</d:response>", answer)


def without(answer: bytes, href_part: bytes) -> bytes:
    """ANSWER with the response whose href contains HREF_PART left out."""
    (gone,) = [r for r in responses(answer) if href_part in r.split(b"<d:propstat>")[0]]
    return answer.replace(gone, b"")


def test_the_answer_read_is_rclones_listing_of_the_same_tree():
    found = read(PREFIX, [ANSWER])
    assert found == rclones_listing()
    assert "ü%#&+'/é.txt" in found.files and found.files["a b/deep/empty.bin"][0] == 0
    assert "empty-folder" in found.folders


def test_the_answer_read_in_small_pieces_is_the_same():
    pieces = [ANSWER[i : i + 7] for i in range(0, len(ANSWER), 7)]
    assert read(PREFIX, pieces) == rclones_listing()


@pytest.mark.parametrize(
    "missing",
    [
        b"deep/er/y.txt",  # a file the folder counts (what a Depth: 1 answer lacks)
        b"empty-folder/",  # a folder the parent counts
        b"alice/capture/</d:href>",  # the folder itself (its counts are the check)
    ],
)
def test_an_answer_that_lacks_an_entry_is_not_trusted(missing):
    with pytest.raises(Unusable):
        read(PREFIX, [without(ANSWER, missing)])


def test_an_answer_for_another_folder_is_not_trusted():
    with pytest.raises(Unusable):
        read("/remote.php/dav/files/alice/other/", [ANSWER])


@pytest.mark.parametrize(
    "spoiled",
    [
        (b"<nc:contained-file-count>1</nc:contained-file-count>", b""),  # no count: an old server
        (b"<d:getcontentlength>6</d:getcontentlength>", b""),  # a file without its size
        (b"GMT</d:getlastmodified>", b"</d:getlastmodified>"),  # a time in no time zone
        (b"Tue, 01 Dec 2026", b"Tue, 41 Dec 2026"),  # a time that is not one
        (b"/capture/a%20b/x.txt", b"/capture/a%20b/..%2Fx.txt"),  # a name that climbs out
        (b"/capture/a%20b/x.txt", b"/capture/a%20b/x%EF%BC%8A.txt"),  # rclone would decode it
        (b"</d:multistatus>", b""),  # cut off
    ],
)
def test_an_answer_rclone_would_read_otherwise_is_not_trusted(spoiled):
    old, new = spoiled
    assert old in ANSWER
    with pytest.raises(Unusable):
        read(PREFIX, [ANSWER.replace(old, new, 1)])


FILE_ANSWER = ANSWER.split(b"<d:response>")[0] + (
    b"<d:response><d:href>/remote.php/dav/files/alice/capture</d:href><d:propstat><d:prop>"
    b"<d:getlastmodified>Tue, 01 Dec 2026 15:08:34 GMT</d:getlastmodified>"
    b"<d:getcontentlength>4</d:getcontentlength><d:resourcetype/></d:prop>"
    b"<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"
)


def test_a_file_named_as_the_folder_is_that_file_as_rclone_lists_it():
    found = read(PREFIX, [FILE_ANSWER])
    assert found == Listing(files={"capture": (4, 1796137714.0)})
    assert read(PREFIX, [FILE_ANSWER], depth="1") == found  # the outline's level


def test_a_file_named_as_the_folder_holds_nothing():
    more = FILE_ANSWER.replace(b"</d:multistatus>", responses(ANSWER)[1] + b"</d:multistatus>")
    with pytest.raises(Unusable, match="after the file"):
        read(PREFIX, [more])


def test_a_file_named_as_a_folder_below_is_not_trusted():
    sub = FILE_ANSWER.replace(b"alice/capture</d:href>", b"alice/capture/sub</d:href>")
    with pytest.raises(Unusable, match="a file"):
        read(PREFIX, [sub], said={"": (0, 1), "sub": (0, 0)}, top="sub")


def endless(answer: bytes, taken: list[int]) -> Iterator[bytes]:
    """ANSWER without its end, then copies of its last file entry under new names for ever
    (valid entries, as an endless answer would send them); TAKEN counts the pieces read."""
    body = answer[: answer.rindex(b"</d:multistatus>")]
    last = [r for r in responses(answer) if b"<d:collection/>" not in r][-1]
    href = last.split(b"<d:href>", 1)[1].split(b"</d:href>", 1)[0]
    taken.append(1)
    yield body
    n = 0
    while True:
        taken.append(1)
        n += 1
        yield last.replace(href, href + b"-" + str(n).encode())


def test_an_endless_answer_is_cut_off_at_the_first_entry_more_than_its_folder_holds():
    taken: list[int] = []
    with pytest.raises(Unusable, match="holds more than it said"):
        read(PREFIX, endless(ANSWER, taken))
    assert len(taken) == 2  # the real answer, and one entry more: nothing after it is read


def test_an_entry_before_its_folder_is_not_trusted():
    # Nextcloud lists a folder before what it holds: an entry that comes first is refused at
    # once (its folder's counts cannot be checked yet).
    folder = next(r for r in responses(ANSWER) if b"empty-folder/" in r)
    entry = folder.replace(b"empty-folder/", b"empty-folder/inner.txt").replace(
        b"<d:resourcetype><d:collection/></d:resourcetype>", b"<d:resourcetype/>"
    )
    moved = ANSWER.replace(folder, b"").replace(
        b"</d:multistatus>", entry + folder + b"</d:multistatus>"
    )
    with pytest.raises(Unusable, match="before its folder"):
        read(PREFIX, [moved])


def test_one_response_that_never_ends_is_cut_off():
    head = ANSWER[: ANSWER.index(b"<d:response>")] + b"<d:response><d:href>"
    pieces = [head, *([b"x" * 65536] * 64)]
    with pytest.raises(Unusable, match="longer than"):
        read(PREFIX, pieces)


def counts() -> dict[str, tuple[int, int]]:
    """Every folder's counts, as the answer gives them (the outline's, when asked apart)."""
    said: dict[str, tuple[int, int]] = {}
    read(PREFIX, [ANSWER], said=said)
    return said


def test_an_answer_checked_by_the_outlines_counts_is_rclones_listing():
    said = counts()
    assert said[""] == (1, 3) and said["a b/deep"] == (1, 1)
    assert read(PREFIX, [ANSWER], said=said, counted=False) == rclones_listing()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda said: said.pop("empty-folder"), "not in the outline"),
        (lambda said: said.update({"a b/deep/er": (0, 0)}), "holds more than it said"),
        (lambda said: said.update({"a b": (2, 1)}), "not listed whole"),
    ],
)
def test_an_answer_that_differs_from_the_outline_is_not_trusted(change, why):
    said = counts()
    change(said)
    with pytest.raises(Unusable, match=why):
        read(PREFIX, [ANSWER], said=said, counted=False)


def subtree(top: bytes) -> bytes:
    """ANSWER cut down to the folder TOP (an href part) and what it holds: the answer a
    request for that one top-level folder gets."""
    head = ANSWER[: ANSWER.index(b"<d:response>")]
    kept = [r for r in responses(ANSWER) if b"/capture/" + top in r.split(b"<d:propstat>")[0]]
    return head + b"".join(kept) + b"</d:multistatus>"


def test_a_top_level_folders_own_answer_is_read_as_part_of_the_tree():
    said = counts()
    found = read(PREFIX, [subtree(b"a%20b/")], said=said, counted=False, top="a b")
    whole = rclones_listing()
    assert found.files == {r: v for r, v in whole.files.items() if r.startswith("a b/")}
    assert set(found.folders) == {"a b", "a b/deep", "a b/deep/er"}
    # another top-level folder's entry in it, or that folder's answer lacking an entry
    with pytest.raises(Unusable, match="is not in a b"):
        read(PREFIX, [subtree(b"")], said=said, counted=False, top="a b")
    with pytest.raises(Unusable):
        read(PREFIX, [without(subtree(b"a%20b/"), b"x.txt")], said=said, counted=False, top="a b")
