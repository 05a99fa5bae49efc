"""Every request rcwiz makes itself ends within the stall timeout of its last progress, and
Ctrl-C or SIGTERM ends rcwiz within 2 s, whatever the server does: the real Nextcloud 30
behind request_faults.RequestFaults, which spoils one kind of request (the one-request
listing, status.php, OCS, bulk uploads, rcwiz's own chunks, archives) with a hung, trickled,
endless or reset answer.

Each case asserts the exit code, the time from the spoiled request's arrival to rcwiz's end
(or, where rcwiz rightly goes on without that request, how long the request was waited for),
and what arrived. The endless listing also asserts rcwiz's peak memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from conftest import MiB, big_file, files_of, same_bytes
from helpers import RCWIZ, rcwiz, small_tree
from request_faults import FAULTS, KINDS, RequestFaults

from rcwiz.transfer.bulk import BIG_FILE

STALL = 3.0
MARGIN = 5.0  # the brief's bound: a stop within the stall timeout + 5 s
SIGNALLED = 2.0  # seconds from Ctrl-C or SIGTERM to rcwiz's end, at most
PEAK_RSS = 120 * 1024 * 1024  # rcwiz's memory while an endless listing arrives, at most

# What the run ends with when KIND of request meets FAULT: 6 where the server hangs during
# rcwiz's own transfer requests or its quota (no other way gets past a hung server); 0 where
# rcwiz goes on without that request (the listing and the bulk, chunk and archive requests
# that fail at once go to rclone, whose own requests pass; status.php is only a hint).
STOPS = {"hung": 6, "trickle": 6, "endless": 0, "reset": 0}
EXPECTED = {
    (kind, fault): (0 if kind in ("listing", "status") else STOPS[fault])
    for kind in KINDS
    for fault in FAULTS
}
EXPECTED["ocs", "reset"] = 6  # the quota report of its only remote: that remote's failure
# The trickled bulk answer's files reached the server (the proxy forwarded the request): rcwiz
# finds them there once the stall timeout ends the request, and goes on (transfer.late).
EXPECTED["bulk", "trickle"] = 0


@pytest.fixture
def through(nc_user, tmp_path, rclone_conf) -> Iterator[Callable[[str, str], tuple]]:
    """through(kind, fault) -> (proxy, rclone.conf whose nc: goes through it)."""
    proxies: list[RequestFaults] = []

    def make(kind: str, fault: str) -> tuple[RequestFaults, Path]:
        proxy = RequestFaults(nc_user.server.url, kind, fault).__enter__()
        proxies.append(proxy)
        url = f"{proxy.url}/remote.php/dav/files/{nc_user.name}/"
        return proxy, rclone_conf(
            tmp_path / f"{kind}-{fault}.conf", {"nc": nc_user.remote(url=url)}
        )

    yield make
    for proxy in proxies:
        proxy.__exit__()


def _argv(kind: str, conf: Path, tmp_path: Path, nc_remote: Path, stall: float) -> list[str]:
    """The command that makes KIND of request, with what it needs already on the server."""
    base = ["--stall-timeout", f"{stall:g}", "--config", str(conf)]
    if kind == "ocs":
        return [*base, "quota", "nc"]
    if kind in ("status", "archive"):
        source = small_tree(tmp_path / "down-src", 12, size=3000)
        assert rcwiz("--config", str(nc_remote), "copy", str(source), "nc:down").returncode == 0
        return [*base, "copy", "nc:down", str(tmp_path / "back")]
    source = tmp_path / "src"
    if kind == "chunk":
        big_file(source / "big.bin", BIG_FILE + MiB)
    else:
        small_tree(source, 12, size=3000)
        # Something there already: the listing has entries, and counts, to spoil.
        there = small_tree(tmp_path / "there", 4, size=100)
        assert rcwiz("--config", str(nc_remote), "copy", str(there), "nc:up").returncode == 0
    return [*base, "copy", str(source), "nc:up"]


def _arrived(kind: str, tmp_path: Path, nc_user) -> bool:
    """What the command was to move is there, byte for byte."""
    if kind == "ocs":
        return True
    if kind in ("status", "archive"):
        return same_bytes(tmp_path / "down-src", tmp_path / "back")
    server = nc_user.files / "up"
    wanted = files_of(tmp_path / "src")
    return {k: v for k, v in files_of(server).items() if k in wanted} == wanted


class Run:
    """rcwiz started as a user starts it; its peak memory sampled until it ends."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            [*RCWIZ, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.peak = 0
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        try:
            me = psutil.Process(self.proc.pid)
            while self.proc.poll() is None:
                self.peak = max(self.peak, me.memory_info().rss)
                time.sleep(0.05)
        except psutil.Error:
            return

    def wait(self, timeout: float) -> tuple[int, str, float]:
        """(exit code, stderr, time.monotonic() at its end)."""
        try:
            _, err = self.proc.communicate(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
        return self.proc.returncode, err, time.monotonic()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_request_ends_within_the_stall_timeout_of_its_last_progress(
    kind, fault, through, nc_user, nc_remote, tmp_path
):
    proxy, conf = through(kind, fault)
    run = Run(_argv(kind, conf, tmp_path, nc_remote, STALL))
    code, err, ended = run.wait(timeout=120)
    assert proxy.seen[kind].is_set(), f"no {kind} request reached the proxy: this proves nothing"
    assert "Traceback" not in err, err
    assert code == EXPECTED[kind, fault], err
    if code:
        stop = ended - proxy.began[kind]
        assert stop < STALL + MARGIN, f"stopped {stop:.1f} s after the {kind} request"
        assert "Spoiled" not in err and "<" not in err  # one sentence, no server markup
    else:
        assert _arrived(kind, tmp_path, nc_user), err
        lasted = proxy.lasted.get(kind, 0.0)
        assert lasted < STALL + 2, f"the {kind} request was waited for {lasted:.1f} s"
    if fault == "endless" and kind == "listing":
        # Cut off at once (one entry more than the folder said it holds), not read for ever.
        assert proxy.sent[kind] < 16 * MiB and lasted < STALL
        assert run.peak < PEAK_RSS, f"rcwiz grew to {run.peak / MiB:.0f} MiB"


# Ctrl-C, a second Ctrl-C and SIGTERM with requests in flight: a stall timeout far longer than
# the test, so only the signal can end the run. The trickled answers say `Connection: close`
# (as PHP's server does) before their body: the case http.client forgets the socket of.
PHASES = {
    "listing": "hung",
    "status": "trickle",
    "bulk": "trickle",
    "chunk": "trickle",
    "archive": "trickle",
    "ocs": "trickle",
}
SIGNALS = {
    "ctrl-c": (signal.SIGINT,),
    "ctrl-c twice": (signal.SIGINT, signal.SIGINT),
    "sigterm": (signal.SIGTERM,),
}


@pytest.mark.parametrize("how", SIGNALS)
@pytest.mark.parametrize("kind", PHASES)
def test_a_signal_ends_rcwiz_within_2_s_with_requests_in_flight(
    kind, how, through, nc_remote, tmp_path
):
    proxy, conf = through(kind, PHASES[kind])
    run = Run(_argv(kind, conf, tmp_path, nc_remote, 600))
    ready = proxy.answering[kind] if PHASES[kind] == "trickle" else proxy.seen[kind]
    if not ready.wait(60):
        run.proc.kill()
        pytest.fail(f"rcwiz never sent its {kind} request")
    sent = time.monotonic()
    for number in SIGNALS[how]:
        os.kill(run.proc.pid, number)
    code, err, ended = run.wait(timeout=60)
    assert ended - sent < SIGNALLED, f"{how} took {ended - sent:.1f} s in the {kind} phase"
    assert code == 130, err
    assert "Traceback" not in err, err
    if kind == "bulk":  # the files cut off are named, in one whole warning before the error
        warned = err.index("were on their way in bulk requests")
        assert "(the next run skips those it has)\nerror: Interrupted" in err[warned:], err
