"""The records of partial downloads: byte ranges, names, privacy, staleness."""

from __future__ import annotations

import os
import time

from rcwiz.transfer import partials
from rcwiz.transfer.engine import Continued, Summary
from rcwiz.transfer.partials import Record, add_span, clipped, missing
from rcwiz.ui.progress import summary_text

MiB = 1024 * 1024


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


def test_a_bad_max_age_falls_back_to_the_default(monkeypatch):
    monkeypatch.setenv("RCWIZ_PARTIAL_DAYS", "soon")
    assert partials.max_age() == partials.MAX_AGE_DAYS * 86400


def test_resumed_bytes_are_shown_apart_and_never_added_to_what_moved():
    shown: list[Summary] = []

    class Sink:
        def finish(self, summary: Summary) -> None:
            shown.append(summary)

    after = Continued(Sink(), bytes=30 * MiB, files=1, started=0.0, resumed=70 * MiB)  # type: ignore[arg-type]
    after.finish(Summary(verb="copy", source="nc:d", dest="/back"))
    summary = shown[0]
    assert (summary.bytes, summary.resumed_bytes) == (30 * MiB, 70 * MiB)
    assert summary.as_dict()["resumed_bytes"] == 70 * MiB
    text = "\n".join(summary_text(summary))
    assert "transferred 30.0 MiB" in text
    assert "70.0 MiB resumed from an earlier run (not sent again)" in text
