"""One run per profile at a time.

The kernel holds the lock (flock on $XDG_STATE_HOME/rcwiz/locks/NAME.lock), so a process that
dies, even by SIGKILL, releases it. The file also records who holds it (PID, start time and the
process's create time); psutil checks that record to name a running holder, and to notice a
record left by a dead one, which is taken over with a notice. A run that ends removes the
file (rcwiz.files.take_lock / release_lock: removed while still locked, inode checked by the
next holder), so only a run that was killed leaves one.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from rcwiz import errors, files, paths


@dataclass(frozen=True)
class Holder:
    pid: int
    started: float  # seconds since the epoch
    create_time: float | None = None

    def alive(self) -> bool:
        """True when the recorded process still runs (and is the same process, not a reused PID)."""
        try:
            proc = psutil.Process(self.pid)
            return self.create_time is None or abs(proc.create_time() - self.create_time) < 1.0
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
            return False

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.started).strftime("%Y-%m-%d %H:%M:%S")
        return f"PID {self.pid}, started {when}"


def lock_path(name: str) -> Path:
    return paths.state_dir() / "locks" / f"{name}.lock"


def _read(fd: int) -> Holder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        data = json.loads(raw or b"null")
        return Holder(int(data["pid"]), float(data["started"]), data.get("create_time"))
    except (ValueError, TypeError, KeyError):
        return None


def _holder_at(path: Path) -> Holder | None:
    """The record in the lock file at PATH (None if it is gone or unreadable)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        return _read(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write(fd: int, holder: Holder) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(holder.__dict__).encode())
    os.fsync(fd)


def _take(name: str, path: Path) -> int | None:
    """take_lock, with a file system that refuses it (the lock path is a folder, the state
    folder is read-only) said in one sentence."""
    try:
        return files.take_lock(path, blocking=False)
    except OSError as exc:
        what = (
            "is a folder, not a file"
            if isinstance(exc, IsADirectoryError)
            else (f"cannot be made or opened: {exc.strerror or exc}")
        )
        raise errors.FileUnwritable(
            f"The lock file of job '{name}', {exc.filename or path}, {what}.",
            f"rcwiz keeps one file there while the job runs; remove what is in the way, or "
            f"check that {paths.state_dir()} is a folder you can write to.",
        ) from None


@contextlib.contextmanager
def hold(
    name: str,
    *,
    wait: bool = False,
    notice: Callable[[str], None] = lambda text: None,
    poll: float = 0.5,
) -> Iterator[None]:
    """Run the with-block as the only run of job NAME; refuse (or with `wait`, queue) otherwise."""
    path = lock_path(name)
    announced = False
    while (fd := _take(name, path)) is None:
        holder = _holder_at(path)
        who = holder.describe() if holder else "another process"
        if not wait:
            raise errors.JobLocked(
                f"Job '{name}' is already running ({who}).",
                "Wait for it to finish, or add --wait to start as soon as it has.",
            )
        if not announced:
            notice(f"Job '{name}' is running ({who}); waiting for it to finish.")
            announced = True
        time.sleep(poll)
    try:
        previous = _read(fd)
        if previous is not None and previous.pid != os.getpid() and not previous.alive():
            notice(
                f"Took over the lock of job '{name}' left by {previous.describe()}, "
                "which is no longer running."
            )
        me = psutil.Process()
        with contextlib.suppress(OSError):  # a full disk: the lock holds without the record
            _write(fd, Holder(me.pid, time.time(), me.create_time()))
        yield
    finally:
        files.release_lock(path, fd)
