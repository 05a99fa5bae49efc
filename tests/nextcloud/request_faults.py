"""The archive fault proxy (archive_faults.py), extended to spoil any kind of request rcwiz
makes itself, in front of the real Nextcloud: everything else passes to the real server.

Kinds: "listing" (SEARCH, and PROPFIND Depth: infinity), "status" (/status.php), "ocs" (/ocs/...),
"bulk" (POST /remote.php/dav/bulk), "chunk" (PUT or MOVE of rcwiz's own chunked upload, not
rclone's), "archive" (ajax/download.php), "range" (a GET of a file with a Range header: rcwiz's
resumable big-file download). The first `after` requests of the kind pass untouched (a
download interrupted at a known point: so many ranges arrived, the next ones meet the fault).
Faults:

* "hung": the request is read and never answered (until the client goes away);
* "trickle": the real server's answer, one byte every TRICKLE seconds; its status line and
  headers (with `Connection: close`, as PHP's server sends them) come at once when it has a
  body, so the client is reading the body when the trickle starts;
* "endless": an answer that never ends, at full speed: for a listing, the real listing
  followed by valid file entries for ever; for the others, bytes for ever;
* "reset": the request is read, then the connection reset (RST), with no answer;
* "held": the request waits until `let_go` is set, then goes to the real server (a chunk
  that arrives after the server changed: its quota, say);
* "cut": the real server's answer, its status line and headers (with its Content-Length),
  then half its body, and the connection closed (a server that dies mid-answer);
* "late": the request goes to the real server at once, which does its work, but the answer is
  held until the client goes away (a server that takes longer than the stall timeout to
  answer a bulk request it writes all the same);
* "gateway": the request goes to the real server, which does its work, and the client is
  answered 504 Gateway Timeout (a reverse proxy in front that gave up waiting, as nginx does
  after its proxy_read_timeout, while the server goes on writing);
* "together": the request waits until AT_ONCE requests of the kind have arrived, then they
  all go to the real server (a client that waits for one answer to begin before it sends
  the next never gets one);
* "slow": the real server's answer, passed on at RATE bytes per second on each connection
  (what one TCP stream gets from a distant server), read from the server as it is sent.

TIMES, when given, spoils only that many requests of the kind (after AFTER): later ones pass.

AFTER lets that many requests of the kind through to the real server before the fault starts
(`passed` counts them; `passing` is set once they are all through): a chunked upload gets some
chunks on the server, then meets the fault. `heal()` lets every later request through (the
server is back). PORT, when given, is the port to listen on (a proxy that went away comes back
at the same address).

`seen[kind]` is set once a faulted request arrived (`began[kind]`: when, by time.monotonic),
`answering[kind]` once its first byte went out; `lasted[kind]` is how long the first one lasted
until the client went away (or its answer ended); `sent[kind]` counts the bytes sent;
`ranges` lists the Range header of each faulted request.

    with RequestFaults(real_nextcloud.url, "bulk", "hung") as proxy:
        url = proxy.url
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from archive_faults import HOP_BY_HOP, LEGACY, ArchiveFaults

KINDS = ("listing", "status", "ocs", "bulk", "chunk", "archive")
RANGE = "range"  # not in KINDS: test_nc_stops's cases are KINDS; test_nc_resume_down has its own
FAULTS = ("hung", "trickle", "endless", "reset")  # what every kind of request is tested with
HELD = "held"  # for the resume tests (test_nc_resume.py)
LATE = "late"  # for test_nc_bulk_late.py
CUT = "cut"  # for the big-file download tests (test_nc_resume_down.py, test_nc_body_to_file.py)
GATEWAY = "gateway"  # for test_nc_bulk_late.py
TOGETHER = "together"  # for test_nc_streams.py
SLOW = "slow"  # for test_nc_streams.py
TRICKLE = 1.0  # seconds between two bytes of a trickled answer
BLOCK = 64 * 1024
ENTRY = (
    "<d:response><d:href>{href}endless-{n}.txt</d:href><d:propstat><d:prop>"
    "<d:getlastmodified>Sun, 06 Dec 2026 12:00:00 GMT</d:getlastmodified>"
    "<d:getcontentlength>1</d:getcontentlength><d:resourcetype/></d:prop>"
    "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
)


def kind_of(method: str, path: str, headers: dict[str, str]) -> str | None:
    """Which of KINDS a request is (None: none of them)."""
    parts = urlsplit(path)
    whole_tree = method == "PROPFIND" and headers.get("Depth", "").lower() == "infinity"
    if method == "SEARCH" or whole_tree:
        return "listing"
    if parts.path == "/status.php":
        return "status"
    if parts.path.startswith(("/ocs/", "/index.php/ocs/")):
        return "ocs"
    if method == "POST" and parts.path == "/remote.php/dav/bulk":
        return "bulk"
    if method in ("PUT", "MOVE") and "/uploads/" in parts.path and "rcwiz-chunked" in parts.path:
        return "chunk"
    if method == "GET" and (parts.path == LEGACY or parse_qs(parts.query).get("accept") == ["zip"]):
        return "archive"
    if method == "GET" and "range" in {k.lower() for k in headers}:
        return "range"
    return None


class RequestFaults(ArchiveFaults):
    """The proxy: FAULT for every request of KIND, the real server for the rest."""

    def __init__(
        self,
        target: str,
        kind: str,
        fault: str,
        *,
        after: int = 0,
        port: int = 0,
        times: int | None = None,
        at_once: int = 4,
        rate: float = 8e6,
    ) -> None:
        assert kind in (*KINDS, RANGE) and fault in (
            *FAULTS,
            HELD,
            LATE,
            CUT,
            GATEWAY,
            TOGETHER,
            SLOW,
        ), (
            kind,
            fault,
        )
        super().__init__(target, "pass", port=port)
        self.kind, self.fault = kind, fault
        self.after, self.passed, self.healed = after, 0, False
        self.times, self.spoiled = times, 0
        self.at_once, self.arrived = at_once, 0
        self.rate = rate
        self.ranges: list[str] = []  # the Range header of each request faulted, in order
        self.passing = threading.Event()
        self.let_go = threading.Event()
        self.seen = {k: threading.Event() for k in (*KINDS, RANGE)}
        self.answering = {k: threading.Event() for k in (*KINDS, RANGE)}
        self.answered = {k: threading.Event() for k in (*KINDS, RANGE)}  # by the real server
        self.began: dict[str, float] = {}
        self.lasted: dict[str, float] = {}
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def answer(
        self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes | None
    ) -> None:
        kind = kind_of(handler.command, handler.path, headers)
        with self._lock:
            let_through = self.healed or kind != self.kind or self.passed < self.after
            if kind == self.kind and not self.healed and self.passed < self.after:
                self.passed += 1
                if self.passed == self.after:
                    self.passing.set()
            if not let_through and self.times is not None:
                let_through = self.spoiled >= self.times
                self.spoiled += 0 if let_through else 1
        if let_through:
            return super().answer(handler, headers, body)
        began = time.monotonic()
        with self._lock:
            self.began.setdefault(kind, began)
            self.ranges.append(headers.get("Range", ""))
        self.seen[kind].set()
        handler.close_connection = True
        with contextlib.suppress(OSError):  # the client went away: what the faults wait for
            getattr(self, f"_{self.fault}")(handler, headers, body)
        with self._lock:
            self.lasted.setdefault(kind, time.monotonic() - began)

    def heal(self) -> None:
        """Every request from now on goes to the real server (requests held stay held)."""
        with self._lock:
            self.healed = True

    # ------------------------------------------------------------------ the faults

    def _hung(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        connection = handler.connection
        while not self.release.is_set():
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable and not connection.recv(1, socket.MSG_PEEK):
                return  # closed by the client

    def _held(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        while not (self.let_go.wait(0.1) or self.release.is_set()):
            pass
        if self.let_go.is_set():
            ArchiveFaults.answer(self, handler, headers, body)

    def _together(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        with self._lock:
            self.arrived += 1
            if self.arrived >= self.at_once:
                self.let_go.set()
        self._held(handler, headers, body)

    def _slow(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=120)
        try:
            connection.request(handler.command, handler.path, body=body, headers=headers)
            reply = connection.getresponse()
            self._write(handler, self._head(reply.status, reply.getheaders(), reply.length))
            began, sent = time.monotonic(), 0
            while not self.release.is_set() and (block := reply.read(BLOCK)):
                self._write(handler, block)
                sent += len(block)
                time.sleep(max(0.0, began + sent / self.rate - time.monotonic()))
        finally:
            connection.close()

    def _late(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        self.forward(handler.command, handler.path, headers, body)
        self.answered[self.kind].set()
        self._hung(handler, headers, body)

    def _gateway(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        self.forward(handler.command, handler.path, headers, body)
        self.answered[self.kind].set()
        text = b"<html><body>504 Gateway Time-out</body></html>"
        self._write(handler, self._head(504, [("Content-Type", "text/html")], len(text)) + text)

    def _reset(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    def _head(self, status: int, found: list[tuple[str, str]], length: int | None) -> bytes:
        lines = [f"HTTP/1.1 {status} Spoiled"]
        lines += [f"{k}: {v}" for k, v in found if k.lower() not in HOP_BY_HOP]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        handler.wfile.write(data)
        handler.wfile.flush()
        self.sent[self.kind] += len(data)
        self.answering[self.kind].set()

    def _trickle(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        status, found, data = self.forward(handler.command, handler.path, headers, body)
        head = self._head(status, found, len(data))
        if data:
            self._write(handler, head)
        rest = data if data else head
        for i in range(len(rest)):
            if self.release.wait(TRICKLE):
                return
            self._write(handler, rest[i : i + 1])

    def _cut(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        status, found, data = self.forward(handler.command, handler.path, headers, body)
        self._write(handler, self._head(status, found, len(data)))
        self._write(handler, data[: len(data) // 2])

    def _endless(self, handler: BaseHTTPRequestHandler, headers: dict, body: bytes | None) -> None:
        if self.kind == "listing":
            status, found, data = self.forward(handler.command, handler.path, headers, body)
            self._write(handler, self._head(status, found, None))
            real = data.decode()
            self._write(handler, real[: real.rindex("</d:multistatus>")].encode())
            href = real.split("<d:href>", 1)[1].split("</d:href>", 1)[0]
            n = 0
            while not self.release.is_set():
                block = "".join(ENTRY.format(href=href, n=n + i) for i in range(200))
                self._write(handler, block.encode())
                n += 200
            return
        kind = "application/zip" if self.kind == "archive" else "application/json"
        self._write(handler, self._head(200, [("Content-Type", kind)], None))
        self._write(handler, b'{"ocs": {"meta": {"status": "ok"}, "data": ["')
        while not self.release.is_set():
            self._write(handler, b"x" * BLOCK)
