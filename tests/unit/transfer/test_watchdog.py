"""The watchdog's decisions, on events built the way rcwiz.rclone.events parses them."""

from __future__ import annotations

from rcwiz import errors
from rcwiz.rclone.events import FileDone, InFlight, Progress
from rcwiz.transfer.watchdog import Watchdog


def progress(total_bytes_sent: int, *inflight: tuple[str, int], errors_: int = 0) -> Progress:
    return Progress(
        bytes=total_bytes_sent,
        total_bytes=10**9,
        speed=0.0,
        eta=None,
        transfers=0,
        total_transfers=3,
        checks=0,
        total_checks=0,
        listed=3,
        errors=errors_,
        elapsed=0.0,
        fatal_error=False,
        retry_error=False,
        last_error=None,
        transferring=tuple(InFlight(n, 10**8, b, 0, 0.0, None) for n, b in inflight),
    )


def arrived(name: str) -> FileDone:
    return FileDone(name=name, outcome="copied", size=1, error=None, message="Copied (new)")


def dead() -> bool:
    return False


def test_silence_before_the_first_stats_line_is_a_stall_once_the_server_is_gone():
    watch = Watchdog(stall_timeout=10, alive=dead, started=100.0)
    assert watch(None, 105.0) is None
    stopped = watch(None, 110.5)
    assert isinstance(stopped, errors.Stalled) and stopped.exit_code == 6


def test_a_file_sent_again_from_the_start_is_no_progress():
    # rclone's byte count keeps growing while it re-sends the same first 5 MB after each
    # failed attempt: that must not keep the transfer alive forever.
    watch = Watchdog(stall_timeout=10, alive=dead, started=0.0)
    assert watch(progress(5_000_000, ("big.bin", 5_000_000)), 1.0) is None
    for second in range(2, 12):
        sent = 5_000_000 + second * 1_000_000
        result = watch(progress(sent, ("big.bin", (second % 5) * 1_000_000)), float(second))
    assert isinstance(result, errors.Stalled)


def test_new_bytes_and_arrived_files_are_progress():
    watch = Watchdog(stall_timeout=10, alive=dead, started=0.0)
    for second in range(1, 30):
        assert watch(progress(second, ("big.bin", second * 1000)), float(second)) is None
    assert watch(arrived("big.bin"), 35.0) is None
    assert watch(None, 44.0) is None
    assert isinstance(watch(None, 45.5), errors.Stalled)


def test_a_slow_server_that_still_answers_is_left_alone():
    watch = Watchdog(stall_timeout=10, alive=lambda: True, started=0.0)
    assert all(watch(None, float(s)) is None for s in range(0, 120))


def test_rising_errors_without_progress_stop_without_a_probe():
    watch = Watchdog(stall_timeout=10, alive=None, started=0.0)
    assert watch(progress(0, errors_=0), 1.0) is None
    assert isinstance(watch(progress(0, errors_=2), 12.0), errors.Stalled)
