"""A stopped rclone run leaves no partial file of its own in a local destination.

rclone 1.75 writes a file to `NAME.XXXXXXXX.partial` beside NAME (preallocated whole for a
multi-thread download) and renames it when done. On SIGINT or SIGTERM it removes that file
itself; on SIGHUP (the terminal closed: the whole foreground group gets it) or SIGKILL it
leaves it, and the next run never reuses it (the first test shows both on this binary). rcwiz
removes what rclone left for the files its stats showed in flight, and nothing else: not a
file of that shape made before the run, not one beside another file, not `NAME.partial`.
Before the fix the hang-up tests fail: the partial stays and nothing is said.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import json_result, rcwiz, signalled_as_a_terminal

from rcwiz.ui import format as fmt

MiB = 1024 * 1024
SIZE = 300 * MiB  # over rclone's 256 MiB multi-thread cutoff (parallel ranges), as reported


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.partial")) if folder.is_dir() else []


def _wait_for_partial(folder: Path, proc: subprocess.Popen, what: str) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = [p for p in _partials(folder) if p.name.startswith("big.bin.")]
        if found:
            return found[0]
        assert proc.poll() is None, f"{what} ended before its partial file appeared"
        time.sleep(0.05)
    raise AssertionError(f"no partial file from {what}")


def _source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    with open(source / "big.bin", "wb") as handle:
        handle.truncate(SIZE)  # sparse: quick to make, the same bytes to rclone
    return source


def _decoys(dest: Path) -> list[Path]:
    """Files a user may have that look like rclone's: none of them is removed."""
    dest.mkdir(parents=True, exist_ok=True)
    made = [dest / "big.bin.0123abcd.partial", dest / "big.bin.partial"]
    made.append(dest / "other.bin.89abcdef.partial")  # beside a file not in flight
    for path in made:
        path.write_bytes(b"mine")
    return made


def test_rclone_removes_its_partial_on_sigint_and_leaves_it_on_sighup(rclone_bin, tmp_path):
    """The facts rcwiz builds on (../shared/RCLONE-FACTS.md), for a local copy."""
    source = _source(tmp_path)
    for how, kept in ((signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGHUP, True)):
        dest = tmp_path / f"dest-{how.name}"
        argv = [str(rclone_bin), "copy", "--bwlimit", "20M", str(source), str(dest)]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            partial = _wait_for_partial(dest, proc, "rclone")
            proc.send_signal(how)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert partial.exists() == kept, how
        if kept:
            assert len(partial.name) == len("big.bin.") + 8 + len(".partial")


def test_a_local_copy_hung_up_leaves_no_partial_file(tmp_path):
    source, dest = _source(tmp_path), tmp_path / "dest"
    decoys = _decoys(dest)
    time.sleep(1.1)  # the decoys are older than the run by more than rcwiz's slack
    argv = ["copy", "--bwlimit", "20M", str(source), str(dest)]
    code, out, err = signalled_as_a_terminal(argv, dest)
    assert code == 130 and "Traceback" not in err, err
    assert _partials(dest) == sorted(decoys)
    assert all(p.read_bytes() == b"mine" for p in decoys)
    said = out + err
    assert "Removed 1 unfinished download(s) (" in said and "that rclone left in" in said, said
    assert not (dest / "big.bin").exists()


@pytest.mark.parametrize("verb", ["copy", "move"])
def test_a_webdav_download_hung_up_leaves_no_partial_file(
    verb, webdav_server, rclone_conf, tmp_path
):
    """From `rclone serve webdav` (rclone fetches in parallel ranges); a move's source stays."""
    with open(webdav_server.root / "big.bin", "wb") as handle:
        handle.truncate(SIZE)
    conf = rclone_conf(tmp_path / "rclone.conf", {"w": webdav_server})
    dest = tmp_path / "dest"
    argv = ["--json", "--config", str(conf), verb, "--bwlimit", "20M", "w:", str(dest)]
    code, _, err = signalled_as_a_terminal(argv, dest)
    assert code == 130 and "Traceback" not in err, err
    assert _partials(dest) == [] and not (dest / "big.bin").exists()
    assert "Removed 1 unfinished download(s) (" in err and " MiB) that rclone left in " in err
    assert (webdav_server.root / "big.bin").stat().st_size == SIZE


def _left_by_a_hang_up(rclone_bin: Path, source: Path, dest: Path) -> Path:
    """rclone's partial of big.bin in DEST, left by its run hung up (as a closed terminal)."""
    argv = [str(rclone_bin), "copy", "--bwlimit", "20M", str(source), str(dest)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        partial = _wait_for_partial(dest, proc, "rclone")
        proc.send_signal(signal.SIGHUP)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert partial.exists()
    return partial


def test_doctor_names_the_partial_files_rclone_left_where_downloads_go(rclone_bin, tmp_path):
    """Below the current folder and a job's local destination: rclone run by hand and hung up
    (what rcwiz never saw to remove). Before the fix doctor named only rcwiz's own partials.
    A partial changed within the stall timeout may be a running transfer's: not named."""
    source = _source(tmp_path)
    here, job_dest = tmp_path / "here", tmp_path / "job-dest"
    left = [
        _left_by_a_hang_up(rclone_bin, source, here / "deep" / "er"),
        _left_by_a_hang_up(rclone_bin, source, job_dest),
    ]
    an_hour_ago = time.time() - 3600
    for path in left:
        os.utime(path, (an_hour_ago, an_hour_ago))
    decoys = _decoys(here)  # written now (one may be a running transfer's), or not rclone's
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.bin.0123abcd.partial").write_bytes(b"not looked at")
    os.symlink(tmp_path / "elsewhere", here / "link")  # links are not followed
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  down:\n    source: {source}\n    dest: {job_dest}\n")
    conf = tmp_path / "rclone.conf"
    conf.write_text("")
    argv = ["--json", "--config", str(conf), "--jobs", str(jobs), "doctor"]
    done = rcwiz(*argv, cwd=here, timeout=60)
    rows = {c["check"]: c for c in json_result(done.stdout, "doctor")["checks"]}
    row = rows["rclone's partial files"]
    assert row["status"] == "warn", row
    assert row["detail"].startswith("2 left ("), row
    assert all(f"{path} ({fmt.size(path.stat().st_size)})" in row["detail"] for path in left)
    assert not any(str(decoy) in row["detail"] for decoy in decoys), row
    assert "elsewhere" not in row["detail"] and "no run reuses them" in row["hint"]
    for path in left:
        path.unlink()
    done = rcwiz(*argv, cwd=here, timeout=60)
    rows = {c["check"]: c for c in json_result(done.stdout, "doctor")["checks"]}
    row = rows["rclone's partial files"]
    assert row["status"] == "ok" and row["detail"] == f"none under {here}; {job_dest}", row
