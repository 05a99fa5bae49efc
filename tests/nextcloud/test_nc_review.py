"""`rcwiz review` against the real Nextcloud 30: one screen, every topic found, each line
with its next command, and quota --check's exit codes (0 ok, 1 warning, 2 critical, 3
unknown) for cron."""

from __future__ import annotations

import os

from helpers import json_result, rcwiz

API = "/ocs/v2.php/apps/files_sharing/api/v1/shares"


def review(conf, *extra):
    return rcwiz("--config", str(conf), "review", "nc:", *extra)


def test_review_finds_each_topic_and_names_the_next_command(nc_user, nc_remote):
    for folder in ("proj", "proj/raw", "archive", "tmp"):
        assert nc_user.dav("MKCOL", folder)[0] == 201
    for path, size in (("proj/raw/a.bin", 50_000), ("archive/b.bin", 20_000), ("tmp/c", 5_000)):
        assert nc_user.dav("PUT", path, os.urandom(size))[0] == 201
    clean = review(nc_remote)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("REVIEW OK - nc:")
    assert "proj/ 48.8 KiB, archive/ 19.5 KiB, tmp/ 4.9 KiB" in clean.stdout
    assert "Trash: empty." in clean.stdout and "Upload sessions left behind: none." in clean.stdout
    # A deleted folder, a leftover session, a link without password: each found.
    assert nc_user.dav("DELETE", "tmp")[0] == 204
    area = f"{nc_user.server.url}/remote.php/dav/uploads/{nc_user.name}/rclone-chunked-upload-z"
    auth = (nc_user.name, nc_user.password)
    assert nc_user.server.http("MKCOL", area, auth=auth)[0] == 201
    assert nc_user.server.http("PUT", f"{area}/1", b"z" * 7000, auth=auth)[0] == 201
    nc_user.ocs("POST", API, {"path": "/proj/raw", "shareType": "3"})
    done = review(nc_remote)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("REVIEW WARNING - nc: public links to check")
    for expected in (
        "Trash: 1 item(s), 4.9 KiB",
        "→ rcwiz trash list nc:",
        "Upload sessions left behind: 1, 6.8 KiB",
        "→ rcwiz uploads list nc:",
        "1 public link(s) to check",
        "→ rcwiz share --list nc:",
        "→ rcwiz usage nc: --depth 3",
    ):
        assert expected in done.stdout, expected
    got = json_result(rcwiz("--json", "--config", str(nc_remote), "review", "nc:").stdout, "review")
    assert got["exit_code"] == 1 and got["state"] == "warning"
    assert got["usage"]["bytes"] == nc_user.usage()["used"] == 70_000
    assert got["trash"] == {"items": 1, "bytes": 5_000}
    assert got["uploads"] == {"sessions": 1, "bytes": 7000, "kept_for_resume": 0}
    assert {r["risk"] for r in got["risks"]} == {"no-password", "no-expiry"}


def test_review_exits_like_quota_check(nc_user_factory, tmp_path, rclone_conf, dead_url):
    user = nc_user_factory(quota="1 MB")  # 1 MiB to Nextcloud
    conf = rclone_conf(tmp_path / "rclone.conf", {"nc": user.remote()})
    assert user.dav("PUT", "big.bin", os.urandom(900_000))[0] == 201  # 85.8 %
    assert review(conf).returncode == 1
    assert review(conf, "--warn", "90").returncode == 0
    assert user.dav("PUT", "more.bin", os.urandom(110_000))[0] == 201  # 96.3 %
    critical = review(conf)
    assert critical.returncode == 2 and critical.stdout.startswith("REVIEW CRITICAL")
    dead = rclone_conf(
        tmp_path / "dead.conf",
        {"nc": user.remote(url=f"{dead_url}/remote.php/dav/files/{user.name}/")},
    )
    unknown = review(dead)
    assert unknown.returncode == 3 and unknown.stdout.startswith("REVIEW UNKNOWN - nc:")
    assert "Traceback" not in unknown.stderr
