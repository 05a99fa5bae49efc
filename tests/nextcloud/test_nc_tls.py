"""https with a certificate rcwiz cannot trust, in front of the real Nextcloud 30.

The front (tests/nextcloud/tls_front.py, the fault proxy behind TLS) speaks TLS with a
self-signed certificate and plain HTTP on the same loopback port, and counts every password
that reaches it in plain HTTP: a bare host whose certificate fails must never be retried over
http. With --ca-cert the same front works, for rclone and for rcwiz's own requests (the bulk
upload) alike.
"""

from __future__ import annotations

import socket

import pytest
from helpers import rcwiz
from tls_front import TlsFront, certificate

from rcwiz.actions.setup_scheme import is_loopback, settle
from rcwiz.clock import Clock
from rcwiz.errors import NotEncrypted


@pytest.fixture
def front(real_nextcloud, tmp_path_factory):
    cert = certificate(tmp_path_factory.mktemp("tls"))
    with TlsFront(real_nextcloud.url, cert) as running:
        running.ca = cert.cert
        yield running


def setup(conf, server, user, *flags):
    return rcwiz(
        "--config",
        str(conf),
        *flags,
        "setup",
        "--preset",
        "nextcloud",
        "--server",
        server,
        "--user",
        user.name,
        "--password-stdin",
        "--name",
        "nc",
        "--yes",
        input=user.password + "\n",
    )


def test_a_bare_host_whose_certificate_fails_gets_no_password_over_http(front, nc_user, tmp_path):
    conf = tmp_path / "rclone.conf"
    done = setup(conf, front.bare, nc_user)
    assert done.returncode == 6, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert f"certificate of {front.url} cannot be trusted" in error, error
    assert "self-signed" in error and "nothing was sent" in error
    hint = next(line for line in done.stderr.splitlines() if line.startswith("hint:"))
    assert "--ca-cert" in hint and "Nothing was saved" in hint
    assert "trying http://" not in done.stdout + done.stderr
    assert (front.plain_requests, front.plain_credentials, front.tls_requests) == (0, [], 0)
    assert not conf.exists()


def test_a_typed_https_address_whose_certificate_fails_names_the_certificate(
    front, nc_user, tmp_path
):
    conf = tmp_path / "rclone.conf"
    done = setup(conf, front.url, nc_user)  # no probe: rclone itself meets the certificate
    assert done.returncode == 6, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "certificate cannot be trusted" in error and "x509" in error, error
    assert "--ca-cert" in done.stderr
    assert front.plain_credentials == [] and not conf.exists()


def test_ca_cert_makes_setup_quota_and_the_bulk_upload_work_through_tls(front, nc_user, tmp_path):
    conf = tmp_path / "rclone.conf"
    done = setup(conf, front.bare, nc_user, "--ca-cert", str(front.ca))
    assert done.returncode == 0, done.stderr
    assert f"url = {front.url}/remote.php/dav/files/{nc_user.name}/\n" in conf.read_text()
    assert "quota     0 B used of 1.0 GiB" in done.stdout
    source = tmp_path / "src"
    source.mkdir()
    for n in range(5):  # small files: rcwiz's own bulk upload sends them
        (source / f"f{n}.txt").write_text(f"file {n}\n")
    without = rcwiz("--config", str(conf), "copy", str(source), "nc:up")
    assert without.returncode == 6 and "--ca-cert" in without.stderr, without.stderr
    sent = rcwiz("--config", str(conf), "--ca-cert", str(front.ca), "copy", str(source), "nc:up")
    assert sent.returncode == 0, sent.stderr
    assert sorted(p.name for p in (nc_user.files / "up").iterdir()) == [
        f"f{n}.txt" for n in range(5)
    ]
    assert front.tls_requests > 0 and front.plain_credentials == []


def test_rclone_ca_cert_in_the_environment_is_trusted_by_rcwiz_as_by_rclone(
    front, nc_user, tmp_path
):
    """RCLONE_CA_CERT, rclone's own variable, serves rcwiz's requests too (the bulk upload
    and the listing): the authority rides on the run's clock, not in a module global."""
    conf = tmp_path / "rclone.conf"
    trusted = {"RCLONE_CA_CERT": str(front.ca)}
    done = rcwiz(
        "--config",
        str(conf),
        "setup",
        *("--preset", "nextcloud", "--server", front.bare, "--user", nc_user.name),
        *("--password-stdin", "--name", "nc", "--yes"),
        input=nc_user.password + "\n",
        env=trusted,
    )
    assert done.returncode == 0, done.stderr
    source = tmp_path / "src"
    source.mkdir()
    for n in range(3):
        (source / f"e{n}.txt").write_text(f"file {n}\n")
    sent = rcwiz("--config", str(conf), "--json", "copy", str(source), "nc:env", env=trusted)
    assert sent.returncode == 0, sent.stderr
    assert sorted(p.name for p in (nc_user.files / "env").iterdir()) == [
        "e0.txt",
        "e1.txt",
        "e2.txt",
    ]
    assert front.tls_requests > 0 and front.plain_credentials == []


def test_a_missing_ca_cert_file_is_a_usage_error(tmp_path):
    done = rcwiz("--ca-cert", str(tmp_path / "none.pem"), "remotes")
    assert done.returncode == 2 and "certificate file" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_loopback_is_told_by_address_not_by_name():
    assert is_loopback("https://127.0.0.1:8080") and is_loopback("http://[::1]/")
    assert is_loopback("https://localhost") and is_loopback("http://127.0.0.2")
    assert not is_loopback("https://cloud.example.org") and not is_loopback("http://10.0.0.1")


def _other_name_for_this_computer() -> str | None:
    """This computer's host name when it resolves to a loopback address: a host that is not
    loopback by its address (so rcwiz's rule applies) yet reachable from a test."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        return None
    return name if address.startswith("127.") and not is_loopback(f"http://{name}") else None


def test_a_bare_host_elsewhere_without_https_is_refused_not_sent_in_clear(dead_url):
    name = _other_name_for_this_computer()
    if name is None:
        pytest.skip("this computer's name does not resolve to a loopback address")
    port = dead_url.rstrip("/").rsplit(":", 1)[1]
    with pytest.raises(NotEncrypted) as refused:
        settle(f"https://{name}:{port}", True, Clock(5.0))
    assert refused.value.message == (
        f"Nothing listens at https://{name}:{port}, and rcwiz sends no password over plain "
        "http to another computer: nothing was sent."
    )
    assert "type the address with http://" in refused.value.hint
    url, note = settle(f"http://{name}:{port}", False, Clock(5.0))  # typed: used, said once
    assert url == f"http://{name}:{port}" and note and "unencrypted" in note
