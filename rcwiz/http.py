"""rcwiz's own HTTP requests, standard library only: Nextcloud's APIs, the watchdog's probe of a
server, doctor's reading of a server's clock.

One client for all of them. A failure to get an answer (refused, reset, timed out, DNS, TLS)
is ServerUnreachable; an answer of any status is a Response, and what a status means is
decided by rcwiz.errors.for_http_status. A connection is kept per thread and reused while the
server keeps it open (PHP's built-in server closes each one; production servers do not), so
threads that send at once each have their own; `abort` cuts every one of them from any thread
(an interrupted upload must not wait for its requests in flight). http.client and ssl are
imported on first use: most rcwiz runs never make a request.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from rcwiz import __version__, errors

if TYPE_CHECKING:
    import http.client
    import ssl

TIMEOUT = 30.0
# What a Client waits for an answer when it is not told: set by rcwiz.cli from --stall-timeout.
DEFAULT_TIMEOUT = TIMEOUT
# The certificate authority (a PEM file) servers are checked against instead of the system's:
# set by rcwiz.cli from --ca-cert or RCLONE_CA_CERT, the same file rclone is given.
CA_CERT: str | None = None


def tls_context(verify: bool = True) -> ssl.SSLContext:
    """The TLS settings of every https request rcwiz makes: the system's authorities, or only
    CA_CERT's when one is given (as rclone's --ca-cert does); VERIFY False checks nothing
    (doctor's reading of a clock, which sends no credentials)."""
    import ssl

    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=CA_CERT)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise errors.UsageError(
            f"The certificate file {CA_CERT} cannot be used: {why}.",
            "Give --ca-cert the PEM file of your institution's certificate authority.",
        ) from exc


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise errors.ServerError(
                f"The server's answer was not JSON (HTTP {self.status}).", status=self.status
            ) from exc


@dataclass
class Client:
    """Requests to one server, as one user (basic auth) or anonymously."""

    server: str  # base URL, e.g. https://cloud.example.org or http://127.0.0.1:8080/nc
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = field(default_factory=lambda: DEFAULT_TIMEOUT)
    verify: bool = True  # check TLS certificates (doctor's clock request does not)
    opened: int = 0  # connections made so far (what keep-alive saves shows here)
    aborted: bool = False  # set by abort: no request is sent (or retried) any more
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _open: set[http.client.HTTPConnection] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _auth(self) -> dict[str, str]:
        if self.user is None or self.password is None:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            import http.client

            base = urlsplit(self.server)
            if base.scheme == "https":
                connection = http.client.HTTPSConnection(
                    base.hostname or "",
                    base.port,
                    timeout=self.timeout,
                    context=tls_context(self.verify),
                )
            else:
                connection = http.client.HTTPConnection(
                    base.hostname or "", base.port, timeout=self.timeout
                )
            self._local.connection = connection
            with self._lock:
                self._open.add(connection)
                self.opened += 1
        return connection

    def close(self) -> None:
        """Close this thread's connection (the next request opens a new one)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            with self._lock:
                self._open.discard(connection)

    def abort(self) -> None:
        """Cut every connection of this client, whichever thread uses it: a request in flight
        fails at once (ServerUnreachable) instead of running to its end, and none is sent
        after it (a kept connection that fails is not tried again). Any thread may call it.
        """
        import socket

        with self._lock:
            self.aborted = True
            connections = list(self._open)
        for connection in connections:
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # not connected yet, or closed already
                    sock.shutdown(socket.SHUT_RDWR)

    def _target(self, path: str, params: Mapping[str, str] | None) -> str:
        target = urlsplit(self.server).path.rstrip("/") + path
        return target + "?" + urlencode(params) if params else target

    def _headers(self, auth: bool, extra: Mapping[str, str] | None) -> dict[str, str]:
        found = {"User-Agent": f"rcwiz/{__version__}", "Accept": "application/json"}
        if auth:
            found.update(self._auth())
        found.update(extra or {})
        return found

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | Iterable[bytes] | None,
        headers: Mapping[str, str],
        timeout: float | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request and return its answer with the body unread."""
        import http.client

        wait = timeout if timeout is not None else self.timeout
        for attempt in (1, 2):
            if self.aborted:
                self.close()
                raise errors.ServerUnreachable(f"The requests to {self.server} were stopped.")
            reused = getattr(self._local, "connection", None) is not None
            connection = self._connection()
            try:
                connection.timeout = wait
                if connection.sock is not None:
                    connection.sock.settimeout(wait)
                connection.request(method, target, body=body, headers=dict(headers))
                return connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # a kept connection the server had closed meanwhile: once more
                raise self._failure(exc, wait) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._failure(exc, wait) from exc
        raise AssertionError("unreachable")

    def _failure(self, exc: BaseException, wait: float | None = None) -> errors.RcwizError:
        """The error for a request that got no (complete) answer."""
        import http.client
        import ssl

        if isinstance(exc, ssl.SSLCertVerificationError):
            return errors.CertificateFailed(
                f"The certificate of {self.server} cannot be trusted: "
                f"{exc.verify_message or exc.reason or exc}."
            )
        if isinstance(exc, ssl.SSLError):
            return errors.ServerUnreachable(
                f"The secure connection to {self.server} failed: {exc.reason or exc}.",
                "Check the server address; a certificate error means the address or the "
                "server's TLS set-up is wrong.",
            )
        if isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
            return errors.ServerUnreachable(
                f"The server {self.server} closed the connection: {exc}."
            )
        if isinstance(exc, TimeoutError):  # nothing came within the stall timeout
            return errors.Stalled(
                f"The server {self.server} did not answer within {wait or self.timeout:.0f} s.",
                "The server may be overloaded or hung; try again later.",
            )
        return errors.ServerUnreachable(f"The server {self.server} could not be reached: {exc}.")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float | None = None,
    ) -> Response:
        """Send one request to SERVER + PATH; return the response whatever its status.

        BODY may be an iterable of byte strings, sent one after another without being joined
        (a big upload stays out of memory); the caller then gives Content-Length, and the
        iterable must be one that can be iterated again (a list, or an object whose __iter__
        starts over), because a kept connection the server closed meanwhile is retried once.
        TIMEOUT (seconds without an answer) replaces the client's for this request.
        """
        import http.client

        all_headers = self._headers(auth, None)
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        reply = self._send(method, self._target(path, params), body, all_headers, timeout)
        try:
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise self._failure(exc, timeout) from exc
        found = {k.lower(): v for k, v in reply.getheaders()}
        if reply.will_close:
            self.close()
        return Response(reply.status, found, data)

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> Iterator[Streamed]:
        """Send one request and yield its answer before the body is read, to be read a chunk
        at a time (Streamed.read): an archive of any size in bounded memory. The connection
        is closed afterwards (a body read in part leaves it unusable)."""
        reply = self._send(method, self._target(path, params), body, self._headers(True, headers))
        try:
            yield Streamed(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply, self)
        finally:
            self.close()


@dataclass
class Streamed:
    """An answer whose body is still to be read (Client.stream)."""

    status: int
    headers: dict[str, str]  # names in lower case
    _reply: http.client.HTTPResponse = field(repr=False)
    _client: Client = field(repr=False)

    def read(self, size: int) -> bytes:
        """Up to SIZE more bytes of the body (b"" at its end); no answer is ServerUnreachable."""
        import http.client

        try:
            return self._reply.read(size)
        except (OSError, http.client.HTTPException) as exc:
            raise self._client._failure(exc) from exc


def answers(url: str, timeout: float = 5.0) -> bool:
    """True when the server at URL answers HTTP at all (any status, even 401 or 404)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return True  # not something we can probe: assume alive
    client = Client(f"{parts.scheme}://{parts.netloc}", timeout=timeout, verify=False)
    try:
        client.request("OPTIONS", parts.path or "/", auth=False)
        return True
    except errors.ServerUnreachable:
        return False
    finally:
        client.close()
