"""A file locked on the real Nextcloud 30 (423 Locked) is named as such, and a run that can
only meet the lock stops within the stall timeout as refused (exit 13), not as an unreachable
server after minutes.

The lock is the one an interrupted upload leaves: Nextcloud's transactional file locking
keeps it in its database (no memcache for locking here, as on servers without Redis) until
its time to live runs out (`filelocking.ttl`, 3600 s). A WebDAV LOCK cannot make one
(Nextcloud 30 answers 501 without the files_lock app), so the test writes the row a request
cut off mid-upload leaves behind; the real server then refuses the file itself, with 423.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

from helpers import rcwiz, small_tree

STALL = 3.0
STARTUP = 5.0  # Python, the pre-flight and rclone starting, on a loaded 2-core machine


def hold_lock(real_nextcloud, user, path: str) -> None:
    """Lock PATH (in USER's files) exclusively for an hour, as a cut-off upload leaves it."""
    key = "files/" + hashlib.md5(f"home::{user.name}::files/{path}".encode()).hexdigest()
    with sqlite3.connect(real_nextcloud.workdir / "data" / "owncloud.db", timeout=30) as db:
        db.execute(
            "INSERT OR REPLACE INTO oc_file_locks (lock, key, ttl) VALUES (-1, ?, ?)",
            (key, int(time.time()) + 3600),
        )


def locked_tree(real_nextcloud, nc_user, nc_remote: Path, tmp_path: Path, folder: str) -> str:
    """A folder on the server whose file (returned) changed here and is locked there."""
    source = small_tree(tmp_path / "src", 6, size=1000)
    assert rcwiz("--config", str(nc_remote), "copy", str(source), f"nc:{folder}").returncode == 0
    name = "set-1/sample-0001.txt"
    (source / name).write_bytes(os.urandom(3000))
    hold_lock(real_nextcloud, nc_user, f"{folder}/{name}")
    auth = (nc_user.name, nc_user.password)
    assert (
        real_nextcloud.http("PUT", f"{nc_user.dav_url}{folder}/{name}", b"x", auth=auth)[0] == 423
    )
    return name


def test_a_locked_file_is_named_and_stops_the_upload_as_refused(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    name = locked_tree(real_nextcloud, nc_user, nc_remote, tmp_path, "locked")
    began = time.monotonic()
    done = rcwiz(
        "--stall-timeout", f"{STALL:g}", "--config", str(nc_remote),
        "copy", str(tmp_path / "src"), "nc:locked",
    )  # fmt: skip
    took = time.monotonic() - began
    assert done.returncode == 13, done.stderr
    assert (
        f"{name} is locked on the server: an interrupted upload or another client holds it; "
        "Nextcloud releases such locks after an hour"
    ) in done.stderr
    assert "unreachable" not in done.stderr and "Traceback" not in done.stderr
    assert took < STALL + 5 + STARTUP, f"took {took:.1f} s"


def test_rclone_alone_meeting_a_lock_stops_as_refused_not_unreachable(
    real_nextcloud, nc_user, nc_remote, tmp_path
):
    # --checksum keeps the fast path off: rclone alone sends the file and retries the 423
    # quietly (it logs it only after ten low-level retries); the watchdog sees the file sent
    # again and again while the server answers.
    name = locked_tree(real_nextcloud, nc_user, nc_remote, tmp_path, "locked-rclone")
    began = time.monotonic()
    done = rcwiz(
        "--stall-timeout", f"{STALL:g}", "--config", str(nc_remote),
        "copy", "--checksum", str(tmp_path / "src"), "nc:locked-rclone",
    )  # fmt: skip
    took = time.monotonic() - began
    assert done.returncode == 13, done.stderr
    assert f"keeps refusing {name}" in done.stderr or f"{name} is locked" in done.stderr
    assert "unreachable" not in done.stderr and "Traceback" not in done.stderr
    # rclone sends the file again only after its pacer's pause (about 10 s measured): the stop
    # comes with the first repeat after the stall timeout, not the 447 s the issue saw.
    assert took < STALL + 15 + STARTUP, f"took {took:.1f} s"
