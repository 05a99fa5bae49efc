"""rcwiz.process.run_group: a shell command in its own process group, its output in a file."""

from __future__ import annotations

import os
import signal
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
