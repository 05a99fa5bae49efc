"""The one door to rclone names each failure from rclone's real JSON log."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from helpers import rclone_children

from rcwiz import errors
from rcwiz.rclone.run import Rclone


@pytest.fixture
def conf(tmp_path, rclone_conf, webdav_server, dead_url):
    return rclone_conf(
        tmp_path / "rclone.conf",
        {
            "good": webdav_server,
            "badpw": {"url": webdav_server.url, "user": webdav_server.user, "password": "wrong!"},
            "dead": {"url": dead_url, "user": "u", "password": "pw!"},
        },
    )


@pytest.fixture
def rclone(conf: Path) -> Rclone:
    return Rclone.locate(config=conf)


def test_located_rclone_is_the_pinned_one(rclone):
    assert rclone.version is not None and rclone.version[:2] == (1, 75)


def test_success_returns_stdout(rclone, webdav_server):
    (webdav_server.root / "folder").mkdir()
    assert "folder" in rclone.run(["lsf", "good:"]).stdout


@pytest.mark.parametrize(
    ("args", "error", "exit_code"),
    [
        (["lsd", "nosuch:"], errors.RemoteNotFound, 3),
        (["lsd", "good:no/such/dir"], errors.DirectoryNotFound, 3),
        (["lsd", "badpw:"], errors.AuthenticationFailed, 4),
        (["about", "badpw:", "--json"], errors.AuthenticationFailed, 4),
        (["lsd", "dead:"], errors.ServerUnreachable, 6),
        (["about", "dead:", "--json"], errors.ServerUnreachable, 6),
        (["lsd", "good:", "--no-such-flag"], errors.UsageError, 2),
    ],
)
def test_failures_are_named(rclone, args, error, exit_code):
    with pytest.raises(error) as info:
        rclone.run([*args, "--low-level-retries", "1"], target=args[1])
    assert info.value.exit_code == exit_code
    assert info.value.message.endswith(".") or ":" in info.value.message
    assert "Traceback" not in info.value.message


def test_unknown_remote_message_names_it(rclone):
    with pytest.raises(errors.RemoteNotFound, match="'nosuch:'"):
        rclone.run(["lsd", "nosuch:"])


def test_quota_exceeded_is_named(tmp_path, rclone_conf, quota_server_factory):
    server = quota_server_factory(quota=100_000)
    conf = rclone_conf(tmp_path / "q.conf", {"q": server})
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 200_000)
    with pytest.raises(errors.QuotaExceeded) as info:
        Rclone.locate(config=conf).run(
            ["copy", str(big), "q:up", "--retries", "1", "--low-level-retries", "1"]
        )
    assert info.value.exit_code == 5
    assert not (server.root / "up" / "big.bin").exists()


def test_encrypted_config_without_password_fails_fast(
    tmp_path, rclone_conf, webdav_server, rclone_bin
):
    conf = rclone_conf(tmp_path / "enc.conf", {"good": webdav_server})
    Rclone.locate(config=conf).run(
        ["config", "encryption", "set", "--password-command", "printf %s config-secret"]
    )
    assert "RCLONE_ENCRYPT_V0" in conf.read_text()
    with pytest.raises(errors.ConfigError, match="encrypted") as info:
        Rclone.locate(config=conf).run(["listremotes"], timeout=20)
    assert info.value.exit_code == 8
    locked = Rclone.locate(config=conf)
    locked.env["RCLONE_CONFIG_PASS"] = "wrong"
    with pytest.raises(errors.ConfigError, match="does not unlock"):
        locked.run(["listremotes"], timeout=20)
    locked.env["RCLONE_CONFIG_PASS"] = "config-secret"
    assert locked.run(["listremotes"]).stdout.strip() == "good:"


def test_debug_log_masks_secrets(rclone, caplog):
    caplog.set_level(logging.DEBUG, logger="rcwiz")
    secret = "hunter2-very-secret!"
    rclone.run(["obscure", "-"], input=secret, secret_env={"RCLONE_WEBDAV_PASS": "obscured-x"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "obscure -" in text
    assert "RCLONE_WEBDAV_PASS" in text
    assert secret not in text and "obscured-x" not in text


def test_stdin_secret_reaches_rclone(rclone):
    obscured = rclone.run(["obscure", "-"], input="s3cret!").stdout.strip()
    # "--": an obscured value can start with "-" (its IV is random) and read as a flag.
    revealed = rclone.run(["reveal", "--", obscured], secrets=[obscured]).stdout.strip()
    assert revealed == "s3cret!"


# ---------------------------------------------------------------------------------------------
# begin(): runs that go on while rcwiz does other work (the pre-flight starts two at once).


def _ours(before: set[int]) -> list[int]:
    """rclone processes of this test (the server fixtures are rclone processes too)."""
    return [p.pid for p in rclone_children(os.getpid()) if p.pid not in before]


def test_runs_begun_together_both_finish(rclone, webdav_server):
    before = {p.pid for p in rclone_children(os.getpid())}
    (webdav_server.root / "data.bin").write_bytes(b"x" * 1234)
    listing = rclone.begin(["lsjson", "good:"])
    dump = rclone.begin(["config", "dump"])
    assert len(_ours(before)) >= 1  # started, not yet read
    assert '"Size":1234' in listing.result().stdout
    assert "good" in json.loads(dump.result().stdout)
    assert _ours(before) == []


def test_a_failed_run_raises_its_named_error_each_time_it_is_read(rclone):
    pending = rclone.begin(["lsd", "nosuch:"], target="nosuch:")
    for _ in range(2):
        with pytest.raises(errors.RemoteNotFound):
            pending.result()


def test_then_converts_the_result(rclone):
    names = rclone.begin(["config", "dump"]).then(lambda r: sorted(json.loads(r.stdout)))
    assert names.result() == ["badpw", "dead", "good"]


def test_closing_an_unread_run_stops_rclone(rclone, tmp_path):
    before = {p.pid for p in rclone_children(os.getpid())}
    # A server runs until stopped: closing the Pending must not leave it behind.
    with rclone.begin(["serve", "webdav", str(tmp_path), "--addr", "127.0.0.1:0"]) as pending:
        assert len(_ours(before)) == 1
    assert _ours(before) == []
    with pytest.raises(errors.RcwizError):  # stopped by a signal: a failure, not a result
        pending.result()


@pytest.mark.parametrize("case", ["none yet", "xdg", "legacy", "both", "RCLONE_CONFIG"])
def test_the_config_file_is_the_one_rclone_names(case, monkeypatch, tmp_path):
    """Rclone.config_file finds rclone.conf by rclone's rule without running it; rclone's
    own `config file` is the oracle."""
    home = Path(os.environ["HOME"])
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "rclone" / "rclone.conf"
    if case in ("xdg", "both"):
        user.parent.mkdir(parents=True, exist_ok=True)
        user.write_text("")
    if case in ("legacy", "both"):
        (home / ".rclone.conf").write_text("")
    if case == "RCLONE_CONFIG":
        monkeypatch.setenv("RCLONE_CONFIG", str(tmp_path / "named.conf"))
    rclone = Rclone.locate()  # no --config: rclone's own rule
    said = rclone.run(["config", "file"]).stdout.strip().splitlines()[-1]
    assert str(rclone.config_file()) == said
