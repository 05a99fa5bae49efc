"""Archive requests: which names go together, and how each request is spelled (30 and 31+)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from rcwiz.nextcloud import archive
from rcwiz.nextcloud.account import Account

ACCOUNT = Account("nc:", "https://cloud.example.org/nc", "jdoe", "jdoe", "pw")


def roomy(folder: str) -> int:
    return 10**9


def test_a_folder_whose_every_file_is_wanted_is_asked_for_by_its_name():
    listed = ["a/1", "a/2", "a/b/3", "c/4", "c/5", "top"]
    wanted = {"a/1": 1, "a/2": 2, "a/b/3": 3, "c/4": 4, "top": 6}  # c/5 is unchanged
    (root, folder_c) = archive.plan(wanted, listed, roomy)
    assert (root.folder, root.names, root.whole) == ("", ["a", "top"], {"a"})
    assert root.entries == {"a/1": "a/1", "a/2": "a/2", "a/b/3": "a/b/3", "top": "top"}
    # c is not whole: its file is asked for by name, in a request for folder c
    assert (folder_c.folder, folder_c.names, folder_c.entries) == ("c", ["4"], {"4": "c/4"})
    assert folder_c.single == "c/4" and root.single is None


def test_a_whole_folder_inside_a_partial_one_is_asked_for_from_its_parent():
    listed = ["p/keep", "p/new", "p/q/1", "p/q/2"]
    wanted = {"p/new": 1, "p/q/1": 1, "p/q/2": 1}
    (batch,) = archive.plan(wanted, listed, roomy)
    assert (batch.folder, sorted(batch.names), batch.whole) == ("p", ["new", "q"], {"q"})
    assert batch.entries == {"new": "p/new", "q/1": "p/q/1", "q/2": "p/q/2"}


def test_batches_are_bounded_by_files_bytes_and_url_length():
    many = {f"d/f{i:04d}": 10 for i in range(2500)}
    listed = [*many, "d/unchanged"]  # so d is not whole
    sizes = [len(b.entries) for b in archive.plan(many, listed, roomy)]
    assert sizes == [1000, 1000, 500]
    big = {f"d/f{i}": archive.BATCH_BYTES // 3 for i in range(7)}
    assert [len(b.names) for b in archive.plan(big, [*big, "d/x"], roomy)] == [3, 3, 1]
    room = 200
    batches = archive.plan(many, listed, lambda folder: room)
    assert all(sum(archive.name_cost(n) for n in b.names) <= room for b in batches)
    assert sum(len(b.entries) for b in batches) == 2500


def test_parallel_requests_share_the_work():
    wanted = {f"d/f{i:04d}": 10 for i in range(1000)}
    batches = archive.plan(wanted, [*wanted, "d/x"], roomy, parallel=4)
    assert [len(b.entries) for b in batches] == [250] * 4
    few = {f"d/f{i}": 10 for i in range(150)}
    assert len(archive.plan(few, [*few, "d/x"], roomy, parallel=4)) == 2  # 100 at least


def test_a_folder_too_big_for_one_batch_is_split_into_its_parts():
    wanted = {f"big/s{j}/f{i}": 10 for j in range(3) for i in range(600)}
    batches = archive.plan(wanted, list(wanted), roomy)
    assert [(b.folder, b.names) for b in batches] == [("big", [f"s{j}"]) for j in range(3)]


@pytest.mark.parametrize("name", ["plain.txt", "a b+c&d=e#f%g?.txt", 'quote"s', "ünï 日本 😀"])
def test_name_cost_is_exactly_what_the_name_adds_to_the_query(name):
    names = ["x", name, "y"]
    with_it = urlencode({"files": json.dumps(names, ensure_ascii=False, separators=(",", ":"))})
    without = urlencode({"files": json.dumps(["x", "y"], separators=(",", ":"))})
    assert len(with_it) - len(without) == archive.name_cost(name)


def test_nextcloud_30_requests_go_to_the_ajax_endpoint():
    archives = archive.Archives(ACCOUNT, "/data/run 1", major=30)
    batch = archive.Batch("sub", ["a b.txt", "ü"])
    path, query, headers = archives.request(batch)
    assert path == "/index.php/apps/files/ajax/download.php" and headers == {}
    assert query["dir"] == "/data/run 1/sub"
    assert json.loads(query["files"]) == ["a b.txt", "ü"]
    assert archives.room("sub") == archive.MAX_TARGET - len("/nc") - len(
        path + "?" + urlencode({"dir": "/data/run 1/sub", "files": "[]"})
    )


def test_nextcloud_31_requests_go_to_webdav_with_accept_zip():
    archives = archive.Archives(ACCOUNT, "/data", major=31)
    path, query, headers = archives.request(archive.Batch("", ["a", "b"]))
    assert path == "/remote.php/dav/files/jdoe/data/"
    assert query == {"accept": "zip", "files": '["a","b"]'}
    assert headers == {"Accept": "application/zip"}
    target = f"{path}?{urlencode(query)}"
    assert parse_qs(urlsplit(target).query)["files"] == ['["a","b"]']
    assert archive.Archives(ACCOUNT, "/", major=None).webdav is False  # unknown: ajax


def test_the_bound_of_an_answer_covers_its_entries():
    batch = archive.Batch("", ["d"], {"d/a": "d/a", "d/b": "d/b"}, {"d"}, 3000)
    assert batch.bound(folders=1) >= 3000 + 3 * archive.ENTRY_OVERHEAD


def test_a_tree_wanted_whole_is_one_request_for_the_remote_folder_by_its_name():
    listed = ["a/1", "a/b/2", "top"]
    wanted = {"a/1": 1, "a/b/2": 2, "top": 3}
    (batch,) = archive.plan(wanted, listed, roomy, parallel=2, root_name="run 1")
    assert (batch.above, batch.folder, batch.names, batch.whole) == (True, "", ["run 1"], {"run 1"})
    assert batch.entries == {"run 1/a/1": "a/1", "run 1/a/b/2": "a/b/2", "run 1/top": "top"}
    assert batch.bytes == 6 and batch.single is None
    # Not when a file is not wanted, the remote folder has no name, or it is too much for one.
    assert not archive.plan(wanted, [*listed, "old"], roomy, root_name="run 1")[0].above
    assert not archive.plan(wanted, listed, roomy, root_name=None)[0].above
    many = {f"d/f{i:04d}": 10 for i in range(archive.BATCH_FILES + 1)}
    assert not any(b.above for b in archive.plan(many, list(many), roomy, root_name="x"))


def test_a_tree_wanted_whole_is_shared_among_requests_in_flight_a_folder_each():
    # 1000 files in five folders, as benchmarks/floor_speed.py sends them: five requests
    # (the floor's), not one (on a server with Redis locking: 7.5 s against 11.7 s).
    tree = {f"set-{i % 5}{'/deep' if i % 5 % 2 else ''}/f{i:05d}": 2000 for i in range(1000)}
    batches = archive.plan(tree, list(tree), roomy, parallel=4, root_name="seed")
    assert sorted(b.names[0] for b in batches) == [f"set-{k}" for k in range(5)]
    assert all(len(b.names) == 1 and b.whole == set(b.names) and not b.above for b in batches)
    assert sorted(rel for b in batches for rel in b.entries.values()) == sorted(tree)
    # One request still when there is one in flight, or too few files to share.
    assert archive.plan(tree, list(tree), roomy, parallel=1, root_name="seed")[0].above
    few = dict(list(tree.items())[: 2 * archive.MIN_BATCH_FILES - 1])
    (batch,) = archive.plan(few, list(few), roomy, parallel=4, root_name="seed")
    assert batch.above


@pytest.mark.parametrize(
    ("major", "root", "parent"), [(30, "/data/run 1", "data"), (31, "/run", "")]
)
def test_the_remote_folder_itself_is_asked_for_in_its_parent(major, root, parent):
    archives = archive.Archives(ACCOUNT, root, major=major)
    assert archives.root_name == root.rsplit("/", 1)[1]
    batch = archive.Batch("", [archives.root_name], whole={archives.root_name}, above=True)
    path, query, _ = archives.request(batch)
    if major == 30:
        assert query["dir"] == f"/{parent}"
    else:
        assert path == f"/remote.php/dav/files/jdoe/{parent}".rstrip("/") + "/"
    assert json.loads(query["files"]) == [archives.root_name]
    assert archive.Archives(ACCOUNT, "/", major=30).root_name is None
