"""`rcwiz quota` against the real quota server, through the real rclone."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from helpers import rcwiz


def upload(rclone_bin, conf, remote, tmp_path, size, name):
    source = tmp_path / name
    source.write_bytes(os.urandom(size))
    subprocess.run(
        [str(rclone_bin), "--config", str(conf), "copyto", str(source), f"{remote}:{name}"],
        check=True,
        capture_output=True,
    )


def test_json_numbers_are_exact_and_a_dead_remote_does_not_fail_the_report(
    tmp_path, quota_server_factory, rclone_conf, rclone_bin, dead_url
):
    quota = 3_000_000
    server = quota_server_factory(quota=quota)
    conf = rclone_conf(
        tmp_path / "r.conf",
        {
            "q": server,
            "dead": {"url": dead_url, "user": "u", "password": "p!"},
        },
    )
    upload(rclone_bin, conf, "q", tmp_path, 1_234_567, "a.bin")
    done = rcwiz("--json", "--config", str(conf), "quota", "q:", "dead:")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    rows = {row["remote"]: row for row in report["remotes"]}
    assert (rows["q:"]["total"], rows["q:"]["used"], rows["q:"]["free"]) == (
        quota,
        1_234_567,
        quota - 1_234_567,
    )
    assert rows["dead:"]["problem"] == "unreachable" and rows["dead:"]["used"] is None
    assert report["state"] == "unknown"


def test_check_exit_codes_follow_the_server_filling_up(
    tmp_path, quota_server_factory, rclone_conf, rclone_bin
):
    server = quota_server_factory(quota=1_000_000)
    conf = rclone_conf(tmp_path / "r.conf", {"q": server})

    def check():
        return rcwiz(
            "--config", str(conf), "quota", "q:", "--check", "--warn", "50", "--crit", "90"
        )

    first = check()
    assert first.returncode == 0 and "QUOTA OK" in first.stdout
    upload(rclone_bin, conf, "q", tmp_path, 600_000, "one.bin")
    second = check()
    assert second.returncode == 1 and "QUOTA WARNING" in second.stdout
    assert "delete or archive" in second.stdout
    upload(rclone_bin, conf, "q", tmp_path, 350_000, "two.bin")
    third = check()
    assert third.returncode == 2 and "QUOTA CRITICAL - q: 95.0%" in third.stdout
    assert rcwiz("--config", str(conf), "quota", "q:").returncode == 0  # no --check: 0


def test_unreachable_only_is_unknown_with_check(tmp_path, rclone_conf, dead_url):
    conf = rclone_conf(
        tmp_path / "r.conf", {"dead": {"url": dead_url, "user": "u", "password": "p!"}}
    )
    done = rcwiz("--config", str(conf), "quota", "--check")
    assert done.returncode == 3 and "QUOTA UNKNOWN" in done.stdout


def test_remotes_are_asked_at_the_same_time(tmp_path, quota_server_factory, rclone_conf):
    servers = [quota_server_factory(quota=10**6, delay=0.8) for _ in range(4)]
    conf = rclone_conf(tmp_path / "r.conf", {f"s{i}": s for i, s in enumerate(servers)})

    def timed(*remotes):
        started = time.monotonic()
        done = rcwiz("--json", "--config", str(conf), "quota", *remotes)
        assert done.returncode == 0, done.stderr
        assert all(r["total"] == 10**6 for r in json.loads(done.stdout)["remotes"])
        return time.monotonic() - started

    one = timed("s0:")
    four = timed("s0:", "s1:", "s2:", "s3:")
    # Asked one after another, four slow remotes would take about 4x the slow part.
    assert four < one * 2, (one, four)


def test_history_records_each_report(tmp_path, quota_server_factory, rclone_conf, rclone_bin):
    server = quota_server_factory(quota=10**6)
    conf = rclone_conf(tmp_path / "r.conf", {"q": server})
    empty = rcwiz("--config", str(conf), "quota", "--history")
    assert empty.returncode == 0 and "No quota history yet" in empty.stdout
    rcwiz("--config", str(conf), "quota")
    upload(rclone_bin, conf, "q", tmp_path, 100_000, "x.bin")
    rcwiz("--config", str(conf), "quota")
    done = rcwiz("--json", "--config", str(conf), "quota", "--history")
    assert done.returncode == 0, done.stdout + done.stderr
    (entry,) = json.loads(done.stdout)["remotes"]
    assert entry["remote"] == "q:" and entry["samples"] == 2 and entry["configured"] is True
    assert entry["used"] == 100_000 and entry["total"] == 10**6
    assert entry["forecast"] == "not enough data"  # seconds apart: no trend to speak of
    history = Path(os.environ["XDG_STATE_HOME"]) / "rcwiz" / "quota.jsonl"
    lines = history.read_text().splitlines()
    first = json.loads(lines[0])
    for days in (3, 2):  # the same remote on earlier days: now there is a trend
        history.write_text(
            json.dumps({**first, "time": first["time"] - days * 86400}) + "\n" + history.read_text()
        )
    done = rcwiz("--json", "--config", str(conf), "quota", "--history")
    assert json.loads(done.stdout)["remotes"][0]["forecast"] == "growing"
    shown = rcwiz("--config", str(conf), "quota", "--history")
    assert (
        "q:" in shown.stdout and "full in about" in shown.stdout and "(removed)" not in shown.stdout
    )
    (tmp_path / "other.conf").write_text("")  # another rclone.conf, without q:
    gone = rcwiz("--json", "--config", str(tmp_path / "other.conf"), "quota", "--history")
    assert json.loads(gone.stdout)["remotes"][0]["configured"] is False
    table = rcwiz("--config", str(tmp_path / "other.conf"), "quota", "--history")
    assert "q: (removed)" in table.stdout


def test_bad_thresholds_are_a_usage_error(tmp_path):
    done = rcwiz("quota", "--warn", "90", "--crit", "80")
    assert done.returncode == 2 and "--warn" in done.stderr
