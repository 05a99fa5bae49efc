"""What both fast paths share: when they run, and rclone's default comparison."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import fastpath


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
