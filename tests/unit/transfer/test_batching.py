"""Bulk requests grouped by folder, and never two in flight into one folder."""

from __future__ import annotations

from rcwiz.counting import Tally
from rcwiz.nextcloud import bulk
from rcwiz.rclone.events import FileDone
from rcwiz.transfer import batching
from rcwiz.transfer.walk import LocalFile
from rcwiz.ui.meter import summary_text


def files(*spec: tuple[str, int], size: int = 2000) -> list[LocalFile]:
    """COUNT files in each FOLDER, in walk order."""
    out = []
    for folder, count in spec:
        for i in range(count):
            name = f"{folder}/f{i:04d}" if folder else f"f{i:04d}"
            out.append(LocalFile(name, f"/src/{name}", size, 1e9))
    return out


def test_a_request_never_splits_a_folder_that_fits_in_one():
    made = batching.batches(files(("a", 60), ("b", 60), ("c", 30)), parts=1)
    assert [sorted(batching.folders(b)) for b in made] == [["a"], ["b", "c"]]
    assert [len(b) for b in made] == [60, 90]


def test_a_folder_bigger_than_a_request_is_split_and_small_ones_ride_along():
    made = batching.batches(files(("big", 250), ("s1", 5), ("s2", 5), ("", 3)), parts=3)
    assert [len(b) for b in made] == [88, 88, 87]  # 263 files in 3 requests
    assert [sorted(batching.folders(b)) for b in made] == [
        ["big"],
        ["big"],
        ["", "big", "s1", "s2"],
    ]


def test_requests_are_bounded_by_bytes_too():
    made = batching.batches(files(("a", 10), size=bulk.BATCH_BYTES // 4), parts=1)
    assert all(sum(f.size for f in b) <= bulk.BATCH_BYTES for b in made)
    assert sum(len(b) for b in made) == 10


def test_a_request_starts_only_into_folders_no_request_in_flight_writes_into():
    a, b, c = (files((name, 5)) for name in ("a", "b", "c"))
    waiting = [list(a[:2]), list(a[2:]), list(b), list(c)]
    running = [waiting.pop(0)]  # into a
    assert batching.take(waiting, running, 10**9) == b  # a's second request waits
    running.append(b)
    assert batching.take(waiting, running, 10**9) == c
    running.append(c)
    assert batching.take(waiting, running, 10**9) is None  # only a's is left: a is busy
    assert batching.take(waiting, running[1:], 10**9) == a[2:]  # a's first one finished


def test_the_first_request_starts_even_alone_over_the_byte_bound():
    waiting = [files(("a", 3)), files(("b", 3))]
    first = batching.take(waiting, [], 1)
    assert first is not None and batching.take(waiting, [first], 1) is None


def test_the_pace_cuts_a_request_and_the_rest_waits_in_its_place():
    a, b = files(("a", 10)), files(("b", 4))
    waiting = [list(a), list(b)]
    first = batching.take(waiting, [], 10**9, most_files=3)
    assert first == a[:3] and waiting == [a[3:], b]
    assert batching.take(waiting, [first], 10**9, most_files=3) == b[:3]  # a is busy
    assert batching.take(waiting, [], 10**9, most_files=100) == a[3:]


def test_requests_start_small_and_grow_with_fast_answers():
    pace = batching.Pace(stall=60, most=100)
    assert pace.files() == batching.FIRST  # nothing known of the server yet
    pace.answered(batching.FIRST, 0.5, now=100.0)  # 20 ms a file: 750 would fit in 15 s
    assert pace.files() == 100  # the most a request carries (and FIRST x GROWTH)
    small = batching.Pace(stall=60, most=1000)
    small.answered(batching.FIRST, 0.5, now=100.0)
    assert small.files() == batching.FIRST * batching.GROWTH  # grows, but step by step


def test_a_slow_server_gets_requests_it_answers_within_a_share_of_the_stall_timeout():
    pace = batching.Pace(stall=60, most=100)
    pace.answered(25, 25.0, now=100.0)  # 1 s a file: 15 of them in a quarter of 60 s
    assert pace.files() == 15
    pace.answered(15, 3.0, now=100.0)  # faster now: believed by half (0.6 s a file)
    assert pace.files() == 25
    pace.answered(25, 50.0, now=100.0)  # slower (2 s a file): believed at once
    assert pace.files() == 7


def test_a_stalled_request_makes_the_next_ones_a_quarter_as_big_and_one_at_a_time():
    pace = batching.Pace(stall=60, most=100, parallel=3)
    pace.answered(25, 1.0, now=100.0)
    assert pace.stalled(100, 40, started=101.0, now=161.0)  # 40 of them arrived: go on
    assert (pace.files(), pace.parallel) == (25, 1)
    assert pace.stalled(25, 0, started=150.0, now=210.0)  # none, but the server wrote at 161
    assert pace.files() == 6


def test_a_stalled_request_stops_the_run_when_the_server_wrote_nothing_meanwhile():
    pace = batching.Pace(stall=60, most=100, parallel=3)
    assert not pace.stalled(25, 0, started=0.0, now=60.0)  # the first request: a hung server
    pace.answered(25, 5.0, now=100.0)
    assert not pace.stalled(25, 0, started=101.0, now=161.0)  # nothing since it was sent


def test_the_summary_counts_the_files_rclone_sent_after_the_bulk_upload():
    tally = Tally("copy", fast_path=True)
    for n in range(999):
        tally.add(FileDone(f"small/{n}", "new", 2000, None, "Copied (new)"), "bulk")
    tally.rclone_starts()
    tally.add(FileDone("left", "new", 2000, None, "Copied (new)"))
    summary = tally.summary("/src", "nc:dst", log_path="")
    assert (summary.files, summary.bulk_files, summary.rclone_files) == (1000, 999, 1)
    text = summary_text(summary)
    assert "  999 by bulk upload" in "\n".join(text) and "  1 by rclone" in text
