"""Lock files: removed when released, and never a lock on a file that is no longer there."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from rcwiz.files import LockFailed, locked, release_lock, take_lock


def _waiting_on(path: Path) -> bool:
    """Someone is blocked in flock() on the file at PATH (a '->' entry in /proc/locks)."""
    inode = os.stat(path).st_ino
    with open("/proc/locks", encoding="ascii") as locks:
        return any("->" in line and f":{inode} " in line for line in locks)


def test_the_lock_file_is_removed_on_release(tmp_path: Path) -> None:
    target = tmp_path / "jobs.yaml"
    with locked(target):
        assert target.with_name("jobs.yaml.lock").exists()
    assert list(tmp_path.iterdir()) == []


def test_a_waiter_ends_up_holding_the_file_that_is_at_the_path(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    first = take_lock(path)
    assert first is not None
    got: list[int] = []
    waiter = threading.Thread(target=lambda: got.append(take_lock(path)))  # type: ignore[arg-type]
    waiter.start()
    deadline = time.monotonic() + 10
    while not _waiting_on(path):  # the waiter is blocked on the file the first one holds
        assert time.monotonic() < deadline
        time.sleep(0.01)
    release_lock(path, first)  # removes that file, then unlocks it
    waiter.join(timeout=10)
    (second,) = got
    # Without the inode check the waiter would hold the removed file while PATH is free.
    assert os.fstat(second).st_ino == os.stat(path).st_ino
    assert take_lock(path, blocking=False) is None  # so a third one is kept out
    release_lock(path, second)
    assert not path.exists()


def test_a_folder_in_the_lock_files_place_is_lock_failed(tmp_path: Path) -> None:
    (tmp_path / "a.lock").mkdir()
    with pytest.raises(LockFailed) as info, locked(tmp_path / "a"):
        pass
    assert isinstance(info.value, OSError) and info.value.filename == str(tmp_path / "a.lock")


@pytest.mark.parametrize("mask", [0o002, 0o022, 0o000])
def test_what_rcwiz_creates_is_private_whatever_the_umask(tmp_path, mask):
    from rcwiz import files

    old = os.umask(mask)
    try:
        base = tmp_path / "a" / "b"
        with files.open_append(base / "log.jsonl") as log:
            log.write("x\n")
        with files.create_private(base / "c" / "hook.log") as out:
            out.write(b"y")
        files.write_private(base / "d" / "cache.json", "{}")
        files.write_atomic(base / "e" / "rclone.conf", "[a]\n")
        files.write_atomic(base / "e" / "rclone.conf", "[b]\n")  # and its .bak
        files.release_lock(base / "f" / "x.lock", files.take_lock(base / "f" / "x.lock"))
    finally:
        os.umask(old)
    made = sorted(tmp_path.rglob("*"))
    names = ["cache.json", "hook.log", "log.jsonl", "rclone.conf", "rclone.conf.bak"]
    assert sorted(p.name for p in made if p.is_file()) == names
    wrong = {
        str(p): oct(stat.S_IMODE(p.stat().st_mode))
        for p in made
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    }
    assert wrong == {}
