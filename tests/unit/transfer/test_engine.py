"""The transfer summary counts files, not log lines, on real captured rclone output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcwiz.counting import Tally
from rcwiz.rclone.events import parse_line

DATA = Path(__file__).resolve().parents[2] / "data" / "rclone"


def tally_of(scenario: str) -> tuple[Tally, dict]:
    meta = json.loads((DATA / f"{scenario}.meta.json").read_text())
    verb = next(a for a in meta["argv"] if a in ("copy", "move", "sync", "copyto", "moveto"))
    tally = Tally(verb)
    for line in (DATA / f"{scenario}.jsonl").read_text(encoding="utf-8").splitlines():
        event = parse_line(line)
        if event is not None:
            tally.add(event)
    return tally, meta["expected"]


@pytest.mark.parametrize("scenario", ["small_files", "mixed", "big_files", "replaced"])
def test_copied_files_are_counted_once(scenario):
    tally, expected = tally_of(scenario)
    assert set(tally.arrived) == set(expected["new"]) | set(expected["replaced"])
    assert tally.errors == 0 and not tally.deleted


def test_retried_failures_count_once_per_file():
    tally, expected = tally_of("failure")
    assert tally.failed == set(expected["failed"])
    assert tally.errors == len(expected["failed"])


def test_move_does_not_report_the_removed_sources_as_deletions():
    tally, expected = tally_of("move_local")
    assert set(tally.arrived) == set(expected["new"])
    assert not tally.deleted


def test_sync_counts_deletions_at_the_destination():
    tally, expected = tally_of("sync_delete")
    assert tally.deleted == set(expected["deleted"])
    assert set(tally.arrived) == set(expected["new"])


def test_dry_run_sync_counts_what_would_happen():
    tally, expected = tally_of("sync_dry_run")
    assert set(tally.arrived) == set(expected["skipped_copy"])
    assert tally.deleted == set(expected["skipped_delete"])


def test_backup_dir_move_aside_is_not_a_transfer():
    tally, expected = tally_of("sync_backup_dir")
    assert set(tally.arrived) == set(expected["new"])


@pytest.mark.parametrize(
    "scenario", ["small_files", "mixed", "big_files", "replaced", "move_local", "dry_run"]
)
def test_bytes_are_the_sizes_of_the_files_that_arrived(scenario):
    tally, expected = tally_of(scenario)
    meta = json.loads((DATA / f"{scenario}.meta.json").read_text())
    sizes = meta["source"]["sizes"]
    arrived = set(expected["new"]) | set(expected["replaced"]) | set(expected["skipped_copy"])
    assert tally.bytes == sum(sizes[name] for name in arrived)


def test_a_refused_upload_does_not_count_its_bytes():
    """Nextcloud answered 507 after the body was sent: rclone counts those bytes, rcwiz not."""
    path = DATA / "failures" / "nc_507.jsonl"
    tally = Tally("copy")
    for line in path.read_text(encoding="utf-8").splitlines():
        if (event := parse_line(line)) is not None:
            tally.add(event)
    assert tally.last is not None and tally.last.bytes > tally.bytes
    assert len(tally.arrived) == 2 and tally.bytes == 2 * 2_000_000
    assert len(tally.failed) == 4


def test_the_hint_after_a_stop_promises_no_resume_for_what_rclone_had_begun():
    from helpers import stats_line

    from rcwiz.events import FileDone, InFlight
    from rcwiz.transfer.engine import again

    tally = Tally("copy")
    assert tally.begun() == [] and "to resume" in again(len(tally.begun()))
    on_way = [
        InFlight("a.bin", 100, 40, 40, 1.0, None),
        InFlight("b.bin", -1, 10, 0, 1.0, None),
        InFlight("c.bin", 100, 0, 0, 1.0, None),  # nothing moved yet: nothing lost
        InFlight("d.bin", 100, 100, 100, 1.0, None),  # arrived meanwhile
    ]
    tally.add(stats_line(transferring=tuple(on_way)))
    tally.add(FileDone("d.bin", "new", 100, None, "Copied (new)"))
    assert [f.name for f in tally.begun()] == ["a.bin", "b.bin"]
    assert "but the 2 files rclone had begun start again from the beginning" in again(2)
    assert "but the file rclone had begun starts again from the beginning" in again(1)
    assert "but any file rclone had begun starts again" in again(None)  # the watchdog's
    assert not any("resume:" in again(n) for n in (1, 2, None))
