"""What only the Nextcloud stand-in can show: a server that refuses one part of a bulk upload.

Every other Nextcloud behaviour is tested on the real Nextcloud 30 (tests/nextcloud/). The real
server refuses a part of a bulk request (with HTTP 200 and `"error": true` for that file) only
in cases rcwiz avoids before sending (a missing folder, a forbidden name), so the stand-in's
`fail_paths` stands in for the rest: a quota or storage failure of one file among many.
"""

from __future__ import annotations

import pytest
from helpers import json_lines, rcwiz, small_tree, tree_size


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


def test_a_file_the_bulk_request_refuses_is_sent_by_rclone(nextcloud, nc_conf, tmp_path):
    conf = nc_conf(nextcloud)
    source = small_tree(tmp_path / "src", 12)
    nextcloud.fail_paths.add("/project/set-1/sample-0001.txt")
    done = rcwiz("--json", "--config", str(conf), "copy", str(source), "nc:project")
    assert done.returncode == 0, done.stderr
    assert json_lines(done.stdout)[-1]["errors"] == 0
    assert tree_size(nextcloud.root / "project") == tree_size(source)
