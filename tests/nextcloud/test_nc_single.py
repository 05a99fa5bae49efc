"""One file named as the source, on the real Nextcloud 30: it takes the fast paths a folder
would (parallel chunks up, byte ranges down), with rclone's meaning, and it resumes.

rclone 1.75 (checked by the last tests here, and ../shared/RCLONE-FACTS.md): `copy FILE
nc:dir` puts FILE into dir, `copy nc:dir/FILE ./local` into ./local/FILE, a destination that
is an existing file is an error, and a sync of one file deletes nothing. Before the fix every
single-file source went by rclone alone (its upload restarting from zero after Ctrl-C).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from conftest import MiB, big_file
from helpers import json_result, rcwiz, signalled_as_a_terminal

SIZE = 40 * MiB + 12345  # over the chunked upload's 32 MiB and the ranged download's 4 MiB


def run(conf: Path, verb: str, source: str, dest: str) -> dict:
    """`rcwiz --json VERB SOURCE DEST` through CONF, which must succeed; its summary."""
    done = rcwiz("--json", "--config", str(conf), verb, source, dest)
    assert done.returncode == 0, done.stderr
    return json_result(done.stdout, verb)


def served(nc_user, data: bytes) -> bytes:
    """DATA stored on the server as down/big.bin."""
    return nc_user.put("down/big.bin", data)


def test_a_big_file_named_as_the_source_goes_in_parallel_chunks(nc_user, nc_remote, tmp_path):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    nc_user.dav("MKCOL", "dest")
    nc_user.dav("PUT", "dest/other.txt", b"kept")
    summary = run(nc_remote, "copy", str(source), "nc:dest")
    assert (summary["files"], summary["chunked_files"], summary["rclone_ran"]) == (1, 1, False)
    stored = nc_user.files / "dest" / "big.bin"
    assert stored.read_bytes() == source.read_bytes()  # into the folder, as rclone puts it
    assert int(stored.stat().st_mtime) == int(source.stat().st_mtime)
    assert (nc_user.files / "dest" / "other.txt").read_bytes() == b"kept"
    again = run(nc_remote, "copy", str(source), "nc:dest")  # one name looked up: nothing to send
    assert (again["files"], again["checked"], again["rclone_ran"]) == (0, 1, False)


def test_a_single_file_goes_into_a_missing_folder_and_a_small_one_by_bulk(
    nc_user, nc_remote, tmp_path
):
    source = tmp_path / "notes.txt"
    source.write_bytes(b"a small file")
    summary = run(nc_remote, "copy", str(source), "nc:new/deeper")
    assert (summary["files"], summary["bulk_files"]) == (1, 1)
    assert (nc_user.files / "new" / "deeper" / "notes.txt").read_bytes() == b"a small file"


def test_a_single_file_into_an_existing_file_is_rclones_error(nc_user, nc_remote, tmp_path):
    source = big_file(tmp_path / "big.bin", SIZE)
    nc_user.dav("PUT", "taken.txt", b"not a folder")
    done = rcwiz("--json", "--config", str(nc_remote), "copy", str(source), "nc:taken.txt")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert (nc_user.files / "taken.txt").read_bytes() == b"not a folder"
    assert list(nc_user.uploads.iterdir()) == [] if nc_user.uploads.exists() else True


def test_moving_a_single_big_file_deletes_it_once_it_arrived(nc_user, nc_remote, tmp_path):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    data = source.read_bytes()
    summary = run(nc_remote, "move", str(source), "nc:dest")
    assert summary["files"] == 1 and not source.exists()
    assert (nc_user.files / "dest" / "big.bin").read_bytes() == data
    back = tmp_path / "back"
    summary = run(nc_remote, "move", "nc:dest/big.bin", str(back))
    assert summary["files"] == 1 and (back / "big.bin").read_bytes() == data
    assert not (nc_user.files / "dest" / "big.bin").exists()


def test_a_big_file_named_as_the_source_comes_in_byte_ranges(nc_user, nc_remote, tmp_path):
    data = served(nc_user, os.urandom(12 * MiB))
    back = tmp_path / "back"
    back.mkdir()
    (back / "mine.txt").write_bytes(b"mine")
    summary = run(nc_remote, "sync", "nc:down/big.bin", str(back))
    assert (summary["files"], summary["rclone_ran"], summary["deleted"]) == (1, False, 0)
    assert (back / "big.bin").read_bytes() == data  # into the folder, as rclone puts it
    server_time = (nc_user.files / "down" / "big.bin").stat().st_mtime
    assert abs((back / "big.bin").stat().st_mtime - server_time) < 1
    assert (back / "mine.txt").read_bytes() == b"mine"  # a one-file sync deletes nothing
    again = run(nc_remote, "copy", "nc:down/big.bin", str(back))
    assert (again["files"], again["rclone_ran"]) == (0, False)
    slash = run(nc_remote, "copy", "nc:down/big.bin/", str(tmp_path / "slash"))
    assert (slash["files"], slash["rclone_ran"]) == (0, True)  # rclone: a folder, found empty


def test_a_file_named_as_the_source_is_listed_by_its_first_answer(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    """Before the fix the listing's first answer (the file's own) was thrown away as "not a
    folder", and `rclone lsjson` listed the file again (0.1-0.2 s: rclone's start-up and its
    requests, one of them for the file's folder)."""
    data = served(nc_user, os.urandom(12 * MiB))
    mark = real_nextcloud.log_mark()
    summary = run(nc_remote, "copy", "nc:down/big.bin", str(tmp_path / "back"))
    requests = real_nextcloud.requests_since(mark)
    assert (summary["files"], summary["rclone_ran"]) == (1, False)
    assert (tmp_path / "back" / "big.bin").read_bytes() == data
    folder = f"/remote.php/dav/files/{nc_user.name}/down/"
    assert [r for r in requests if r.method == "PROPFIND" and r.path == folder] == []


def test_a_sync_of_one_file_up_deletes_nothing(nc_user, nc_remote, tmp_path):
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    nc_user.dav("MKCOL", "dest")
    nc_user.dav("PUT", "dest/other.txt", b"kept")
    summary = run(nc_remote, "sync", str(source), "nc:dest")
    assert (summary["files"], summary["chunked_files"], summary["deleted"]) == (1, 1, 0)
    assert (nc_user.files / "dest" / "other.txt").read_bytes() == b"kept"
    assert (nc_user.files / "dest" / "big.bin").read_bytes() == source.read_bytes()


def test_a_folder_holding_one_file_of_its_own_name_is_still_a_folder(nc_user, nc_remote, tmp_path):
    nc_user.dav("MKCOL", "same")
    nc_user.dav("PUT", "same/same", b"inside")
    back = tmp_path / "back"
    summary = run(nc_remote, "copy", "nc:same", str(back))
    assert summary["files"] == 1 and (back / "same").read_bytes() == b"inside"


@pytest.mark.parametrize("side", ["remote", "local"])
def test_rclone_refuses_a_destination_that_is_an_existing_file(
    side, nc_user, nc_remote, rclone_bin, tmp_path
):
    """The fact the fast paths keep to: rclone's own answer on this binary."""

    source = tmp_path / "a.txt"
    source.write_bytes(b"a")
    nc_user.dav("PUT", "taken.txt", b"taken")
    if side == "remote":
        args = [str(source), "nc:taken.txt"]
    else:
        (tmp_path / "taken").write_bytes(b"taken")
        args = ["nc:taken.txt", str(tmp_path / "taken")]
    done = subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "copy", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1 and "is a file not a directory" in done.stderr


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "hang-up"])
def test_an_rclone_download_stopped_leaves_no_partial_file(how, nc_user, nc_remote, tmp_path):
    """The walk's second defect: rclone fetching a big file (here --bwlimit keeps the fast path
    off) and stopped left `big.bin.XXXXXXXX.partial`. Ctrl-C reaches the whole terminal group
    (rclone removes its own then); a closed terminal hangs it up (rclone leaves it, and before
    the fix so did rcwiz, silently)."""
    served(nc_user, os.urandom(SIZE))
    back = tmp_path / "back"
    argv = ["--json", "--config", str(nc_remote), "copy", "--bwlimit", "10M", "nc:down", str(back)]
    code, _, err = signalled_as_a_terminal(argv, back, how)
    assert code == 130 and "Traceback" not in err, err
    assert "the file rclone had begun starts again from the beginning" in err, err
    assert sorted(back.iterdir()) == []
    if how == signal.SIGHUP:
        assert "Removed 1 unfinished download(s) (" in err, err


def bytes_on_their_way(proc: subprocess.Popen) -> None:
    """Returns once rcwiz's JSON progress (rclone's stats) shows bytes on their way."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("event") == "progress" and event.get("bytes", 0) > 0:
            return
    raise AssertionError("no bytes moved")


def test_ctrl_c_while_rclone_uploads_says_the_file_starts_again(nc_user, nc_remote, tmp_path):
    """--bwlimit leaves the upload to rclone, which resumes nothing: the next run sends the
    file from its first byte. Before the fix the hint said "run the same command again to
    resume" all the same (the last stop's walk)."""
    source = big_file(tmp_path / "src" / "big.bin", SIZE)
    argv = ["--json", "--config", str(nc_remote), "copy", "--bwlimit", "10M", str(source), "nc:up"]
    code, _, err = signalled_as_a_terminal(argv, tmp_path, signal.SIGINT, bytes_on_their_way)
    assert code == 130 and "to resume" not in err, err
    assert "the file rclone had begun starts again from the beginning" in err, err
