"""A plain `rcwiz copy` imports only what its run needs (issue 26: the fixed cost before rclone
starts is mostly Python importing the copy path; benchmarks/fixed_cost.py measures it). The
modules of Nextcloud's fast paths, resumable and partial downloads, verification, jobs, the
wizard and rich's displays stay out of a copy that uses none of them; a local copy imports no
HTTP client at all. Each case is a real copy by the real rclone, seen with `-X importtime`.
The value types such a copy makes are NamedTuples, not dataclasses (whose methods are compiled
from source at every start), but for the mutable ones and the option table listed here."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
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
    "shutil",  # with bz2 and lzma: only to look rclone up on PATH (here it is beside Python)
    "bz2",
    "lzma",
}
# A local destination has no server: no PROPFIND for the free space, no HTTP client.
NO_SERVER = {"http", "http.client", "ssl", "socket", "email", "xml.etree", "rcwiz.http"}
NO_SERVER |= {"rcwiz.presets", "rcwiz.quota.report"}  # a service's size advice, its quota


# The dataclasses a plain copy to WebDAV still defines: mutable state, and the option table
# (Settings' fields carry the options' metadata). Measured under callgrind, a frozen dataclass
# costs ~2.8 M instructions when its module is imported, a NamedTuple ~0.5 M (issue 26).
DATACLASSES = {
    "rcwiz.context.Context",
    "rcwiz.counting.Summary",
    "rcwiz.counting.Tally",
    "rcwiz.http.Client",
    "rcwiz.http.Streamed",
    "rcwiz.nextcloud.http.Client",
    "rcwiz.rclone.conf_read.ConfFile",
    "rcwiz.rclone.config.Configured",
    "rcwiz.rclone.run.Rclone",
    "rcwiz.rclone.transfer.Settings",
    "rcwiz.rclone.transfer.TransferOptions",
    "rcwiz.rclone.transfer._Route",
    "rcwiz.transfer.endpoint.Endpoint",
    "rcwiz.transfer.partials.Record",
    "rcwiz.transfer.preflight.Plan",
    "rcwiz.transfer.walk.Tree",
    "rcwiz.transfer.watchdog.Watchdog",
    "rcwiz.wire.Line",
}


def dataclasses_in(modules: set[str]) -> set[str]:
    """The dataclasses the rcwiz MODULES define (each imported here, as the copy did)."""
    found = set()
    for name in sorted(m for m in modules if m.startswith("rcwiz.")):
        for value in vars(importlib.import_module(name)).values():
            own = inspect.isclass(value) and value.__module__ == name
            if own and dataclasses.is_dataclass(value):
                found.add(f"{name}.{value.__qualname__}")
    return found


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
    new = dataclasses_in(loaded) - DATACLASSES
    assert new == set(), f"a NamedTuple costs a copy's start-up less: {sorted(new)}"
    assert tree_size(webdav_server.root / "to") == tree_size(source)


def test_a_local_copy_imports_no_http_client(tmp_path, rclone_conf):
    conf = rclone_conf(tmp_path / "rclone.conf", {})
    source = make_source(tmp_path / "src", small=2, big_mib=())
    loaded = copy_imports(conf, source, str(tmp_path / "to"))
    assert loaded & (NEVER | NO_SERVER) == set(), sorted(loaded & (NEVER | NO_SERVER))
    assert tree_size(tmp_path / "to") == tree_size(source)
