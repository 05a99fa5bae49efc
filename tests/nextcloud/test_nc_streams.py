"""The ranged requests of a big download from the real Nextcloud 30: how many at once, and when
each starts (rcwiz.transfer.streams)."""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

from conftest import MiB
from helpers import RCWIZ, json_result, rcwiz
from realnc import wait_for
from request_faults import RANGE, SLOW, TOGETHER, RequestFaults

from rcwiz.http import Client
from rcwiz.transfer.streams import MAX_STREAMS, STREAMS, piece_size

SIZE = 96 * MiB  # four pieces (rcwiz.transfer.streams.piece_size)
BIG = 200 * MiB  # four pieces of 50 MiB: big enough to share (streams.SPLIT_MIN)
RATE = 8e6  # bytes per second on each connection: 4 streams would take 6.5 s for BIG


def test_the_ranges_go_out_before_any_answer_begins(nc_user, rclone_conf, tmp_path):
    """A server that begins no answer until four ranges are in flight (the proxy holds each
    until the fourth arrives): the download completes in byte ranges. Before, each range
    waited for the last one's answer to begin, and the run stalled."""
    data = nc_user.put("down/big.bin", os.urandom(SIZE))
    back = tmp_path / "back"
    with RequestFaults(nc_user.server.url, RANGE, TOGETHER, at_once=4) as proxy:
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        conf = rclone_conf(tmp_path / "together.conf", {"nc": nc_user.remote(url=url)})
        argv = ["--stall-timeout", "20", "--config", str(conf), "copy", "nc:down", str(back)]
        done = rcwiz(*argv, "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    assert not summary["rclone_ran"] and summary["bytes"] == SIZE
    assert (back / "big.bin").read_bytes() == data


def test_phps_builtin_server_is_known_by_the_host_its_answers_echo(nc_user, tmp_path: Path):
    """The suite's Nextcloud (php -S) echoes the request's Host header in its answers, which
    rcwiz's pacing of ranges rests on (rcwiz.transfer.streams.spacing); a server that does not
    (Python's, here) is not taken for it."""
    client = Client(nc_user.server.url, nc_user.name, nc_user.password)
    assert client.request("GET", "/status.php").ok
    assert client.seen.one_by_one and 0 < client.seen.quickest < 60

    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        plain = Client(f"http://127.0.0.1:{other.server_address[1]}")
        assert plain.request("GET", "/").ok
        assert not plain.seen.one_by_one and plain.seen.quickest < 60
    finally:
        other.shutdown()
        other.server_close()


def _starts(ranges: list[str]) -> list[int]:
    return sorted(int(re.fullmatch(r"bytes=(\d+)-\d+", r)[1]) for r in ranges)  # type: ignore[index]


def _slow_conf(nc_user, proxy: RequestFaults, rclone_conf, tmp_path: Path) -> Path:
    url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
    return rclone_conf(tmp_path / "slow.conf", {"nc": nc_user.remote(url=url)})


def test_slow_connections_get_more_streams_sharing_the_pieces(nc_user, rclone_conf, tmp_path):
    """Each connection held to RATE (a distant server): after the first four ranges, rcwiz
    adds streams, each taking the second half of what a running piece still lacks; the file
    comes whole, each byte counted once. Before, four ranges fetched it, one per piece."""
    data = nc_user.put("down/big.bin", os.urandom(BIG))
    back = tmp_path / "back"
    with RequestFaults(nc_user.server.url, RANGE, SLOW, rate=RATE) as proxy:
        conf = _slow_conf(nc_user, proxy, rclone_conf, tmp_path)
        done = rcwiz("--config", str(conf), "copy", "nc:down", str(back), "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    assert not summary["rclone_ran"] and summary["bytes"] == BIG
    assert (back / "big.bin").read_bytes() == data
    piece = piece_size(BIG)
    first, shares = _starts(proxy.ranges[:STREAMS]), _starts(proxy.ranges[STREAMS:])
    assert first == [i * piece for i in range(STREAMS)]
    assert 0 < len(shares) <= MAX_STREAMS - STREAMS, shares
    assert all(s % piece for s in shares), shares  # a share of a piece, never a piece again


def _records(tmp_state: Path) -> list[dict]:
    found = []
    for path in (tmp_state / "rcwiz" / "partials").glob("*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now
    return found


def test_a_download_killed_after_pieces_were_shared_resumes_exactly(
    nc_user, nc_remote, rclone_conf, tmp_path
):
    """SIGKILL once streams share pieces and bytes of the shares are recorded: the re-run
    (straight to the server) moves exactly what the record lacks, and the file is whole."""
    data = nc_user.put("down/big.bin", os.urandom(BIG))
    back = tmp_path / "back"
    state = Path(os.environ["XDG_STATE_HOME"])
    with RequestFaults(nc_user.server.url, RANGE, SLOW, rate=RATE) as proxy:
        conf = _slow_conf(nc_user, proxy, rclone_conf, tmp_path)
        argv = [*RCWIZ, "--config", str(conf), "copy", "nc:down", str(back)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:

            def shared_and_recorded() -> bool:
                starts = set(_starts(list(proxy.ranges)))
                shares = [s for s in starts if s % piece_size(BIG)]
                good = [g for r in _records(state) for g in r["good"]]
                return any(a <= s < b for s in shares for a, b in good)

            wait_for(shared_and_recorded, 120, "a share of a piece recorded")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    [record] = _records(state)
    kept = sum(b - a for a, b in record["good"])
    assert 0 < kept < BIG
    done = rcwiz("--config", str(nc_remote), "copy", "nc:down", str(back), "--json")
    assert done.returncode == 0, done.stderr
    summary = json_result(done.stdout, "copy")
    assert (summary["resumed_bytes"], summary["bytes"]) == (kept, BIG - kept)
    assert (back / "big.bin").read_bytes() == data
    assert sorted(p.name for p in back.iterdir()) == ["big.bin"]
