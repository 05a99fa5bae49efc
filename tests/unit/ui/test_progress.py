"""What the progress displays show: counted from files that arrived, in 80 columns, phase named."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from helpers import stats_line as progress

from rcwiz.counting import Tally
from rcwiz.events import Expected
from rcwiz.rclone.events import FileDone, InFlight, Progress, parse_line
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import started
from rcwiz.ui.console import Console, Stream
from rcwiz.ui.meter import Meter
from rcwiz.ui.progress import PlainSink

DATA = Path(__file__).resolve().parents[2] / "data" / "rclone"
GiB = 2**30


def test_after_a_507_the_bar_counts_only_what_arrived():
    meter = Meter(None, Tally("copy"))
    last = None
    for line in (DATA / "failures" / "nc_507.jsonl").read_text().splitlines():
        event = parse_line(line)
        if isinstance(event, Progress):
            meter.progress(event)
            last = event
        elif isinstance(event, FileDone):
            meter.tally.add(event)
    assert last is not None and last.bytes == last.total_bytes  # rclone says 100 %
    fields = meter.fields(last)
    assert fields.bytes == 4_000_000 and fields.total_bytes == 12_000_000
    assert fields.percent is not None and fields.percent < 50
    assert (fields.files, fields.total_files) == (2, 6)


def test_files_in_flight_count_what_they_sent_so_far():
    meter = Meter(Expected(bytes=10_000, files=2), Tally("copy"))
    meter.tally.add(FileDone("a", "new", 4_000, None, "Copied (new)"))
    flight = (InFlight("b", 6_000, 1_500, 25, 1.0, None), InFlight("a", 4_000, 4_000, 100, 0, 0))
    fields = meter.fields(progress(bytes=9_999, total_bytes=10_000, transferring=flight))
    assert fields.bytes == 5_500 and fields.percent == 55.0


def test_resumed_bytes_are_shown_apart_in_flight_and_once_the_file_arrived():
    """Two files of 6000 bytes; an earlier run had moved 4000 of b (in flight, now at
    5000) and 3000 of a (arrived): this run moved 3000 of a and 1000 of b so far."""
    meter = Meter(Expected(bytes=12_000, files=2), Tally("copy"))
    meter.tally.resumed("a", 3_000)
    meter.tally.add(FileDone("a", "new", 6_000, None, "Copied"), "chunked")
    flight = (InFlight("b", 6_000, 5_000, 83, 1.0, None, 4_000),)
    running = meter.fields(progress(bytes=4_000, total_bytes=12_000, transferring=flight))
    assert (running.bytes, running.total_bytes, running.resumed_bytes) == (4_000, 5_000, 7_000)
    assert "3.9 KiB of 4.9 KiB, 6.8 KiB resumed" in running.line()
    meter.tally.resumed("b", 4_000)
    meter.tally.add(FileDone("b", "new", 6_000, None, "Copied"), "ranged")
    done = meter.fields(progress(bytes=5_000, total_bytes=12_000), in_flight=False)
    assert (done.bytes, done.total_bytes, done.resumed_bytes, done.percent) == (
        5_000,
        5_000,
        7_000,
        100.0,
    )


def test_the_phase_is_listing_only_before_the_first_byte():
    meter = Meter(None, Tally("copy"))
    listing = progress(listed=10)
    meter.progress(listing)
    assert meter.fields(listing).phase == "listing"
    moving = progress(
        listed=20,
        bytes=100,
        total_bytes=1_000,
        transferring=(InFlight("f", 1_000, 100, 10, 50.0, 2.0),),
    )
    meter.progress(moving)
    fields = meter.fields(moving)
    assert fields.percent is None and fields.phase == "transferring"  # totals still growing
    assert fields.line().startswith("100 B of 1000 B+")


def plain_lines(
    values: dict[str, object],
    name: str = "results",
    expected: Expected | None = None,
    times: int = 3,  # the same listing count three times: the totals are final
) -> list[str]:
    buffer = io.StringIO()
    console = Console(out=Stream(buffer), err=Stream(io.StringIO()))
    sink = PlainSink(console, log_interval=0)
    opts = TransferOptions(f"/data/{name}", "nc:x")
    sink.start(started(opts, ("rclone",), "log"), expected, Tally("copy"))
    for _ in range(times):
        sink.progress(progress(**values))
    return buffer.getvalue().splitlines()


def test_a_plain_line_says_listing_only_while_the_totals_grow():
    growing = plain_lines({"total_transfers": 40, "listed": 40}, times=1)
    assert growing[-1].endswith("progress listing: 40 file(s) to send found so far"), growing
    known = plain_lines({}, expected=Expected(bytes=2_000_000, files=1000), times=1)
    assert "listing" not in known[-1] and "0/1000 files" in known[-1], known


def test_a_plain_progress_line_fits_80_columns_even_for_big_numbers():
    big = dict(
        bytes=int(1023.9 * GiB),
        total_bytes=int(1023.9 * 1024 * GiB),
        speed=1023.9 * 2**20,
        eta=3 * 3600 + 12 * 60 + 5,
        transfers=99_999,
        total_transfers=99_999,
        errors=999,
        listed=99_999,
    )
    lines = plain_lines(big)
    progress_lines = [line for line in lines if " progress " in line]
    assert progress_lines and all(len(line) <= 80 for line in progress_lines), progress_lines
    assert "999 errors" in progress_lines[-1]  # the speed and ETA make room for the errors
    usual = plain_lines(
        {
            **big,
            "errors": 0,
            "bytes": int(2.5 * GiB),
            "total_bytes": 12 * GiB,
            "speed": 99.5 * 2**20,
            "transfers": 123,
            "total_transfers": 567,
        }
    )
    # One moment of a run: no rate to go by yet, so no ETA is made up.
    assert len(usual[-1]) <= 80 and "ETA estimating…, 123/567 files" in usual[-1], usual


def test_live_display_lines_fit_80_columns():
    from rich.console import Console as RichConsole

    from rcwiz.ui.live import LiveSink

    buffer = io.StringIO()
    console = Console(out=Stream(buffer, force_terminal=True, width=80), err=Stream(io.StringIO()))
    sink = LiveSink(console)
    sink.title = "copy (dry run)"
    long_name = "raw/" + "very-long-folder-name/" * 6 + "image-0001.tif"
    p = progress(
        bytes=int(500.5 * GiB),
        total_bytes=int(1023.9 * GiB),
        speed=1023.9 * 2**20,
        eta=7 * 3600,
        transfers=12_345,
        total_transfers=67_890,
        errors=3,
        listed=5,
        transferring=(InFlight(long_name, 10 * GiB, 5 * GiB, 50, 99.9 * 2**20, 50.0),),
    )
    for _ in range(3):
        sink.meter.progress(p)
    rendered = RichConsole(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    with rendered.capture() as captured:
        rendered.print(sink._render(p))
    lines = captured.get().splitlines()
    assert len(lines) >= 3 and all(len(line) <= 80 for line in lines), lines
    assert "listing" not in captured.get()


# ------------------------------------------------------------------ ETAs from replayed runs

RCWIZ_DATA = DATA.parent / "rcwiz"


def replayed_fast_path() -> tuple[list[Progress], float]:
    """A real fast-path upload's progress as rcwiz saw it (tests/data/capture_progress.py:
    400 files of 10 kB by bulk upload, 3 of 40 MB in chunks, 5 of 2 MB by rclone), and how
    long the run took."""
    events = [json.loads(line) for line in (RCWIZ_DATA / "fastpath_mixed.jsonl").open()]
    *steps, end = events
    return [
        progress(
            bytes=e["bytes"],
            total_bytes=e["total_bytes"],
            transfers=e["files"],
            total_transfers=e["total_files"],
            elapsed=e["elapsed"],
            speed=e["bytes"] / e["elapsed"],
            eta=e["eta"],  # what the fast path itself estimated (rcwiz before issue 25)
        )
        for e in steps
    ], end["duration"]


def replayed_rclone(name: str) -> tuple[list[Progress], float]:
    events = [parse_line(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines()]
    steps = [e for e in events if isinstance(e, Progress)]
    return steps, steps[-1].elapsed


def etas(steps: list[Progress], expected: Expected | None) -> list[tuple[float, float | None]]:
    meter = Meter(expected, Tally("copy"))
    shown = []
    for step in steps:
        meter.progress(step)
        shown.append((step.elapsed, meter.fields(step).eta))
    return shown


def test_a_fast_path_mixing_small_and_big_files_shows_no_made_up_eta():
    steps, duration = replayed_fast_path()
    expected = Expected(bytes=steps[0].total_bytes, files=steps[0].total_transfers)
    for elapsed, eta in etas(steps, expected):
        if eta is not None:  # an ETA shown is within reach of the time really left
            assert eta <= 3 * (duration - elapsed) + 5, (elapsed, eta, duration)
    # What rcwiz showed before: ETAs of 40 minutes for a run of under a minute.
    assert max(s.eta or 0 for s in steps) > 10 * duration


@pytest.mark.parametrize("name", ["mixed", "big_files", "small_files", "download_multithread"])
def test_an_eta_never_grows_tenfold_between_lines(name):
    steps, duration = replayed_rclone(name)
    shown = [(t, eta) for t, eta in etas(steps, None) if eta]
    for (_, before), (_, after) in itertools.pairwise(shown):
        assert after <= 10 * max(before, 1.0), shown
    for elapsed, eta in shown:
        assert eta <= 3 * (duration - elapsed) + 5, (elapsed, eta, duration)


def test_a_steady_run_gets_an_eta_after_a_few_seconds_and_not_before():
    steps = [
        progress(
            bytes=int(t * 10e6),
            total_bytes=int(100e6),
            transfers=int(t * 10),
            total_transfers=100,
            elapsed=t,
            speed=10e6,
        )
        for t in (0.5, 1.0, 2.0, 3.0, 4.0, 5.0)
    ]
    shown = etas(steps, Expected(bytes=int(100e6), files=100))
    assert [eta for t, eta in shown if t < 3.5] == [None] * 4
    assert shown[-1][1] == pytest.approx(5.0, abs=0.2)


def test_the_text_and_the_bar_show_the_same_percent():
    fields = Meter(Expected(bytes=1000, files=1), Tally("copy")).fields(
        progress(bytes=15, total_bytes=1000)
    )
    assert fields.percent == 1.5 and fields.line().startswith("1.5% ")
    almost = Meter(Expected(bytes=10_000, files=1), Tally("copy")).fields(progress(bytes=9_999))
    assert almost.percent == 99.9  # never "100" while something is left


def test_growing_totals_are_explained_once():
    lines = plain_lines({"bytes": 100, "total_bytes": 1000, "total_transfers": 3}, times=1)
    lines += plain_lines({"bytes": 100, "total_bytes": 1000, "total_transfers": 3, "listed": 2})
    assert sum("still counting what to transfer" in line for line in lines) == 2  # once per run
    assert any(" of 1000 B+" in line for line in lines)
