"""The outline's searches read and checked (rcwiz.nextcloud.outline): a tree from the folders'
and the files' SEARCH answers is trusted only when every folder holds exactly what its counts
say, and a result of the wrong kind is refused at once."""

from __future__ import annotations

import pytest

from rcwiz.nextcloud import outline
from rcwiz.nextcloud.multistatus import Unusable, each_response

PREFIX = "/remote.php/dav/files/alice/t/"
WHEN = "Mon, 07 Dec 2026 12:00:00 GMT"


def answer(*responses: str) -> bytes:
    return (
        '<d:multistatus xmlns:d="DAV:" xmlns:nc="http://nextcloud.org/ns">'
        + "".join(responses)
        + "</d:multistatus>"
    ).encode()


def folder(rel: str, files: int, folders: int) -> str:
    return (
        f"<d:response><d:href>{PREFIX}{rel}/</d:href><d:propstat><d:prop>"
        f"<d:getlastmodified>{WHEN}</d:getlastmodified><d:resourcetype><d:collection/>"
        f"</d:resourcetype><nc:contained-file-count>{files}</nc:contained-file-count>"
        f"<nc:contained-folder-count>{folders}</nc:contained-folder-count></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def file(rel: str, size: int = 3) -> str:
    return (
        f"<d:response><d:href>{PREFIX}{rel}</d:href><d:propstat><d:prop>"
        f"<d:getlastmodified>{WHEN}</d:getlastmodified><d:getcontentlength>{size}"
        "</d:getcontentlength><d:resourcetype/></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def results(data: bytes) -> outline.Results:
    return [outline._result(r, PREFIX) for r in each_response([data])]


FOLDERS = results(answer(folder("a", 1, 1), folder("a/b", 2, 0), folder("c", 0, 0)))
FILES = [file("top.txt"), file("a/x"), file("a/b/y"), file("a/b/z")]
SAID = {"": (1, 2), "a": (1, 1), "a/b": (2, 0), "c": (0, 0)}


def test_the_searches_are_the_tree_when_every_folder_holds_what_it_says():
    found = outline._checked(SAID, FOLDERS, results(answer(*FILES)))
    assert set(found.files) == {"top.txt", "a/x", "a/b/y", "a/b/z"}
    assert set(found.folders) == {"a", "a/b", "c"} and found.files["a/x"][0] == 3


@pytest.mark.parametrize(
    "files",
    [
        FILES[:-1],  # a file the search missed (a storage not scanned yet)
        [*FILES, file("c/late")],  # a file its folder does not count
        [*FILES, file("d/x")],  # a file in a folder the folders' search did not find
    ],
)
def test_searches_that_miss_or_add_anything_are_not_trusted(files):
    with pytest.raises(Unusable):
        outline._checked(SAID, FOLDERS, results(answer(*files)))


def test_a_result_of_the_wrong_kind_is_refused_at_once():
    with pytest.raises(Unusable, match="folders' search"):
        outline._a_folder(results(answer(file("a/x")))[0])
    with pytest.raises(Unusable, match="files' search"):
        outline._a_file(FOLDERS[0])
    with pytest.raises(Unusable, match="smaller"):
        outline._at_least(4)(results(answer(file("a/x", 3)))[0])
    outline._at_least(3)(results(answer(file("a/x", 3)))[0])


def test_the_level_and_the_folders_search_must_name_the_same_top_level_folders():
    level = outline.Listing(folders={"a": 0.0, "c": 0.0})
    assert outline._agreed({"": (1, 2)}, FOLDERS, level) == SAID
    with pytest.raises(Unusable, match="different folders"):
        outline._agreed({"": (1, 2)}, FOLDERS, outline.Listing(folders={"a": 0.0}))
