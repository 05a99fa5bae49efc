"""SIGKILL at random moments while a remote is being saved: rclone.conf is always whole.

A forked child adds one remote to rclone.conf through the same code `rcwiz setup` uses
(rcwiz.rclone.config_edit.add_remote) and is killed with SIGKILL after a delay, KILLS times: at
a random moment in each of KILLS equal slices of 1.5 times an unkilled save, so that no part of
the save goes untried (the widest gap between two kills is two slices, 4 % of that span; a
hundred uniformly random kills left about 5 % on average, at twice the time: 38 s in the
suite). Afterwards the file must be exactly the old one or the old one plus the new section,
rclone must read it, and the other remotes must be byte-identical.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

from rcwiz.rclone.config_edit import add_remote

KILLS = 50
OTHERS = "".join(
    f"[colleague{i}]\ntype = webdav\nurl = https://dav{i}.example.org/\nuser = u{i}\n"
    f"pass = {'x' * 40}\n\n"
    for i in range(200)  # a big file, so a kill can land in the middle of a write
)


def _save_in_child(conf, name):
    pid = os.fork()
    if pid == 0:  # the child: save one remote, then exit without any cleanup
        try:
            add_remote(
                conf,
                name,
                {
                    "type": "webdav",
                    "url": "http://127.0.0.1:9/",
                    "vendor": "other",
                    "user": "me",
                    "pass": "y" * 30,
                },
            )
        finally:
            os._exit(0)
    return pid


def _unkilled_save_seconds(conf):
    conf.write_text(OTHERS)
    started = time.monotonic()
    os.waitpid(_save_in_child(conf, "timing"), 0)
    return time.monotonic() - started


def test_sigkill_while_saving_never_leaves_a_broken_config(tmp_path, rclone_bin):
    conf = tmp_path / "rclone.conf"
    rng = random.Random(20261127)
    save = _unkilled_save_seconds(conf)  # how long a forked save takes on this machine
    outcomes = {"old": 0, "new": 0}
    for attempt in range(KILLS):
        conf.write_text(OTHERS)
        name = f"new{attempt}"
        pid = _save_in_child(conf, name)
        time.sleep((attempt + rng.random()) / KILLS * 1.5 * save)  # its slice of the save
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        text = conf.read_text()
        section = f"[{name}]\ntype = webdav\nurl = http://127.0.0.1:9/\n"
        if text == OTHERS:
            outcomes["old"] += 1
        else:
            assert text.startswith(OTHERS) and text[len(OTHERS) :].startswith(section), attempt
            outcomes["new"] += 1
        for leftover in tmp_path.glob(".rclone.conf.*.tmp"):
            leftover.unlink()  # a killed write may leave its temp file; never the real one
    # Both outcomes happened, so the kills really landed before and after the rename.
    assert outcomes["old"] > 0 and outcomes["new"] > 0, outcomes
    dumped = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "config", "dump"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"colleague199"' in dumped.stdout
