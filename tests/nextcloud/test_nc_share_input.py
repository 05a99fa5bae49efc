"""`rcwiz share` input a new user gets wrong, against the real Nextcloud 30 (issue 25.3): dates
checked before the server is asked, an unknown user or group named as such, a new link's terms,
and `share --list` on an 80-column terminal (the link whole, on one line)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from helpers import json_result, rcwiz


@pytest.fixture
def folder(nc_user):
    assert nc_user.dav("MKCOL", "results")[0] == 201
    return "nc:results"


@pytest.mark.parametrize(
    ("expire", "said"),
    [
        ("2020-01-01", "is not after today"),
        (date.today().isoformat(), "is not after today"),  # Nextcloud: "in the past" too
        ("2027-13-01", "is not a date"),
        ("31.01.2027", "is not a date"),
    ],
)
def test_a_bad_date_is_a_usage_error_before_the_server_is_asked(
    real_nextcloud, nc_remote, folder, expire, said
):
    done = rcwiz("--config", str(nc_remote), "share", folder, "--link", "--expire", expire)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "path" not in done.stderr
    listed = rcwiz("--json", "--config", str(nc_remote), "share", "--list", folder)
    assert json_result(listed.stdout)["shares"] == []


@pytest.mark.parametrize("kind", ["user", "group"])
def test_an_unknown_user_or_group_gets_its_own_sentence(real_nextcloud, nc_remote, folder, kind):
    done = rcwiz("--config", str(nc_remote), "share", folder, f"--{kind}", "bbo-nobody")
    assert done.returncode == 2, done.stderr
    assert f"There is no {kind} 'bbo-nobody'" in done.stderr
    assert "Not found" not in done.stderr and "path" not in done.stderr


def test_a_missing_path_is_still_not_found(real_nextcloud, nc_remote, nc_user_factory):
    bob = nc_user_factory()
    done = rcwiz("--config", str(nc_remote), "share", "nc:no-such-folder", "--user", bob.name)
    assert done.returncode == 3, done.stderr
    assert "does not exist" in done.stderr


def test_a_new_link_says_when_it_ends_and_whether_it_has_a_password(
    real_nextcloud, nc_remote, folder
):
    day = (date.today() + timedelta(days=30)).isoformat()
    done = rcwiz("--config", str(nc_remote), "share", folder, "--link", "--expire", day)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(real_nextcloud.url)  # the link alone on stdout
    assert f"Expires on {day}; has no password" in done.stderr
    protected = rcwiz(
        "--config",
        str(nc_remote),
        "share",
        folder,
        "--link",
        "--password-stdin",
        input="Link-Pass-88zq\n",
    )
    assert protected.returncode == 0, protected.stderr
    assert "Does not expire; needs the password you gave" in protected.stderr


def test_share_list_on_80_columns_keeps_each_link_on_one_line(real_nextcloud, nc_remote, folder):
    links = []
    for _ in range(2):
        made = rcwiz("--config", str(nc_remote), "share", folder, "--link")
        assert made.returncode == 0, made.stderr
        links.append(made.stdout.strip())
    shown = rcwiz("--config", str(nc_remote), "share", "--list", folder, env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert all(any(link in line for line in lines) for link in links), shown.stdout
