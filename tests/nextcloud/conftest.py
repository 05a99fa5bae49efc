"""Helpers for the tests against the real Nextcloud (the fixtures are in tests/realnc.py)."""

from __future__ import annotations

import filecmp
import os
import subprocess
from pathlib import Path

MB = 1000 * 1000
MiB = 1024 * 1024


def big_file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        left = size
        while left:
            step = min(left, 4 * MiB)
            handle.write(os.urandom(step))
            left -= step
    return path


def files_of(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under FOLDER."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()
    }


def same_bytes(a: Path, b: Path) -> bool:
    """Both trees hold the same files with the same bytes."""
    if files_of(a) != files_of(b):
        return False
    return all(filecmp.cmp(a / rel, b / rel, shallow=False) for rel in files_of(a))


def rclone_check(
    rclone_bin: Path, conf: Path, local: Path, remote: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(rclone_bin), "--config", str(conf), "check", str(local), remote, "--one-way"],
        capture_output=True,
        text=True,
        errors="replace",  # rclone names files as they are, valid UTF-8 or not
        check=False,
        timeout=300,
    )
