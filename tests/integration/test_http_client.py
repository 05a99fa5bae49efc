"""rcwiz.http.Client against real HTTP servers on 127.0.0.1: kept connections, one per thread,
a new one only where the server closes it, and `abort` cutting a request in flight.

The real Nextcloud of the tests (PHP's built-in server) closes every connection after one
answer, so keep-alive can only be seen against a server that keeps them: Python's own, which
counts the connections it accepts.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import threading
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
        reply = str(len(body)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        if self.server.close_each:  # type: ignore[attr-defined]
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)

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
