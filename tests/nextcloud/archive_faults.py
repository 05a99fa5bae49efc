"""A loopback HTTP proxy in front of the real Nextcloud that spoils its archive answers.

The real Nextcloud serves the listing, rclone's GETs and everything else, so the fallback to
rclone is tested against the real server; only the answers to archive requests
(ajax/download.php) are replaced, with what the real server cannot be made to send on
demand: a hostile entry, a cut-off archive (every one, or "truncate-once": the first only, as
the production-like server cuts one at times), an error page, a stall. `Mode.NEXTCLOUD_31`
instead plays a Nextcloud 31 (status.php says 31, ajax/download.php is gone) and answers its
WebDAV archive requests with the real server's own archive for the same names. "shallow"
passes everything but asks the server for one level where a PROPFIND asks for the whole
tree (`Depth: infinity`), as a server that does not allow it answers (Sabre then lists one
level, silently), and answers SEARCH 501 (such a server has none either); "no-search" only
answers SEARCH 501 (a server without apps/dav's search), "shallow-search" only lists one
level for the whole tree (SEARCH passes). "slow-listing" holds such a
PROPFIND, and every SEARCH, back until `release` is set (a tree too big to list within the
stall timeout) and passes everything else. "hold-chunks" reads
each chunk of a chunked upload whole and holds it back from the server until `release` is set
(`chunks_held` counts them): the client has written every byte, the server has none. In every
mode the bulk
uploads it passes are recorded (`bulk_requests`: when each began and ended, and the folders
its files go into), to show which ran at the same time.

    with ArchiveFaults(real_nextcloud.url, "hostile") as proxy:
        url = proxy.url  # use instead of the server's
"""

from __future__ import annotations

import http.client
import io
import json
import re
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LEGACY = "/index.php/apps/files/ajax/download.php"
BULK = "/remote.php/dav/bulk"
MODES = (
    "hostile",
    "truncate",
    "truncate-once",
    "html",
    "error",
    "stall",
    "nextcloud-31",
    "pass",
    "shallow",
    "slow-listing",
    "no-search",
    "shallow-search",
    "hold-chunks",
)
HOSTILE = ("../escaped.txt", "/tmp/rcwiz-absolute.txt")
HOP_BY_HOP = ("connection", "transfer-encoding", "content-length", "keep-alive")
ERROR_PAGE = b"<!DOCTYPE html><html><body><h2>Cannot download file</h2></body></html>"


class _Server(ThreadingHTTPServer):
    """The proxy's server: a client that went away mid-answer (rcwiz cut its other listing
    requests once one was untrusted) is no error of the proxy's."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class ArchiveFaults:
    """The proxy: `url`, the archive requests it saw (`archive_requests`), and for "stall"
    an event set once an archive is on its way (`stalled`) and one that lets it go on."""

    def __init__(self, target: str, mode: str, *, port: int = 0) -> None:
        assert mode in MODES, mode
        self.target = urlsplit(target)
        self.mode = mode
        self.archive_requests: list[str] = []
        self.shallowed = 0  # listing requests "shallow" or "slow-listing" changed or held
        self.bulk_requests: list[BulkRequest] = []
        self.chunks_held = 0
        self.lock = threading.Lock()
        self.stalled = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_PROPFIND = do_MKCOL = do_MOVE = do_SEARCH = _any
            do_DELETE = do_HEAD = do_OPTIONS = do_PROPPATCH = do_COPY = _any

        self.server = self.make_server(Handler, port)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def make_server(
        self, handler: type[BaseHTTPRequestHandler], port: int = 0
    ) -> ThreadingHTTPServer:
        """The listening server on PORT, else one of its own choosing (tls_front's also speaks
        TLS)."""
        server = _Server(("127.0.0.1", port), handler)
        server.daemon_threads = True
        return server

    def __enter__(self) -> ArchiveFaults:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ forwarding

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The real server's whole answer to one request."""
        connection = http.client.HTTPConnection(self.target.hostname, self.target.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            reply = connection.getresponse()
            return reply.status, reply.getheaders(), reply.read()
        finally:
            connection.close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        self.answer(handler, headers, body)

    def answer(
        self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes | None
    ) -> None:
        """Answer one request whose HEADERS (without Host) and BODY are read."""
        whole_tree = headers.get("Depth", "").lower() == "infinity"
        if handler.command == "SEARCH" and self.mode in ("shallow", "no-search"):
            return self.send(handler, 501, "text/html", b"<html>Not Implemented</html>")
        if self.mode in ("shallow", "shallow-search") and whole_tree:
            headers["Depth"] = "1"
            self.shallowed += 1
        if self.mode == "slow-listing" and (whole_tree or handler.command == "SEARCH"):
            self.shallowed += 1
            self.release.wait(120)
        path = handler.path
        parts = urlsplit(path)
        if self.mode == "hold-chunks" and handler.command == "PUT" and "/dav/uploads/" in path:
            with self.lock:
                self.chunks_held += 1
            self.release.wait(120)
        query = parse_qs(parts.query)
        if self.mode == "nextcloud-31":
            if parts.path == "/status.php":
                _, _, data = self.forward("GET", path, headers, None)
                document = json.loads(data)
                document.update(version="31.0.0.0", versionstring="31.0.0")
                return self.send(handler, 200, "application/json", json.dumps(document).encode())
            if parts.path == LEGACY:
                return self.send(handler, 404, "text/html", b"<html>Page not found</html>")
            if handler.command == "GET" and query.get("accept") == ["zip"]:
                self.archive_requests.append(path)
                return self.as_nextcloud_31(handler, parts.path, query, headers)
        passing = (
            "pass",
            "shallow",
            "shallow-search",
            "slow-listing",
            "no-search",
            "truncate-once",
        )
        spoiling = self.mode not in passing
        if self.mode == "truncate-once" and handler.command == "GET" and parts.path == LEGACY:
            with self.lock:  # every archive request counted, the first one cut
                spoiling = not self.archive_requests
                self.archive_requests.append(path)
            if spoiling:
                return self.spoil(handler, path, headers)
        if handler.command == "GET" and parts.path == LEGACY and spoiling:
            self.archive_requests.append(path)
            return self.spoil(handler, path, headers)
        began = time.monotonic()
        status, found, data = self.forward(handler.command, path, headers, body)
        if handler.command == "POST" and parts.path == BULK and body is not None:
            self.bulk_requests.append(BulkRequest(began, time.monotonic(), bulk_folders(body)))
        handler.send_response(status)
        for key, value in found:
            if key.lower() not in HOP_BY_HOP:
                handler.send_header(key, value)
        # A HEAD's answer has no body but the length of the GET's (rcwiz's ranged download
        # reads a file's size there).
        said = [v for k, v in found if k.lower() == "content-length"]
        head = handler.command == "HEAD" and said
        handler.send_header("Content-Length", said[0] if head else str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def send(self, handler: BaseHTTPRequestHandler, status: int, kind: str, data: bytes) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    # ------------------------------------------------------------------ the faults

    def spoil(self, handler: BaseHTTPRequestHandler, path: str, headers: dict[str, str]) -> None:
        if self.mode == "html":  # what Nextcloud 30 sends for an exception: HTTP 200, a page
            return self.send(handler, 200, "text/html; charset=UTF-8", ERROR_PAGE)
        if self.mode == "error":
            return self.send(handler, 500, "text/html", ERROR_PAGE)
        status, found, real = self.forward("GET", path, headers, None)
        assert status == 200 and dict(found).get("Content-Type") == "application/zip", found
        if self.mode == "hostile":
            return self.send(handler, 200, "application/zip", with_hostile_entries(real))
        # truncate, stall: half the archive, no length (as Nextcloud sends it), then the end
        handler.send_response(200)
        handler.send_header("Content-Type", "application/zip")
        handler.end_headers()
        handler.wfile.write(real[: len(real) // 2])
        handler.wfile.flush()
        if self.mode == "stall":
            self.stalled.set()
            self.release.wait(120)
        handler.close_connection = True

    def as_nextcloud_31(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
    ) -> None:
        """GET /remote.php/dav/files/USER/DIR/?accept=zip&files=[...] answered with the real
        server's archive of the same names (fetched from ajax/download.php)."""
        assert handler.headers.get("Accept") == "application/zip"
        prefix = "/remote.php/dav/files/"
        assert path.startswith(prefix) and path.endswith("/"), path
        folder = "/" + path[len(prefix) :].split("/", 1)[1].rstrip("/")
        legacy = f"{LEGACY}?{urlencode({'dir': folder, 'files': query['files'][0]})}"
        status, _, data = self.forward("GET", legacy, headers, None)
        assert status == 200, status
        self.send(handler, 200, "application/zip", data)


@dataclass(frozen=True)
class BulkRequest:
    """One bulk upload the proxy passed: from when to when, into which folders."""

    began: float
    ended: float
    folders: frozenset[str]

    def overlaps(self, other: BulkRequest) -> bool:
        return self.began < other.ended and other.began < self.ended


def bulk_folders(body: bytes) -> frozenset[str]:
    """The folders the parts of a bulk upload's multipart BODY go into (X-File-Path)."""
    paths = re.findall(rb"(?im)^X-File-Path: *(.+?)\r?$", body)
    return frozenset(p.decode().lstrip("/").rpartition("/")[0] for p in paths)


def collisions(requests: list[BulkRequest]) -> list[tuple[BulkRequest, BulkRequest]]:
    """Pairs of REQUESTS in flight at the same time that wrote into a folder both."""
    return [
        (a, b)
        for i, a in enumerate(requests)
        for b in requests[i + 1 :]
        if a.overlaps(b) and a.folders & b.folders
    ]


def with_hostile_entries(real: bytes) -> bytes:
    """REAL's entries and two that point outside the destination, as a new archive."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(real)) as source, zipfile.ZipFile(out, "w") as spoiled:
        for info in source.infolist():
            spoiled.writestr(info, source.read(info))
        for name in HOSTILE:
            spoiled.writestr(zipfile.ZipInfo(name), b"written outside the destination\n")
    return out.getvalue()
