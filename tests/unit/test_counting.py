"""One Tally counts a transfer: the summary and the displays read it, and never change it."""

from __future__ import annotations

import copy
import io

from helpers import stats_line as stats

from rcwiz.counting import Tally
from rcwiz.events import FileDone, InFlight
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer.engine import started
from rcwiz.ui.console import Console, Stream
from rcwiz.ui.meter import Meter, summary_text
from rcwiz.ui.progress import JsonSink, PlainSink


def skipped(name: str, action: str) -> FileDone:
    return FileDone(
        name, "skipped", 10, None, f"Skipped {action} as --dry-run is set", action=action
    )


def test_a_dry_run_is_counted_once_for_the_summary_and_the_display():
    tally = Tally("sync")
    for event in (
        skipped("send", "copy"),
        skipped("gone", "delete"),
        skipped("aside", "move into backup dir"),  # neither sent nor deleted
    ):
        tally.add(event)
    summary = tally.summary("/src", "nc:dst", log_path="", dry_run=True)
    assert (summary.files, summary.deleted, summary.would_send) == (1, 1, ["send"])
    fields = Meter(None, tally).fields(stats(transfers=0, total_transfers=1))
    assert (fields.files, fields.bytes) == (1, 10)


def test_rclone_after_a_fast_path_adds_to_what_the_fast_path_counted():
    tally = Tally("copy", fast_path=True, listed_same=5)
    for name in ("a", "b"):
        tally.add(FileDone(name, "new", 100, None, "Copied (new) by bulk upload"), "bulk")
    tally.rclone_starts()
    shown = tally.seen_by_all(stats(bytes=30, total_bytes=50, transfers=0, total_transfers=1))
    assert (shown.bytes, shown.total_bytes, shown.transfers, shown.total_transfers) == (
        230,
        250,
        2,
        3,
    )
    tally.add(FileDone("c", "new", 50, None, "Copied (new)"))
    tally.add(stats(bytes=50, checks=3, transfers=1))  # rclone also checked a and b
    summary = tally.summary("/src", "nc:dst", log_path="log")
    assert (summary.files, summary.bytes, summary.bulk_files, summary.rclone_files) == (
        3,
        250,
        2,
        1,
    )
    assert summary.checked == 5  # the listing's, not rclone's checks of the files just sent


def test_a_failure_retried_to_success_is_no_error():
    tally = Tally("copy")
    tally.add(FileDone("x", "failed", 5, "HTTP 423 Locked", "Failed to copy"))
    assert tally.errors == 1
    tally.add(FileDone("x", "new", 5, None, "Copied (new)"))
    assert tally.errors == 0 and list(tally.arrived) == ["x"]


def test_an_unanswered_file_rclone_found_there_is_counted_once_as_the_fast_path_s():
    tally = Tally("copy")
    tally.fast_path = True
    tally.unanswered.update({"a": (3, "bulk"), "b": (4, "bulk"), "c": (5, "bulk")})
    tally.add(FileDone("a", "new", 3, None, "Copied (new) by bulk upload"), "bulk")  # resent
    tally.rclone_starts()
    tally.add(FileDone("b", "new", 4, None, "Copied (new)"))  # rclone sent it
    tally.add(FileDone("c", "failed", 5, "HTTP 423 Locked", "Failed to copy"))  # then found
    found = tally.rclone_succeeded()
    assert [(done.name, sender) for done, sender in found] == [("c", "bulk")]
    summary = tally.summary("src", "dest", log_path="")
    assert (summary.files, summary.bytes, summary.errors) == (3, 12, 0)
    assert (summary.bulk_files, summary.rclone_files) == (2, 1)
    assert tally.rclone_succeeded() == []  # said once


def test_a_file_found_there_is_sent_not_up_to_date():
    tally = Tally("copy")
    tally.fast_path = True
    tally.unanswered["c"] = (5, "bulk")  # nothing counted before rclone
    tally.rclone_starts()
    tally.add(stats(checks=1))  # rclone compared c with the destination: the same
    tally.rclone_succeeded()
    summary = tally.summary("src", "dest", log_path="")
    assert (summary.files, summary.bulk_files, summary.checked) == (1, 1, 0)


def test_a_display_never_changes_the_summary_it_shows():
    tally = Tally("copy")
    tally.add(FileDone("a", "new", 7, None, "Copied (new)"))
    last = stats(bytes=7, transfers=1, transferring=(InFlight("b", 9, 3, 33, 1.0, None),))
    tally.add(last)
    summary = tally.summary("/src", "/dst", log_path="log")
    before = copy.deepcopy(summary)
    for make in (PlainSink, JsonSink):
        console = Console(
            out=Stream(io.StringIO()), err=Stream(io.StringIO()), json_stream=io.StringIO()
        )
        sink = make(console)
        sink.start(started(TransferOptions("/src", "/dst"), ("rclone",), "log"), None, tally)
        sink.progress(last)
        sink.finish(summary)
        assert summary == before


def test_bytes_an_earlier_run_moved_are_counted_apart_and_only_for_files_that_arrived():
    tally = Tally("copy")
    tally.resumed("big.bin", 700)
    tally.resumed("other.bin", 300)  # said, but it never arrived this run
    tally.add(FileDone("big.bin", "new", 1000, None, "Copied (new)"), "chunked")
    tally.add(FileDone("small.txt", "new", 10, None, "Copied (new)"), "bulk")
    summary = tally.summary("src", "dst", log_path="")
    assert (summary.bytes, summary.resumed_bytes, summary.files) == (310, 700, 2)
    text = "\n".join(summary_text(summary))
    assert "700 B resumed from an earlier run (not sent again)" in text
    assert "transferred 310 B in 2 file(s)" in text
