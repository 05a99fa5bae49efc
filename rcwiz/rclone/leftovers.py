"""What a stopped rclone run leaves in a local destination: its partial files.

rclone 1.75 writes each file it copies to a local folder as `NAME.XXXXXXXX.partial` (eight
hex digits) beside NAME and renames it when whole; a multi-thread download preallocates it
to the file's full size. Stopped by SIGINT or SIGTERM it removes that file itself ("Removing
failed copy"); ended by SIGHUP (the terminal closed), SIGQUIT or SIGKILL (rcwiz's grace run
out, or rcwiz itself killed) it leaves it, and rcwiz's next run does not reuse it
(../shared/RCLONE-FACTS.md). Only such a file, beside a file rclone said was on its way,
changed while the run went, is rclone's: `found` looks for nothing else. Those a run could
not see (rcwiz itself killed, a file its stats never named, rclone run by hand) stay until
removed: `under` finds every file of that name below a folder, for `rcwiz doctor`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

PARTIAL = re.compile(r"(.+)\.[0-9a-f]{8}\.partial", re.DOTALL)  # NAME, and what rclone adds to it
SLACK = 1.0  # seconds: a file system that keeps coarse times may stamp a new file earlier
# Entries `under` reads at most: a folder of millions (a home folder) costs it about a
# second, not minutes; what it did not read it says.
MOST_ENTRIES = 200_000


def found(folder: Path, names: Iterable[str], since: float) -> list[tuple[Path, int]]:
    """The partial files rclone left in FOLDER (a local destination) for NAMES (files it had
    on their way, relative to FOLDER), changed since SINCE (the run's start, time.time()):
    (path, size) each. Names that would leave FOLDER are passed over."""
    wanted: dict[Path, set[str]] = {}
    for name in names:
        parts = name.split("/")
        if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            continue
        target = folder.joinpath(*parts)
        wanted.setdefault(target.parent, set()).add(target.name)
    left = []
    for parent, stems in wanted.items():
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            ours = PARTIAL.fullmatch(entry.name)
            if ours is None or ours.group(1) not in stems:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_ctime >= since - SLACK:
                left.append((Path(entry.path), info.st_size))
    return sorted(left)


def remove(left: list[tuple[Path, int]]) -> tuple[int, int]:
    """Remove LEFT (from `found`): (files removed, their bytes); one that cannot be removed
    is passed over."""
    count = size = 0
    for path, length in left:
        try:
            os.unlink(path)
        except OSError:
            continue
        count, size = count + 1, size + length
    return count, size


def under(
    folders: Iterable[Path], quiet_since: float, most: int = MOST_ENTRIES
) -> tuple[list[tuple[Path, int]], bool]:
    """Every file named as rclone names its partial files anywhere below FOLDERS, unchanged
    since QUIET_SINCE (time.time(); a newer one may be a running transfer's), (path, size)
    each; and whether every folder was read whole (False: MOST entries were read first).
    Links are not followed, and no folder is read twice."""
    left: list[tuple[Path, int]] = []
    seen: set[tuple[int, int]] = set()
    stack = [Path(folder) for folder in folders]
    read = 0
    while stack:
        folder = stack.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            entries = list(os.scandir(folder))
        except OSError:
            continue
        read += len(entries)
        if read > most:
            return sorted(left), False
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif PARTIAL.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_mtime < quiet_since:
                        left.append((Path(entry.path), info.st_size))
            except OSError:
                continue
    return sorted(left), True
