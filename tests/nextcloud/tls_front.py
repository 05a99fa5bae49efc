"""The fault proxy (archive_faults.py) as a loopback port that speaks TLS (with a certificate
made here by the `openssl` command) and plain HTTP alike, and records what reached it in plain
HTTP.

It stands for a server whose https has a certificate rcwiz cannot trust, and whose plain http
would take whatever is sent to it: `plain_credentials` lists every Authorization header that
arrived without TLS (the password in base64). Requests that come over TLS are passed on to
TARGET (the real Nextcloud) as the proxy passes them, with the Host they were sent to, so with
the authority's certificate given (`--ca-cert`) the whole of rcwiz works through it.

    with TlsFront(real_nextcloud.url, certificate(tmp_path)) as front:
        front.url        # https://127.0.0.1:PORT
        front.plain_credentials
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from archive_faults import ArchiveFaults

TLS_HANDSHAKE = 0x16  # the first byte of a TLS record that opens a handshake


@dataclass(frozen=True)
class Certificate:
    cert: Path  # PEM, self-signed: it is its own authority (what --ca-cert is given)
    key: Path


def certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (an IP subjectAltName, which rclone's Go needs),
    made by the openssl command, valid for a day."""
    cert, key = folder / "ca.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Certificate(cert, key)


class TlsFront(ArchiveFaults):
    """The proxy in mode "pass" behind TLS; plain HTTP is answered 401 (a taker), not passed."""

    def __init__(self, target: str, cert: Certificate) -> None:
        self.cert = cert
        self.plain_credentials: list[str] = []  # Authorization headers seen without TLS
        self.plain_requests = 0
        self.tls_requests = 0
        super().__init__(target, "pass")
        port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{port}"
        self.bare = f"127.0.0.1:{port}"

    def make_server(
        self, handler: type[BaseHTTPRequestHandler], port: int = 0
    ) -> ThreadingHTTPServer:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert.cert, self.cert.key)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: socket.socket, client_address: object) -> None:
                """TLS or plain, told from the first byte (in the request's own thread)."""
                request.settimeout(30)
                try:
                    first = request.recv(1, socket.MSG_PEEK)
                    if first and first[0] == TLS_HANDSHAKE:
                        request = context.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError):
                    return  # a client that gave up on the certificate: nothing to serve
                handler(request, client_address, self)

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that hangs up mid-answer is no news here

        return Server(("127.0.0.1", port), handler)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        if not isinstance(handler.connection, ssl.SSLSocket):
            self.plain_requests += 1
            if handler.headers.get("Authorization"):
                self.plain_credentials.append(handler.headers["Authorization"])
            handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            handler.send_response(401)  # a taker: asks for the password
            handler.send_header("WWW-Authenticate", 'Basic realm="x"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        self.tls_requests += 1
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        self.answer(handler, dict(handler.headers.items()), body)  # Host kept: the front's
