"""A plain `rcwiz copy` imports only what its run needs (issue 26: the fixed cost before rclone
starts is mostly Python importing the copy path; benchmarks/fixed_cost.py measures it). The
modules of Nextcloud's fast paths, resumable and partial downloads, verification, jobs, the
wizard and rich's displays stay out of a copy that uses none of them; a local copy imports no
HTTP client at all. Each case is a real copy by the real rclone, seen with `-X importtime`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import make_source, tree_size

# Not needed by a plain copy to a local folder or to a plain WebDAV server (each was imported
# by one before: the fast path with its listing parser, tempfile, hashlib, psutil).
NEVER = {
    "rcwiz.transfer.fastpath",
    "rcwiz.transfer.archive",
    "rcwiz.transfer.bigfiles",
    "rcwiz.transfer.bulk",
    "rcwiz.transfer.bulk_run",
    "rcwiz.transfer.resumable",
    "rcwiz.transfer.verify",
    "rcwiz.rclone.lsjson",
    "rcwiz.nextcloud.listing",
    "rcwiz.nextcloud.capabilities",
    "rcwiz.jobs",
    "rcwiz.ui.wizard",
    "rcwiz.ui.live",
    "concurrent.futures",
    "hashlib",
    "tempfile",
    "psutil",
    "yaml",
    "questionary",
    "rich",
}
# A local destination has no server: no PROPFIND for the free space, no HTTP client.
NO_SERVER = {"http", "http.client", "ssl", "socket", "email", "xml.etree", "rcwiz.http"}
NO_SERVER |= {"rcwiz.presets", "rcwiz.quota.report"}  # a service's size advice, its quota


def copy_imports(conf: Path, source: Path, dest: str) -> set[str]:
    """Every module `rcwiz --config CONF copy SOURCE DEST` imports in its own process (the
    copy must work), after one copy to DEST-first: only a first run asks rclone its version
    and writes it down (atomically, with tempfile), as every later copy does not."""
    for target, flags in ((dest + "-first", []), (dest, ["-X", "importtime"])):
        argv = ["-m", "rcwiz", "--config", str(conf), "copy", str(source), target]
        done = subprocess.run(
            [sys.executable, *flags, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "80"},
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rpartition("|")[2].strip() for line in lines[1:]}  # [0] is the header


def test_a_copy_to_a_plain_webdav_server_imports_no_fast_path(tmp_path, webdav_server, rclone_conf):
    conf = rclone_conf(tmp_path / "rclone.conf", {"w": webdav_server})
    source = make_source(tmp_path / "src", small=2, big_mib=())
    loaded = copy_imports(conf, source, "w:to")
    assert loaded & NEVER == set(), sorted(loaded & NEVER)
    assert "http.client" in loaded  # the free space's PROPFIND: else this case proves little
    assert tree_size(webdav_server.root / "to") == tree_size(source)


def test_a_local_copy_imports_no_http_client(tmp_path, rclone_conf):
    conf = rclone_conf(tmp_path / "rclone.conf", {})
    source = make_source(tmp_path / "src", small=2, big_mib=())
    loaded = copy_imports(conf, source, str(tmp_path / "to"))
    assert loaded & (NEVER | NO_SERVER) == set(), sorted(loaded & (NEVER | NO_SERVER))
    assert tree_size(tmp_path / "to") == tree_size(source)
