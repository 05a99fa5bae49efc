"""Ports for the servers that must be told theirs (stdlib only: benchmarks import it too).

A server that can bind port 0 and say which port it got is started that way (rclone serve,
the quota server, Redis on a socket). serve.sh's `php -S` and PostgreSQL must be given a
number: they get one the kernel just handed out for port 0, and when the server itself says
it is taken (another process bound it in between), a new one. The server's own bind decides,
never a check made beforehand.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
ATTEMPTS = 5


class PortTaken(RuntimeError):
    """The server could not bind the port it was given: someone else has it."""


def kernel_pick() -> int:
    """A port the kernel hands out for port 0 (free when handed out, no promise after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_a_free_port(start: Callable[[int], T], attempts: int = ATTEMPTS) -> T:
    """START(port) with a kernel-picked port, again with another while it raises PortTaken."""
    for attempt in range(attempts):
        try:
            return start(kernel_pick())
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
