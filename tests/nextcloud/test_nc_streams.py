"""The ranged requests of a big download from the real Nextcloud 30: how many at once, and when
each starts (rcwiz.transfer.streams)."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

from conftest import MiB
from helpers import json_result, rcwiz
from request_faults import RANGE, TOGETHER, RequestFaults

from rcwiz.http import Client

SIZE = 96 * MiB  # four pieces (rcwiz.transfer.streams.piece_size)


def _served(nc_user, data: bytes) -> bytes:
    nc_user.dav("MKCOL", "down")
    status, _ = nc_user.dav("PUT", "down/big.bin", data)
    assert status in (201, 204), status
    return data


def test_the_ranges_go_out_before_any_answer_begins(nc_user, rclone_conf, tmp_path):
    """A server that begins no answer until four ranges are in flight (the proxy holds each
    until the fourth arrives): the download completes in byte ranges. Before, each range
    waited for the last one's answer to begin, and the run stalled."""
    data = _served(nc_user, os.urandom(SIZE))
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
