"""The watchdog's decisions, on events built the way rcwiz.rclone.events parses them."""

from __future__ import annotations

from helpers import stats_line

from rcwiz import errors
from rcwiz.rclone.events import FileDone, InFlight, Progress
from rcwiz.transfer.watchdog import Watchdog


def progress(total_bytes_sent: int, *inflight: tuple[str, int], errors_: int = 0) -> Progress:
    return stats_line(
        bytes=total_bytes_sent,
        total_bytes=10**9,
        total_transfers=3,
        listed=3,
        errors=errors_,
        elapsed=0.0,
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


def refused(name: str, status: str) -> FileDone:
    return FileDone(
        name=name,
        outcome="failed",
        size=None,
        error=f"unchunked simple update failed: Internal Server Error: {status}",
        message="Failed to copy",
    )


def test_refusals_from_a_server_that_answers_stop_as_refused_not_unreachable():
    # The server answers every request with 423 (captured wording of rclone 1.75 against a
    # real Nextcloud 30 holding a lock): nothing arrives, and it is no unreachable server.
    watch = Watchdog(stall_timeout=10, alive=lambda: True, started=0.0)
    assert watch(refused("data/x.csv", "423 Locked"), 3.0) is None
    stopped = watch(None, 10.5)
    assert isinstance(stopped, errors.FileLocked) and stopped.exit_code == 13
    assert stopped.message.startswith("data/x.csv is locked on the server")
    assert "3600 s" in stopped.message


def test_a_refusal_followed_by_progress_is_forgotten():
    watch = Watchdog(stall_timeout=10, alive=lambda: True, started=0.0)
    assert watch(refused("x", "403 Forbidden"), 1.0) is None
    assert watch(arrived("y"), 2.0) is None
    assert watch(None, 11.0) is None


def test_a_file_sent_again_to_a_server_that_answers_is_refused():
    # rclone retries a 423 quietly (ten low-level retries before it logs the error): only
    # its byte count, growing while nothing new arrives, shows it.
    watch = Watchdog(stall_timeout=10, alive=lambda: True, started=0.0)
    assert watch(progress(16, ("x", 16)), 1.0) is None
    assert watch(progress(32, ("x", 16)), 5.0) is None
    stopped = watch(progress(48, ("x", 16)), 11.0)
    assert isinstance(stopped, errors.Refused) and stopped.exit_code == 13


def test_a_file_known_locked_stops_at_the_stall_timeout_by_name():
    watch = Watchdog(stall_timeout=10, alive=lambda: True, started=0.0, locked={"x"})
    assert watch(progress(0, ("x", 0)), 1.0) is None
    stopped = watch(progress(0, ("x", 0)), 11.5)
    assert isinstance(stopped, errors.FileLocked)
    assert stopped.message.startswith("x is locked on the server")
