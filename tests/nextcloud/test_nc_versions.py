"""`rcwiz versions` against the real Nextcloud 30: a file overwritten twice, its versions
listed with time and size, an old one restored (and the way back from that)."""

from __future__ import annotations

from helpers import json_result, rcwiz

CONTENTS = [b"first,1\n", b"second,22\n", b"third,333\n"]
TIMES = [1_700_000_000, 1_700_000_600, 1_700_001_200]


def test_versions_are_listed_and_an_old_one_restored(nc_user, nc_remote):
    assert nc_user.dav("MKCOL", "results")[0] == 201
    for body, mtime in zip(CONTENTS, TIMES, strict=True):
        status, _ = nc_user.dav("PUT", "results/table.csv", body, {"X-OC-Mtime": str(mtime)})
        assert status in (201, 204)
    base = ["--config", str(nc_remote), "versions", "nc:results/table.csv"]
    listed = json_result(rcwiz("--json", *base).stdout, "versions")["versions"]
    assert [(v["time"], v["bytes"], v["current"]) for v in listed] == [
        (TIMES[2], len(CONTENTS[2]), True),
        (TIMES[1], len(CONTENTS[1]), False),
        (TIMES[0], len(CONTENTS[0]), False),
    ]
    text = rcwiz(*base)
    assert str(TIMES[0]) in text.stdout and "--restore VERSION" in text.stdout
    done = rcwiz(*base, "--restore", listed[2]["id"])
    assert done.returncode == 0, done.stderr
    assert nc_user.dav("GET", "results/table.csv") == (200, CONTENTS[0])
    # What the restore replaced is a version now: the way back.
    after = json_result(rcwiz("--json", *base).stdout)["versions"]
    assert len(CONTENTS[2]) in [v["bytes"] for v in after if not v["current"]]
    wrong = rcwiz(*base, "--restore", "12345")
    assert wrong.returncode == 3 and "nothing was changed" in wrong.stderr
    assert nc_user.dav("GET", "results/table.csv") == (200, CONTENTS[0])
    folder = rcwiz("--config", str(nc_remote), "versions", "nc:results")
    assert folder.returncode == 2 and "folder" in folder.stderr


def test_the_commands_it_suggests_can_be_pasted_into_a_shell(nc_user, nc_remote):
    """Found in a walk: `Restore one with: rcwiz versions nextcloud:raw/run 00/sensor#0/...`
    pasted into a shell split at the space and dropped everything after the '#'."""
    assert nc_user.dav("MKCOL", "run 00")[0] == 201
    for body, mtime in zip(CONTENTS[:2], TIMES[:2], strict=True):
        headers = {"X-OC-Mtime": str(mtime)}
        assert nc_user.dav("PUT", "run 00/a #1.csv", body, headers)[0] in (201, 204)
    base = ["--config", str(nc_remote), "versions", "nc:run 00/a #1.csv"]
    text = rcwiz(*base)
    assert "rcwiz versions 'nc:run 00/a #1.csv' --restore VERSION" in text.stdout, text.stdout
    wrong = rcwiz(*base, "--restore", "12345")
    assert "rcwiz versions 'nc:run 00/a #1.csv'" in wrong.stderr, wrong.stderr
