"""Small helpers shared by the integration and e2e tests (no fixtures here)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

# The installed `rcwiz` command (the console script beside this Python), as a user runs it.
_SCRIPT = Path(sys.executable).parent / "rcwiz"
RCWIZ = [str(_SCRIPT)] if os.access(_SCRIPT, os.X_OK) else [sys.executable, "-m", "rcwiz"]


def rcwiz(
    *args: str,
    input: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the rcwiz command as a user would (a separate process, in CWD), capturing its output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [*RCWIZ, *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=cwd,
        check=False,
    )


def json_lines(text: str) -> list[dict]:
    """Parse every non-empty line as JSON (fails the test if one is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


ENVELOPE = {"version", "command", "ok", "exit_code"}


def json_result(text: str, command: str | None = None) -> dict:
    """The last --json document on stdout: the command's result (or its error), checked to
    carry the envelope every document has (README, "JSON output")."""
    doc = json_lines(text)[-1]
    assert set(doc) >= ENVELOPE, doc
    assert doc["version"] == 1 and doc["ok"] == (doc["exit_code"] == 0)
    if command is not None:
        assert doc["command"] == command
    return doc


def tree_size(folder: Path) -> tuple[int, int]:
    """(file count, total bytes) of the files under FOLDER."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def rclone_children(pid: int) -> list:
    """The rclone processes below process PID (an empty list once it is gone)."""
    import psutil

    found = []
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    for child in children:
        try:
            if child.name() == "rclone" and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.Error:  # it ended while we looked
            continue
    return found


@contextlib.contextmanager
def running_until(argv: list[str], marker: str, *, stderr: int = subprocess.PIPE):
    """Start ARGV (rcwiz in plain-line mode) and yield it once a stdout line holds MARKER.

    Whatever the test does, the process does not outlive the with-block.
    """
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if marker in line:
                break
        else:
            raise AssertionError(f"{marker!r} never appeared in the output of {argv}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
