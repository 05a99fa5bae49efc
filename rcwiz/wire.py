"""One HTTP connection's socket under the run's clock (rcwiz.clock): what rcwiz.http sends
and reads goes through here, every byte counted against the request's deadline, and the socket
kept by reference so that abort can cut it whatever http.client did with its own.

Imported by rcwiz.http only once a request is made (http.client costs start-up time).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import io
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from rcwiz.clock import Watch

SLICE = 64 * 1024  # bytes of a request body handed to the socket at a time


@dataclass(eq=False)
class Line:
    """One connection, the socket it uses (kept here: http.client forgets it once an answer
    says `Connection: close`, and abort must still cut it) and the deadline of its request."""

    connection: http.client.HTTPConnection
    watch: Watch
    sock: socket.socket | None = None

    def time_left(self) -> float:
        """Seconds the request may still block; TimeoutError when it is stalled already."""
        left = self.watch.left()
        if left <= 0:
            raise TimeoutError("no progress within the stall timeout")
        return left

    def pace(self) -> None:
        """Give the socket only the time left (the next send or receive blocks no longer)."""
        if self.sock is not None:
            self.sock.settimeout(self.time_left())

    def paced(self, body: bytes | Iterable[bytes] | None) -> Iterable[bytes] | None:
        """BODY as slices of at most SLICE bytes, each sent within the deadline and counted."""
        if body is None:
            return None
        pieces = [body] if isinstance(body, (bytes, bytearray)) else body

        def slices() -> Iterator[bytes]:
            for piece in pieces:
                view = memoryview(piece)
                for start in range(0, len(view), SLICE):
                    part = view[start : start + SLICE]
                    self.pace()
                    yield part  # type: ignore[misc]  # http.client sends any bytes-like
                    self.watch.moved(len(part))

        return slices()

    def cut(self) -> None:
        """Shut the socket down: a send or receive in flight on it fails now."""
        if self.sock is not None:
            with contextlib.suppress(OSError):  # closed already
                self.sock.shutdown(socket.SHUT_RDWR)


class _CountedReader(io.RawIOBase):
    """The socket under an answer, read within the deadline, every byte counted."""

    def __init__(self, raw: io.RawIOBase, line: Line) -> None:
        self.raw, self.line = raw, line

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self.line.pace()
        count = self.raw.readinto(buffer)
        if count:
            self.line.watch.moved(count)
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


@functools.cache
def counted_response() -> Callable[..., http.client.HTTPResponse]:
    """http.client's response, reading through a _CountedReader (made once, on first use:
    http.client is imported only by runs that make requests)."""
    import http.client

    class Counted(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, line: Line, **kwargs: Any) -> None:
            super().__init__(sock, *args, **kwargs)
            buffered = self.fp
            self.fp = io.BufferedReader(_CountedReader(buffered.detach(), line))

    return Counted
