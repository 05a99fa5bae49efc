"""Ctrl-C at each stage of a copy and of a job run: exit 130 and no rclone left behind.

The server answers slowly (a delay per request), so each stage lasts long enough to be
caught: the pre-flight (rcwiz's own PROPFIND for the free space in flight, no rclone started
yet), the listing (`rclone copy` running, no byte
moved yet) and the transfer (bytes moving).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil
import pytest
from helpers import RCWIZ, rclone_children


@pytest.fixture
def slow(tmp_path, quota_server_factory, rclone_conf):
    server = quota_server_factory(quota=500 * 2**20, delay=0.7)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    source = tmp_path / "src"
    source.mkdir()
    for i in range(3):
        (source / f"f{i}.bin").write_bytes(os.urandom(3 * 2**20))
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(f"jobs:\n  up:\n    source: {source}\n    dest: q:viajob\n    bwlimit: 1M\n")
    return {"conf": conf, "source": source, "jobs": jobs, "port": server.port}


def _asking_server(pid: int, port: int) -> bool:
    """True when process PID itself has a connection open to the server on PORT."""
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.raddr and c.raddr.port == port for c in connections)


def _wait_for_stage(
    proc: subprocess.Popen, stage: str, deadline: float, port: int
) -> list[psutil.Process]:
    """Poll until rcwiz is in STAGE; return the rclone processes running then."""
    while time.monotonic() < deadline:
        children = rclone_children(proc.pid)
        if stage == "preflight" and not children and _asking_server(proc.pid, port):
            return children
        lines = []
        for child in children:
            try:
                lines.append(" ".join(child.cmdline()))
            except psutil.Error:  # it ended while we looked
                continue
        if stage in ("listing", "transferring") and any(" copy " in line for line in lines):
            if stage == "listing":
                return children
            time.sleep(1.5)  # bytes are moving by now (bwlimit keeps the copy going)
            return rclone_children(proc.pid)
        time.sleep(0.02)
    pytest.fail(f"rcwiz never reached the {stage} stage")


@pytest.mark.parametrize("stage", ["preflight", "listing", "transferring"])
@pytest.mark.parametrize("command", ["copy", "job"])
def test_ctrl_c_at_each_stage(slow, stage, command):
    base = [*RCWIZ, "--config", str(slow["conf"]), "--jobs", str(slow["jobs"])]
    argv = (
        [*base, "copy", str(slow["source"]), "q:x", "--bwlimit", "1M"]
        if command == "copy"
        else [*base, "job", "run", "up"]
    )
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for_stage(proc, stage, time.monotonic() + 30, slow["port"])
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, err
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive
