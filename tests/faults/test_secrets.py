"""A remote's password never shows: not in any process's argv, log, history or output."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import psutil
from helpers import RCWIZ


def _sample_argv(
    secrets: list[str], ours: str, stop: threading.Event, leaks: list, seen: list
) -> None:
    """Every process's argv, again and again: those holding a secret go to LEAKS, this test's
    rclones (OURS in their argv: another test may run rclone at the same time) to SEEN."""
    while not stop.is_set():
        for proc in psutil.process_iter(["name", "cmdline"]):
            line = " ".join(proc.info["cmdline"] or [])
            if any(s in line for s in secrets):
                leaks.append(line)
            if proc.info["name"] == "rclone" and ours in line:
                seen.append(line)


def test_password_absent_from_argv_logs_history_and_json(
    tmp_path, quota_server_factory, rclone_conf
):
    server = quota_server_factory(quota=50 * 2**20, delay=0.05)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    obscured = next(
        line.split(" = ", 1)[1]
        for line in conf.read_text().splitlines()
        if line.startswith("pass = ")
    )
    secrets = [server.password, obscured]
    source = tmp_path / "src"
    source.mkdir()
    for i in range(30):
        (source / f"f{i}.bin").write_bytes(os.urandom(20_000))
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        f"jobs:\n  up:\n    source: {source}\n    dest: q:viajob\n    after: 'env > /dev/null'\n"
    )
    base = [*RCWIZ, "--debug", "--config", str(conf), "--jobs", str(jobs)]
    runs = [
        [*base, "--json", "copy", str(source), "q:viacopy"],
        [*base, "job", "run", "up"],
        [*base, "--json", "job", "show", "up"],
        [*base, "--json", "job", "history"],
        [*base, "--json", "remotes"],
        [*base, "--json", "quota"],
        [*base, "copy", str(source), "q:plain", "--log-interval", "0.1"],
    ]
    stop, leaks, seen = threading.Event(), [], []
    sampler = threading.Thread(target=_sample_argv, args=(secrets, str(conf), stop, leaks, seen))
    sampler.start()
    outputs = []
    try:
        for argv in runs:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            assert done.returncode == 0, (argv, done.stderr)
            outputs.append(done.stdout + done.stderr)
    finally:
        stop.set()
        sampler.join()
    assert seen, "the sampler saw no rclone, so it proves nothing"
    assert not leaks
    for text in outputs:
        assert all(s not in text for s in secrets)
    state = Path(os.environ["XDG_STATE_HOME"])
    written = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name == "history.jsonl" for p in written)
    assert any(p.suffix == ".jsonl" and "logs" in p.parts for p in written)
    for path in written:
        content = path.read_text(encoding="utf-8", errors="replace")
        assert all(s not in content for s in secrets), path
