"""Tables on an 80-column terminal (COLUMNS=80, as rich reads it) never break a URL, a path
or a word (issue 25.2): a value that does not fit moves to a line of its own instead."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from helpers import rcwiz

NARROW = {"COLUMNS": "80"}


def whole_on_a_line(text: str, *values: str) -> None:
    """Each of VALUES appears unbroken on one line of TEXT."""
    lines = text.splitlines()
    for value in values:
        assert any(value in line for line in lines), (value, text)


def test_quota_history_keeps_names_and_dates_whole(tmp_path):
    conf = tmp_path / "rclone.conf"
    conf.write_text("")
    now = time.time()
    samples = [
        {"time": now - days * 86400, "remote": name, "used": (10 - days) * 2**30, "total": 2**36}
        for name in ("nextcloud:", "alliance-project-storage:")
        for days in (9, 5, 1)
    ]
    history = Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "quota.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_text("".join(json.dumps(s) + "\n" for s in samples))
    done = rcwiz("--config", str(conf), "quota", "--history", env=NARROW)
    assert done.returncode == 0, done.stderr
    since = time.strftime("%Y-%m-%d", time.localtime(now - 9 * 86400))
    whole_on_a_line(done.stdout, "nextcloud: (removed)", "alliance-project-storage:", since)
    assert "…" not in done.stdout


def test_doctor_never_splits_a_path(tmp_path):
    folder = tmp_path / "a-rather-long-folder-name-for-the-configuration"
    folder.mkdir()
    conf = folder / "rclone.conf"
    conf.write_text("[here]\ntype = local\n")
    conf.chmod(0o644)  # a warning whose hint and detail name the file
    done = rcwiz("--config", str(conf), "doctor", env=NARROW)
    assert "Traceback" not in done.stderr
    # The "config file" row names it, and so does the hint under the table.
    assert sum(str(conf) in line for line in done.stdout.splitlines()) == 2, done.stdout
    words = " ".join(done.stdout.split())
    assert "rclone.con " not in words and "permissions" in words
