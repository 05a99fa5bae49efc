"""A job's hooks under stress: background children, Ctrl-C / SIGTERM / SIGHUP while a hook
runs, a megabyte of output, a failure; every run recorded in the history.

Each hook writes the PIDs it starts to a file; the test waits for that file (polling, with a
deadline), signals rcwiz, and then checks with psutil that nothing of the hook is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from helpers import RCWIZ, json_result, rcwiz


@pytest.fixture
def job(tmp_path, quota_server, rclone_conf):
    """write(**keys) -> base argv for a jobs file with one profile `h` (a copy to q:)."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.csv").write_bytes(b"1,2\n")
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": quota_server})
    jobs = tmp_path / "jobs.yaml"

    def write(**keys: str) -> list[str]:
        lines = [f"jobs:\n  h:\n    source: {source}\n    dest: q:out\n"]
        lines += [f"    {key}: {json.dumps(value)}\n" for key, value in keys.items()]
        jobs.write_text("".join(lines))
        return ["--config", str(conf), "--jobs", str(jobs)]

    return write


def _wait_for_lines(path: Path, count: int, proc: subprocess.Popen, timeout: float = 30) -> list:
    """The first COUNT lines of PATH once the hook has written them (the hook is running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = path.read_text().split()
            if len(lines) >= count:
                return [int(line) for line in lines[:count]]
        if proc.poll() is not None:
            pytest.fail(f"rcwiz ended ({proc.returncode}) before the hook started: {proc.stderr}")
        time.sleep(0.02)
    pytest.fail("the hook never wrote its PIDs")


def _group(pgid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid:
                found.append(proc)
        except (OSError, psutil.Error):
            continue
    return found


def _running(proc: psutil.Process) -> bool:
    """PROC still runs (a zombie has ended; only its parent's wait for it is missing)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _still_running(procs: list[psutil.Process], timeout: float = 5) -> list[psutil.Process]:
    """Those of PROCS still running once they all ended, or after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in procs if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def _runs(base: list[str]) -> list[dict]:
    return json_result(rcwiz(*base, "--json", "job", "history").stdout)["runs"]


# A hook that starts a background sleep, notes its PID and the shell's, then waits in the
# foreground: everything stays running until it is ended from outside.
HANGING = "sleep 1000 & echo $! > {pids}; echo $$ >> {pids}; sleep 1000"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_before_hook_ends_it_and_all_it_started(job, tmp_path, sig):
    pids = tmp_path / "pids"
    marker = tmp_path / "on_failure.out"
    base = job(before=HANGING.format(pids=pids), on_failure=f'echo "$RCWIZ_OUTCOME" > {marker}')
    proc = subprocess.Popen(
        [*RCWIZ, *base, "job", "run", "h"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        background, shell = _wait_for_lines(pids, 2, proc)
        hook = _group(shell)
        assert {p.pid for p in hook} >= {background, shell} and len(hook) >= 3
        assert os.getpgid(shell) != os.getpgid(proc.pid)  # a process group of its own
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, err
    assert "Traceback" not in err and "before hook of job 'h' was stopped" in err
    assert not _still_running(hook)
    assert not [p for p in _group(shell) if _running(p)]
    (run,) = _runs(base)
    assert run["outcome"] == "interrupted" and "before hook" in run["error"]
    assert marker.read_text().strip() == "interrupted"
    assert not (tmp_path / "out").exists()


def test_ctrl_c_during_the_after_hook_is_recorded_with_what_was_sent(job, tmp_path):
    pids = tmp_path / "pids"
    base = job(after=HANGING.format(pids=pids))
    proc = subprocess.Popen(
        [*RCWIZ, *base, "job", "run", "h"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        _, shell = _wait_for_lines(pids, 2, proc)
        hook = _group(shell)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, err
    assert not _still_running(hook)
    (run,) = _runs(base)
    assert (run["outcome"], run["files"], run["bytes"]) == ("interrupted", 1, 4)
    assert "after hook" in run["error"] and "the transfer had finished" in run["error"]


def test_ctrl_c_at_a_terminal_ends_the_hook(job, tmp_path):
    """A real Ctrl-C: the terminal sends SIGINT to its foreground group, which the hook is
    not in (its own group), so rcwiz ends the hook's group itself."""
    pexpect = pytest.importorskip("pexpect")
    pids = tmp_path / "pids"
    base = job(before=HANGING.format(pids=pids))
    child = pexpect.spawn(RCWIZ[0], [*RCWIZ[1:], *base, "job", "run", "h"], timeout=30)
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and len(pids.read_text().split()) >= 2):
            assert time.monotonic() < deadline, "the hook never started"
            time.sleep(0.02)
        background, shell = (int(line) for line in pids.read_text().split()[:2])
        hook = _group(shell)
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130
    assert background in {p.pid for p in hook}
    assert not _still_running(hook)


def test_a_background_command_in_a_hook_does_not_hold_the_run(job, tmp_path):
    pid_file = tmp_path / "pid"
    base = job(after=f"sleep 1000 & echo $! > {pid_file}; echo started")
    started = time.monotonic()
    done = rcwiz(*base, "job", "run", "h", timeout=60)  # it used to wait for the sleep
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "after: started" in done.stdout
    background = int(pid_file.read_text())
    assert not psutil.pid_exists(background) or not _running(psutil.Process(background))


def test_a_hook_that_prints_a_megabyte_does_not_hang(job, tmp_path):
    base = job(before="yes 0123456789abcdef | head -n 65536; echo the-end")
    done = rcwiz(*base, "job", "run", "h", timeout=60)
    assert done.returncode == 0, done.stderr
    shown = [line for line in done.stdout.splitlines() if line.startswith("before:")]
    assert shown[-1] == "before: the-end" and len(shown) <= 22  # the end, and where the rest is
    log = Path(shown[0].split("all in ", 1)[1].rstrip(")"))
    assert log.stat().st_size == 65536 * 17 + len("the-end\n")


def test_a_failed_before_hook_names_its_command_status_and_output_in_json(job, tmp_path):
    base = job(before="echo checking inputs; echo 'no DONE file' >&2; exit 3")
    done = rcwiz(*base, "--json", "job", "run", "h")
    assert done.returncode == 11, done.stderr
    error = json_result(done.stdout, "job run")["error"]
    assert error["type"] == "HookFailed" and "exited with 3" in error["message"]
    assert error["items"] == [
        "command: echo checking inputs; echo 'no DONE file' >&2; exit 3",
        "status: exited with 3",
        "output:",
        "  checking inputs",
        "  no DONE file",
    ]
    (run,) = _runs(base)
    assert run["outcome"] == "failed" and not (tmp_path / "out").exists()
