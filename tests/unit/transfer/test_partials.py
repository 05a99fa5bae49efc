"""The records of partial downloads: byte ranges, names, privacy, staleness."""

from __future__ import annotations

import os
import time

import pytest

from rcwiz import errors
from rcwiz.transfer import partials
from rcwiz.transfer.partials import Record, add_span, clipped, missing
from rcwiz.transfer.walk import walk


def test_spans_merge_in_order_whatever_order_they_end_in():
    spans: list[tuple[int, int]] = []
    for span in [(20, 30), (0, 10), (10, 20), (40, 50), (45, 60), (5, 5)]:
        spans = add_span(spans, span)
    assert spans == [(0, 30), (40, 60)]


def test_missing_ranges_are_cut_into_pieces():
    assert missing([(0, 30), (40, 60)], 100, 25) == [(30, 40), (60, 85), (85, 100)]
    assert missing([], 10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert missing([(0, 10)], 10, 4) == []


def test_a_truncated_partial_keeps_only_what_it_still_holds():
    assert clipped([(0, 30), (40, 60)], 45) == [(0, 30), (40, 45)]
    assert clipped([(10, 20)], 5) == []


def test_partial_names_are_hidden_recognisable_and_short():
    assert partials.partial_name("big.iso") == ".big.iso.rcwiz-partial"
    assert partials.is_partial("a/b/.big.iso.rcwiz-partial")
    assert not partials.is_partial("a/big.iso.rcwiz-partial")  # a user's own, not hidden
    long = partials.partial_name("x" * 250)
    assert len(long.encode()) <= 255 and partials.is_partial(long)
    assert long != partials.partial_name("x" * 249 + "y")


def _record(tmp_path, name="f.bin") -> Record:
    partial = tmp_path / f".{name}.rcwiz-partial"
    partial.write_bytes(b"x" * 10)
    return Record(str(tmp_path / name), str(partial), f"/d/{name}", "http://h", '"e"', 100)


def test_records_are_private_and_read_back(tmp_path):
    record = _record(tmp_path)
    record.good = [(0, 10)]
    record.save()
    [path] = partials.folder().glob("*.json")
    assert path.stat().st_mode & 0o777 == 0o600
    assert partials.folder().stat().st_mode & 0o777 == 0o700
    back = partials.load(record.destination)
    assert back is not None and back.good == [(0, 10)] and back.good_bytes == 10


def test_sweep_removes_stale_records_with_their_partials(tmp_path, monkeypatch):
    old, fresh, orphan = (
        _record(tmp_path, "old"),
        _record(tmp_path, "fresh"),
        _record(tmp_path, "o"),
    )
    for record in (old, fresh, orphan):
        record.save()
    os.unlink(orphan.partial)  # the partial removed by hand: its record is worth nothing
    later = time.time() + 8 * 86400
    fresh.save()
    monkeypatch.setenv("RCWIZ_PARTIAL_DAYS", "30")
    assert {r.destination for r in partials.sweep(now=later)} == {orphan.destination}
    monkeypatch.setenv("RCWIZ_PARTIAL_DAYS", "7")
    removed = {r.destination for r in partials.sweep(now=later)}
    assert removed == {old.destination, fresh.destination}
    assert not os.path.exists(old.partial) and partials.found() == []


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_bad_max_age_is_a_usage_error(monkeypatch, value):
    monkeypatch.setenv("RCWIZ_PARTIAL_DAYS", value)
    with pytest.raises(errors.UsageError, match="RCWIZ_PARTIAL_DAYS"):
        partials.max_age()


def test_the_local_walk_leaves_partial_files_out_in_both_directions(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "big.iso").write_bytes(b"x")
    (tmp_path / "sub" / f".big.iso{partials.SUFFIX}").write_bytes(b"half")  # rcwiz's own
    (tmp_path / f"big.iso{partials.SUFFIX}").write_bytes(b"a user's file")  # no leading dot
    tree = walk(tmp_path)
    assert tree is not None
    assert [f.relative for f in tree.files] == ["big.iso.rcwiz-partial", "sub/big.iso"]
    assert (tree.skipped, tree.errors) == (0, 0)  # not a file rclone is said to leave out
