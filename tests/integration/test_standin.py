"""The Nextcloud stand-in answers in Nextcloud's documented formats.

rcwiz's Nextcloud features are tested against tests/standin/nextcloud.py and later checked
against a real Nextcloud, so these tests pin the stand-in to the formats it documents: one
request and reply per feature (raw HTTP, no rcwiz code), the error paths, and the real rclone
listing, copying and reading the quota over its WebDAV.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from standin.nextcloud import NextcloudStandin

Factory = Callable[..., NextcloudStandin]
DEFAULT = object()  # "the account's login name and password"
MTIME = 1_700_000_000


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    nc: NextcloudStandin,
    method: str,
    path: str,
    *,
    auth: Any = DEFAULT,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Response:
    """One request on a fresh connection; `auth` is (name, secret), None, or the default."""
    sent = dict(headers or {})
    if auth is DEFAULT:
        auth = (nc.login_name, nc.password)
    if auth is not None:
        sent["Authorization"] = "Basic " + b64encode(":".join(auth).encode()).decode()
    url = urlsplit(path if path.startswith("http") else nc.url + path)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        target = url.path + (f"?{url.query}" if url.query else "")
        conn.request(method, target, body=body, headers=sent)
        reply = conn.getresponse()
        return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
    finally:
        conn.close()


def ocs(
    nc: NextcloudStandin,
    method: str,
    route: str,
    *,
    version: int = 2,
    form: dict[str, Any] | None = None,
    query: dict[str, str] | None = None,
    auth: Any = DEFAULT,
    api_header: bool = True,
) -> Response:
    """An OCS call the documented way: format=json and ``OCS-APIRequest: true``."""
    path = f"/ocs/v{version}.php/{route}?" + urlencode({"format": "json", **(query or {})})
    headers = {"OCS-APIRequest": "true"} if api_header else {}
    body = None
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form).encode()
    return call(nc, method, path, auth=auth, headers=headers, body=body)


def meta(reply: Response) -> dict[str, Any]:
    return reply.json()["ocs"]["meta"]


def part(path: str, data: bytes, **headers: str) -> bytes:
    """One bulk-upload part (docs WebDAV/bulkupload.rst); headers override the defaults."""
    fields = {"X-File-Path": path, "X-File-MD5": hashlib.md5(data).hexdigest()}
    fields |= {"Content-Length": str(len(data)), "X-File-Mtime": str(MTIME), **headers}
    lines = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
    return b"--B\r\n" + lines.encode() + b"\r\n" + data + b"\r\n"


def bulk(nc: NextcloudStandin, *parts: bytes, auth: Any = DEFAULT) -> Response:
    body = b"".join(parts) + b"--B--\r\n"
    headers = {"Content-Type": "multipart/related; boundary=B"}
    return call(nc, "POST", "/remote.php/dav/bulk", auth=auth, headers=headers, body=body)


def start_flow(nc: NextcloudStandin) -> dict[str, Any]:
    reply = call(nc, "POST", "/index.php/login/v2", auth=None)
    assert reply.status == 200
    return reply.json()


def poll(flow: dict[str, Any]) -> Response:
    endpoint = urlsplit(flow["poll"]["endpoint"])
    conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=10)
    try:
        body = urlencode({"token": flow["poll"]["token"]})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", endpoint.path, body=body, headers=headers)
        reply = conn.getresponse()
        return Response(reply.status, dict(reply.getheaders()), reply.read())
    finally:
        conn.close()


def propfind(nc: NextcloudStandin, auth: Any = DEFAULT) -> int:
    return call(nc, "PROPFIND", nc.dav_url, auth=auth, headers={"Depth": "0"}).status


def test_capabilities_follow_the_configuration(nextcloud_factory: Factory):
    nc = nextcloud_factory()
    data = ocs(nc, "GET", "cloud/capabilities").json()["ocs"]["data"]
    assert data["version"]["major"] == 30
    caps = data["capabilities"]
    assert caps["dav"] == {"chunking": "1.0", "bulkupload": "1.0"}
    assert caps["files"]["bigfilechunking"] is True
    assert caps["files"]["forbidden_filenames"] == [".htaccess"]
    assert caps["files"]["forbidden_filename_characters"] == ["\\", "/"]
    assert caps["files"]["forbidden_filename_extensions"] == [".part", ".filepart"]
    anonymous = ocs(nc, "GET", "cloud/capabilities", auth=None).json()["ocs"]["data"]
    assert "dav" not in anonymous["capabilities"]  # dav and files are not public

    without = nextcloud_factory(bulkupload=False)
    caps = ocs(without, "GET", "cloud/capabilities").json()["ocs"]["data"]["capabilities"]
    assert caps["dav"] == {"chunking": "1.0"}


# --------------------------------------------------------------------------- shares

SHARES = "apps/files_sharing/api/v1/shares"


def test_bulk_upload_stores_every_part(nextcloud: NextcloudStandin):
    (nextcloud.root / "sub").mkdir()
    (nextcloud.root / "old.txt").write_bytes(b"old content")
    reply = bulk(
        nextcloud,
        part("/a.txt", b"alpha\r\n--B\r\n"),  # payloads may contain the boundary
        part("sub/b.bin", bytes(range(256)), **{"X-File-Mtime": None, "X-OC-Mtime": str(MTIME)}),
        part("/old.txt", b"new"),
    )
    assert reply.status == 200
    entries = reply.json()
    assert list(entries) == ["/a.txt", "sub/b.bin", "/old.txt"]  # keyed by X-File-Path
    for entry in entries.values():
        assert entry["error"] is False
        assert set(entry) == {"error", "etag", "fileid", "permissions"}
    assert (nextcloud.root / "a.txt").read_bytes() == b"alpha\r\n--B\r\n"
    assert (nextcloud.root / "sub" / "b.bin").read_bytes() == bytes(range(256))
    assert (nextcloud.root / "old.txt").read_bytes() == b"new"  # overwritten silently
    assert int((nextcloud.root / "sub" / "b.bin").stat().st_mtime) == MTIME
    assert nextcloud.bulk_requests == 1
    assert nextcloud.bulk_batches == [["/a.txt", "sub/b.bin", "/old.txt"]]


def test_bulk_per_file_failures_arrive_with_http_200(nextcloud_factory: Factory):
    nc = nextcloud_factory(quota=100)
    nc.fail_paths.add("/injected.txt")
    reply = bulk(
        nc,
        part("/ok.txt", b"fine"),
        part("/injected.txt", b"x"),
        part("/no/such/dir/x.txt", b"x"),
        part("/.htaccess", b"x"),
        part("/x.part", b"x"),
        part("/old.txt", b"x", **{"X-File-Mtime": "86400"}),
        part("/big.bin", b"x" * 100),
    )
    assert reply.status == 200
    entries = reply.json()
    assert entries["/ok.txt"]["error"] is False
    failed = {path: entry["message"] for path, entry in entries.items() if entry["error"]}
    assert failed == {
        "/injected.txt": 'Could not create path "/alice/files/injected.txt"',
        "/no/such/dir/x.txt": 'Could not create path "/alice/files/no/such/dir/x.txt"',
        "/.htaccess": '".htaccess" is a forbidden file or folder name.',
        "/x.part": '".part" is a forbidden file type.',
        "/old.txt": "X-OC-MTime header must be a valid positive unix timestamp greater than "
        'one day, got "86400".',
        "/big.bin": 'Could not create path "/alice/files/big.bin"',
    }
    assert sorted(p.name for p in nc.root.rglob("*")) == ["ok.txt"]


def test_bulk_bad_md5_answers_400_and_keeps_earlier_parts(nextcloud: NextcloudStandin):
    upper = hashlib.md5(b"second").hexdigest().upper()  # the MD5 must be lowercase hex
    reply = bulk(
        nextcloud,
        part("/first.txt", b"first"),
        part("/second.txt", b"second", **{"X-File-MD5": upper}),
        part("/third.txt", b"third"),
    )
    assert reply.status == 400
    assert list(reply.json()) == ["/first.txt"]
    assert sorted(p.name for p in nextcloud.root.iterdir()) == ["first.txt"]

    no_length = bulk(nextcloud, part("/x.txt", b"x", **{"Content-Length": None}))
    assert (no_length.status, no_length.body) == (400, b"[]")
    not_related = call(
        nextcloud, "POST", "/remote.php/dav/bulk", headers={"Content-Type": "text/plain"}
    )
    assert not_related.status == 400
    assert b"Content-Type must be multipart/related" in not_related.body


def test_bulk_needs_credentials_and_the_plugin(nextcloud_factory: Factory):
    nc = nextcloud_factory()
    assert bulk(nc, part("/a.txt", b"a"), auth=(nc.login_name, "wrong")).status == 401
    assert not (nc.root / "a.txt").exists()

    without = nextcloud_factory(bulkupload=False)
    reply = bulk(without, part("/a.txt", b"a"))
    assert reply.status == 501
    assert not (without.root / "a.txt").exists()


# --------------------------------------------------------------------------- WebDAV


def test_webdav_put_rules(nextcloud_factory: Factory):
    nextcloud = nextcloud_factory(quota=50)
    wrong = call(nextcloud, "PROPFIND", nextcloud.dav_url, auth=(nextcloud.user, "nope"))
    assert wrong.status == 401
    assert wrong.headers["www-authenticate"].startswith('Basic realm="Nextcloud"')

    put = call(
        nextcloud, "PUT", nextcloud.dav_url + "t.txt", body=b"t", headers={"X-OC-Mtime": str(MTIME)}
    )
    assert put.status in (201, 204)
    assert put.headers["x-oc-mtime"] == "accepted"
    assert int((nextcloud.root / "t.txt").stat().st_mtime) == MTIME

    refused = call(nextcloud, "PUT", nextcloud.dav_url + "x.filepart", body=b"x")
    assert refused.status == 400
    assert b'".filepart" is a forbidden file type.' in refused.body
    assert not (nextcloud.root / "x.filepart").exists()
    too_big = call(nextcloud, "PUT", nextcloud.dav_url + "big.bin", body=b"b" * 60)
    assert too_big.status == 507  # rcwiz.demo.server's quota gate
    assert not (nextcloud.root / "big.bin").exists()


def rclone(rclone_bin: Path, conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(rclone_bin), "--config", str(conf), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("vendor", ["other", "nextcloud"])
def test_rclone_lists_copies_and_reads_the_quota(
    nextcloud_factory: Factory,
    rclone_bin: Path,
    rclone_conf: Callable[..., Path],
    tmp_path: Path,
    vendor: str,
):
    nc = nextcloud_factory(quota=1_000_000)
    (nc.root / "existing.txt").write_bytes(b"e" * 100)
    local = tmp_path / "local"
    local.mkdir()
    for index in range(3):
        (local / f"f{index}.txt").write_bytes(os.urandom(1000 + index))
        os.utime(local / f"f{index}.txt", (MTIME, MTIME))
    remote = {"url": nc.dav_url.rstrip("/"), "user": nc.login_name, "password": nc.password}
    conf = rclone_conf(tmp_path / "rclone.conf", {"nc": remote | {"vendor": vendor}})

    rclone(rclone_bin, conf, "copy", str(local), "nc:up")
    listing = json.loads(rclone(rclone_bin, conf, "lsjson", "-R", "nc:").stdout)
    sizes = {entry["Path"]: entry["Size"] for entry in listing if not entry["IsDir"]}
    assert sizes == {"existing.txt": 100, "up/f0.txt": 1000, "up/f1.txt": 1001, "up/f2.txt": 1002}
    for index in range(3):
        assert (nc.root / "up" / f"f{index}.txt").read_bytes() == (
            local / f"f{index}.txt"
        ).read_bytes()
    if vendor == "nextcloud":  # X-OC-Mtime is honoured, so the modification time survives
        assert int((nc.root / "up" / "f0.txt").stat().st_mtime) == MTIME

    about = json.loads(rclone(rclone_bin, conf, "about", "--json", "nc:").stdout)
    used = 100 + 1000 + 1001 + 1002
    assert about == {"total": 1_000_000, "used": used, "free": 1_000_000 - used}
