"""Progress of a chunked upload counts what the server confirmed, not what rcwiz wrote.

A proxy in front of the real Nextcloud reads every chunk whole and holds it back: rcwiz has
written all the file's bytes, the server has none of them, and progress must say 0 until the
chunks are let through.
"""

from __future__ import annotations

import json
import subprocess

from archive_faults import ArchiveFaults
from conftest import MiB, big_file, same_bytes
from helpers import RCWIZ, rcwiz, started
from realnc import wait_for
from request_faults import HELD, RequestFaults

from rcwiz.nextcloud import chunked
from rcwiz.transfer import bulk as fast

SIZE = 40 * MiB  # above the fast path's BIG_FILE: sent in parallel chunks


def test_bytes_held_back_from_the_server_are_not_counted(
    real_nextcloud, nc_user, rclone_conf, tmp_path
):
    source = tmp_path / "src"
    big_file(source / "big.bin", SIZE)
    size = chunked.chunk_size_for(SIZE, fast.CHUNK, fast.CHUNKS_IN_FLIGHT)
    count = len(chunked.chunks(SIZE, size))
    assert 1 < count <= fast.CHUNKS_IN_FLIGHT  # all in flight at once
    with ArchiveFaults(real_nextcloud.url, "hold-chunks") as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "rclone.conf", {"nc": nc_user.remote(url=url)})
        argv = [*RCWIZ, "--json", "--config", str(conf), "copy", str(source), "nc:held"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held: list[dict] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                doc = json.loads(line)
                # Every chunk is written and held: the next progress report is the one to read.
                if doc["event"] == "progress" and proxy.chunks_held == count and not held:
                    held.append(doc)
                    proxy.release.set()
            proc.wait(300)
        finally:
            proxy.release.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert held and held[0]["bytes"] == 0, held
    assert same_bytes(source, nc_user.files / "held")


def test_rclones_flags_are_announced_only_when_rclone_runs(nc_remote, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "small.txt").write_bytes(b"x" * 2000)  # bulk upload: rclone does not start
    alone = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:flags")
    assert alone.returncode == 0, alone.stderr
    assert "rcwiz adds" not in alone.stdout and "1 by bulk upload" in alone.stdout
    (source / "small2.txt").write_bytes(b"y" * 2000)
    big_file(source / "middle.bin", 2 * MiB)  # between bulk and chunks: rclone sends it
    both = rcwiz("--config", str(nc_remote), "copy", str(source), "nc:flags")
    assert both.returncode == 0, both.stderr
    assert "rcwiz adds: --webdav-nextcloud-chunk-size 64M" in both.stdout
    assert "transferred 2.0 MiB in 2 file(s)" in both.stdout  # counted, whoever sent them
    assert "1 by bulk upload" in both.stdout and " 1 by rclone\n" in both.stdout
    # A download: the flag tunes uploads only, so rclone is neither given it nor said to be.
    back = ["copy", "nc:flags", str(tmp_path / "back"), "--bwlimit", "1G"]  # rclone fetches
    dry = rcwiz("--config", str(nc_remote), *back, "--dry-run")
    down = rcwiz("--config", str(nc_remote), *back)
    assert dry.returncode == 0 and down.returncode == 0, dry.stderr + down.stderr
    assert "--bwlimit 1G" in dry.stdout and "chunk-size" not in dry.stdout, dry.stdout
    assert "transferred 2.0 MiB in 3 file(s)" in down.stdout and "rcwiz adds" not in down.stdout


def test_an_upload_s_duration_includes_its_listing(real_nextcloud, nc_user, rclone_conf, tmp_path):
    """Found in a walk: a re-run that took a second, all of it the listing, said "0.0s"
    (a download's duration has counted its listing all along)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("a\n")
    with RequestFaults(real_nextcloud.url, "listing", HELD) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "rclone.conf", {"nc": nc_user.remote(url=url)})
        argv = [*RCWIZ, "--json", "--config", str(conf), "copy", str(source), "nc:up"]
        with started(argv) as proc:
            wait_for(proxy.seen["listing"].is_set, 60, "the listing asked")
            held = 2.0
            proxy.let_go.wait(held)  # the listing is held this long (nothing sets it)
            proxy.let_go.set()
            out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["files"] == 1 and summary["duration"] >= held, summary
