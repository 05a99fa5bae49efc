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
import xml.etree.ElementTree as ET
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


# --------------------------------------------------------------------------- login flow v2


def test_login_flow_polls_404_until_granted_then_answers_once(nextcloud: NextcloudStandin):
    flow = start_flow(nextcloud)
    assert set(flow) == {"poll", "login"}
    assert flow["poll"]["endpoint"] == f"{nextcloud.url}/index.php/login/v2/poll"
    assert flow["login"].startswith(f"{nextcloud.url}/index.php/login/v2/flow/")
    assert len(flow["poll"]["token"]) == 128

    pending = poll(flow)
    assert (pending.status, pending.body) == (404, b"[]")

    app_password = nextcloud.grant()
    granted = poll(flow)
    assert granted.status == 200
    assert granted.json() == {
        "server": nextcloud.url,
        "loginName": nextcloud.login_name,
        "appPassword": app_password,
    }
    assert len(app_password) == 72
    assert poll(flow).status == 404  # "the 200 will only be returned once"
    assert propfind(nextcloud, (nextcloud.login_name, app_password)) == 207


def test_opening_the_login_page_with_the_password_grants(nextcloud: NextcloudStandin):
    flow = start_flow(nextcloud)
    assert call(nextcloud, "GET", flow["login"], auth=None).status == 200
    assert poll(flow).status == 404  # only looking at the page grants nothing

    assert call(nextcloud, "GET", flow["login"]).status == 200
    assert poll(flow).json()["loginName"] == nextcloud.login_name
    missing = call(nextcloud, "GET", "/index.php/login/v2/flow/nope", auth=None)
    assert missing.status == 403


def test_auto_grant_answers_the_first_poll(nextcloud_factory: Factory):
    nc = nextcloud_factory(auto_grant=True)
    flow = start_flow(nc)
    assert poll(flow).json()["appPassword"] in nc.app_passwords


def test_a_denied_or_expired_flow_never_succeeds(nextcloud: NextcloudStandin):
    denied = start_flow(nextcloud)
    nextcloud.deny()
    assert poll(denied).status == 404
    with pytest.raises(LookupError):
        nextcloud.grant(wait=0.1)

    expired = start_flow(nextcloud)
    nextcloud.flow_ttl = 0
    assert poll(expired).status == 404


def test_app_password_login_name_user_id_and_revocation(nextcloud_factory: Factory):
    nc = nextcloud_factory(user="alice", login_name="alice@example.org")
    flow = start_flow(nc)
    app_password = nc.grant()
    assert poll(flow).json()["loginName"] == "alice@example.org"
    assert nc.dav_url.endswith("/remote.php/dav/files/alice/")

    with_app = ("alice@example.org", app_password)
    assert propfind(nc, with_app) == 207
    assert propfind(nc, ("alice", app_password)) == 401  # tokens belong to their login name
    assert propfind(nc, ("alice", nc.password)) == 207
    user = ocs(nc, "GET", "cloud/user", version=1, auth=with_app)
    assert (user.status, meta(user)["statuscode"]) == (200, 100)
    assert user.json()["ocs"]["data"]["id"] == "alice"

    refused = ocs(nc, "DELETE", "core/apppassword")  # the account password is not one
    assert (refused.status, meta(refused)["message"]) == (403, "no app password in use")
    revoked = ocs(nc, "DELETE", "core/apppassword", auth=with_app)
    assert revoked.status == 200
    assert revoked.json() == {
        "ocs": {"meta": {"status": "ok", "statuscode": 200, "message": "OK"}, "data": []}
    }
    assert nc.app_passwords == set()
    assert propfind(nc, with_app) == 401
    assert meta(ocs(nc, "GET", "cloud/user", auth=with_app))["statuscode"] == 997


# --------------------------------------------------------------------------- OCS conventions


def test_ocs_envelope_v1_v2_xml_and_errors(nextcloud: NextcloudStandin):
    v2 = ocs(nextcloud, "GET", "cloud/capabilities")
    assert v2.status == 200
    assert v2.headers["content-type"] == "application/json; charset=utf-8"
    assert meta(v2) == {"status": "ok", "statuscode": 200, "message": "OK"}
    v1 = ocs(nextcloud, "GET", "cloud/capabilities", version=1)
    assert meta(v1) == {
        "status": "ok",
        "statuscode": 100,
        "message": "OK",
        "totalitems": "",
        "itemsperpage": "",
    }

    xml = call(nextcloud, "GET", "/ocs/v2.php/cloud/user", headers={"OCS-APIRequest": "true"})
    document = ET.fromstring(xml.body)
    assert document.findtext("meta/statuscode") == "200"
    assert document.findtext("data/id") == nextcloud.user

    no_header = ocs(nextcloud, "GET", "cloud/user", api_header=False)
    assert (no_header.status, no_header.json()) == (412, {"message": "CSRF check failed"})

    for version, http_status in ((2, 401), (1, 401)):
        wrong = ocs(nextcloud, "GET", "cloud/user", version=version, auth=("alice", "wrong"))
        assert wrong.status == http_status
        assert meta(wrong)["statuscode"] == 997
        assert meta(wrong)["message"] == "Current user is not logged in"
    unknown_v2 = ocs(nextcloud, "GET", "cloud/nothing")
    unknown_v1 = ocs(nextcloud, "GET", "cloud/nothing", version=1)
    assert (unknown_v2.status, meta(unknown_v2)["statuscode"]) == (404, 998)
    assert (unknown_v1.status, meta(unknown_v1)["statuscode"]) == (200, 998)


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


def test_link_share_create_list_download_delete(nextcloud: NextcloudStandin):
    (nextcloud.root / "a.txt").write_bytes(b"shared bytes")
    created = ocs(nextcloud, "POST", SHARES, form={"path": "/a.txt", "shareType": 3})
    assert created.status == 200
    share = created.json()["ocs"]["data"]
    token = share["token"]
    assert share["share_type"] == 3
    assert share["url"] == f"{nextcloud.url}/index.php/s/{token}"
    assert (share["path"], share["item_type"], share["file_target"]) == ("/a.txt", "file", "/a.txt")
    assert (share["uid_owner"], share["permissions"], share["expiration"]) == ("alice", 17, None)
    assert isinstance(share["id"], str)

    listed = ocs(nextcloud, "GET", SHARES, query={"path": "/a.txt", "reshares": "true"})
    assert [s["id"] for s in listed.json()["ocs"]["data"]] == [share["id"]]
    download = call(nextcloud, "GET", f"/index.php/s/{token}/download", auth=None)
    assert (download.status, download.body) == (200, b"shared bytes")

    deleted = ocs(nextcloud, "DELETE", f"{SHARES}/{share['id']}")
    assert (deleted.status, deleted.json()["ocs"]["data"]) == (200, [])
    again = ocs(nextcloud, "DELETE", f"{SHARES}/{share['id']}")
    assert (again.status, meta(again)["message"]) == (404, "Wrong share ID, share does not exist")
    assert ocs(nextcloud, "GET", SHARES, query={"path": "/a.txt"}).json()["ocs"]["data"] == []
    assert call(nextcloud, "GET", f"/index.php/s/{token}/download", auth=None).status == 404


def test_user_and_group_shares_with_expiry(nextcloud: NextcloudStandin):
    (nextcloud.root / "dir").mkdir()
    (nextcloud.root / "dir" / "f.txt").write_bytes(b"x")
    to_bob = {"path": "dir", "shareType": 0, "shareWith": "bob", "permissions": 31}
    folder = ocs(nextcloud, "POST", SHARES, form=to_bob | {"expireDate": "2999-01-31"})
    data = folder.json()["ocs"]["data"]
    assert (data["share_with"], data["permissions"], data["item_type"]) == ("bob", 31, "folder")
    assert data["expiration"] == "2999-01-31 00:00:00"
    file_share = ocs(nextcloud, "POST", SHARES, form=to_bob | {"path": "/dir/f.txt"})
    assert file_share.json()["ocs"]["data"]["permissions"] == 19  # no create/delete on files
    group = {"path": "/dir", "shareType": 1, "shareWith": "staff", "permissions": 1}
    assert ocs(nextcloud, "POST", SHARES, form=group).json()["ocs"]["data"]["share_type"] == 1
    in_dir = ocs(nextcloud, "GET", SHARES, query={"path": "/dir", "subfiles": "true"})
    assert [s["path"] for s in in_dir.json()["ocs"]["data"]] == ["/dir/f.txt"]


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"path": "/missing.txt", "shareType": 3}, 404, "Wrong path, file/folder does not exist"),
        ({"shareType": 3}, 404, "Please specify a file or folder path"),
        ({"path": "/a.txt", "shareType": 5}, 400, "Unknown share type"),
        (
            {"path": "/a.txt", "shareType": 0, "shareWith": "bob", "permissions": 32},
            404,
            "Invalid permissions",
        ),
        (
            {"path": "/a.txt", "shareType": 3, "expireDate": "31.12.2030"},
            404,
            "Invalid date. Format must be YYYY-MM-DD",
        ),
        (
            {"path": "/a.txt", "shareType": 0, "shareWith": "nobody"},
            404,
            "Please specify a valid user",
        ),
        (
            {"path": "/a.txt", "shareType": 3, "publicUpload": "true"},
            404,
            "Public upload is only possible for publicly shared folders",
        ),
    ],
)
def test_share_errors(nextcloud: NextcloudStandin, form: dict, status: int, message: str):
    (nextcloud.root / "a.txt").write_bytes(b"x")
    v2 = ocs(nextcloud, "POST", SHARES, form=form)
    assert (v2.status, meta(v2)["statuscode"], meta(v2)["message"]) == (status, status, message)
    v1 = ocs(nextcloud, "POST", SHARES, form=form, version=1)  # v1: HTTP 200, code in the body
    assert (v1.status, meta(v1)["statuscode"], meta(v1)["status"]) == (200, status, "failure")


def test_share_403_when_the_administrator_forbids_it(nextcloud_factory: Factory):
    nc = nextcloud_factory(sharing_enabled=False)
    (nc.root / "a.txt").write_bytes(b"x")
    off = ocs(nc, "POST", SHARES, form={"path": "/a.txt", "shareType": 3})
    assert (off.status, meta(off)["message"]) == (403, "Sharing is disabled")

    nc = nextcloud_factory(link_password_enforced=True, public_upload_allowed=False)
    (nc.root / "a.txt").write_bytes(b"x")
    (nc.root / "dir").mkdir()
    bare = ocs(nc, "POST", SHARES, form={"path": "/a.txt", "shareType": 3})
    assert (bare.status, meta(bare)["message"]) == (
        403,
        "Passwords are enforced for link and mail shares",
    )
    upload = {"path": "/dir", "shareType": 3, "password": "pw", "publicUpload": "true"}
    denied = ocs(nc, "POST", SHARES, form=upload)
    assert (denied.status, meta(denied)["message"]) == (
        403,
        "Public upload disabled by the administrator",
    )
    protected = ocs(nc, "POST", SHARES, form={"path": "/a.txt", "shareType": 3, "password": "pw"})
    token = protected.json()["ocs"]["data"]["token"]
    assert call(nc, "GET", f"/index.php/s/{token}/download", auth=None).status == 303


# --------------------------------------------------------------------------- bulk upload


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
