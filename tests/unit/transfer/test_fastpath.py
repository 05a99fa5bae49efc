"""What both fast paths share: when they run, and rclone's default comparison."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rcwiz import errors
from rcwiz.counting import Tally
from rcwiz.events import Expected
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import engine, fastpath


def test_unchanged_means_same_size_and_mtime_within_a_second():
    assert fastpath.unchanged(5, 1000.4, (5, 1000.0))
    assert not fastpath.unchanged(5, 1000.4, (6, 1000.0))
    assert not fastpath.unchanged(5, 1000.4, (5, 1002.0))
    assert not fastpath.unchanged(5, 1000.4, None)


PLAIN = TransferOptions(source="nc:a", dest="/tmp/b")


@pytest.mark.parametrize(
    "changed",
    [
        {"verb": "move"},
        {"dry_run": True},
        {"include": ("*.txt",)},
        {"exclude": ("*.tmp",)},
        {"filter_from": "rules.txt"},
        {"checksum": True},
        {"extra": ("--update",)},
    ],
)
def test_filters_checksum_extra_flags_move_and_dry_runs_keep_the_fast_paths_off(changed):
    assert fastpath.applies(PLAIN) and fastpath.applies(replace(PLAIN, verb="sync"))
    assert not fastpath.applies(replace(PLAIN, **changed))


class _Said:
    """A sink that keeps, with the warnings, the order in which things were said."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def start(self, start, expected, tally) -> None:
        self.said.append("start")

    def progress(self, progress) -> None: ...
    def tuning(self, flags) -> None: ...
    def file_done(self, done) -> None: ...
    def log(self, line) -> None: ...

    def finish(self, summary) -> None:
        self.said.append(f"summary: {summary.outcome}")

    def closed(self) -> None: ...


class _Stopped:
    """A fast path stopped by Ctrl-C after keeping a warning for later (a kept session)."""

    via = "bulk-upload"
    expected = Expected(bytes=10, files=1)
    up_to_date = 0

    def send(self, channel: fastpath.Channel) -> None:
        channel.later.append("kept for the next run")
        raise KeyboardInterrupt

    def left(self, tally: Tally) -> fastpath.Left:
        return fastpath.Left()


def test_warnings_kept_for_later_are_said_after_a_stopped_transfers_summary(tmp_path):
    sink = _Said()
    opts = TransferOptions(source="/src", dest="nc:dest")
    log = engine.open_log("copy", sink.said.append, tmp_path / "run.jsonl")
    with log, pytest.raises(errors.Interrupted):
        fastpath.run(_Stopped(), opts, sink, log, Tally("copy"), sink.said.append)
    assert sink.said == ["start", "summary: interrupted", "kept for the next run"]
