"""A file that is not found (404) while the others arrive is that file's trouble, not a wrong
URL: found in a walk, where every such file was reported as "Check the URL"."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import MiB
from helpers import RCWIZ


def test_a_file_deleted_on_the_server_during_a_download_is_named_not_the_url(
    nc_user, nc_remote, tmp_path
):
    nc_user.dav("MKCOL", "gone")
    for name, data in (("a.bin", os.urandom(3 * MiB)), ("z.txt", b"soon gone")):
        status, _ = nc_user.dav("PUT", f"gone/{name}", data)
        assert status in (201, 204), status
    # rclone alone (an extra flag), one file at a time in name order, no retry (a retry lists
    # again and no longer sees the file): z.txt is asked for once a.bin is on its way.
    argv = [*RCWIZ, "--config", str(nc_remote), "--json", "copy", "nc:gone", str(tmp_path / "b")]
    argv += ["--transfers", "1", "--bwlimit", "1M", "--", "--order-by", "name", "--retries", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "progress" and event["bytes"] > 0:
                status, _ = nc_user.dav("DELETE", "gone/z.txt")
                assert status == 204, status
                break
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode != 0 and (tmp_path / "b" / "a.bin").exists(), err
    flat = " ".join(err.split())
    assert "z.txt" in flat and "Check the URL" not in flat, err
    assert "moved or deleted on the server" in flat, err
