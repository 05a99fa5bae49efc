"""`rcwiz share` against the real Nextcloud 30: links, passwords, users, list, unshare."""

from __future__ import annotations

import urllib.parse
from datetime import date, timedelta

import pytest
from helpers import json_result, rcwiz


@pytest.fixture
def shared_file(nc_user):
    assert nc_user.dav("MKCOL", "results")[0] == 201
    assert nc_user.dav("PUT", "results/table.csv", b"a,b\n1,2\n")[0] == 201
    return "nc:results/table.csv"


def token_of(link: str) -> str:
    return urllib.parse.urlsplit(link).path.rsplit("/", 1)[1]


def test_share_link_downloads_the_file_and_unshare_ends_it(real_nextcloud, nc_remote, shared_file):
    done = rcwiz("--config", str(nc_remote), "share", shared_file, "--link")
    assert done.returncode == 0, done.stderr
    link = done.stdout.strip()
    assert link.startswith(f"{real_nextcloud.url}/index.php/s/")
    public = f"{real_nextcloud.url}/public.php/dav/files/{token_of(link)}"
    assert real_nextcloud.http("GET", public, auth=None) == (200, b"a,b\n1,2\n")
    listed = rcwiz("--json", "--config", str(nc_remote), "share", "--list", shared_file)
    assert listed.returncode == 0, listed.stderr
    (share,) = json_result(listed.stdout, "share")["shares"]
    assert (share["kind"], share["url"], share["path"]) == ("link", link, "/results/table.csv")
    gone = rcwiz("--config", str(nc_remote), "share", shared_file, "--unshare", share["id"])
    assert gone.returncode == 0, gone.stderr
    assert real_nextcloud.http("GET", public, auth=None)[0] >= 400  # Nextcloud 30: 503
    assert real_nextcloud.http("GET", link, auth=None)[0] == 404
    listed = rcwiz("--json", "--config", str(nc_remote), "share", "--list", shared_file)
    assert json_result(listed.stdout)["shares"] == []


def test_unshare_with_the_id_of_another_paths_share_deletes_nothing(
    real_nextcloud, nc_user, nc_remote, shared_file
):
    nc_user.dav("MKCOL", "other")
    theirs = rcwiz("--config", str(nc_remote), "share", "nc:other", "--link")
    assert theirs.returncode == 0, theirs.stderr
    listed = rcwiz("--json", "--config", str(nc_remote), "share", "--list", "nc:other")
    (share,) = json_result(listed.stdout, "share")["shares"]
    wrong = rcwiz("--config", str(nc_remote), "share", shared_file, "--unshare", share["id"])
    assert wrong.returncode == 3, wrong.stdout + wrong.stderr
    assert "nothing was deleted" in wrong.stderr and "--list" in wrong.stderr
    nc_user.dav("MKCOL", "run #2")  # the hint's command pasted into a shell as it is
    spaced = rcwiz("--config", str(nc_remote), "share", "nc:run #2", "--unshare", share["id"])
    assert "rcwiz share 'nc:run #2' --list" in spaced.stderr, spaced.stderr
    public = f"{real_nextcloud.url}/public.php/dav/files/{token_of(theirs.stdout.strip())}/"
    assert real_nextcloud.http("PROPFIND", public, auth=None)[0] == 207  # still shared


def test_share_link_with_a_password_needs_it_and_never_shows_it_or_its_hash(
    real_nextcloud, nc_remote, shared_file
):
    secret = "Link-Pass-7431-qx"
    done = rcwiz(
        "--json",
        "--config",
        str(nc_remote),
        "share",
        shared_file,
        "--link",
        "--password-stdin",
        "--expire",
        "2099-01-31",
        input=secret + "\n",
    )
    assert done.returncode == 0, done.stderr
    made = json_result(done.stdout, "share")["share"]
    assert made["expiration"].startswith("2099-01-31") and made["password_protected"] is True
    public = f"{real_nextcloud.url}/public.php/dav/files/{token_of(made['url'])}"
    assert real_nextcloud.http("GET", public, auth=None)[0] == 401
    assert real_nextcloud.http("GET", public, auth=("anonymous", secret))[0] == 200
    listed = rcwiz("--json", "--config", str(nc_remote), "share", "--list", shared_file)
    table = rcwiz("--config", str(nc_remote), "share", "--list", shared_file)
    for out in (done, listed, table):
        text = out.stdout + out.stderr
        assert secret not in text and "$argon2" not in text and "$2y$" not in text
    (share,) = json_result(listed.stdout)["shares"]
    assert share["password_protected"] is True and share["share_with"] is None
    assert "password" in table.stdout and "yes" in table.stdout  # the table says so too


def test_share_with_a_user_gives_them_the_folder(nc_user_factory, nc_user, nc_remote, shared_file):
    bob = nc_user_factory()
    done = rcwiz(
        "--json",
        "--config",
        str(nc_remote),
        "share",
        "nc:results",
        "--user",
        bob.name,
        "--permissions",
        "edit",
    )
    assert done.returncode == 0, done.stderr
    made = json_result(done.stdout, "share")["share"]
    assert (made["kind"], made["share_with"]) == ("user", bob.name)
    status, body = bob.dav("GET", "results/table.csv")
    assert (status, body) == (200, b"a,b\n1,2\n")


def test_share_errors_are_sentences(nc_user, nc_remote, tmp_path, rclone_conf):
    missing = rcwiz("--config", str(nc_remote), "share", "nc:no/such/file", "--link")
    assert missing.returncode == 3 and "Traceback" not in missing.stderr
    assert "hint:" in missing.stderr
    nobody = rcwiz("--config", str(nc_remote), "share", "nc:", "--user", "no-such-user-x")
    assert nobody.returncode != 0 and "Traceback" not in nobody.stderr
    assert "hint:" in nobody.stderr  # every error gets its hint line
    weak = rcwiz("--config", str(nc_remote), "share", "nc:", "--password-stdin", input="abc\n")
    assert weak.returncode != 0 and "hint:" in weak.stderr
    assert ".." not in weak.stderr  # the server's message ends with its own full stop
    bad = rclone_conf(
        tmp_path / "bad.conf",
        {"nc": nc_user.remote(password="wrong!")},
    )
    refused = rcwiz("--config", str(bad), "share", "nc:", "--link")
    assert refused.returncode == 4 and "refused the user name or password" in refused.stderr
    # Nextcloud's API knows the server, not the remote: the command line names it.
    assert "rcwiz setup --replace --name nc'" in " ".join(refused.stderr.split())


def test_share_refused_by_the_servers_policy_is_one_sentence(
    real_nextcloud, nc_remote, shared_file
):
    real_nextcloud.occ("config:app:set", "core", "shareapi_enabled", "--value=no")
    try:
        done = rcwiz("--config", str(nc_remote), "share", shared_file, "--link")
    finally:
        real_nextcloud.occ("config:app:set", "core", "shareapi_enabled", "--value=yes")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "<" not in error and len(error) < 200


def test_share_block_of_a_job_hands_the_link_to_its_after_hook(real_nextcloud, nc_remote, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "paper.pdf").write_bytes(b"%PDF-1.4 test\n")
    marker = tmp_path / "link.txt"
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(
        "jobs:\n  publish:\n"
        f"    source: {source}\n    dest: nc:published\n"
        f"    after: 'echo \"$RCWIZ_SHARE_URL\" > {marker}'\n"
        "    share:\n      expire_days: 7\n"
    )
    done = rcwiz("--config", str(nc_remote), "--jobs", str(jobs), "job", "run", "publish")
    assert done.returncode == 0, done.stderr
    link = marker.read_text().strip()
    assert link.startswith(f"{real_nextcloud.url}/index.php/s/")
    zipped = real_nextcloud.http("GET", f"{link}/download", auth=None)
    assert zipped[0] == 200 and b"paper.pdf" in zipped[1]  # the folder, as a zip


def test_a_job_keeps_one_share_link_run_after_run(real_nextcloud, nc_remote, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "paper.pdf").write_bytes(b"%PDF-1.4 test\n")
    marker = tmp_path / "links.txt"
    jobs = tmp_path / "jobs.yaml"
    profile = (
        "jobs:\n  publish:\n"
        f"    source: {source}\n    dest: nc:published\n"
        f"    after: 'echo \"$RCWIZ_SHARE_URL\" >> {marker}'\n"
        "    share:\n      expire_days: {days}\n"
    )
    jobs.write_text(profile.replace("{days}", "7"))
    base = ["--config", str(nc_remote), "--jobs", str(jobs)]
    for _ in range(2):
        done = rcwiz(*base, "job", "run", "publish")
        assert done.returncode == 0, done.stderr
    first, second = marker.read_text().split()
    assert first == second and "(the same link as after earlier runs" in done.stdout
    # A link made by hand stays as it was: the job never takes or changes it.
    hand = json_result(rcwiz(*base, "--json", "share", "nc:published", "--link").stdout)["share"]
    jobs.write_text(profile.replace("{days}", "30"))
    done = rcwiz(*base, "job", "run", "publish")
    assert done.returncode == 0, done.stderr
    listed = rcwiz(*base, "--json", "share", "--list", "nc:published")
    links = {s["url"]: s for s in json_result(listed.stdout)["shares"] if s["kind"] == "link"}
    assert set(links) == {first, hand["url"]}  # one link for the job, after three runs
    assert links[first]["label"] == "rcwiz job publish"
    expected = (date.today() + timedelta(days=30)).isoformat()
    assert links[first]["expiration"].startswith(expected)  # 30 days after the latest run
    assert links[hand["url"]]["expiration"] == hand["expiration"]
    assert marker.read_text().split()[-1] == first
    assert real_nextcloud.http("GET", f"{first}/download", auth=None)[0] == 200
