"""rcwiz.process.run_group: a shell command in its own process group, its output in a file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psutil

from rcwiz import process


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_exit_code_and_output_come_back_and_nothing_is_left(tmp_path):
    pid_file = tmp_path / "pid"
    with tempfile.TemporaryFile() as out:
        started = time.monotonic()
        code = process.run_group(
            ["/bin/sh", "-c", f"sleep 1000 & echo $! > {pid_file}; echo out; echo err >&2; exit 4"],
            out,
        )
        assert time.monotonic() - started < 10  # the background sleep did not hold it up
        out.seek(0)
        assert code == 4 and out.read() == b"out\nerr\n"
    assert not _alive(int(pid_file.read_text()))


def test_keyboard_interrupt_ends_the_whole_group(tmp_path):
    pid_file = tmp_path / "pid"
    ready = threading.Event()

    def interrupt_when_started() -> None:
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text().strip()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        ready.set()
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, delivered to rcwiz's main thread

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    with tempfile.TemporaryFile() as out:
        try:
            process.run_group(["/bin/sh", "-c", f"sleep 1000 & echo $! > {pid_file}; wait"], out)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("no KeyboardInterrupt")
    assert ready.is_set()
    assert not _alive(int(pid_file.read_text()))


# A program that starts a hook the way rcwiz does and gets SIGTERM (as rcwiz's handler turns
# it into KeyboardInterrupt) at the worst moment: the child has started, Popen has not yet
# returned it. The group's id is printed first; the hook leaves a background `sleep`.
_SIGNAL_AT_THE_START = """
import os, signal, subprocess, sys
from rcwiz import process

def stop(signum, frame):
    raise KeyboardInterrupt

signal.signal(signal.SIGTERM, stop)
real = subprocess.Popen

class SignalledAtTheStart(real):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        print(self.pid, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)

subprocess.Popen = SignalledAtTheStart
with open(os.devnull, "wb") as out:
    try:
        process.run_group(["/bin/sh", "-c", "sleep 1000 & sleep 1000"], out)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
"""


def test_a_signal_as_the_hook_starts_still_ends_all_it_started():
    done = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AT_THE_START],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    group = int(done.stdout.split()[0])
    left = [p for p in psutil.process_iter() if _in_group(p, group)]
    for proc in left:  # what a failure leaves is not left behind by the suite
        with contextlib.suppress(psutil.Error):
            proc.kill()
    assert done.stdout.split()[1:] == ["interrupted"], done.stderr
    assert left == []


def _in_group(proc: psutil.Process, group: int) -> bool:
    try:
        return os.getpgid(proc.pid) == group and proc.status() != psutil.STATUS_ZOMBIE
    except (OSError, psutil.Error):
        return False
