"""The production-like Nextcloud itself (tests/prodnc.py): what the other tests rely on."""

from __future__ import annotations

import json

from conftest import rclone_check
from helpers import json_lines, rcwiz, small_tree


def test_it_runs_on_postgresql_with_redis_locking_and_apcu(prod_nextcloud, prod_user):
    config = json.loads(prod_nextcloud.occ("config:list", "system", "--private"))["system"]
    assert config["dbtype"] == "pgsql"
    assert config["memcache.locking"] == "\\OC\\Memcache\\Redis"
    assert config["memcache.local"] == "\\OC\\Memcache\\APCu"
    status, _ = prod_user.dav("PUT", "hello.txt", b"hello")
    assert status == 201
    # The file is in PostgreSQL's file cache, not in a SQLite file.
    rows = prod_nextcloud.services.sql("SELECT count(*) FROM oc_filecache WHERE name = 'hello.txt'")
    assert rows.strip() == "1"
    assert (prod_user.files / "hello.txt").read_bytes() == b"hello"


def test_rcwiz_copies_to_it(prod_nextcloud, prod_user, prod_remote, rclone_bin, tmp_path):
    source = small_tree(tmp_path / "src", 40)
    done = rcwiz("--json", "--config", str(prod_remote), "copy", str(source), "nc:first")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[-1]["files"] == 40
    checked = rclone_check(rclone_bin, prod_remote, source, "nc:first")
    assert checked.returncode == 0, checked.stderr
