"""Both fast paths list the remote tree in a few requests (rcwiz.nextcloud.listing: the
outline, then the tree in one request, or a top-level folder per request when it is big):
against the real Nextcloud 30, with rclone's own `lsjson -R` of the same tree as the oracle,
and with rclone's listing taking over wherever the answer cannot be trusted."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from archive_faults import ArchiveFaults
from conftest import same_bytes
from helpers import json_lines, rcwiz, small_tree

from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.listing import big_checksums, tree
from rcwiz.rclone.lsjson import Listing, listing_of


def rclones_listing(rclone_bin: Path, conf: Path, remote: str) -> Listing:
    done = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "lsjson", "-R", "--no-mimetype", remote],
        capture_output=True,
        text=True,
        check=True,
    )
    return listing_of(json.loads(done.stdout))


def odd_tree(folder: Path) -> Path:
    """Three levels, an empty folder, an empty file, names with spaces, quotes, %, # and
    accents, a hidden file, an old time."""
    for rel, data in {
        "a b/x.txt": b"one\n",
        "a b/deep/empty.bin": b"",
        "a b/deep/er/est/y.txt": b"two\n",
        "ü%#&+'/é (1).txt": b"three\n",
        ".hidden": b"4",
    }.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    (folder / "empty-folder").mkdir()
    os.utime(folder / "a b" / "x.txt", (1709210096, 1709210096))
    return folder


def client_of(user) -> Client:
    return Client(user.server.url, user.name, user.password)


def rclone_copy(rclone_bin: Path, conf: Path, source: Path, dest: str) -> None:
    argv = [str(rclone_bin), "--config", str(conf), "copy", "--create-empty-src-dirs"]
    subprocess.run([*argv, str(source), dest], check=True, capture_output=True)


def run_log(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr
    summary = json_lines(done.stdout)[-1]
    return [json.loads(line) for line in Path(summary["log_path"]).read_text().splitlines()]


def listed_by(done: subprocess.CompletedProcess) -> str:
    (start,) = [e for e in run_log(done) if e.get("rcwiz") == "archive-start"]
    return start["listed_by"]


def test_three_requests_at_once_list_the_tree_as_rclone_does(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    rclone_copy(rclone_bin, nc_remote, odd_tree(tmp_path / "src"), "nc:odd")
    mark = real_nextcloud.log_mark()
    found, by = tree(client_of(nc_user), nc_user.name, "odd")
    requests = real_nextcloud.requests_since(mark)
    assert by == "search"  # the files came in the files' search
    # at once: the folder's level, its folders with their counts, its files
    assert sorted((r.method, r.status) for r in requests) == [
        ("PROPFIND", 207),
        ("SEARCH", 207),
        ("SEARCH", 207),
    ]
    assert found == rclones_listing(rclone_bin, nc_remote, "nc:odd")
    assert found.files["a b/x.txt"] == (4, 1709210096.0) and "empty-folder" in found.folders
    # rclone sent every file with its SHA-1, which the server keeps (rcwiz check uses it)
    assert set(found.checksums) == set(found.files)
    assert all("SHA1:" in text for text in found.checksums.values())
    # the user's whole home, and a folder that is not there
    assert tree(client_of(nc_user), nc_user.name, "") == (
        rclones_listing(rclone_bin, nc_remote, "nc:"),
        "search",
    )
    assert tree(client_of(nc_user), nc_user.name, "no/such/folder") == (Listing(), "propfind")


def test_a_file_asked_for_is_listed_as_rclone_lists_it_by_the_first_answer(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    """Before the fix a file was "not a tree": rclone listed it again (`lsjson`, 0.1-0.2 s
    and two more requests), and a download of one file paid for both."""
    rclone_copy(rclone_bin, nc_remote, odd_tree(tmp_path / "src"), "nc:odd")
    for path in ("odd/a b/x.txt", "odd/ü%#&+'/é (1).txt"):
        mark = real_nextcloud.log_mark()
        found = tree(client_of(nc_user), nc_user.name, path)
        requests = real_nextcloud.requests_since(mark)
        assert found == (rclones_listing(rclone_bin, nc_remote, f"nc:{path}"), "propfind")
        assert "SHA1:" in found.listing.checksums[path.rpartition("/")[2]]
        # the file's own answer; the searches sent with it find no folder to search
        assert [r.method for r in requests if r.status == 207] == ["PROPFIND"], requests


def test_a_download_and_an_upload_list_the_remote_once_and_reruns_send_nothing(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    source = small_tree(tmp_path / "src", 40)
    (source / "set-1" / "a" / "b").mkdir(parents=True)
    (source / "set-1" / "a" / "b" / "deep.txt").write_text("deep\n")
    up = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:both")
    assert run_log(up)
    mark = real_nextcloud.log_mark()
    again = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:both")
    requests = real_nextcloud.requests_since(mark)
    assert json_lines(again.stdout)[-1]["files"] == 0
    within = f"/remote.php/dav/files/{nc_user.name}/both"
    listings = [r for r in requests if r.method == "PROPFIND" and r.path.startswith(within)]
    assert len(listings) == 1, requests  # the level (and searches): no folder after folder

    back = tmp_path / "back"
    for _ in range(2):  # a download, then its re-run
        mark = real_nextcloud.log_mark()
        done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:both", str(back))
        assert listed_by(done) == "search"  # the files came in the files' search
        propfinds = [r for r in real_nextcloud.requests_since(mark) if r.method == "PROPFIND"]
        assert len(propfinds) == 1  # the level, and no quota check for a download
    assert same_bytes(source, back)
    assert json_lines(done.stdout)[-1]["files"] == 0


def test_a_name_rclone_would_decode_leaves_the_listing_to_rclone(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    source = small_tree(tmp_path / "src", 6)
    rclone_copy(rclone_bin, nc_remote, source, "nc:odd")
    # a name made on the server (a browser, a sync client) with a character that rclone
    # uses for encoding: rclone alone decides what it is called here
    assert nc_user.dav("PUT", "odd/star\uff0a.txt", b"starred\n")[0] == 201
    assert tree(client_of(nc_user), nc_user.name, "odd") is None
    back = tmp_path / "back"
    done = rcwiz("--json", "--config", str(nc_remote), "copy", "nc:odd", str(back))
    assert listed_by(done) == "rclone"
    by_rclone = tmp_path / "by-rclone"
    subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "copy", "nc:odd", str(by_rclone)], check=True
    )
    assert same_bytes(by_rclone, back) and len(list(back.glob("star*"))) == 1


@pytest.mark.parametrize("verb", ["copy", "sync"])
def test_a_server_that_lists_one_level_for_the_whole_tree_is_not_trusted(
    real_nextcloud, nc_user, nc_remote, rclone_conf, tmp_path, verb
):
    source = small_tree(tmp_path / "src", 12)
    (source / "set-0" / "sub").mkdir()
    (source / "set-0" / "sub" / "below.txt").write_text("one level down\n")
    up = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:levels")
    assert up.returncode == 0, up.stderr
    with ArchiveFaults(real_nextcloud.url, "shallow") as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "shallow.conf", {"nc": nc_user.remote(url=url)})
        back = tmp_path / "back"
        yes = ["--yes"] if verb == "sync" else []
        done = rcwiz("--json", "--config", str(conf), verb, "nc:levels", str(back), *yes)
        assert proxy.shallowed >= 1, done.stderr
    assert listed_by(done) == "rclone"
    assert same_bytes(source, back)  # nothing missed, nothing deleted


def test_a_tree_the_server_cannot_list_within_the_stall_timeout_is_listed_by_rclone(
    real_nextcloud, nc_user, nc_remote, rclone_conf, tmp_path
):
    source = small_tree(tmp_path / "src", 8)
    up = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:huge")
    assert up.returncode == 0, up.stderr
    with ArchiveFaults(real_nextcloud.url, "slow-listing") as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "slow.conf", {"nc": nc_user.remote(url=url)})
        back = tmp_path / "back"
        argv = ["--stall-timeout", "2", "--json", "--config", str(conf), "copy", "nc:huge"]
        done = rcwiz(*argv, str(back))
        assert proxy.shallowed >= 1, done.stderr
    assert listed_by(done) == "rclone"  # the server answers otherwise: not a hung one
    assert same_bytes(source, back)


def several_tops(folder: Path) -> Path:
    """odd_tree (three top-level folders, one of them empty, a hidden file at the top) with
    two more files at the top and a fourth top-level folder."""
    odd_tree(folder)
    (folder / "root.txt").write_bytes(b"at the top\n")
    (folder / "z-last").mkdir()
    (folder / "z-last" / "one.bin").write_bytes(os.urandom(3000))
    return folder


def a_folder_per_request(server, user, conf: Path, rclone_bin: Path, tmp_path: Path) -> None:
    """A tree of more files than the split threshold (lowered to 0 here) is listed a
    top-level folder per request, and the listing is rclone's, checksums and all."""
    rclone_copy(rclone_bin, conf, several_tops(tmp_path / "src"), "nc:tops")
    client = client_of(user)
    mark = server.log_mark()
    found, by = tree(client, user.name, "tops", split_above=0)
    requests = server.requests_since(mark)
    assert found == rclones_listing(rclone_bin, conf, "nc:tops") and by == "propfind"
    assert set(found.checksums) == set(found.files)  # the top level's files' too
    home = f"/remote.php/dav/files/{user.name}/tops/"
    propfinds = sorted(r.path for r in requests if r.method == "PROPFIND")
    tops = ["a b/", "empty-folder/", "z-last/", "ü%#&+'/"]
    assert propfinds == sorted([home, *(home + top for top in tops)]), requests
    assert [r.method for r in requests].count("SEARCH") == 2  # the folders', the files'
    assert all(r.status == 207 for r in requests), requests
    # the same tree under the threshold: the level and two searches, nothing after them
    mark = server.log_mark()
    assert tree(client, user.name, "tops") == (found, "search")
    requests = server.requests_since(mark)
    assert sorted((r.method, r.path) for r in requests if r.method == "PROPFIND") == [
        ("PROPFIND", home)
    ]
    assert [r.method for r in requests].count("SEARCH") == 2


def test_a_big_tree_is_listed_a_top_level_folder_per_request(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    a_folder_per_request(real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path)


def test_a_big_tree_is_listed_a_top_level_folder_per_request_on_the_production_like_server(
    prod_nextcloud, prod_user, prod_remote, rclone_bin, tmp_path
):
    a_folder_per_request(prod_nextcloud, prod_user, prod_remote, rclone_bin, tmp_path)


def test_a_download_asks_the_checksums_of_its_big_files_alone(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    rclone_copy(rclone_bin, nc_remote, several_tops(tmp_path / "src"), "nc:sums")
    client, user = client_of(nc_user), nc_user
    everything, _ = tree(client, user.name, "sums")
    assert set(everything.checksums) == set(everything.files)
    for split_above in (0, 10**6):  # a folder per request, and one request
        none, _ = tree(client, user.name, "sums", checksums=False, split_above=split_above)
        assert none == everything and none.checksums == {}
    mark = real_nextcloud.log_mark()
    big = big_checksums(client, user.name, "sums", 5)
    assert [r.method for r in real_nextcloud.requests_since(mark)] == ["SEARCH"]
    assert set(big) == {r for r, (size, _) in everything.files.items() if size >= 5}
    assert big == {r: everything.checksums[r] for r in big}


def test_a_server_without_search_is_listed_in_one_request_with_the_counts(
    real_nextcloud, nc_user, nc_remote, rclone_conf, rclone_bin, tmp_path
):
    source = several_tops(tmp_path / "src")
    rclone_copy(rclone_bin, nc_remote, source, "nc:nosearch")
    with ArchiveFaults(real_nextcloud.url, "no-search") as proxy:
        user = replace(nc_user, server=replace(real_nextcloud, url=proxy.url))
        mark = real_nextcloud.log_mark()
        found = tree(client_of(user), user.name, "nosearch", split_above=0)
        requests = real_nextcloud.requests_since(mark)
    assert found == (rclones_listing(rclone_bin, nc_remote, "nc:nosearch"), "propfind")
    home = f"/remote.php/dav/files/{nc_user.name}/nosearch/"
    # the level, then the whole tree (its counts in it): never a folder per request
    assert [(r.method, r.path) for r in requests] == [("PROPFIND", home)] * 2


def test_a_big_tree_whose_folders_answer_one_level_is_not_trusted(
    real_nextcloud, nc_user, nc_remote, rclone_bin, tmp_path
):
    rclone_copy(rclone_bin, nc_remote, several_tops(tmp_path / "src"), "nc:shallow")
    with ArchiveFaults(real_nextcloud.url, "shallow-search") as proxy:
        user = replace(nc_user, server=replace(real_nextcloud, url=proxy.url))
        assert tree(client_of(user), user.name, "shallow", split_above=0) is None
        # top-level folders' requests (the first untrusted answer cuts those still to come)
        assert 1 <= proxy.shallowed <= 4
        assert tree(client_of(user), user.name, "shallow") is not None  # the searches'
