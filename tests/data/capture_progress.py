#!/usr/bin/env python3
"""Capture the progress rcwiz shows during a real fast-path upload, for the ETA tests.

    .venv/bin/python tests/data/capture_progress.py

Starts the real Nextcloud 30 of ../shared/nextcloud (serve.sh, a temporary folder, a free
port), makes a test user through the provisioning API, and uploads with `rcwiz --json copy` a
tree that mixes what the fast path sends differently: many small files (bulk upload, first),
a few files of 40 MB (parallel chunks) and some of 2 MB (left to rclone). The `progress`
events rcwiz printed (bytes, totals, files, elapsed, and the ETA it showed then) go to
`tests/data/rcwiz/fastpath_mixed.jsonl`, with the run's duration in the last line
(`{"event": "end", "duration": ...}`). Everything is on 127.0.0.1; the user's password goes
to rclone.conf obscured and never on a command line.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT.parent / "shared" / "nextcloud" / "serve.sh"
OUT = Path(__file__).resolve().parent / "rcwiz" / "fastpath_mixed.jsonl"
BIN = Path(sys.executable).parent
USER, PASSWORD = "capture", "Capture-Pass-2026-x"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_user(url: str) -> None:
    token = base64.b64encode(b"admin:ncadmin-Pass1").decode()
    body = f"userid={USER}&password={PASSWORD}".encode()
    request = urllib.request.Request(
        f"{url}/ocs/v1.php/cloud/users?format=json",
        data=body,
        headers={"Authorization": f"Basic {token}", "OCS-APIRequest": "true"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        assert json.loads(reply.read())["ocs"]["meta"]["statuscode"] == 100


def tree(folder: Path) -> None:
    rng = random.Random(25)
    for i in range(400):
        (folder / "small").mkdir(parents=True, exist_ok=True)
        (folder / "small" / f"s{i:03}.dat").write_bytes(rng.randbytes(10_000))
    for i in range(3):
        (folder / f"big{i}.bin").write_bytes(os.urandom(40 * 2**20))
    for i in range(5):
        (folder / f"mid{i}.bin").write_bytes(os.urandom(2 * 2**20))


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="rcwiz-capture-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    subprocess.run([str(SERVE), str(work / "nc"), str(port)], check=True, timeout=300)
    try:
        add_user(url)
        obscured = subprocess.run(
            [str(BIN / "rclone"), "obscure", "-"],
            input=PASSWORD,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
        conf = work / "rclone.conf"
        conf.write_text(
            f"[nc]\ntype = webdav\nurl = {url}/remote.php/dav/files/{USER}/\n"
            f"vendor = nextcloud\nuser = {USER}\npass = {obscured}\n"
        )
        conf.chmod(0o600)
        tree(work / "src")
        started = time.monotonic()
        done = subprocess.run(
            [
                str(BIN / "rcwiz"),
                "--json",
                "--config",
                str(conf),
                "copy",
                str(work / "src"),
                "nc:up",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "XDG_STATE_HOME": str(work / "state")},
        )
        duration = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        keep = (
            "bytes",
            "total_bytes",
            "totals_final",
            "files",
            "total_files",
            "elapsed",
            "eta",
            "percent",
        )
        lines = []
        for line in done.stdout.splitlines():
            event = json.loads(line)
            if event.get("event") == "progress" and event.get("phase") != "done":
                lines.append(json.dumps({k: event[k] for k in keep}))
        lines.append(json.dumps({"event": "end", "duration": round(duration, 3)}))
        OUT.parent.mkdir(exist_ok=True)
        OUT.write_text("\n".join(lines) + "\n")
        print(f"{OUT}: {len(lines) - 1} progress events, {duration:.1f} s")
    finally:
        subprocess.run([str(SERVE), "--stop", str(work / "nc")], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
