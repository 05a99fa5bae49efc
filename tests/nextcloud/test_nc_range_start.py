"""What a big file's download from the real Nextcloud 30 waits for, before its first range and
after its last (issue 26: a 1 GB download no slower than rclone's).

* Its version (ETag, size) comes from the listing of the same run, not from a HEAD of its own:
  a partial on disk is kept when its record came from that version, as before.
* The server's checksums of the big files are asked for while the first ranges already come:
  the fault proxy (request_faults.RequestFaults, kind "listing", fault "held") lets the
  listing's two SEARCHes through and holds the third, the checksums' one, until bytes are on
  disk.
* The file is hashed in order as its bytes land (rcwiz.transfer.partial_file.Download): when
  the first half is on disk and the checksum known, the first half is hashed before the rest
  arrives, and a wrong checksum still spoils the file.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import MiB
from helpers import RCWIZ, json_result, rcwiz, started
from realnc import wait_for
from request_faults import HELD, RequestFaults

from rcwiz.http import Client
from rcwiz.nextcloud import ranged
from rcwiz.transfer import partials, unzip
from rcwiz.transfer.partial_file import Download, Expected, Spoiled

SIZE = 24 * MiB
HALF = SIZE // 2


def _put(nc_user, data: bytes) -> None:
    nc_user.dav("MKCOL", "down")
    status, _ = nc_user.dav("PUT", "down/big.bin", data)
    assert status in (201, 204), status


def _recorded(destination: Path) -> list[tuple[int, int]] | None:
    """What the partial's record says is on disk (None: no record yet)."""
    record = partials.load(str(destination.resolve()))
    return None if record is None else record.good


def _records() -> list[Path]:
    return list((Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "partials").glob("*.json"))


@pytest.mark.parametrize("source", ["nc:down", "nc:down/big.bin"], ids=["folder", "single"])
def test_a_partial_is_kept_by_the_listings_etag_and_no_head_is_asked(
    source, real_nextcloud, nc_user, nc_remote, tmp_path
):
    """Before: a HEAD per big file after the listing, a round trip before the first range."""
    data = os.urandom(SIZE)
    _put(nc_user, data)
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    version = ranged.version(client, nc_user.name, "down/big.bin")
    back = tmp_path / "back"
    back.mkdir()
    partial = back / ".big.bin.rcwiz-partial"
    partial.write_bytes(data[:HALF])
    destination = str(back.resolve() / "big.bin")
    partials.Record(
        destination, str(partial), "/down/big.bin", "", version.etag, SIZE, [(0, HALF)]
    ).save()
    mark = real_nextcloud.log_mark()
    done = rcwiz("--config", str(nc_remote), "copy", source, str(back), "--json")
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    assert summary["resumed_bytes"] == HALF and summary["bytes"] == SIZE - HALF
    assert not summary["rclone_ran"]
    methods = [r.method for r in real_nextcloud.requests_since(mark)]
    assert "HEAD" not in methods and "GET" in methods, methods
    assert (back / "big.bin").read_bytes() == data
    assert sorted(p.name for p in back.iterdir()) == ["big.bin"] and _records() == []


def test_the_first_ranges_do_not_wait_for_the_checksums(
    nc_user, rclone_bin, rclone_conf, nc_remote, tmp_path
):
    """The checksums' SEARCH held by the proxy: the ranges come all the same, and the file is
    renamed into place once the SEARCH is let go. Before: no range until its answer. While the
    whole file waits for its checksum, the run goes on (its record is saved whole); before, the
    main thread waited in the file's check, saving nothing and showing nothing."""
    source = tmp_path / "src"
    source.mkdir()
    data = os.urandom(SIZE)
    (source / "big.bin").write_bytes(data)  # rclone's upload: the server keeps its SHA-1
    up = [str(rclone_bin), "--config", str(nc_remote), "copy", str(source), "nc:down"]
    subprocess.run(up, check=True, capture_output=True, timeout=120)
    back = tmp_path / "back"
    with RequestFaults(nc_user.server.url, "listing", HELD, after=2) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "held.conf", {"nc": nc_user.remote(url=url)})
        argv = [*RCWIZ, "--config", str(conf), "copy", "nc:down", str(back), "--json"]
        with started(argv) as proc:
            wait_for(proxy.seen["listing"].is_set, 60, "the checksums' SEARCH")
            partial = back / ".big.bin.rcwiz-partial"
            wait_for(lambda: partial.exists() and partial.stat().st_size > 0, 60, "ranges")
            wait_for(lambda: _recorded(back / "big.bin") == [(0, SIZE)], 60, "a whole record")
            assert not (back / "big.bin").exists()  # not before its checksum was seen
            proxy.let_go.set()
            out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json_result(out, "copy")
    assert summary["bytes"] == SIZE and not summary["rclone_ran"]
    assert (back / "big.bin").read_bytes() == data


@pytest.mark.parametrize("right", [True, False], ids=["its-checksum", "another-checksum"])
def test_the_bytes_are_hashed_in_order_and_synced_as_they_land(right, nc_user, tmp_path):
    """The first half on disk and the checksum given: the hasher thread hashes the first half,
    and the syncer syncs it, before the second is asked for. Before: nothing was hashed until
    the main loop's turn (a file whose pieces all ended together was hashed whole at its end),
    and nothing synced but by the periodic record (the fsync before the rename had up to
    SAVE_EVERY seconds of bytes to write)."""
    data = os.urandom(SIZE)
    _put(nc_user, data)
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    version = ranged.version(client, nc_user.name, "down/big.bin")
    digest = hashlib.sha1(data if right else data[::-1]).hexdigest()
    expected = Expected()
    download = Download(
        "big.bin", "/down/big.bin", str(tmp_path / "big.bin"), SIZE, 1e9, expected, version.etag
    )
    with unzip.Destination(tmp_path) as dest:
        assert download.open(dest, client, nc_user.name) == [(0, SIZE)]
        stop = threading.Event()
        for span in ((0, HALF), (HALF, SIZE)):
            into = download.piece(span[0], lambda: None)
            ranged.fetch(client, nc_user.name, "/down/big.bin", span, version, into, stop)
            download.piece_ended(span)
            if span[0] == 0:
                expected.give(f"SHA1:{digest}")
                wait_for(lambda: download.hashed >= HALF, 30, "the first half hashed")
                wait_for(lambda: download.synced >= HALF, 30, "the first half synced")
        if right:
            download.finish()
            assert (tmp_path / "big.bin").read_bytes() == data
        else:
            with pytest.raises(Spoiled, match="SHA1"):
                download.finish()
            assert not (tmp_path / "big.bin").exists()


def test_a_download_closed_before_its_checksum_came_leaves_no_thread_behind(nc_user, tmp_path):
    """A run that stops closes its downloads: their hasher and syncer threads end with them.
    Before: a hasher waited for a checksum that no longer mattered, as long as the process ran."""
    _put(nc_user, os.urandom(SIZE))
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    download = Download(
        "big.bin", "/down/big.bin", str(tmp_path / "big.bin"), SIZE, 1e9, Expected()
    )
    with unzip.Destination(tmp_path) as dest:
        download.open(dest, client, nc_user.name)
        mine = {"hasher big.bin", "syncer big.bin"}
        assert mine <= {t.name for t in threading.enumerate()}
        download.close()
    assert not mine & {t.name for t in threading.enumerate()}
    download.discard()


def test_a_file_replaced_after_the_listing_comes_whole_in_its_new_version(
    real_nextcloud, nc_user, rclone_conf, tmp_path
):
    """The listing's ETag is the version the ranges ask for (If-Range): the file replaced on
    the server while the first range is held by the proxy, that range answers 200, and the
    file starts again from zero at the version HEAD gives now (the listing's is no longer it),
    never a mix of the two."""
    _put(nc_user, os.urandom(SIZE))
    new = os.urandom(SIZE)
    back = tmp_path / "back"
    with RequestFaults(nc_user.server.url, "range", HELD) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "held.conf", {"nc": nc_user.remote(url=url)})
        argv = [*RCWIZ, "--config", str(conf), "copy", "nc:down", str(back), "--json"]
        with started(argv) as proc:
            wait_for(proxy.seen["range"].is_set, 60, "the first range")
            status, _ = nc_user.dav(
                "PUT", "down/big.bin", new, headers={"X-OC-MTime": "1000000000"}
            )
            assert status in (201, 204), status
            mark = real_nextcloud.log_mark()
            proxy.let_go.set()
            out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json_result(out, "copy")
    assert not summary["rclone_ran"]
    assert "HEAD" in [r.method for r in real_nextcloud.requests_since(mark)]
    assert (back / "big.bin").read_bytes() == new
