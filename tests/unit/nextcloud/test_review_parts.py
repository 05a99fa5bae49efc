"""The review's pure parts: PROPFIND answers captured from the real Nextcloud 30 (the trash
bin, a folder level; tests/data/nextcloud/), the share findings, the size and age arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from rcwiz.commands import days, size
from rcwiz.nextcloud import dav, shares

DATA = Path(__file__).parents[2] / "data" / "nextcloud"


def test_a_trash_listing_gives_each_item_with_where_when_and_size():
    entries = dav.parse((DATA / "trash-propfind.xml").read_bytes())
    top, item = entries
    assert top.folder and top.props.get(f"{dav.NC}trashbin-filename") is None
    assert item.name == "scratch.d1796594121" and item.folder
    assert item.props[f"{dav.NC}trashbin-original-location"] == "scratch"
    assert item.number(f"{dav.NC}trashbin-deletion-time") == 1796594121
    assert item.number(f"{dav.OC}size") == 8_000_000


def test_a_level_gives_every_folders_recursive_size():
    me, *inside = dav.parse((DATA / "level-propfind.xml").read_bytes())
    assert me.number(f"{dav.OC}size") == 227002006
    folders = {e.name: e.number(f"{dav.OC}size") for e in inside if e.folder}
    files = {e.name: e.number(f"{dav.D}getcontentlength") for e in inside if not e.folder}
    assert files == {"README.txt": 6}
    assert sum(folders.values()) + sum(files.values()) == me.number(f"{dav.OC}size")
    assert me.number(f"{dav.D}getcontentlength") is None  # a folder's is not found (404)


def test_a_broken_answer_is_a_sentence_not_a_traceback():
    from rcwiz import errors

    with pytest.raises(errors.ServerError, match="not XML"):
        dav.parse(b"<html>oops")


def link(**changes):
    base = dict(id="7", kind="link", path="/p", permissions=1, created=1_000_000)
    return shares.Share(**{**base, **changes})


def test_risks_of_a_link_each_with_its_fix():
    found = shares.risks(link(permissions=15), "nc:", now=1_000_000 + 200 * 86400, old_days=180)
    assert [(f.risk, f.fix) for f in found] == [
        ("no-password", "rcwiz share nc: --update 7 --password-stdin"),
        ("no-expiry", "rcwiz share nc: --update 7 --expire YYYY-MM-DD"),
        ("editable", "rcwiz share nc: --update 7 --permissions read"),
        ("old", "rcwiz share nc: --unshare 7"),
    ]
    safe = link(password_protected=True, expiration="2027-01-01 00:00:00")
    assert shares.risks(safe, "nc:", now=1_000_000 + 10, old_days=180) == []
    assert shares.risks(link(kind="user"), "nc:", now=9e9, old_days=1) == []


def test_within_holds_the_folder_and_what_is_under_it_only():
    assert link(path="/a/b").within("/a") and link(path="/a").within("/a")
    assert not link(path="/ab").within("/a") and link(path="/x").within("/")


@pytest.mark.parametrize(
    ("text", "value"), [("90", 90.0), ("90d", 90.0), ("2w", 14.0), ("1y", 365.0), ("0d", 0.0)]
)
def test_days(text, value):
    assert days(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("500", 500), ("100k", 102400), ("10M", 10 * 2**20), ("1.5G", 3 * 2**29), ("2MiB", 2**21)],
)
def test_size(text, value):
    assert size(text) == value


@pytest.mark.parametrize("bad", ["-1d", "soon", "1x", "nan"])
def test_bad_ages_and_sizes_are_refused(bad):
    with pytest.raises(argparse.ArgumentTypeError):
        days(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        size(bad)
