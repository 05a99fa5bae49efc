"""One run per profile at a time.

The kernel holds the lock (flock on $XDG_STATE_HOME/rcwiz/locks/NAME.lock), so a process that
dies, even by SIGKILL, releases it. The file also records who holds it (PID, start time and the
process's create time); psutil checks that record to name a running holder, and to notice a
record left by a dead one, which is taken over with a notice.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from rcwiz import errors, paths


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


def _write(fd: int, holder: Holder) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(holder.__dict__).encode())
    os.fsync(fd)


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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read(fd)
                who = holder.describe() if holder else "another process"
                if not wait:
                    raise errors.JobLocked(
                        f"Job '{name}' is already running ({who}).",
                        "Wait for it to finish, or add --wait to start as soon as it has.",
                    ) from None
                if not announced:
                    notice(f"Job '{name}' is running ({who}); waiting for it to finish.")
                    announced = True
                time.sleep(poll)
        previous = _read(fd)
        if previous is not None and previous.pid != os.getpid() and not previous.alive():
            notice(
                f"Took over the lock of job '{name}' left by {previous.describe()}, "
                "which is no longer running."
            )
        me = psutil.Process()
        _write(fd, Holder(me.pid, time.time(), me.create_time()))
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
