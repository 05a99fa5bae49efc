"""A full quota on the real Nextcloud 30: pre-flight refusal, and the 507 stop with --force."""

from __future__ import annotations

import pytest
from conftest import MB, big_file, files_of
from helpers import json_lines, rcwiz


@pytest.fixture
def small_quota(nc_user_factory, tmp_path, rclone_conf):
    # 45 MB (47,185,920 bytes), not 50: Nextcloud checks the quota when a PUT starts, so rclone's
    # four PUTs at once can each see room and together overshoot it (80 MB arrived in a 50 MB
    # quota on a loaded machine). The 8th file starts only after four have arrived (40 MB): with
    # less than 50 MB it is always refused, however the PUTs interleave.
    user = nc_user_factory(quota="45 MB")
    conf = rclone_conf(
        tmp_path / "rclone.conf",
        {"nc": user.remote()},
    )
    source = tmp_path / "src"
    for i in range(8):
        big_file(source / f"part-{i}.bin", 10 * MB)
    return user, conf, source


def test_507_preflight_refuses_a_copy_that_does_not_fit(small_quota):
    user, conf, source = small_quota
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:data")
    assert done.returncode == 9, done.stderr
    assert "80000000 bytes" in done.stderr and "Traceback" not in done.stderr
    assert not (user.files / "data").exists()


def test_507_force_stops_and_the_summary_counts_only_what_arrived(small_quota):
    user, conf, source = small_quota
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:data", "--force")
    assert done.returncode == 5, done.stderr
    summary = json_lines(done.stdout)[-1]
    assert summary["event"] == "summary" and summary["outcome"] == "failed"
    stored = {name: size for name, size in files_of(user.files).items() if name.startswith("data/")}
    complete = {n: s for n, s in stored.items() if s == 10 * MB}
    assert (summary["files"], summary["bytes"]) == (len(complete), sum(complete.values()))
    assert len(complete) < 8
    progress = [d for d in json_lines(done.stdout) if d["event"] == "progress"]
    assert progress and progress[-1]["percent"] != 100


def test_507_message_is_one_sentence_without_server_markup(small_quota):
    _, conf, source = small_quota
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:data", "--force")
    assert done.returncode == 5, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "507" in errors[0]
    for marker in ("<", "\t", "Sabre", "The server was unable"):
        assert marker not in done.stderr + done.stdout


def test_a_forced_replace_that_is_refused_is_warned_about_and_kept_in_the_trash(
    nc_user_factory, tmp_path, rclone_conf
):
    user = nc_user_factory(quota="1 MB")
    remote = {"url": user.dav_url, "user": user.name, "password": user.password}
    conf = rclone_conf(tmp_path / "rclone.conf", {"nc": {**remote, "vendor": "nextcloud"}})
    assert user.dav("MKCOL", "data")[0] == 201
    assert user.dav("PUT", "data/table.csv", b"old version\n")[0] == 201
    source = big_file(tmp_path / "src" / "table.csv", 2 * MB).parent
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:data", "--force")
    assert done.returncode == 5, done.stdout + done.stderr
    assert "rclone deletes the old copy" in done.stderr  # said before it happens
    assert "trash bin" in done.stderr.split("error:")[1]  # and said again in the hint
    status, body = user.server.http(
        "PROPFIND",
        f"{user.server.url}/remote.php/dav/trashbin/{user.name}/trash/",
        None,
        {"Depth": "1"},
        auth=(user.name, user.password),
    )
    assert status == 207 and b"table.csv" in body  # where the warning says it is
