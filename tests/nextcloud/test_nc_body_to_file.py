"""rcwiz.body_to_file against the real Nextcloud 30: a ranged answer's body moved into a file,
by splice (socket -> pipe -> file, Linux) or the portable way (one buffer, pwrite), with the
same bytes, the same deadline, the same abort and the same accounting either way.

Faults come from the proxy in front of the real server (request_faults.RequestFaults, kind
"range"): "trickle" (a few bytes, then nothing that counts as progress), "cut" (half the body,
then the connection closed). The whole-run consequences (a cut body's partial resumed by the
next run) are in test_nc_resume_down.py.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest
from conftest import MiB
from helpers import FileTarget
from request_faults import CUT, RANGE, RequestFaults
from tls_front import TlsFront, certificate

from rcwiz import body_to_file, errors
from rcwiz.clock import Clock
from rcwiz.http import Client
from rcwiz.nextcloud import ranged

SIZE = 12 * MiB
NAME = "body/big.bin"
STALL = 3.0
SPLICE = hasattr(os, "splice")
WAYS = [pytest.param(True, id="splice"), pytest.param(False, id="portable")]


@pytest.fixture
def data(nc_user) -> bytes:
    """SIZE random bytes, stored on the server as NAME."""
    nc_user.dav("MKCOL", "body")
    content = os.urandom(SIZE)
    status, _ = nc_user.dav("PUT", NAME, content)
    assert status in (201, 204), status
    return content


@pytest.fixture
def way(request, monkeypatch) -> Callable[[], int]:
    """The way under test (splice or portable); returns a count of the splice calls made."""
    splice = request.param
    if splice and not SPLICE:
        pytest.skip("no os.splice on this system")
    monkeypatch.setattr(body_to_file, "SPLICE", splice)
    calls = [0]
    if SPLICE:
        real = os.splice

        def counted(*args, **kwargs):
            calls[0] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(os, "splice", counted)
    return lambda: calls[0]


def _fetch(url: str, nc_user, span, target, *, stall: float = 60, client=None) -> None:
    client = client or Client(url, nc_user.name, nc_user.password, clock=Clock(stall))
    version = ranged.version(client, nc_user.name, NAME)
    ranged.fetch(client, nc_user.name, NAME, span, version, target, threading.Event())


@pytest.mark.parametrize("way", WAYS, indirect=True)
def test_both_ways_write_the_servers_bytes_and_count_them(way, data, nc_user, tmp_path):
    target = FileTarget(tmp_path / "got")
    span = (1000, SIZE - 3)
    _fetch(nc_user.server.url, nc_user, span, target)
    target.close()
    assert (tmp_path / "got").read_bytes()[span[0] :] == data[span[0] : span[1]]
    assert target.landed_bytes == span[1] - span[0]
    assert [at for at, _ in target.landed_runs] == sorted(at for at, _ in target.landed_runs)
    assert (way() > 0) == body_to_file.SPLICE  # splice moved them, or was never called


@pytest.mark.parametrize("way", WAYS[:1], indirect=True)
def test_over_tls_the_bytes_go_the_portable_way(way, data, nc_user, real_nextcloud, tmp_path):
    """Python's ssl must decrypt them: splice is not even tried."""
    cert = certificate(tmp_path)
    target = FileTarget(tmp_path / "got")
    with TlsFront(real_nextcloud.url, cert) as front:
        clock = Clock(60, ca_cert=str(cert.cert))
        client = Client(front.url, nc_user.name, nc_user.password, clock=clock)
        _fetch(front.url, nc_user, (0, SIZE), target, client=client)
    target.close()
    assert (tmp_path / "got").read_bytes() == data and target.landed_bytes == SIZE
    assert way() == 0


@pytest.mark.parametrize("way", WAYS, indirect=True)
def test_a_trickle_during_the_body_is_stalled_within_the_stall_timeout(
    way, data, nc_user, tmp_path
):
    target = FileTarget(tmp_path / "got")
    with RequestFaults(nc_user.server.url, RANGE, "trickle") as proxy:
        with pytest.raises(errors.Stalled):
            _fetch(proxy.url, nc_user, (0, SIZE), target, stall=STALL)
        assert proxy.sent[RANGE] > 0  # the body had begun
        began = proxy.began[RANGE]
    assert time.monotonic() - began < STALL + 3
    target.close()
    got = (tmp_path / "got").read_bytes()
    assert target.landed_bytes == len(got) and got == data[: len(got)]


@pytest.mark.parametrize("way", WAYS, indirect=True)
def test_abort_during_the_body_ends_it_at_once(way, data, nc_user, tmp_path):
    target = FileTarget(tmp_path / "got")
    with RequestFaults(nc_user.server.url, RANGE, "trickle") as proxy:
        client = Client(proxy.url, nc_user.name, nc_user.password, clock=Clock(600))
        cut = threading.Thread(
            target=lambda: proxy.answering[RANGE].wait(60) and client.abort(), daemon=True
        )
        cut.start()
        with pytest.raises(errors.ServerUnreachable) as caught:
            _fetch(proxy.url, nc_user, (0, SIZE), target, client=client)
        ended = time.monotonic() - proxy.began[RANGE]
    assert not isinstance(caught.value, errors.Stalled)
    assert "were stopped" in caught.value.message
    assert ended < 10  # a stall timeout of 600 s: only the abort ended it


@pytest.mark.parametrize("way", WAYS, indirect=True)
def test_a_cut_body_leaves_what_arrived_written_and_counted(way, data, nc_user, tmp_path):
    target = FileTarget(tmp_path / "got")
    span = (MiB, SIZE)
    with (
        RequestFaults(nc_user.server.url, RANGE, CUT) as proxy,
        pytest.raises(errors.ServerUnreachable) as caught,
    ):
        _fetch(proxy.url, nc_user, span, target)
    assert not isinstance(caught.value, errors.Stalled)
    target.close()
    got = (tmp_path / "got").read_bytes()[span[0] :]
    assert len(got) == (span[1] - span[0]) // 2 == target.landed_bytes
    assert got == data[span[0] : span[0] + len(got)]


@pytest.mark.parametrize("way", WAYS, indirect=True)
def test_a_target_that_takes_no_more_ends_the_body_quietly(way, data, nc_user, tmp_path):
    """A download discarded meanwhile (its file closed by another thread): nothing more is
    written, no error."""
    target = FileTarget(tmp_path / "got")

    def landed(at: int, count: int) -> None:
        target.landed_runs.append((at, count))
        target.closed = True

    target.landed = landed  # type: ignore[method-assign]
    _fetch(nc_user.server.url, nc_user, (0, SIZE), target)
    target.close()
    assert len(target.landed_runs) == 1
    assert os.path.getsize(tmp_path / "got") == target.landed_bytes < SIZE
