"""The transfer engine on the real rclone and the real quota server, in each output mode."""

from __future__ import annotations

import io
import json
import re

import pytest
from helpers import make_source, tree_size

from rcwiz import errors
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import engine as transfer
from rcwiz.ui.console import Console, Stream
from rcwiz.ui.progress import JsonSink, PlainSink

ESCAPE = re.compile(r"\x1b\[")


def captured_console(json_mode=False):
    buffer = io.StringIO()
    stream = Stream(buffer, force_terminal=False, width=200)
    return Console(out=stream, err=stream, json=json_mode, json_stream=buffer), buffer


@pytest.fixture
def target(tmp_path, rclone_conf, quota_server_factory):
    server = quota_server_factory(quota=200 * 2**20)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    return server, Rclone.locate(config=conf)


def test_json_summary_matches_the_source(tmp_path, target):
    server, rclone = target
    source = make_source(tmp_path / "src", small=25, big_mib=(3, 6))
    files, size = tree_size(source)
    console, buffer = captured_console(json_mode=True)
    summary = transfer.run(
        rclone,
        TransferOptions(str(source), "q:dst"),
        JsonSink(console),
        log_path=tmp_path / "log.jsonl",
    )
    assert (summary.bytes, summary.files, summary.errors) == (size, files, 0)
    assert tree_size(server.root / "dst") == (files, size)
    docs = [json.loads(line) for line in buffer.getvalue().splitlines()]
    kinds = [d["event"] for d in docs]
    assert kinds[0] == "start" and "summary" not in kinds  # the command prints the summary
    assert kinds.count("file") == files
    assert "progress" in kinds
    final = summary.as_dict()
    assert (final["bytes"], final["files"], final["outcome"]) == (size, files, "ok")
    assert all(
        d["percent"] is None or 0 <= d["percent"] <= 100 for d in docs if d["event"] == "progress"
    )
    # The full rclone log is kept, starting with the command rcwiz ran.
    log_lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert json.loads(log_lines[0])["rcwiz"] == "start"
    assert sum(1 for line in log_lines if '"Copied (new)"' in line) == files


def test_plain_output_has_periodic_progress_and_no_escape_codes(tmp_path, target):
    _, rclone = target
    source = make_source(tmp_path / "src", small=5, big_mib=(8,))
    console, buffer = captured_console()
    # --bwlimit keeps the copy running for ~2 s so several stats lines arrive.
    opts = TransferOptions(str(source), "q:dst", bwlimit="4M")
    transfer.run(
        rclone, opts, PlainSink(console, log_interval=0.4), log_path=tmp_path / "log.jsonl"
    )
    out = buffer.getvalue()
    assert not ESCAPE.search(out)
    progress = [line for line in out.splitlines() if " progress " in line]
    assert len(progress) >= 3, out
    assert all(re.match(r"(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d ", line) for line in out.splitlines())
    assert all(len(line) <= 80 for line in progress)
    assert "Done: copy" in out and "full rclone log:" in out


def test_failure_is_raised_after_the_summary(tmp_path, rclone_conf, quota_server_factory):
    server = quota_server_factory(quota=1_000_000)
    rclone = Rclone.locate(config=rclone_conf(tmp_path / "c.conf", {"q": server}))
    source = make_source(tmp_path / "src", small=2, big_mib=(2,))
    console, _ = captured_console(json_mode=True)
    opts = TransferOptions(
        str(source), "q:dst", extra=("--retries", "1", "--low-level-retries", "1")
    )
    with pytest.raises(errors.QuotaExceeded) as raised:
        transfer.run(rclone, opts, JsonSink(console), log_path=tmp_path / "log.jsonl")
    summary = raised.value.summary
    assert summary.outcome == "failed" and summary.error == raised.value.message
    assert summary.errors >= 1
