"""The one clock of a run: how long a request, or anything rcwiz waits for, may go without
progress before it counts as stalled.

A `Clock` is made once per run from --stall-timeout (rcwiz.cli's Context) and handed down:
rclone gets it (Rclone.clock, for the runs it bounds), every Nextcloud account and HTTP client
gets it (Account.clock, Client.clock), and each request rcwiz makes itself takes a `Watch`
from it. No layer keeps a number of its own.

The clock also carries the certificate authority of --ca-cert (or RCLONE_CA_CERT) that
rcwiz's own https requests trust (`ca_cert`, read by rcwiz.http.tls_context). Not because it
is about time: the clock is the one thing made once per run from the global options and
handed from the command line to every request, so what every request must obey travels
with it rather than in a module global or a parameter added to each layer.

What counts as progress (the answer to "is this server slow, or only pretending?"): a request
moves when at least PROGRESS_BYTES more bytes have gone out or come in since it last moved.
It must move, or finish, within the stall timeout of its start or its last move. So a trickle
(one byte every 2 s, a few bytes per window) is no progress and ends as stalled, while an
answer of any size that streams at PROGRESS_BYTES per stall timeout or faster (16 KiB per
minute by default, 5.3 KiB/s with --stall-timeout 3) goes on for as long as it streams. A
request may be given more patience for the wait before its answer (`Watch.allow`): the server
assembling an uploaded file is quiet for a time that grows with the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

STALL_TIMEOUT = 60.0  # seconds, unless --stall-timeout says otherwise
PROGRESS_BYTES = 16 * 1024  # bytes that count as one step of progress
PROBE = 5.0  # seconds a probe (does the server answer at all?) waits, at most
INTERRUPTED = 1.0  # seconds a clean-up after Ctrl-C or SIGTERM may wait for a server


class Clock(NamedTuple):
    """The run's stall timeout; `watch` starts one request's deadline. CA_CERT: the PEM file
    of the authority rcwiz's https requests trust instead of the system's (module docstring)."""

    stall: float = STALL_TIMEOUT
    now: Callable[[], float] = time.monotonic
    ca_cert: str | None = None

    def watch(self) -> Watch:
        """A deadline for one request, starting now."""
        return Watch(self)

    def at_most(self, seconds: float) -> Clock:
        """This clock, with a stall timeout no longer than SECONDS (a probe, a clean-up)."""
        return Clock(min(self.stall, seconds), self.now, self.ca_cert)


class Watch:
    """One request's deadline: the stall timeout after its last progress (module docstring).

    The thread that sends and reads the request reports every byte (`moved`) and asks how
    long it may still wait (`left`) before each blocking step; `left` at or below 0 means
    stalled.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deadline = clock.now() + clock.stall
        self._pending = 0  # bytes since the last step of progress
        self.total = 0

    def moved(self, count: int) -> None:
        """COUNT more bytes went out or came in; enough of them push the deadline on."""
        self.total += count
        self._pending += count
        if self._pending >= PROGRESS_BYTES:
            self._pending = 0
            self.deadline = max(self.deadline, self.clock.now() + self.clock.stall)

    def allow(self, seconds: float) -> None:
        """Wait up to SECONDS from now (if that is longer) before the answer's next byte."""
        self.deadline = max(self.deadline, self.clock.now() + seconds)

    def left(self) -> float:
        """Seconds until this request counts as stalled (0 or less: it does)."""
        return self.deadline - self.clock.now()
