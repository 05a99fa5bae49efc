"""rcwiz's own HTTP requests, standard library only: Nextcloud's APIs, the watchdog's probe of a
server, doctor's reading of a server's clock.

One client for all of them. A failure to get an answer (refused, reset, timed out, DNS, TLS)
is ServerUnreachable; an answer of any status is a Response, and what a status means is
decided by rcwiz.errors.for_http_status. A connection is kept per thread and reused while the
server keeps it open (PHP's built-in server closes each one; production servers do not), so
threads that send at once each have their own; `abort` cuts every one of them from any thread
(an interrupted upload must not wait for its requests in flight), through the client's own
reference to each socket: http.client forgets its socket as soon as an answer says
`Connection: close`, while the answer is still being read. http.client and ssl are
imported on first use: most rcwiz runs never make a request.

Every request has a deadline, not a read timeout (rcwiz.clock): each byte sent or received is
counted, and before every blocking send or receive the socket is given only the time left
until the request counts as stalled. A server that trickles its answer (or its headers) a
byte at a time is stalled after the stall timeout, as one that sends nothing is; one that
streams a big answer at a real rate is not. An answer read whole is at most MAX_BODY bytes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from rcwiz import __version__, errors
from rcwiz.clock import Clock, Watch

if TYPE_CHECKING:
    import http.client
    import ssl

    from rcwiz.body_to_file import Target
    from rcwiz.wire import Line

MAX_BODY = 16 * 1024 * 1024  # an answer read whole (JSON, a small listing) is never bigger
READ = 256 * 1024  # bytes asked of the socket at a time when an answer is read whole


def tls_context(ca_cert: str | None, verify: bool = True) -> ssl.SSLContext:
    """The TLS settings of every https request rcwiz makes: the system's authorities, or only
    CA_CERT's when one is given (a PEM file: --ca-cert's or RCLONE_CA_CERT's, the one rclone
    trusts too; it travels on the run's Clock); VERIFY False checks nothing (doctor's reading
    of a clock, which sends no credentials)."""
    import ssl

    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=ca_cert)
    except (OSError, ssl.SSLError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise errors.UsageError(
            f"The certificate file {ca_cert} cannot be used: {why}.",
            "Give --ca-cert the PEM file of your institution's certificate authority.",
        ) from exc


class Response(NamedTuple):
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


class Seen:
    """What a server's answers showed this run, shared by every client of one account
    (rcwiz.nextcloud.account): rcwiz.transfer.streams paces its ranged requests by it.

    `quickest` is the shortest time from a request sent (on an open connection) to its
    answer's headers: a round trip and the server's shortest work, so half of it bounds
    the time a request takes to reach the server. `one_by_one` is set once an answer echoed
    the request's Host header, the mark of PHP's built-in server (php -S: php-src's
    sapi/cli/php_cli_server.c, append_essential_headers; no other server does it): each of
    its workers accepts every connection that arrives while it is idle and then serves them
    one after the other, so requests sent in a burst wait for each other.
    """

    __slots__ = ("one_by_one", "quickest")  # a plain class: a dataclass costs a copy's start-up

    def __init__(self, quickest: float = math.inf, one_by_one: bool = False) -> None:
        self.quickest = quickest
        self.one_by_one = one_by_one

    def answered(self, seconds: float, reply: http.client.HTTPResponse) -> None:
        self.quickest = min(self.quickest, seconds)
        if reply.getheader("Host") is not None:
            self.one_by_one = True


@dataclass
class Client:
    """Requests to one server, as one user (basic auth) or anonymously."""

    server: str  # base URL, e.g. https://cloud.example.org or http://127.0.0.1:8080/nc
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    clock: Clock = field(default_factory=Clock)  # the run's (rcwiz.clock): each request's deadline
    verify: bool = True  # check TLS certificates (doctor's clock request does not)
    opened: int = 0  # connections made so far (what keep-alive saves shows here)
    aborted: bool = False  # set by abort: no request is sent (or retried) any more
    seen: Seen = field(default_factory=Seen)  # the server's answers (an account's clients share it)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _open: set[Line] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _auth(self) -> dict[str, str]:
        if self.user is None or self.password is None:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _line(self) -> Line:
        """This thread's connection (made on first use, kept while the server keeps it)."""
        line: Line | None = getattr(self._local, "line", None)
        if line is None:
            import http.client

            from rcwiz.wire import Line, counted_response

            base = urlsplit(self.server)
            if base.scheme == "https":
                connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                    base.hostname or "",
                    base.port,
                    timeout=self.clock.stall,
                    context=tls_context(self.clock.ca_cert, self.verify),
                )
            else:
                connection = http.client.HTTPConnection(
                    base.hostname or "", base.port, timeout=self.clock.stall
                )
            line = Line(connection, self.clock.watch())
            connection.response_class = functools.partial(counted_response(), line=line)  # type: ignore[assignment]
            self._local.line = line
            with self._lock:
                self._open.add(line)
        return line

    def _connect(self, line: Line) -> None:
        """Open LINE's socket within its request's deadline, and keep a reference to it."""
        line.connection.timeout = line.time_left()
        line.connection.connect()
        with self._lock:
            line.sock = line.connection.sock
            self.opened += 1
            if self.aborted:  # abort() ran while this one was connecting
                line.cut()

    def close(self) -> None:
        """Close this thread's connection (the next request opens a new one)."""
        line: Line | None = getattr(self._local, "line", None)
        if line is not None:
            line.connection.close()
            line.cut()  # an answer still held (read in part, or cut short) keeps it open
            if line.sock is not None:
                line.sock.close()
            self._local.line = None
            with self._lock:
                self._open.discard(line)

    def abort(self) -> None:
        """Cut every connection of this client, whichever thread uses it: a request in flight
        fails at once (ServerUnreachable) instead of running to its end, and none is sent
        after it (a kept connection that fails is not tried again). Any thread may call it.
        """
        with self._lock:
            self.aborted = True
            for line in self._open:
                line.cut()

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
        watch: Watch,
        patience: float | None = None,
    ) -> http.client.HTTPResponse:
        """Send one request within WATCH's deadline and return its answer with the body
        unread; PATIENCE: seconds the answer may take after the body is sent, if longer."""
        import http.client

        all_headers = dict(headers)
        if isinstance(body, (bytes, bytearray)) and not any(
            k.lower() == "content-length" for k in all_headers
        ):
            all_headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            if self.aborted:
                self.close()
                raise errors.ServerUnreachable(f"The requests to {self.server} were stopped.")
            line = self._line()
            line.watch = watch
            reused = line.connection.sock is not None
            try:
                if not reused:
                    self._connect(line)
                line.pace()
                sent = time.monotonic()
                line.connection.request(method, target, body=line.paced(body), headers=all_headers)
                if patience is not None:
                    watch.allow(patience)
                reply = line.connection.getresponse()
                self.seen.answered(time.monotonic() - sent, reply)
                return reply
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # a kept connection the server had closed meanwhile: once more
                raise self._failure(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._failure(exc) from exc
        raise AssertionError("unreachable")

    def _failure(self, exc: BaseException, length: str | None = None) -> errors.RcwizError:
        """The error for a request that got no (complete) answer (LENGTH: the answer's
        Content-Length, once one came)."""
        import http.client
        import ssl

        if self.aborted:
            return errors.ServerUnreachable(f"The requests to {self.server} were stopped.")
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
        if isinstance(exc, http.client.IncompleteRead):
            return errors.ServerUnreachable(_cut_short(self.server, exc.expected or 0, length))
        if isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
            return errors.ServerUnreachable(
                f"The server {self.server} closed the connection: {exc}."
            )
        if isinstance(exc, TimeoutError):  # no progress within the stall timeout
            return errors.Stalled(
                f"The server {self.server} stopped answering: nothing, or only a trickle, "
                f"came for {self.clock.stall:.0f} s.",
                "The server may be overloaded or hung; try again later, or raise --stall-timeout.",
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
        patience: float | None = None,
    ) -> Response:
        """Send one request to SERVER + PATH; return the response whatever its status.

        BODY may be an iterable of byte strings, sent one after another without being joined
        (a big upload stays out of memory); the caller then gives Content-Length, and the
        iterable must be one that can be iterated again (a list, or an object whose __iter__
        starts over), because a kept connection the server closed meanwhile is retried once.
        The request ends within the clock's stall timeout of its last progress (rcwiz.clock);
        PATIENCE gives the server that many seconds, if more, to answer once the body is sent.
        An answer longer than MAX_BODY is a ServerError.
        """
        import http.client

        all_headers = self._headers(auth, None)
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        watch = self.clock.watch()
        reply = self._send(method, self._target(path, params), body, all_headers, watch, patience)
        try:
            data = _whole(reply)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise self._failure(exc, reply.getheader("Content-Length")) from exc
        except errors.RcwizError:
            self.close()
            raise
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
        at a time (Streamed.read): an archive of any size in bounded memory, for as long as
        it keeps making progress (rcwiz.clock). The connection is closed afterwards (a body
        read in part leaves it unusable)."""
        watch = self.clock.watch()
        headers = self._headers(True, headers)
        try:
            reply = self._send(method, self._target(path, params), body, headers, watch)
            found = {k.lower(): v for k, v in reply.getheaders()}
            yield Streamed(reply.status, found, reply, self, self._local.line)
        finally:
            self.close()


def _cut_short(server: str, missing: int, length: str | None) -> str:
    """What a body that ended MISSING bytes before its Content-Length (LENGTH) is, in one
    sentence: http.client's own words are its repr ("IncompleteRead(0 bytes read, ...)")."""
    total = int(length) if length and length.isdigit() else None
    closed = f"The server {server} closed the connection"
    if total is None or total < missing:
        return f"{closed} {missing:,} bytes before the end of its answer."
    return f"{closed} after {total - missing:,} of {total:,} bytes."


def _whole(reply: http.client.HTTPResponse) -> bytes:
    """REPLY's body, read a piece at a time; a ServerError past MAX_BODY bytes."""
    pieces: list[bytes] = []
    size = 0
    while piece := _read(reply, READ):
        size += len(piece)
        if size > MAX_BODY:
            raise errors.ServerError(
                f"The server's answer was longer than {MAX_BODY // (1024 * 1024)} MiB, "
                "far more than such an answer holds, so it was not read to its end.",
                status=reply.status,
            )
        pieces.append(piece)
    return b"".join(pieces)


def _read(reply: http.client.HTTPResponse, size: int) -> bytes:
    """Up to SIZE more bytes of REPLY's body; IncompleteRead where it ends before its
    Content-Length (http.client returns b"" there: a cut connection would pass for the end)."""
    import http.client

    piece = reply.read(size)
    if not piece and reply.length:
        raise http.client.IncompleteRead(b"", reply.length)
    return piece


@dataclass
class Streamed:
    """An answer whose body is still to be read (Client.stream)."""

    status: int
    headers: dict[str, str]  # names in lower case
    _reply: http.client.HTTPResponse = field(repr=False)
    _client: Client = field(repr=False)
    _line: Line = field(repr=False)

    def read(self, size: int) -> bytes:
        """Up to SIZE more bytes of the body (b"" at its end); no answer is ServerUnreachable,
        no progress within the stall timeout Stalled."""
        import http.client

        try:
            return _read(self._reply, size)
        except (OSError, http.client.HTTPException) as exc:
            raise self._client._failure(exc, self.headers.get("content-length")) from exc

    def into_file(self, span: tuple[int, int], target: Target, stop: threading.Event) -> int:
        """Write the next SPAN[1] - SPAN[0] bytes of the body into TARGET from offset SPAN[0]
        (rcwiz.body_to_file: without Python touching them where it can); the offset reached,
        short of SPAN[1] only once STOP is set or TARGET takes no more. A body that ends early
        is ServerUnreachable, no progress within the stall timeout Stalled (what arrived is
        written); a file error is its OSError."""
        from rcwiz import body_to_file

        try:
            return body_to_file.move(self._reply, self._line, span, target, stop)
        except body_to_file.ReadFailed as failed:
            exc = failed.args[0]
            raise self._client._failure(exc, self.headers.get("content-length")) from exc


def answers(url: str, clock: Clock) -> bool:
    """True when the server at URL answers HTTP at all (any status, even 401 or 404) within
    CLOCK's stall timeout."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return True  # not something we can probe: assume alive
    client = Client(f"{parts.scheme}://{parts.netloc}", clock=clock, verify=False)
    try:
        client.request("OPTIONS", parts.path or "/", auth=False)
        return True
    except errors.ServerUnreachable:
        return False
    finally:
        client.close()
