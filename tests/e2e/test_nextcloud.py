"""Nextcloud-only features against the stand-in that follows Nextcloud's documented formats."""

from __future__ import annotations

import os
import subprocess

import pytest
from helpers import json_lines, json_result, rcwiz, tree_size

from rcwiz.rclone.obscure import reveal


@pytest.fixture
def nc_conf(tmp_path, rclone_conf):
    """rclone.conf with a Nextcloud remote (vendor nextcloud) on a stand-in."""

    def make(server, name="nc", password=None):
        return rclone_conf(
            tmp_path / "rclone.conf",
            {
                name: {
                    "url": server.dav_url,
                    "user": server.login_name if hasattr(server, "login_name") else server.user,
                    "vendor": "nextcloud",
                    "password": password or server.password,
                }
            },
        )

    return make


def small_tree(folder, count, size=2000):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sub = folder / f"set-{i % 4}"
        sub.mkdir(exist_ok=True)
        (sub / f"sample-{i:04d}.txt").write_bytes(os.urandom(size + i))
    return folder


# ------------------------------------------------------------------------------- shares


def test_share_link_list_and_unshare(nextcloud, nc_conf):
    conf = nc_conf(nextcloud)
    (nextcloud.root / "results").mkdir()
    (nextcloud.root / "results" / "table.csv").write_text("a,b\n")
    done = rcwiz("--config", str(conf), "share", "nc:results/table.csv", "--link")
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith(f"{nextcloud.url}/index.php/s/")
    listed = json_result(
        rcwiz("--json", "--config", str(conf), "share", "--list", "nc:results/table.csv").stdout
    )["shares"]
    assert [s["url"] for s in listed] == [link]
    assert listed[0]["path"] == "/results/table.csv" and listed[0]["kind"] == "link"
    gone = rcwiz(
        "--config", str(conf), "share", "nc:results/table.csv", "--unshare", listed[0]["id"]
    )
    assert gone.returncode == 0, gone.stderr
    assert nextcloud.shares == {}


def test_share_with_a_user_and_a_password_protected_expiring_link(nextcloud, nc_conf):
    conf = nc_conf(nextcloud)
    (nextcloud.root / "data").mkdir()
    user = rcwiz(
        "--json",
        "--config",
        str(conf),
        "share",
        "nc:data",
        "--user",
        "bob",
        "--permissions",
        "edit",
    )
    assert user.returncode == 0, user.stderr
    shared = json_result(user.stdout, "share")["share"]
    assert shared["kind"] == "user" and shared["share_with"] == "bob"
    link = rcwiz(
        "--json",
        "--config",
        str(conf),
        "share",
        "nc:data",
        "--link",
        "--expire",
        "2099-01-31",
        "--password-stdin",
        input="link-secret!\n",
    )
    assert link.returncode == 0, link.stderr
    assert json_result(link.stdout)["share"]["expiration"].startswith("2099-01-31")
    assert "link-secret!" not in link.stdout + link.stderr


def test_share_errors_are_sentences(nextcloud, nc_conf, tmp_path, rclone_conf):
    conf = nc_conf(nextcloud)
    missing = rcwiz("--config", str(conf), "share", "nc:no/such/file", "--link")
    assert missing.returncode == 3 and "Wrong path" in missing.stderr
    nextcloud.sharing_enabled = False
    (nextcloud.root / "x.txt").write_text("x")
    forbidden = rcwiz("--config", str(conf), "share", "nc:x.txt", "--link")
    assert forbidden.returncode == 1 and "Sharing is disabled" in forbidden.stderr
    bad = nc_conf(nextcloud, password="not-the-password!")
    refused = rcwiz("--config", str(bad), "share", "nc:x.txt", "--link")
    assert refused.returncode == 4 and "refused the user name or password" in refused.stderr
    for done in (missing, forbidden, refused):
        assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------- login flow


def test_setup_by_login_flow_then_remove_and_revoke(nextcloud_factory, tmp_path, rclone_bin):
    server = nextcloud_factory(auto_grant=True, login_name="alice@example.org")
    conf = tmp_path / "rclone.conf"
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        server.url,
        "--login-flow",
        "--name",
        "nc",
        "--yes",
    )
    assert done.returncode == 0, done.stderr
    assert f"{server.url}/index.php/login/v2/flow" in done.stdout  # the link to open
    text = conf.read_text()
    assert f"url = {server.url}/remote.php/dav/files/{server.user}/\n" in text  # the user id
    assert "user = alice@example.org\n" in text
    stored = next(
        line.split(" = ", 1)[1] for line in text.splitlines() if line.startswith("pass = ")
    )
    (app_password,) = server.app_passwords
    assert reveal(stored) == app_password
    listed = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "lsd", "nc:"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    removed = rcwiz("--config", str(conf), "remotes", "rm", "nc", "--revoke")
    assert removed.returncode == 0, removed.stderr
    assert "[nc]" not in conf.read_text()
    assert server.app_passwords == set()  # revoked on the server


def test_login_flow_times_out_with_a_sentence(nextcloud, tmp_path):
    conf = tmp_path / "rclone.conf"
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        nextcloud.url,
        "--login-flow",
        "--name",
        "nc",
        "--yes",
        "--login-timeout",
        "1",
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "login flow ended" in done.stderr
    assert not conf.exists()


# ------------------------------------------------------------------------------- bulk upload


def test_small_files_go_by_bulk_upload_in_batches(nextcloud, nc_conf, tmp_path):
    conf = nc_conf(nextcloud)
    source = small_tree(tmp_path / "src", 230)
    big = source / "big.bin"
    big.write_bytes(os.urandom(3 * 2**20))  # above the bulk threshold: rclone sends it
    files, size = tree_size(source)
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:project")
    assert done.returncode == 0, done.stderr
    summary = json_lines(done.stdout)[-1]
    assert (summary["files"], summary["bytes"], summary["errors"]) == (files, size, 0)
    assert nextcloud.bulk_requests == 3  # 230 small files: 100 + 100 + 30
    assert tree_size(nextcloud.root / "project") == (files, size)
    for path in source.rglob("*"):
        if path.is_file():
            stored = nextcloud.root / "project" / path.relative_to(source)
            assert stored.read_bytes() == path.read_bytes()
    again = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:project")
    assert again.returncode == 0, again.stderr
    assert nextcloud.bulk_requests == 3  # nothing new: no bulk request, nothing sent
    assert json_lines(again.stdout)[-1]["files"] == 0


def test_a_file_the_bulk_request_refuses_is_sent_by_rclone(nextcloud, nc_conf, tmp_path):
    conf = nc_conf(nextcloud)
    source = small_tree(tmp_path / "src", 12)
    nextcloud.fail_paths.add("/project/set-1/sample-0001.txt")
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:project")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[-1]["errors"] == 0
    assert tree_size(nextcloud.root / "project") == tree_size(source)


def test_without_the_capability_rclone_does_everything(nextcloud_factory, nc_conf, tmp_path):
    server = nextcloud_factory(bulkupload=False)
    conf = nc_conf(server)
    source = small_tree(tmp_path / "src", 20)
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:project")
    assert done.returncode == 0, done.stderr
    assert server.bulk_requests == 0
    assert tree_size(server.root / "project") == tree_size(source)


def test_preflight_lists_files_the_server_will_refuse(nextcloud, nc_conf, tmp_path):
    conf = nc_conf(nextcloud)
    source = small_tree(tmp_path / "src", 3)
    (source / "download.part").write_text("half")
    done = rcwiz("--config", str(conf), "copy", str(source), "nc:project")
    assert "will refuse 1 file" in done.stderr and "download.part" in done.stderr


def test_a_job_with_a_share_block_hands_the_link_to_its_after_hook(nextcloud, nc_conf, tmp_path):
    conf = nc_conf(nextcloud)
    source = small_tree(tmp_path / "src", 5)
    marker = tmp_path / "link.txt"
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n  publish:\n"
        f"    source: {source}\n    dest: nc:published\n"
        f"    after: 'echo \"$RCWIZ_SHARE_URL\" > {marker}'\n"
        "    share:\n      expire_days: 7\n"
    )
    done = rcwiz("--config", str(conf), "--jobs", str(jobs), "job", "run", "publish")
    assert done.returncode == 0, done.stderr
    link = marker.read_text().strip()
    assert link.startswith(f"{nextcloud.url}/index.php/s/")
    (share,) = nextcloud.shares.values()
    assert share["path"] == "/published" and share["expiration"]
