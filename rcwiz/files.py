"""Every file and folder rcwiz creates, made here: private, atomic where it matters, locked.

Private: a file rcwiz writes is 0600 and a folder it creates 0700, whatever the umask (logs
name every file sent; a jobs file others could change runs their hooks as you). `private_folder`,
`open_append` and `write_private` are the only ways rcwiz makes one; the modes are set
explicitly, not left to the umask.

Files that hold people's settings (rclone.conf, rcwiz.rclone.config; the jobs file,
rcwiz.jobs.store) are written atomically, with a backup, under a lock: a crash or a kill at any
moment leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """Make PATH and its missing parents, each at 0700; folders already there are left as
    they are (they are the user's). Returns PATH."""
    missing = []
    folder = path
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        try:
            os.mkdir(made, FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile: theirs to have set
        os.chmod(made, FOLDER_MODE)  # the umask may have taken bits mkdir's mode asked for
    return path


def _private_opener(path: str, flags: int) -> int:
    """open()'s opener: a new file at 0600; a file of ours found with wider modes (an older
    rcwiz's) is narrowed."""
    fd = os.open(path, flags, FILE_MODE)
    with contextlib.suppress(OSError):  # not ours (a shared log given on purpose): leave it
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
    return fd


def open_append(path: Path) -> IO[str]:
    """PATH opened to append text to (a log, a history): private, its folder made at 0700."""
    private_folder(path.parent)
    return open(path, "a", encoding="utf-8", opener=_private_opener)


def create_private(path: Path) -> IO[bytes]:
    """A new file at PATH (FileExistsError if there is one) to write and read back: private,
    its folder made at 0700."""
    private_folder(path.parent)
    return open(path, "x+b", opener=_private_opener)


def writable_by_others(path: Path) -> tuple[str, str] | None:
    """Why another user could change PATH, and the chmod that stops it; None when only its
    owner can (or it does not exist). As ssh does for a key: the file itself (a symlink's
    target) and the folder holding it (which lets the file be swapped; a sticky folder
    such as /tmp does not)."""
    target = Path(os.path.realpath(path))
    for place in (target, target.parent):
        try:
            mode = os.stat(place).st_mode
        except OSError:
            return None
        if place == target.parent and mode & stat.S_ISVTX:
            continue
        if mode & 0o022:
            who = "any user" if mode & 0o002 else "its group"
            kind = "folder" if place != target else "file"
            return (
                f"the {kind} {place} can be written by {who} (mode {stat.S_IMODE(mode):04o})",
                f"chmod go-w {shlex.quote(str(place))}",
            )
    return None


def write_private(path: Path, text: str, *, errors: str = "strict") -> None:
    """Replace PATH with TEXT atomically at 0600, its folder made at 0700 (caches, unit files,
    lists for rclone): no backup, no lock (a concurrent writer's version is as good)."""
    private_folder(path.parent)
    _replace_with(path, text.encode("utf-8", errors), FILE_MODE)


def write_atomic(
    path: Path,
    text: str,
    *,
    mode: int = FILE_MODE,
    backup: bool = True,
    backup_text: str | None = None,
) -> Path | None:
    """Replace PATH with TEXT atomically (temp file, fsync, rename), at MODE.

    The previous file, if any, is kept as PATH.bak (itself written atomically), or BACKUP_TEXT
    when given (the previous file with something left out). Returns the backup's path, or
    None when there was no previous file.

    A symlink is followed: its target is replaced, the link stays (a dotfiles repository keeps
    working). Temp files a killed writer left beside the file are removed; the caller holds
    the file's lock (`locked`), so no other writer is using them.
    """
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    private_folder(path.parent)
    _remove_stale_temps(path)
    backup_path = None
    if backup and path.exists():
        backup_path = path.with_name(path.name + ".bak")
        old = path.read_bytes() if backup_text is None else backup_text.encode("utf-8")
        _replace_with(backup_path, old, mode)
    _replace_with(path, text.encode("utf-8"), mode)
    return backup_path


def _remove_stale_temps(path: Path) -> None:
    for stale in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _replace_with(path: Path, data: bytes, mode: int) -> None:
    import tempfile  # only settings files are replaced: kept out of a copy's start-up

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


class LockFailed(OSError):
    """A lock file cannot be made or opened (its path is a folder, its folder is read-only);
    `filename` is the lock file's path."""


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on PATH's companion lock file (two setups at once both land).

    The lock file (PATH.lock, mode 0600, empty) is removed when the lock is released; see
    take_lock. A lock that cannot be taken raises LockFailed for the caller to word.
    """
    if path.is_symlink():  # the file written is the link's target (write_atomic): lock that
        path = Path(os.path.realpath(path))
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = take_lock(lock_path)
    except OSError as exc:
        raise LockFailed(exc.errno, exc.strerror, str(lock_path)) from exc
    assert fd is not None
    try:
        yield
    finally:
        release_lock(lock_path, fd)


def take_lock(path: Path, *, blocking: bool = True) -> int | None:
    """Open (or create, 0600) the lock file PATH and flock it; return its descriptor, or None
    when another process holds it and BLOCKING is false.

    The holder removes the file while it still holds the lock (release_lock), so nothing is
    left behind. Whoever was waiting on the old file then holds a lock on a file that is no
    longer at PATH: after locking, the descriptor's inode is compared with PATH's, and on a
    mismatch the lock is dropped and taken again on the file now there.
    """
    private_folder(path.parent)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        held = os.fstat(fd)
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            return fd
        os.close(fd)  # it was removed (or replaced) while we waited: lock the one there now


def release_lock(path: Path, fd: int) -> None:
    """Remove the lock file PATH, then release the lock FD holds on it (see take_lock)."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)  # closing the last descriptor releases the flock
