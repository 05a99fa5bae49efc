"""Big files from the real Nextcloud 30 come in byte ranges and resume after any interruption.

What the real server does (verified here, first test): a WebDAV GET with `Range` answers 206
with `Content-Range`, `If-Range` with the file's strong ETag keeps it 206, and with any other
ETag (the file changed) the server answers 200 with the whole new file; a range past the end
is 416. rcwiz's resume rests on exactly that.

Each interruption is made at a known point: the fault proxy (request_faults.RequestFaults,
kind "range") lets SPARE ranged requests through and holds or resets the rest, and the test
waits until the partial's record says SPARE pieces are on disk before it signals. The re-run
goes to the server directly and must move only what was missing (its JSON summary's bytes),
show the rest as resumed, and leave the file byte for byte the server's, with the listing's
modification time, and nothing of rcwiz's beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import MiB
from helpers import RCWIZ, FileTarget, assert_progress_counts_this_run, json_result, rcwiz
from realnc import wait_for
from request_faults import CUT, RANGE, RequestFaults

from rcwiz.http import Client
from rcwiz.nextcloud import ranged
from rcwiz.transfer import partials
from rcwiz.transfer.streams import piece_size

SIZE = 96 * MiB
PIECE = piece_size(SIZE)
SPARE = 3  # ranged requests that arrive before the fault (of four at once)
KEPT = SPARE * PIECE


def _partials() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "partials"


def _records() -> list[dict]:
    found = []
    for path in _partials().glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now
    return found


def _good() -> int:
    return max((sum(b - a for a, b in r["good"]) for r in _records()), default=0)


@pytest.fixture
def served(nc_user) -> Callable[[bytes], bytes]:
    """put(data) -> data, stored on the server as down/big.bin."""
    nc_user.dav("MKCOL", "down")

    def put(data: bytes) -> bytes:
        status, _ = nc_user.dav("PUT", "down/big.bin", data)
        assert status in (201, 204), status
        return data

    return put


@pytest.fixture
def faulty(nc_user, tmp_path, rclone_conf) -> Iterator[Callable[[str], Path]]:
    """faulty(fault) -> rclone.conf whose nc: goes through a proxy that lets SPARE ranged
    requests pass and answers the rest with FAULT."""
    proxies: list[RequestFaults] = []

    def make(fault: str) -> Path:
        proxy = RequestFaults(nc_user.server.url, RANGE, fault, after=SPARE).__enter__()
        proxies.append(proxy)
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        return rclone_conf(tmp_path / f"{fault}.conf", {"nc": nc_user.remote(url=url)})

    yield make
    for proxy in proxies:
        proxy.__exit__()


def _interrupted(
    conf: Path,
    back: Path,
    how: signal.Signals | None,
    stall: float = 600,
    source: str = "nc:down",
) -> str:
    """Run the download of SOURCE through CONF until SPARE pieces are recorded, then end it
    by HOW (or let the stall timeout end it: None); returns its stderr."""
    argv = [*RCWIZ, "--stall-timeout", f"{stall:g}", "--config", str(conf)]
    proc = subprocess.Popen(
        [*argv, "copy", source, str(back), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: _good() >= KEPT, 120, f"{KEPT} bytes recorded")
        if how is not None:
            os.kill(proc.pid, how)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    expected = {None: 6, signal.SIGKILL: -9}.get(how, 130)
    assert proc.returncode == expected, err
    assert "Traceback" not in err, err
    return err


def _partial(back: Path) -> Path:
    return back / ".big.bin.rcwiz-partial"


def _rerun(nc_remote: Path, back: Path) -> dict:
    """The same transfer again, straight to the server: its JSON summary (its progress
    checked to count only this run's bytes when it resumed)."""
    done = rcwiz("--config", str(nc_remote), "copy", "nc:down", str(back), "--json")
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    if summary["resumed_bytes"]:
        assert_progress_counts_this_run(done.stdout, SIZE)
    return summary


def _whole(back: Path, data: bytes, nc_user) -> None:
    """BACK holds the server's file, byte for byte, with its time, and nothing of rcwiz's."""
    assert (back / "big.bin").read_bytes() == data
    server_time = (nc_user.files / "down" / "big.bin").stat().st_mtime
    assert abs((back / "big.bin").stat().st_mtime - server_time) < 1
    assert sorted(p.name for p in back.iterdir()) == ["big.bin"]
    assert _records() == []


def test_nextcloud_honours_range_and_if_range(nc_user, served, tmp_path):
    data = served(os.urandom(5 * MiB))
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    version = ranged.version(client, nc_user.name, "down/big.bin")
    assert version.size == len(data) and version.etag.startswith('"')
    got = FileTarget(tmp_path / "got")
    stop = __import__("threading").Event()
    ranged.fetch(client, nc_user.name, "down/big.bin", (1000, 3 * MiB), version, got, stop)
    assert (tmp_path / "got").read_bytes()[1000:] == data[1000 : 3 * MiB]
    # Same size, new content, and another mtime: Nextcloud's local storage makes a file's ETag
    # from its mtime (seconds), inode and size, so a file replaced within the same second by one
    # of the same size may keep its ETag (seen when the inode was reused).
    status, _ = nc_user.dav(
        "PUT", "down/big.bin", os.urandom(5 * MiB), headers={"X-OC-MTime": "1000000000"}
    )
    assert status in (201, 204), status
    with pytest.raises(ranged.Changed):
        ranged.fetch(client, nc_user.name, "down/big.bin", (0, MiB), version, got, stop)
    status, _ = nc_user.dav("GET", "down/big.bin", headers={"Range": f"bytes={10 * MiB}-"})
    assert status == 416


@pytest.mark.parametrize(
    "how",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
    ids=["ctrl-c", "sigterm", "sighup", "sigkill"],
)
def test_an_interrupted_download_resumes_from_the_bytes_on_disk(
    how, served, faulty, nc_remote, nc_user, tmp_path
):
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    err = _interrupted(faulty("hung"), back, how)
    if how != signal.SIGKILL:
        assert "kept in partial files: the same command continues from there" in err
    partial = _partial(back)
    assert partial.stat().st_mode & 0o777 == 0o600
    assert not (back / "big.bin").exists()  # never the real name while partial
    [record] = _records()
    assert record["remote"] == "/down/big.bin" and record["size"] == SIZE
    assert record["destination"] == str(back.resolve() / "big.bin")
    assert (
        _partials().stat().st_mode & 0o777,
        os.stat(next(_partials().iterdir())).st_mode & 0o777,
    ) == (0o700, 0o600)

    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] >= KEPT
    assert summary["bytes"] == SIZE - summary["resumed_bytes"]  # not counted twice
    _whole(back, data, nc_user)


def test_a_hung_server_stops_the_run_and_the_rerun_resumes(
    served, faulty, nc_remote, nc_user, tmp_path
):
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    began = time.monotonic()
    err = _interrupted(faulty("hung"), back, None, stall=3)
    assert time.monotonic() - began < 60
    assert "stopped answering" in err
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] >= KEPT
    _whole(back, data, nc_user)


def test_a_server_that_dies_stops_the_run_and_the_rerun_resumes(
    served, nc_remote, nc_user, rclone_conf, tmp_path
):
    """The server goes away while pieces are on their way (the proxy closed: connections cut,
    nothing answers): the run ends, keeps what arrived, and the re-run continues from it."""
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    with RequestFaults(nc_user.server.url, RANGE, "hung", after=SPARE) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "dies.conf", {"nc": nc_user.remote(url=url)})
        argv = [*RCWIZ, "--stall-timeout", "5", "--config", str(conf), "copy", "nc:down"]
        proc = subprocess.Popen([*argv, str(back)], stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: _good() >= KEPT, 120, f"{KEPT} bytes recorded")
            proxy.__exit__()  # the server is gone
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode not in (0, -9) and "Traceback" not in err, err
    assert "kept in partial files: the same command continues from there" in err
    assert _partial(back).exists() and _good() >= KEPT
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] >= KEPT
    _whole(back, data, nc_user)


def test_reset_connections_stop_the_run_and_the_rerun_resumes(
    served, faulty, nc_remote, nc_user, tmp_path
):
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    conf = faulty("reset")
    done = rcwiz("--config", str(conf), "copy", "nc:down", str(back), timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert _good() >= KEPT
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] >= KEPT
    _whole(back, data, nc_user)


def test_cut_bodies_keep_what_arrived_and_the_rerun_resumes(
    served, faulty, nc_remote, nc_user, tmp_path
):
    """The server dies in the middle of each answer after SPARE whole ones (the proxy sends
    half the body, then closes): the halves that came are kept, asked for again where they
    stopped, and the re-run moves only what is still missing."""
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    conf = faulty(CUT)
    done = rcwiz("--config", str(conf), "copy", "nc:down", str(back), timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "kept in partial files" in done.stderr
    kept = _good()
    assert kept >= KEPT + (SIZE - KEPT) // 2  # the first cut half, at least
    summary = _rerun(nc_remote, back)
    assert (summary["resumed_bytes"], summary["bytes"]) == (kept, SIZE - kept)
    _whole(back, data, nc_user)


def test_a_file_changed_between_runs_starts_again_never_mixed(
    served, faulty, nc_remote, nc_user, tmp_path
):
    served(os.urandom(SIZE))
    back = tmp_path / "back"
    _interrupted(faulty("hung"), back, signal.SIGTERM)
    new = served(os.urandom(SIZE))  # same size, other bytes: only the ETag tells
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] == 0
    assert summary["bytes"] == SIZE
    _whole(back, new, nc_user)


@pytest.mark.parametrize("damage", ["removed", "truncated"])
def test_a_partial_removed_or_truncated_on_disk(
    damage, served, faulty, nc_remote, nc_user, tmp_path
):
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    _interrupted(faulty("hung"), back, signal.SIGTERM)
    partial = _partial(back)
    length = 2 * PIECE + 100  # within the pieces that arrived, whichever three they were
    [record] = _records()
    still = sum(max(0, min(b, length) - a) for a, b in record["good"])  # what is left of them
    if damage == "removed":
        partial.unlink()
    else:
        os.truncate(partial, length)
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] == (0 if damage == "removed" else still)
    assert damage == "removed" or 0 < still < record["good"][-1][1]
    assert summary["bytes"] == SIZE - summary["resumed_bytes"]
    _whole(back, data, nc_user)


def test_a_stale_record_is_removed_and_the_file_fetched_whole(
    served, faulty, nc_remote, nc_user, tmp_path
):
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    _interrupted(faulty("hung"), back, signal.SIGTERM)
    [path] = _partials().glob("*.json")
    record = json.loads(path.read_text())
    record["updated"] -= 8 * 86400  # older than the default 7 days
    path.write_text(json.dumps(record))
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] == 0 and summary["bytes"] == SIZE
    _whole(back, data, nc_user)


def test_a_partial_whose_file_left_the_server_is_removed_and_doctor_names_partials(
    served, faulty, nc_remote, nc_user, tmp_path
):
    served(os.urandom(SIZE))
    back = tmp_path / "back"
    _interrupted(faulty("hung"), back, signal.SIGTERM)
    doctor = rcwiz("--config", str(nc_remote), "doctor", "--json")
    rows = {row["check"]: row for row in json_result(doctor.stdout)["checks"]}
    assert str(_partial(back)) in rows["partial downloads"]["detail"]
    nc_user.dav("PUT", "down/other.txt", b"x" * 10)
    nc_user.dav("DELETE", "down/big.bin")
    _rerun(nc_remote, back)
    assert not _partial(back).exists() and _records() == []


def test_a_partial_that_is_not_the_servers_file_is_never_renamed_into_place(
    nc_user, nc_remote, rclone_bin, tmp_path
):
    """A record that vouches for bytes that are not the server's (zeros): the SHA-1 the server
    keeps for a file rclone uploaded catches it, and rclone fetches the file instead."""
    source = tmp_path / "src"
    source.mkdir()
    data = os.urandom(SIZE)
    (source / "big.bin").write_bytes(data)
    up = [str(rclone_bin), "--config", str(nc_remote), "copy", str(source), "nc:down"]
    subprocess.run(up, check=True, capture_output=True)
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    version = ranged.version(client, nc_user.name, "down/big.bin")
    back = tmp_path / "back"
    back.mkdir()
    zeros = _partial(back)
    zeros.write_bytes(b"\0" * SIZE)
    destination = str(back.resolve() / "big.bin")
    partials.Record(
        destination, str(zeros), "/down/big.bin", "", version.etag, SIZE, [(0, SIZE)]
    ).save()
    summary = _rerun(nc_remote, back)
    assert summary["resumed_bytes"] == 0 and summary["rclone_files"] == 1
    _whole(back, data, nc_user)


def test_a_single_file_named_as_the_source_resumes_after_ctrl_c(
    served, faulty, nc_remote, nc_user, tmp_path
):
    """`rcwiz copy nc:down/big.bin back` comes in byte ranges into back/big.bin, as its folder
    would. Before the fix rclone fetched it, and the next run started again from zero."""
    data = served(os.urandom(SIZE))
    back = tmp_path / "back"
    err = _interrupted(faulty("hung"), back, signal.SIGINT, source="nc:down/big.bin")
    assert "kept in partial files: the same command continues from there" in err
    [record] = _records()
    assert record["remote"] == "/down/big.bin"
    assert record["destination"] == str(back.resolve() / "big.bin")
    done = rcwiz("--config", str(nc_remote), "copy", "nc:down/big.bin", str(back), "--json")
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    assert summary["resumed_bytes"] >= KEPT and not summary["rclone_ran"]
    assert summary["bytes"] == SIZE - summary["resumed_bytes"]
    _whole(back, data, nc_user)
