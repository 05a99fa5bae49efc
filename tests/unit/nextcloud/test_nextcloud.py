"""Pure parts of the Nextcloud client: URLs, the bulk request body, batching, refusals."""

import hashlib
from pathlib import Path

import pytest

from rcwiz import errors
from rcwiz.nextcloud import bulk
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.capabilities import Capabilities, refused_files
from rcwiz.nextcloud.urls import split_dav_url
from rcwiz.transfer.walk import LocalFile, walk


def test_split_dav_url():
    assert split_dav_url("https://c.org/remote.php/dav/files/jdoe/") == (
        "https://c.org",
        "jdoe",
        "/",
    )
    assert split_dav_url("http://127.0.0.1:8/nc/remote.php/dav/files/a%40b.org/x/y/") == (
        "http://127.0.0.1:8/nc",
        "a@b.org",
        "/x/y/",
    )
    with pytest.raises(errors.UsageError):
        split_dav_url("https://c.org/remote.php/webdav/")


def test_account_paths_are_relative_to_the_users_home():
    acct = Account("nc:", "https://c.org", "jdoe", "jdoe", "pw", "/")
    assert acct.path_of("nc:results/run1") == "/results/run1"
    assert acct.path_of("nc:") == "/"
    deeper = Account("nc:", "https://c.org", "jdoe", "jdoe", "pw", "/lab/")
    assert deeper.path_of("nc:results/") == "/lab/results"
    assert "pw" not in repr(acct)


def test_multipart_body_follows_the_documented_format():
    body = bulk.multipart([("/a/x.txt", b"hello", 1_700_000_000.7), ("/b.bin", b"", 5)], "B")
    md5 = hashlib.md5(b"hello").hexdigest()
    assert body == (
        b"--B\r\nX-File-Path: /a/x.txt\r\nX-File-MD5: "
        + md5.encode()
        + b"\r\nX-File-Mtime: 1700000000\r\nContent-Length: 5\r\n\r\nhello\r\n"
        + b"--B\r\nX-File-Path: /b.bin\r\nX-File-MD5: d41d8cd98f00b204e9800998ecf8427e"
        + b"\r\nX-File-Mtime: 86401\r\nContent-Length: 0\r\n\r\n\r\n--B--\r\n"
    )


def test_batches_are_bounded_by_count_and_bytes():
    files = [LocalFile(f"f{i}", Path("x"), 10, 0) for i in range(250)]
    assert [len(b) for b in bulk.batches(files)] == [100, 100, 50]
    big = [LocalFile(f"f{i}", Path("x"), bulk.BATCH_BYTES // 3, 0) for i in range(7)]
    assert [len(b) for b in bulk.batches(big)] == [3, 3, 1]


def test_capabilities_and_refused_files(tmp_path):
    caps = Capabilities.from_ocs(
        {
            "version": {"string": "30.0.1"},
            "capabilities": {
                "dav": {"chunking": "1.0", "bulkupload": "1.0"},
                "files": {
                    "forbidden_filenames": [".htaccess"],
                    "forbidden_filename_characters": ["\\"],
                    "forbidden_filename_extensions": [".part", ".filepart"],
                },
            },
        }
    )
    assert caps.bulkupload == "1.0" and caps.version == "30.0.1"
    (tmp_path / "ok.txt").write_text("x")
    (tmp_path / ".htaccess").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "download.part").write_text("x")
    (tmp_path / "sub" / "back\\slash.txt").write_text("x")
    tree = walk(tmp_path)
    assert tree is not None
    refused = dict(refused_files(tree, caps))
    assert set(refused) == {".htaccess", "sub/download.part", "sub/back\\slash.txt"}
    assert ".part" in refused["sub/download.part"]
    assert Capabilities.from_ocs({}).bulkupload is None


def test_batches_give_requests_in_flight_something_to_carry():
    files = [LocalFile(f"f{i}", Path("x"), 10, 0) for i in range(100)]
    assert [len(b) for b in bulk.batches(files, parts=3)] == [34, 34, 32]
    assert [len(b) for b in bulk.batches(files[:60], parts=3)] == [25, 25, 10]
    assert [len(b) for b in bulk.batches(files[:6], parts=3)] == [6]  # not worth a request
    many = [LocalFile(f"f{i}", Path("x"), 10, 0) for i in range(1000)]
    assert {len(b) for b in bulk.batches(many, parts=3)} == {bulk.BATCH_FILES}


def test_multipart_pieces_are_the_body_unjoined():
    parts = [("/a/x.txt", b"hello", 1_700_000_000.7), ("/b.bin", b"", 5)]
    assert b"".join(bulk.multipart_pieces(parts, "B")) == bulk.multipart(parts, "B")
    assert b"hello" in bulk.multipart_pieces(parts, "B")  # the content is not copied


def test_folders_to_make_skip_known_ones_and_come_by_depth():
    files = [LocalFile(n, Path(n), 1, 0) for n in ("a/b/c/1", "a/b/2", "d/3", "4")]
    assert bulk.folders_to_make(files, set()) == [[""], ["a", "d"], ["a/b"], ["a/b/c"]]
    assert bulk.folders_to_make(files, {"", "a", "a/b"}) == [["d"], ["a/b/c"]]
    assert bulk.folders_to_make(files[3:], {""}) == []
