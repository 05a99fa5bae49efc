"""rcwiz.transfer.streams' rules, given what was measured (times passed in, nothing waited for)."""

from __future__ import annotations

import math

from rcwiz.http import Seen
from rcwiz.transfer.streams import (
    MARGIN,
    MAX_STREAMS,
    PROMPT,
    STREAMS,
    WINDOW,
    Growth,
    spacing,
)

MB = 10**6


def _rounds(growth: Growth, rates: list[float], left: int, probe: bool = False) -> list[int]:
    """The streams after each of RATES (bytes/s, one per round in which every stream answers
    over WINDOW), LEFT bytes still to come each time."""
    now, moved, streams, seen = 0.0, 0, STREAMS, []
    for rate in [rates[0], *rates]:  # the first window warms up
        assert growth.more(now, moved, left, streams, streams, probe) == 0  # the window starts
        now, moved = now + WINDOW, moved + int(rate * WINDOW)
        streams += growth.more(now, moved, left, streams, streams, probe)
        seen.append(streams)
        now += 0.1
    assert seen[0] == STREAMS  # the warm-up adds none
    return seen[1:]


def test_slow_streams_double_while_doubling_pays_up_to_the_cap():
    assert _rounds(Growth(), [80 * MB, 160 * MB, 320 * MB, 320 * MB], 900 * MB) == [
        8,
        16,
        MAX_STREAMS,
        MAX_STREAMS,
    ]


def test_a_doubling_that_did_not_pay_is_the_last():
    assert _rounds(Growth(), [300 * MB, 310 * MB, 310 * MB], 10_000 * MB) == [8, 8, 8]


def test_little_left_adds_no_stream():
    """At 800 MB/s, 1 GB is over in about a second: no stream would pay for its start."""
    assert _rounds(Growth(), [800 * MB, 800 * MB], 900 * MB) == [4, 4]


def test_streams_not_all_answering_add_none_and_start_the_window_again():
    growth = Growth()
    assert growth.more(0.0, 0, 10**10, STREAMS, STREAMS, False) == 0
    assert growth.more(WINDOW, 10**8, 10**10, STREAMS - 1, STREAMS, False) == 0
    assert growth.more(2 * WINDOW, 2 * 10**8, 10**10, STREAMS, STREAMS, False) == 0


def _warm(growth: Growth, probe: bool) -> tuple[float, int]:
    """Four streams answering for a first window (which only warms up): the time and the
    bytes moved at its end."""
    assert growth.more(0.0, 0, 10**9, 4, 4, probe) == 0
    assert growth.more(WINDOW + 0.01, 20 * MB, 10**9, 4, 4, probe) == 0
    return WINDOW + 0.01, 20 * MB


def test_phps_builtin_server_gets_a_probe_and_then_at_once_a_doubling():
    growth = Growth()
    t, moved = _warm(growth, True)
    t, moved = t + WINDOW + 0.01, moved + 40 * MB  # 80 MB/s
    assert growth.more(t, moved, 10**9, 4, 4, True) == 1  # the probe
    assert growth.more(t + 0.1, moved + 8 * MB, 10**9, 4, 5, True) == 0  # not answering yet
    assert growth.more(t + 0.2, moved + 16 * MB, 10**9, 5, 5, True) == 5  # answered promptly
    t, moved = t + 0.3, moved + 24 * MB
    assert growth.more(t, moved, 10**9, 10, 10, True) == 0  # the window starts
    rate = 200 * MB  # 2.5 times the rate of 4 (80 MB/s): it paid
    later = t + WINDOW + 0.01
    assert growth.more(later, moved + int(rate * WINDOW), 10**9, 10, 10, True) == 6


def test_a_probe_answered_late_waited_for_a_worker_and_ends_the_growth():
    growth = Growth()
    t, moved = _warm(growth, True)
    t, moved = t + WINDOW + 0.01, moved + 40 * MB
    assert growth.more(t, moved, 10**9, 4, 4, True) == 1
    assert growth.more(t + PROMPT + 0.1, moved + 80 * MB, 10**9, 5, 5, True) == 0
    assert growth.more(10.0, 500 * MB, 10**9, 5, 5, True) == 0
    assert growth.more(20.0, 900 * MB, 10**10, 5, 5, True) == 0


def test_the_first_window_only_warms_up():
    """The streams' first half-second (connections opening, the server starting) is not
    their rate: a slow start adds no stream by itself."""
    growth = Growth()
    assert growth.more(0.0, 0, 10**9, 4, 4, False) == 0
    assert growth.more(WINDOW + 0.01, MB, 10**9, 4, 4, False) == 0  # 2 MB/s: 500 s left
    assert growth.more(2 * WINDOW + 0.02, 401 * MB, 10**9, 4, 4, False) == 0  # 800 MB/s


def test_spacing_waits_only_where_a_burst_would_queue():
    assert spacing(Seen(), unanswered=False) == 0
    assert spacing(Seen(), unanswered=True) == math.inf  # nothing known: the answer
    assert spacing(Seen(quickest=0.06), unanswered=True) == 0  # Apache, nginx: together
    php = Seen(quickest=0.06, one_by_one=True)
    assert spacing(php, unanswered=True) == 0.03 + MARGIN
    assert spacing(php, unanswered=False) == 0
    assert spacing(php, unanswered=True, serving=True) == math.inf  # its workers wake slowly
    assert spacing(Seen(quickest=0.06), unanswered=True, serving=True) == 0
