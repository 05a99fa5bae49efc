"""An answer's body moved into a file at an offset: the one place rcwiz's own downloads put
bytes on disk (rcwiz.nextcloud.ranged's big files, through rcwiz.http.Streamed.into_file).

Two ways, the same result. Where it can (Linux, a plain socket, a body of known length), the
bytes go socket -> pipe -> file with os.splice and never enter Python: an uncapped loopback
download was CPU-bound in Python (1 GB at 0.74x rclone's speed, issue 26). Elsewhere (TLS,
whose bytes Python's ssl must decrypt; a chunked body; a file system that refuses splice; no
os.splice) they are read into one reused buffer and written with os.pwrite, no bytes object
per chunk. Either way:

* what http.client already holds in its buffer is taken first (the portable way: it is no
  longer on the socket), then the rest of the Content-Length;
* every wait ends within the request's deadline (rcwiz.clock through rcwiz.wire.Line): a
  server that stops, or trickles, is TimeoutError (the caller's Stalled); `Client.abort`
  shuts the socket down, which ends a wait at once;
* a body cut short is http.client.IncompleteRead after all that arrived is written;
* the file is written only while the Target holds it open (`held`: -1 when it is closed or
  the download stopped), and `landed` is told each run of bytes once it is on disk (progress
  and the partial's record count written bytes only). A file error (a full disk) is the
  OSError it is.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import http.client

    from rcwiz.wire import Line

SPLICE = hasattr(os, "splice")  # False: always the portable way (the tests compare both)
BUFFER = 1024 * 1024  # the portable way: bytes read (and written) at a time
PIPE = 1024 * 1024  # the pipe's capacity asked for (Linux's default limit for a user)


class Target(Protocol):
    """Where a body goes: a file written at offsets, possibly closed meanwhile by another
    thread."""

    def held(self) -> AbstractContextManager[int]:
        """The file's descriptor, kept open while held; -1: write nothing more."""
        ...

    def landed(self, at: int, count: int) -> None:
        """COUNT bytes from AT are on disk (called while held)."""
        ...


class ReadFailed(Exception):
    """The body could not be read: args[0] is why (the socket's OSError, TimeoutError when
    nothing came within the deadline, or http.client's error: IncompleteRead for a body cut
    short). A file's error is not this: it is its own OSError."""


class _Cut(Exception):
    """Splice is refused (by the file system): the offset reached, the rest goes the portable
    way."""


class _Closed(Exception):
    """The Target takes no more (closed, or its download stopped): the offset reached."""


def move(
    reply: http.client.HTTPResponse,
    line: Line,
    span: tuple[int, int],
    target: Target,
    stop: threading.Event,
) -> int:
    """Write the next SPAN[1] - SPAN[0] bytes of REPLY's body (read through LINE) into TARGET
    from offset SPAN[0]; returns the offset reached: SPAN[1], or short of it once STOP is set
    or TARGET takes no more."""
    at, end = span
    try:
        at = _buffered(reply, at, end, target, stop)
        if _can_splice(reply, line):
            try:  # no further than the Content-Length: the rest of a short body is missing
                at = _spliced(line, at, min(end, at + (reply.length or 0)), target, stop)
            except _Cut as cut:
                at = cut.args[0]
        return _portable(reply, at, end, target, stop)
    except _Closed as closed:
        return int(closed.args[0])


def _can_splice(reply: http.client.HTTPResponse, line: Line) -> bool:
    """A plain socket (TLS bytes need Python's ssl) and a body of known length, on a system
    with splice."""
    import http.client

    return (
        SPLICE
        and not isinstance(line.connection, http.client.HTTPSConnection)
        and line.sock is not None
        and line.sock.fileno() >= 0
        and not reply.chunked
        and reply.length is not None
    )


def _buffered(
    reply: http.client.HTTPResponse, at: int, end: int, target: Target, stop: threading.Event
) -> int:
    """Write what REPLY's buffer holds of the body (after one read of the socket if it holds
    nothing) from AT; the offset reached."""
    if reply.fp is None:
        raise _incomplete(reply)
    with _reading():
        head = len(reply.fp.peek())  # a read within the deadline when the buffer is empty
    return _portable(reply, at, min(end, at + head), target, stop)


def _portable(
    reply: http.client.HTTPResponse,
    at: int,
    end: int,
    target: Target,
    stop: threading.Event,
) -> int:
    """Read into one buffer and pwrite it, until END (or STOP)."""
    view = memoryview(bytearray(min(BUFFER, end - at)))
    while at < end and not stop.is_set():
        with _reading():
            count = reply.readinto(view[: min(len(view), end - at)])
        if not count:
            raise _incomplete(reply)
        with target.held() as fd:
            if fd < 0:
                raise _Closed(at)
            written = 0
            try:
                while written < count:
                    written += os.pwrite(fd, view[written:count], at + written)
            finally:
                if written:
                    target.landed(at, written)
        at += count
    return at


def _spliced(line: Line, at: int, end: int, target: Target, stop: threading.Event) -> int:
    """socket -> pipe -> file until END (or STOP); _Cut with the offset reached when the file
    refuses splice (the rest goes the portable way)."""
    assert line.sock is not None
    with _reading():
        line.pace()  # a timeout makes the socket non-blocking: splice never waits on it
    sock = line.sock.fileno()
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    with _pipe() as (out, into):
        while at < end and not stop.is_set():
            count = _socket_to_pipe(sock, into, end - at, poll, line, at)
            line.watch.moved(count)
            _pipe_to_file(out, count, at, target)
            at += count
    return at


def _socket_to_pipe(sock: int, into: int, most: int, poll: select.poll, line: Line, at: int) -> int:
    """Splice up to MOST bytes (at least one) from SOCK into the pipe INTO, waiting within
    LINE's deadline; _Cut (at AT) when splice is refused."""
    with _reading():
        while True:
            try:
                count = os.splice(sock, into, min(most, PIPE), flags=os.SPLICE_F_NONBLOCK)
            except BlockingIOError:
                if not poll.poll(line.time_left() * 1000):
                    raise TimeoutError("no progress within the stall timeout") from None
                continue
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    raise _Cut(at) from exc
                raise
            if not count:
                raise _incomplete_at(most)
            return count


def _pipe_to_file(out: int, count: int, at: int, target: Target) -> None:
    """Move COUNT bytes from the pipe OUT into TARGET at AT. A file system that refuses
    splice gets them by pwrite, then _Cut."""
    written = 0
    with target.held() as fd:
        if fd < 0:
            raise _Closed(at)
        try:
            while written < count:
                try:
                    written += os.splice(out, fd, count - written, offset_dst=at + written)
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    written += _drain(out, fd, count - written, at + written)
                    raise _Cut(at + written) from exc
        finally:
            if written:
                target.landed(at, written)


def _drain(out: int, fd: int, count: int, at: int) -> int:
    """Read COUNT bytes from the pipe OUT and pwrite them at AT (splice refused)."""
    done = 0
    while done < count:
        data = os.read(out, count - done)
        os.pwrite(fd, data, at + done)
        done += len(data)
    return done


@contextlib.contextmanager
def _pipe() -> Iterator[tuple[int, int]]:
    """A pipe (read end, write end) of PIPE bytes where the system allows it, closed after."""
    out, into = os.pipe2(os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError, AttributeError):
            import fcntl

            fcntl.fcntl(into, fcntl.F_SETPIPE_SZ, PIPE)
        yield out, into
    finally:
        os.close(out)
        os.close(into)


@contextlib.contextmanager
def _reading() -> Iterator[None]:
    """Reading the body: its failures are ReadFailed (the file's are not)."""
    import http.client

    try:
        yield
    except (OSError, http.client.HTTPException) as exc:
        raise ReadFailed(exc) from exc


def _incomplete(reply: http.client.HTTPResponse) -> ReadFailed:
    """What a body that ends before its length is (http.client returns 0 bytes there)."""
    return _incomplete_at(reply.length or 0)


def _incomplete_at(missing: int) -> ReadFailed:
    import http.client

    return ReadFailed(http.client.IncompleteRead(b"", missing))
