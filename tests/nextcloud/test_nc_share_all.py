"""`rcwiz share --list REMOTE:` against the real Nextcloud 30: every share of the account (in
any folder), the risky links flagged with their fixes, --unshare and --update by id alone."""

from __future__ import annotations

import pytest
from helpers import json_result, rcwiz


@pytest.fixture
def nested(nc_user, nc_user_factory):
    """Three shares in nested folders: links on two folders, a user share on a subfolder."""
    for folder in ("proj", "proj/raw", "proj/raw/deep", "other"):
        assert nc_user.dav("MKCOL", folder)[0] == 201
    bob = nc_user_factory()
    api = "/ocs/v2.php/apps/files_sharing/api/v1/shares"
    made = [
        nc_user.ocs("POST", api, {"path": "/proj", "shareType": "3", "permissions": "15"}),
        nc_user.ocs("POST", api, {"path": "/other", "shareType": "3", "permissions": "1"}),
        nc_user.ocs(
            "POST", api, {"path": "/proj/raw/deep", "shareType": "0", "shareWith": bob.name}
        ),
    ]
    return {m["path"]: m["id"] for m in made}, bob


def listed(conf, target, *extra):
    done = rcwiz("--json", "--config", str(conf), "share", "--list", target, *extra)
    assert done.returncode == 0, done.stderr
    return json_result(done.stdout, "share")


def test_list_of_the_remote_alone_finds_every_share_in_any_folder(nc_remote, nested):
    ids, _ = nested
    everything = listed(nc_remote, "nc:")
    assert {s["path"]: s["id"] for s in everything["shares"]} == ids
    # A folder's list holds the shares of everything under it too.
    under = listed(nc_remote, "nc:proj")
    assert sorted(s["path"] for s in under["shares"]) == ["/proj", "/proj/raw/deep"]
    assert listed(nc_remote, "nc:proj/raw")["shares"][0]["path"] == "/proj/raw/deep"
    text = rcwiz("--config", str(nc_remote), "share", "--list", "nc:")
    assert text.returncode == 0 and "No shares" not in text.stdout
    for path in ids:
        assert path in text.stdout


def test_risky_links_are_flagged_each_with_the_command_that_fixes_it(nc_remote, nested):
    ids, _ = nested
    found = {(r["path"], r["risk"]): r["fix"] for r in listed(nc_remote, "nc:")["risks"]}
    proj, other = ids["/proj"], ids["/other"]
    assert found == {
        ("/proj", "no-password"): f"rcwiz share nc: --update {proj} --password-stdin",
        ("/proj", "no-expiry"): f"rcwiz share nc: --update {proj} --expire YYYY-MM-DD",
        ("/proj", "editable"): f"rcwiz share nc: --update {proj} --permissions read",
        ("/other", "no-password"): f"rcwiz share nc: --update {other} --password-stdin",
        ("/other", "no-expiry"): f"rcwiz share nc: --update {other} --expire YYYY-MM-DD",
    }  # the user share is no public link: nothing to flag
    aged = listed(nc_remote, "nc:", "--older-than", "0d")["risks"]
    assert {r["path"] for r in aged if r["risk"] == "old"} == {"/proj", "/other"}
    assert all(r["fix"].endswith(f"--unshare {ids[r['path']]}") for r in aged if r["risk"] == "old")
    # Each fix, run as printed, takes its finding away.
    base = ["--config", str(nc_remote), "share", "nc:", "--update", proj]
    assert rcwiz(*base, "--permissions", "read").returncode == 0
    assert rcwiz(*base, "--expire", "2099-01-31").returncode == 0
    done = rcwiz(*base, "--password-stdin", input="Link-Pass-7431-qx\n")
    assert done.returncode == 0, done.stderr
    assert "Link-Pass" not in done.stdout + done.stderr
    left = {(r["path"], r["risk"]) for r in listed(nc_remote, "nc:")["risks"]}
    assert left == {("/other", "no-password"), ("/other", "no-expiry")}


def test_unshare_by_id_needs_no_path_and_a_wrong_id_deletes_nothing(nc_remote, nested):
    ids, bob = nested
    deep = ids["/proj/raw/deep"]
    wrong = rcwiz("--config", str(nc_remote), "share", "nc:other", "--unshare", deep)
    assert wrong.returncode == 3 and "nothing was deleted" in wrong.stderr
    assert bob.dav("PROPFIND", "deep", headers={"Depth": "0"})[0] == 207  # still shared
    done = rcwiz("--config", str(nc_remote), "share", "nc:", "--unshare", deep)
    assert done.returncode == 0, done.stderr
    assert bob.dav("PROPFIND", "deep", headers={"Depth": "0"})[0] == 404
    assert {s["path"] for s in listed(nc_remote, "nc:")["shares"]} == {"/proj", "/other"}
    nothing = rcwiz("--config", str(nc_remote), "share", "nc:", "--update", ids["/other"])
    assert nothing.returncode == 2 and "changes nothing" in nothing.stderr


def test_shared_with_me_lists_what_others_share_with_the_account(
    nc_remote, nested, tmp_path, rclone_conf
):
    _, bob = nested
    assert listed(nc_remote, "nc:")["shares"] and "shared_with_me" not in listed(nc_remote, "nc:")
    bobs = rclone_conf(tmp_path / "bob.conf", {"nc": bob.remote()})
    got = listed(bobs, "nc:", "--shared-with-me")
    assert got["shares"] == []  # bob made none
    (incoming,) = got["shared_with_me"]
    assert incoming["kind"] == "user" and incoming["owner"] != bob.name
    text = rcwiz("--config", str(bobs), "share", "--list", "nc:", "--shared-with-me")
    assert "Shared with this account" in text.stdout and incoming["owner"] in text.stdout
