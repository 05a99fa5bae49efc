"""rcwiz.http.Client against real HTTP servers on 127.0.0.1: kept connections, one per thread,
a new one only where the server closes it, and `abort` cutting a request in flight.

The real Nextcloud of the tests (PHP's built-in server) closes every connection after one
answer, so keep-alive can only be seen against a server that keeps them: Python's own, which
counts the connections it accepts.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.server
import threading
import time
from collections.abc import Iterator

import pytest

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.http import Client


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the server says otherwise

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.connections += 1  # type: ignore[attr-defined]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/hang":
            self.server.hanging.set()  # type: ignore[attr-defined]
            self.server.release.wait(30)  # type: ignore[attr-defined]
        if self.path.startswith(("/trickle", "/stream")):
            return self._slowly(self.path.startswith("/trickle"))
        if self.path == "/cut":
            return self._cut()
        reply = str(len(body)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        if self.server.close_each:  # type: ignore[attr-defined]
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)

    def _slowly(self, trickle: bool) -> None:
        """An answer that says `Connection: close` (as PHP's server does), then its body: one
        byte every 0.3 s (a trickle), or 20 MB in 16 KiB pieces a few ms apart (a stream)."""
        size = 30 if trickle else 20_000_000
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.server.hanging.set()  # type: ignore[attr-defined]
        step, pause = (1, 0.3) if trickle else (16 * 1024, 0.002)
        sent = 0
        try:
            while sent < size and not self.server.release.wait(pause):  # type: ignore[attr-defined]
                piece = min(step, size - sent)
                self.wfile.write(b"x" * piece)
                self.wfile.flush()
                sent += piece
        except OSError:  # the client went away
            pass
        self.close_connection = True

    def _cut(self) -> None:
        """A server that dies mid-answer: 4000 bytes of the 10000 its Content-Length says."""
        self.send_response(200)
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"x" * 4000)
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PUT = _answer


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.connections = 0  # type: ignore[attr-defined]
    httpd.lock = threading.Lock()  # type: ignore[attr-defined]
    httpd.close_each = False  # type: ignore[attr-defined]
    httpd.hanging = threading.Event()  # type: ignore[attr-defined]
    httpd.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()  # type: ignore[attr-defined]
        httpd.shutdown()
        httpd.server_close()


def url(httpd: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def test_one_thread_keeps_one_connection(server):
    client = Client(url(server))
    for _ in range(10):
        assert client.request("GET", "/x").ok
    assert (client.opened, server.connections) == (1, 1)


def test_each_thread_has_its_own_connection_and_keeps_it(server):
    client = Client(url(server))
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda i: client.request("GET", f"/{i}"), range(30)))
    assert all(reply.ok for reply in replies)
    assert client.opened == server.connections <= 3


def test_a_server_that_closes_each_connection_gets_a_new_one_each_time(server):
    server.close_each = True
    client = Client(url(server))
    for _ in range(5):
        assert client.request("GET", "/x").ok
    assert (client.opened, server.connections) == (5, 5)


def test_a_body_of_pieces_is_sent_whole_and_again_on_a_retried_connection(server):
    client = Client(url(server))
    pieces = [b"abc", b"", b"defg" * 1000]
    headers = {"Content-Length": str(sum(map(len, pieces)))}
    assert client.request("PUT", "/x", body=pieces, headers=headers).body == b"4003"
    assert client.request("PUT", "/x", body=pieces, headers=headers).body == b"4003"


def test_abort_cuts_a_request_in_flight_from_another_thread_for_good(server):
    client = Client(url(server), clock=Clock(30))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(client.request, "GET", "/x").result().ok  # a kept connection
        waiting = pool.submit(client.request, "GET", "/hang")
        assert server.hanging.wait(10)
        client.abort()
        with pytest.raises(errors.ServerUnreachable):
            waiting.result(timeout=10)  # not sent again on a new connection
    assert server.connections == 1
    with pytest.raises(errors.ServerUnreachable):
        client.request("GET", "/x")


def test_an_answer_that_trickles_is_stalled_within_the_stall_timeout(server):
    # One byte every 0.3 s: each read gets something, yet the request makes no progress.
    client = Client(url(server), clock=Clock(1.5))
    began = time.monotonic()
    with pytest.raises(errors.Stalled, match="only a trickle"):
        client.request("GET", "/trickle")
    assert time.monotonic() - began < 1.5 + 1.0


def test_a_big_answer_that_streams_is_progress_however_long_it_takes(server):
    # 20 MB at a few MB/s takes several stall timeouts of 1 s: it is read to its end.
    client = Client(url(server), clock=Clock(1.0))
    began = time.monotonic()
    with client.stream("GET", "/stream") as answer:
        total = sum(len(chunk) for chunk in iter(lambda: answer.read(256 * 1024), b""))
    assert total == 20_000_000
    assert time.monotonic() - began > 1.0  # longer than the stall timeout: it proves something


def test_abort_cuts_an_answer_being_read_after_it_said_connection_close(server):
    # http.client forgets the socket once an answer says `Connection: close`; abort must
    # still cut the read in flight.
    client = Client(url(server), clock=Clock(60))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        reading = pool.submit(client.request, "GET", "/trickle")
        assert server.hanging.wait(10)
        began = time.monotonic()
        client.abort()
        with pytest.raises(errors.ServerUnreachable):
            reading.result(timeout=10)
        assert time.monotonic() - began < 1.0


class _File:
    """A Target for Streamed.into_file: a file held open (rcwiz.body_to_file.Target)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @contextlib.contextmanager
    def held(self) -> Iterator[int]:
        yield self.fd

    def landed(self, at: int, count: int) -> None:
        pass


def test_an_answer_cut_short_says_how_much_came_in_one_sentence(server, tmp_path):
    # http.client's own words are a repr: "IncompleteRead(0 bytes read, 6000 more expected)".
    client = Client(url(server), clock=Clock(10))
    said = "closed the connection after 4,000 of 10,000 bytes."
    with pytest.raises(errors.ServerUnreachable) as whole:
        client.request("GET", "/cut")
    with pytest.raises(errors.ServerUnreachable) as read, client.stream("GET", "/cut") as answer:
        while answer.read(1024):
            pass
    with (
        open(tmp_path / "into", "wb") as handle,
        pytest.raises(errors.ServerUnreachable) as into,
        client.stream("GET", "/cut") as answer,
    ):
        answer.into_file((0, 10000), _File(handle.fileno()), threading.Event())
    for caught in (whole, read, into):
        assert caught.value.message.endswith(said), caught.value.message
        assert "Incomplete" not in caught.value.message
