"""`rcwiz usage` against the real Nextcloud 30: the tree's sizes agree with `rclone size` and
the quota to the byte (in a few requests), every level adds up, the biggest and oldest files
are the right ones, and what the quota does not count (trash, upload sessions) is beside it."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from helpers import json_result, rcwiz

OLD = time.time() - 400 * 86400  # modified more than a year ago
LAYOUT = {  # path: (size, old?)
    "proj/raw/run1/a.dat": (40_000, False),
    "proj/raw/run1/b.dat": (30_000, True),
    "proj/raw/run2/c.dat": (25_000, False),
    "proj/raw/run3/d.dat": (1_000, False),
    "proj/raw/run4/e.dat": (2_000, True),
    "proj/raw/f.dat": (500, False),
    "proj/results/table.csv": (3_000, False),
    "proj/results/big.bin": (300_000, False),
    "archive/2019/old.tar": (90_000, True),
    "readme.txt": (123, True),
}


@pytest.fixture
def uploaded(nc_user, nc_remote, rclone_bin, tmp_path):
    source = tmp_path / "src"
    for rel, (size, old) in LAYOUT.items():
        path = source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        if old:
            os.utime(path, (OLD, OLD))
    subprocess.run(
        [str(rclone_bin), "--config", str(nc_remote), "copy", str(source), "nc:"],
        check=True,
        timeout=300,
    )
    return source


def rclone_size(rclone_bin, conf, remote):
    done = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "size", "--json", remote],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def adds_up(folder):
    """At every level read: the subfolders shown, the rest, and its own files make its size."""
    if not folder["listed"]:  # below --depth: its size only
        assert folder["children"] == [] and folder["own_bytes"] == 0
        return
    shown = sum(c["bytes"] for c in folder["children"]) + folder["more_bytes"]
    assert shown + folder["own_bytes"] == folder["bytes"], folder["path"]
    for child in folder["children"]:
        adds_up(child)


def under(prefix):
    return sum(size for rel, (size, _) in LAYOUT.items() if rel.startswith(prefix))


def test_usage_agrees_with_rclone_size_and_the_quota_to_the_byte(
    nc_user, nc_remote, uploaded, rclone_bin
):
    done = rcwiz("--json", "--config", str(nc_remote), "usage", "nc:", "--depth", "3")
    assert done.returncode == 0, done.stderr
    got = json_result(done.stdout, "usage")
    counted = rclone_size(rclone_bin, nc_remote, "nc:")
    total = sum(size for size, _ in LAYOUT.values())
    assert got["bytes"] == counted["bytes"] == nc_user.usage()["used"] == total
    assert got["quota"]["used"] == total
    # A level each: /, its 2 folders, their 3 (raw, results, 2019); then 2 SEARCH requests.
    assert got["requests"] == 1 + 2 + 3 + 2
    tree = got["tree"]
    adds_up(tree)
    assert [(c["path"], c["bytes"]) for c in tree["children"]] == [
        ("proj", under("proj/")),
        ("archive", under("archive/")),
    ]
    results, raw = tree["children"][0]["children"]
    assert (results["path"], results["bytes"]) == ("proj/results", under("proj/results/"))
    assert (raw["path"], raw["bytes"]) == ("proj/raw", under("proj/raw/"))
    assert raw["own_bytes"] == 500
    assert got["biggest"][0] == {
        "path": "proj/results/big.bin",
        "bytes": 300_000,
        "modified": pytest.approx(got["biggest"][0]["modified"]),
    }
    # --count: two folders per level, the rest summed, still adding up.
    two = json_result(
        rcwiz("--json", "--config", str(nc_remote), "usage", "nc:proj/raw", "--count", "2").stdout
    )
    assert [c["path"] for c in two["tree"]["children"]] == [
        "run1",
        "run2",
    ]  # relative to the folder sized
    assert (two["tree"]["more_folders"], two["tree"]["more_bytes"]) == (2, 3_000)
    adds_up(two["tree"])
    assert two["bytes"] == rclone_size(rclone_bin, nc_remote, "nc:proj/raw")["bytes"]


def test_larger_than_and_older_than_pick_the_files(nc_remote, uploaded):
    base = ["--json", "--config", str(nc_remote), "usage", "nc:", "--count", "20"]
    big = json_result(rcwiz(*base, "--larger-than", "29k").stdout)["biggest"]
    assert [f["path"] for f in big] == [
        "proj/results/big.bin",
        "archive/2019/old.tar",
        "proj/raw/run1/a.dat",
        "proj/raw/run1/b.dat",
    ]
    old = json_result(rcwiz(*base, "--older-than", "1y").stdout)["oldest"]
    assert sorted(f["path"] for f in old) == sorted(r for r, (_, o) in LAYOUT.items() if o)
    assert all(f["modified"] == pytest.approx(OLD, abs=1) for f in old)


def test_trash_and_upload_sessions_stand_beside_the_quota(nc_user, nc_remote, uploaded):
    assert nc_user.dav("DELETE", "archive")[0] == 204
    area = f"{nc_user.server.url}/remote.php/dav/uploads/{nc_user.name}/rclone-chunked-upload-x"
    auth = (nc_user.name, nc_user.password)
    assert nc_user.server.http("MKCOL", area, auth=auth)[0] == 201
    assert nc_user.server.http("PUT", f"{area}/1", b"y" * 4321, auth=auth)[0] == 201
    got = json_result(rcwiz("--json", "--config", str(nc_remote), "usage", "nc:").stdout)
    assert got["not_counted"] == {"trash": 90_000, "uploads": 4321, "versions": None}
    assert got["bytes"] == nc_user.usage()["used"] == under("") - 90_000
    text = rcwiz("--config", str(nc_remote), "usage", "nc:")  # not a terminal: plain lines
    assert text.returncode == 0 and "\x1b" not in text.stdout
    assert "proj/" in text.stdout and "rcwiz trash list nc:" in text.stdout
    assert f"({got['bytes']} bytes)" in text.stdout
