"""A plain WebDAV remote's space asked in-process (rcwiz.quota.webdav) against `rclone about`,
on the same real servers: a server with a set quota, one without (rclone serve webdav), one
that answers no WebDAV at all; and what is left to rclone (settings only rclone follows)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.quota import webdav
from rcwiz.rclone.about import Usage, about
from rcwiz.rclone.config import begin_configured
from rcwiz.rclone.run import Rclone


def write_bytes(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)


def about_json(rclone_bin: Path, conf: Path, name: str) -> dict:
    done = subprocess.run(
        [str(rclone_bin), "--config", str(conf), "about", f"{name}:", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def in_process(rclone_bin: Path, conf: Path, name: str) -> Usage | None:
    rclone = Rclone(binary=rclone_bin, config=conf)
    settings = begin_configured(rclone).result().settings(name)
    assert webdav.askable(name, settings, {})
    return webdav.usage(name, settings, Clock(stall=10))


def figures(usage: Usage | None) -> dict:
    assert usage is not None
    return {
        k: v
        for k, v in (("total", usage.total), ("used", usage.used), ("free", usage.free))
        if v is not None
    }


@pytest.mark.parametrize("quota", [10_000_000, None])
def test_the_quota_server_says_what_rclone_about_says(
    quota, quota_server_factory, rclone_conf, rclone_bin, tmp_path
):
    root = tmp_path / "root"
    write_bytes(root / "one.bin", 1234)
    write_bytes(root / "sub" / "two.bin", 56_789)
    server = quota_server_factory(quota=quota, root=root)
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": server})
    ours = in_process(rclone_bin, conf, "q")
    assert figures(ours) == about_json(rclone_bin, conf, "q")
    assert ours is not None and ours.source == "webdav"


def test_rclone_serve_webdav_says_nothing_as_rclone_about_does(
    webdav_server, rclone_conf, rclone_bin, tmp_path
):
    conf = rclone_conf(tmp_path / "rclone.conf", {"dav": webdav_server})
    assert figures(in_process(rclone_bin, conf, "dav")) == about_json(rclone_bin, conf, "dav")


def test_a_url_path_below_the_root_is_asked_there(
    quota_server_factory, rclone_conf, rclone_bin, tmp_path
):
    root = tmp_path / "root"
    write_bytes(root / "deep er" / "x.bin", 10)
    server = quota_server_factory(quota=5000, root=root)
    spec = {
        "url": server.url.rstrip("/") + "/deep er",
        "user": server.user,
        "password": server.password,
    }
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": spec})
    assert figures(in_process(rclone_bin, conf, "q")) == about_json(rclone_bin, conf, "q")


def test_a_wrong_password_is_left_to_rclone(
    quota_server_factory, rclone_conf, rclone_bin, tmp_path
):
    """No multistatus: rcwiz does not guess; `rclone about` names the failure as always."""
    server = quota_server_factory(quota=5000)
    spec = {"url": server.url, "user": server.user, "password": "wrong-pw!"}
    conf = rclone_conf(tmp_path / "rclone.conf", {"q": spec})
    assert in_process(rclone_bin, conf, "q") is None
    with pytest.raises(errors.AuthenticationFailed):
        about(Rclone(binary=rclone_bin, config=conf), "q:")


def test_a_server_that_refuses_connections_is_left_to_rclone(
    rclone_conf, rclone_bin, tmp_path, dead_url
):
    spec = {"url": dead_url, "user": "u", "password": "p!"}
    conf = rclone_conf(tmp_path / "rclone.conf", {"dead": spec})
    assert in_process(rclone_bin, conf, "dead") is None


@pytest.mark.parametrize(
    ("extra", "environ"),
    [
        ({"bearer_token": "t"}, {}),
        ({"headers": "Cookie,a=b"}, {}),
        ({"vendor": "sharepoint"}, {}),
        ({}, {"RCLONE_WEBDAV_USER": "someone-else"}),
        ({}, {"RCLONE_CONFIG_Q_BEARER_TOKEN": "t"}),
        ({}, {"RCLONE_NO_CHECK_CERTIFICATE": "true"}),
        ({"url": "http://u:p@127.0.0.1:9/"}, {}),
        ({"type": "local"}, {}),
    ],
)
def test_settings_only_rclone_follows_are_left_to_it(extra, environ):
    settings = {"type": "webdav", "url": "http://127.0.0.1:9/", "user": "u", **extra}
    assert not webdav.askable("q", settings, environ)


def test_the_plain_case_is_asked_in_process():
    settings = {"type": "webdav", "url": "https://h/dav/", "user": "u", "vendor": "other"}
    assert webdav.askable("q", settings, {"RCLONE_CONFIG_Q_USER": "v", "HOME": "/x"})
