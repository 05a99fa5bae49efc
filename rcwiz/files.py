"""Files that hold people's settings are written atomically, with a backup, under a lock.

Used for rclone.conf (rcwiz.rclone.config) and the jobs file (rcwiz.jobs.store): a crash or a
kill at any moment leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_atomic(
    path: Path,
    text: str,
    *,
    mode: int = 0o600,
    backup: bool = True,
    backup_text: str | None = None,
) -> Path | None:
    """Replace PATH with TEXT atomically (temp file, fsync, rename), at MODE.

    The previous file, if any, is kept as PATH.bak (itself written atomically), or BACKUP_TEXT
    when given (the previous file with something left out). Returns the backup's path, or
    None when there was no previous file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    backup_path = None
    if backup and path.exists():
        backup_path = path.with_name(path.name + ".bak")
        old = path.read_bytes() if backup_text is None else backup_text.encode("utf-8")
        _replace_with(backup_path, old, mode)
    _replace_with(path, text.encode("utf-8"), mode)
    return backup_path


def _replace_with(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on PATH's companion lock file (two setups at once both land).

    The lock file stays (removing it would let a third process lock a file the second one is
    about to open); it is empty and made at mode 0600 like the file it guards.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
