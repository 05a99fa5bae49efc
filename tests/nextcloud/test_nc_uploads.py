"""`rcwiz uploads` and doctor's upload-session check against the real Nextcloud 30, with the
sessions plain rclone leaves when it is killed mid-upload."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import MB, big_file
from helpers import json_result, rcwiz
from realnc import wait_for

HELD = 60 * MB  # more than doctor's LEFTOVER_WARN (50 MiB)


def on_disk(user) -> dict[str, int]:
    """Session -> bytes of its chunks, as the server stores them."""
    if not user.uploads.exists():
        return {}
    return {
        d.name: sum(f.stat().st_size for f in d.iterdir() if f.is_file())
        for d in user.uploads.iterdir()
        if d.is_dir()
    }


@pytest.fixture
def rclone_leftover(nc_user, nc_remote, rclone_bin, tmp_path):
    """A session plain rclone left: a big upload killed once its chunks hold HELD bytes."""
    source = big_file(tmp_path / "src" / "big.bin", 150 * MB)
    argv = [str(rclone_bin), "--config", str(nc_remote), "copy", str(source), "nc:dest"]
    argv += ["--webdav-nextcloud-chunk-size", "10M", "--bwlimit", "30M"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sum(on_disk(nc_user).values()) >= HELD, 120, "rclone's chunks")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    name = "rclone-chunked-upload-" + hashlib.md5(b"dest/big.bin").hexdigest()
    assert name in on_disk(nc_user)
    return name


def test_a_session_rclone_left_is_listed_warned_of_and_removed(nc_user, nc_remote, rclone_leftover):
    base = ["--config", str(nc_remote)]
    listed = json_result(rcwiz("--json", *base, "uploads", "list", "nc:").stdout, "uploads list")
    (session,) = listed["sessions"]
    held = on_disk(nc_user)[rclone_leftover]
    assert (session["name"], session["maker"], session["bytes"]) == (
        rclone_leftover,
        "rclone",
        held,
    )
    assert listed["bytes"] == held and session["kept"].startswith("recent")
    text = rcwiz(*base, "uploads", "list", "nc:")
    assert rclone_leftover in text.stdout and "rcwiz uploads rm nc:" in text.stdout
    # doctor warns, and says which command shows and removes them.
    doctor = json_result(rcwiz("--json", *base, "doctor", "nc:").stdout)
    (row,) = [c for c in doctor["checks"] if c["check"] == "nc: upload sessions"]
    assert row["status"] == "warn" and "rcwiz uploads rm nc:" in row["hint"]
    # Just killed, it may be a running rclone's: `rm` of everything keeps it ...
    kept = rcwiz(*base, "uploads", "rm", "nc:", "--yes")
    assert kept.returncode == 0 and "may still be written" in kept.stdout
    assert rclone_leftover in on_disk(nc_user)
    # ... named, it goes, but only after a yes (none without a terminal).
    unasked = rcwiz(*base, "uploads", "rm", "nc:", rclone_leftover)
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    assert rclone_leftover in on_disk(nc_user)
    done = rcwiz("--json", *base, "uploads", "rm", "nc:", rclone_leftover, "--yes")
    assert json_result(done.stdout)["bytes"] == held
    assert on_disk(nc_user) == {}
    doctor = json_result(rcwiz("--json", *base, "doctor", "nc:").stdout)
    (row,) = [c for c in doctor["checks"] if c["check"] == "nc: upload sessions"]
    assert (row["status"], row["detail"]) == ("ok", "none left")


# A running rcwiz claims its session the way rcwiz.nextcloud.chunked does, until stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.uploads import claim
    server, user, name = sys.argv[1:4]
    with claim(Account("nc:", server, user, user, "-"), name):
        print("claimed", flush=True)
        sys.stdin.read()
    """
)


def test_a_session_a_running_rcwiz_writes_is_never_removed(real_nextcloud, nc_user, nc_remote):
    name = "rcwiz-chunked-upload-" + hashlib.md5(b"results/big.bin").hexdigest()
    area = f"{real_nextcloud.url}/remote.php/dav/uploads/{nc_user.name}/{name}"
    auth = (nc_user.name, nc_user.password)
    assert real_nextcloud.http("MKCOL", area, auth=auth)[0] == 201
    assert real_nextcloud.http("PUT", f"{area}/1", b"x" * 1000, auth=auth)[0] == 201
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, real_nextcloud.url, nc_user.name, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "claimed"
        base = ["--config", str(nc_remote), "uploads"]
        (session,) = json_result(rcwiz("--json", *base, "list", "nc:").stdout)["sessions"]
        assert (session["maker"], session["writer"]) == ("rcwiz", holder.pid)
        named = rcwiz(*base, "rm", "nc:", name, "--yes")
        assert (
            named.returncode == 0 and f"being written by rcwiz (pid {holder.pid})" in named.stdout
        )
        assert name in on_disk(nc_user)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    # Its rcwiz gone, the session is an ordinary leftover.
    done = rcwiz("--config", str(nc_remote), "uploads", "rm", "nc:", name, "--yes")
    assert done.returncode == 0 and "Removed 1 upload session(s)" in done.stdout
    assert name not in on_disk(nc_user)
