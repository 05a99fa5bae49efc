"""rclone's partial files found by name, place and time, and nothing else (leftovers.py)."""

from __future__ import annotations

import os
import time

from rcwiz.rclone import leftovers


def test_only_rclones_partials_of_files_in_flight_made_during_the_run(tmp_path):
    (tmp_path / "sub").mkdir()
    ours = [tmp_path / "big.bin.6ed2f7d5.partial", tmp_path / "sub" / "a.b.c.0123abcd.partial"]
    others = [
        tmp_path / "big.bin.partial",  # no hex
        tmp_path / "big.bin.6ED2F7D5.partial",  # rclone writes lower case
        tmp_path / "big.bin.6ed2f7d.partial",  # seven digits
        tmp_path / "other.bin.6ed2f7d5.partial",  # beside a file not in flight
        tmp_path / "sub" / "big.bin.6ed2f7d5.partial",  # another folder
    ]
    for path in ours + others:
        path.write_bytes(b"x" * 10)
    os.symlink(tmp_path / "big.bin.partial", tmp_path / "big.bin.11111111.partial")
    names = {"big.bin", "sub/a.b.c", "../big.bin", "/big.bin", "gone/x.bin"}
    found = leftovers.found(tmp_path, names, time.time() - 0.5)
    assert found == sorted((path, 10) for path in ours)
    assert leftovers.remove(found) == (2, 20)
    assert all(not p.exists() for p in ours) and all(p.exists() for p in others)


def test_a_partial_from_before_the_run_is_not_this_runs(tmp_path):
    (tmp_path / "big.bin.6ed2f7d5.partial").write_bytes(b"x")
    later = time.time() + leftovers.SLACK + 5
    assert leftovers.found(tmp_path, {"big.bin"}, later) == []
