"""A loopback stand-in for the parts of Nextcloud (30) that rcwiz talks to.

**Kept only for what the real Nextcloud cannot be made to do.** Every Nextcloud behaviour rcwiz
relies on is tested against the real Nextcloud 30 in tests/nextcloud/ (tests/realnc.py starts
it). This stand-in remains for one thing: a bulk upload in which the server refuses one part
with HTTP 200 and `"error": true` (`fail_paths`), which a real server does only for causes
rcwiz rules out before sending (a missing parent folder, a forbidden name) or cannot be made to
show on demand (a storage failure of one file among many). tests/e2e/test_nextcloud.py uses it
for that, and tests/integration/test_standin.py checks that its bulk endpoint, WebDAV and
capabilities answer as the real one's do. Its other parts (login flow, OCS shares) are no
longer used by any test; they describe Nextcloud's documented formats and are left for a
fault that may need them.

It answers the *documented* requests with the *documented* replies, and where the
documentation is silent it follows Nextcloud's own source. Sources (nextcloud/server unless
noted; "docs" is nextcloud/documentation, developer_manual/client_apis/):

* WebDAV under ``/remote.php/dav/files/{user}/`` (and legacy ``/remote.php/webdav/``): WsgiDAV
  with rcwiz.demo.server's quota provider and 507 gate, plus what Nextcloud adds on PUT
  (``X-OC-Mtime`` -> ``X-OC-MTime: accepted``, apps/dav Connector/Sabre/File.php) and the
  filename rules of lib/private/Files/FilenameValidator.php (400 InvalidPath). An account
  without quota reports ``quota-available-bytes`` -3, as NEXTCLOUD-FACTS.md observed.
* Login Flow v2: docs LoginFlow/index.rst and core/Controller/ClientFlowLoginV2Controller.php.
* OCS envelope: lib/private/AppFramework/OCS/{Base,V1,V2}Response.php, OCSMiddleware.php and
  Middleware/Security/SecurityMiddleware.php (997 when not logged in, 412 "CSRF check failed"
  without an ``OCS-APIRequest`` header).
* Capabilities: core/Controller/OCSController.php, apps/dav/lib/Capabilities.php,
  apps/files/lib/Capabilities.php; anonymous callers get only public capabilities
  (lib/private/CapabilitiesManager.php).
* Share API: docs OCS/ocs-share-api.rst, apps/files_sharing/lib/Controller/ShareAPIController.php
  and lib/private/Share20/Manager.php.
* Bulk upload: docs WebDAV/bulkupload.rst, apps/dav/lib/BulkUpload/{BulkUploadPlugin,
  MultipartRequestParser}.php, apps/dav/lib/Connector/Sabre/MtimeSanitizer.php,
  lib/private/Files/Node/Folder.php::newFile and Storage/Wrapper/Quota.php.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import logging
import mimetypes
import os
import re
import secrets
import shutil
import string
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape

from cheroot import wsgi as cheroot_wsgi
from wsgidav.error_printer import ErrorPrinter
from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from rcwiz.demo.quota import (
    _SABRE_ERROR,
    QuotaLedger,
    _quiet_wsgidav,
    _QuotaFolder,
    _QuotaGate,
    _QuotaProvider,
)

_log = logging.getLogger(__name__)

VERSION = (30, 0, 1)
ONE_DAY = 24 * 60 * 60  # MtimeSanitizer rejects mtimes of one day or less
PERM_READ, PERM_UPDATE, PERM_CREATE, PERM_DELETE, PERM_SHARE, PERM_ALL = 1, 2, 4, 8, 16, 31
SHARE_USER, SHARE_GROUP, SHARE_LINK = 0, 1, 3
RESPOND_UNAUTHORISED, RESPOND_NOT_FOUND = 997, 998  # OCP\AppFramework\OCSController
_ALNUM = string.ascii_letters + string.digits
# ISecureRandom::CHAR_HUMAN_READABLE, the alphabet of share tokens (15 characters long)
_HUMAN_READABLE = "abcdefgijkmnopqrstwxyzABCDEFGHJKLMNPQRSTWXYZ23456789"
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")  # PHP is_numeric()


def _random(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --------------------------------------------------------------------------- PHP-like output


def php_json(value: Any) -> bytes:
    """``json_encode($v, JSON_HEX_TAG)``: slashes and tags escaped, an empty array is ``[]``."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("/", "\\/").replace("<", "\\u003C").replace(">", "\\u003E").encode()


def php_int(value: Any) -> int:
    """PHP's ``(int)`` cast of a request parameter: leading digits, else 0."""
    match = re.match(r"\s*[+-]?\d+", str(value))
    return int(match.group()) if match else 0


def _xml_children(parent: ET.Element, value: Any) -> None:
    """BaseResponse::toXML: numeric keys become <element>, null an empty element."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        child = ET.SubElement(parent, "element" if isinstance(key, int) else str(key))
        if isinstance(item, dict | list):
            _xml_children(child, item)
        elif isinstance(item, bool):
            child.text = "1" if item else ""  # PHP's (string)true / (string)false
        elif item is not None:
            child.text = str(item)


def _php_xml(document: dict) -> bytes:
    root = ET.Element("ocs")
    _xml_children(root, document["ocs"])
    ET.indent(root, space=" ")
    return b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _sabre_error(exception: str, message: str) -> bytes:
    return _SABRE_ERROR.format(exception=exception, message=escape(message)).encode()


# --------------------------------------------------------------------------- replies


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def _json_reply(status: int, value: Any) -> Reply:
    return Reply(status, php_json(value), "application/json; charset=utf-8")


def _html_reply(status: int, text: str) -> Reply:
    body = f"<!DOCTYPE html><html><body><p>{escape(text)}</p></body></html>"
    return Reply(status, body.encode(), "text/html; charset=utf-8")


def _sabre_reply(status: int, exception: str, message: str, **headers: str) -> Reply:
    extra = [(name.replace("_", "-"), value) for name, value in headers.items()]
    return Reply(status, _sabre_error(exception, message), "application/xml; charset=utf-8", extra)


class OCSError(Exception):
    """OCSException: its code becomes the OCS statuscode (OCSNotFoundException -> 404 ...)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def ocs_reply(version: int, fmt: str, status: int, data: Any = (), message: str = "") -> Reply:
    """Wrap `data` like V1Response / V2Response.

    v1: HTTP 200 (401 only for 997); statuscode 100 for OK, else the code; meta always has
    totalitems and itemsperpage (empty strings). v2: the HTTP status mirrors the code (997 ->
    401, 998 -> 404, outside 200..600 -> 400); statuscode is the code itself (200 for OK).
    """
    ok = 200 <= status < 300
    if version == 1:
        code = 100 if status == 200 else status
        http = 401 if status == RESPOND_UNAUTHORISED else 200
        meta = {"status": "ok" if code == 100 else "failure", "statuscode": code}
        meta |= {"message": "OK" if code == 100 else message, "totalitems": "", "itemsperpage": ""}
    else:
        http = {RESPOND_UNAUTHORISED: 401, RESPOND_NOT_FOUND: 404}.get(status, status)
        http = 400 if http < 200 or http > 600 else http
        meta = {"status": "ok" if ok else "failure", "statuscode": status}
        meta["message"] = "OK" if ok else message
    document = {"ocs": {"meta": meta, "data": list(data) if isinstance(data, tuple) else data}}
    if fmt == "json":
        return Reply(http, php_json(document), "application/json; charset=utf-8")
    return Reply(http, _php_xml(document), "application/xml; charset=utf-8")


# --------------------------------------------------------------------------- bulk upload parser


class BulkParseError(Exception):
    """Any exception MultipartRequestParser throws: the plugin answers 400 and stops."""


class MultipartParser:
    """apps/dav BulkUpload/MultipartRequestParser.php, reading from bytes instead of a stream.

    Parts are ``--B\\r\\n``, header lines, ``\\r\\n``, Content-Length bytes, then two bytes that
    are skipped unread; the body ends ``--B--\\r\\n``. Header names are lower-cased.
    """

    def __init__(self, body: bytes, content_type: str | None) -> None:
        if content_type is None:
            raise BulkParseError("Content-Type can not be null")
        mime, _, rest = content_type.partition(";")
        pieces = rest.split(";")[0].split("=")  # PHP: [$key, $value] = explode('=', ...)
        key, value = pieces[0], (pieces[1] if len(pieces) > 1 else "")
        value = value.strip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        if mime.strip() != "multipart/related":
            raise BulkParseError("Content-Type must be multipart/related")
        if key.strip() != "boundary":
            raise BulkParseError("Boundary is invalid")
        self.boundary = f"--{value}\r\n".encode()
        self.last_boundary = f"--{value}--\r\n".encode()
        self.data = body
        self.pos = 0

    def _is_at(self, expected: bytes) -> bool:
        return self.data[self.pos : self.pos + len(expected)] == expected

    def at_last_boundary(self) -> bool:
        return self._is_at(self.last_boundary)

    def _fgets(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end + 1
        line, self.pos = self.data[self.pos : end], end
        return line

    def next_part(self) -> tuple[dict[str, str], bytes]:
        """Return (headers, content) of the next part, or raise BulkParseError."""
        if not self._is_at(self.boundary):
            raise BulkParseError("Boundary not found where it should be.")
        self.pos += len(self.boundary)
        headers: dict[str, str] = {}
        while (line := self._fgets()) != b"\r\n":
            if not line or b":" not in line:
                raise BulkParseError("An error occurred while reading headers of a part")
            key, value = line.decode("utf-8", "replace").split(":", 1)
            headers[key.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise BulkParseError("The Content-Length header must not be null.")  # LengthRequired
        if "x-file-md5" not in headers:
            raise BulkParseError("The X-File-MD5 header must not be null.")
        length = php_int(headers["content-length"])
        content = self.data[self.pos : self.pos + max(length, 0)]
        if hashlib.md5(content).hexdigest() != headers["x-file-md5"]:  # exact, lowercase hex
            raise BulkParseError("Computed md5 hash is incorrect.")
        if length < 0 or (length and self.pos + length >= len(self.data)):
            raise BulkParseError("Unexpected EOF while reading stream.")
        self.pos += length + 2  # the trailing \r\n is skipped, not checked
        return headers, content


def sanitize_mtime(raw: str) -> int:
    """MtimeSanitizer::sanitizeMtime; ValueError carries Nextcloud's message."""
    if re.match(r"\s*0[xX]", raw) or not _NUMERIC.fullmatch(raw):
        raise ValueError(
            f'X-OC-MTime header must be a valid integer (unix timestamp), got "{raw}".'
        )
    mtime = int(float(raw))
    if mtime <= ONE_DAY:
        raise ValueError(
            "X-OC-MTime header must be a valid positive unix timestamp greater than one day, "
            f'got "{raw}".'
        )
    return mtime


# --------------------------------------------------------------------------- state


@dataclass
class LoginFlow:
    """One Login Flow v2 (core/Db/LoginFlowV2): 128-character poll and login tokens."""

    poll_token: str
    login_token: str
    created: float
    app_password: str | None = None  # set once granted


@dataclass
class Auth:
    """Who a request authenticated as: with the account password or an app password."""

    login: str
    app_password: str | None = None


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int


class _NcFolder(_QuotaFolder):
    """Reports quota like Nextcloud: used bytes always, -3 available when there is no quota."""

    def get_used_bytes(self) -> int:
        return self.provider.ledger.used_bytes()

    def get_available_bytes(self) -> int:
        free = self.provider.ledger.available_bytes()
        return -3 if free is None else free


class _NcProvider(_QuotaProvider):
    def get_resource_inst(self, path: str, environ: dict) -> Any:
        res = FilesystemProvider.get_resource_inst(self, path, environ)
        if isinstance(res, FolderResource) and not isinstance(res, _NcFolder):
            res = _NcFolder(path, environ, res._file_path)
        return res


# --------------------------------------------------------------------------- the server


class NextcloudStandin:
    """Nextcloud's client-facing API for one user, served from a thread on 127.0.0.1.

    `user` is the user id (in DAV URLs, ``cloud/user``'s ``id``); `login_name` what the user
    logs in with (defaults to the user id; may be an e-mail address). Basic auth takes the
    user id or login name with `password`, or the login name with a live app password.
    """

    def __init__(
        self,
        root: Path,
        *,
        user: str = "alice",
        login_name: str | None = None,
        password: str | None = None,
        quota: int | None = None,
        bulkupload: bool = True,
        bulk_plugin: bool | None = None,
        forbidden_filenames: Iterable[str] = (".htaccess",),
        forbidden_extensions: Iterable[str] = (".part", ".filepart"),
        forbidden_characters: Iterable[str] = ("\\", "/"),
        sharing_enabled: bool = True,
        link_password_enforced: bool = False,
        public_upload_allowed: bool = True,
        other_users: Iterable[str] = ("bob",),
        groups: Iterable[str] = ("staff",),
        auto_grant: bool = False,
    ) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise ValueError(f"{self.root} is not a folder")
        self.user = user
        self.login_name = login_name or user
        self.password = password or f"pw-{secrets.token_hex(8)}!"
        self.quota = quota
        self.bulkupload = bulkupload  # the dav.bulkupload capability (config bulkupload.enabled)
        # Whether POST /remote.php/dav/bulk is handled at all. Nextcloud registers the plugin
        # even when the capability is switched off; False imitates a server without it.
        self.bulk_plugin = bulkupload if bulk_plugin is None else bulk_plugin
        self.forbidden_filenames = [n.lower() for n in forbidden_filenames]
        self.forbidden_extensions = [e.lower() for e in forbidden_extensions]
        self.forbidden_characters = list(forbidden_characters)
        self.sharing_enabled = sharing_enabled
        self.link_password_enforced = link_password_enforced
        self.public_upload_allowed = public_upload_allowed
        self.other_users = set(other_users)
        self.groups = set(groups)
        self.auto_grant = auto_grant  # grant every flow as it starts (no browser in the test)
        self.flow_ttl = 20 * 60.0  # LoginFlowV2Service: flows expire after 20 minutes

        self.app_passwords: set[str] = set()
        self.flows: list[LoginFlow] = []
        self.shares: dict[str, dict[str, Any]] = {}
        self.fail_paths: set[str] = set()
        self.bulk_requests = 0
        self.bulk_batches: list[list[str]] = []
        self.requests: list[RequestRecord] = []

        self._lock = threading.RLock()
        self._share_ids = itertools.count(1)
        self._file_ids: dict[str, int] = {"/": 2}
        self._next_file_id = itertools.count(100)
        self._instance_id = "oc" + _random(10, string.ascii_lowercase + string.digits)
        self.ledger = QuotaLedger(self.root, quota)
        self._dav_app = self._make_dav_app()
        self._routes = self._ocs_routes()
        self._server: cheroot_wsgi.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> NextcloudStandin:
        """Bind port 0 (the kernel picks a free one, in the bind itself) and serve."""
        server = cheroot_wsgi.Server(("127.0.0.1", 0), self._wsgi, numthreads=16)
        server.error_log = lambda *a, **k: None  # clients hanging up are not errors here
        server.expiration_interval = 0.1
        server.prepare()
        self.port = int(server.bind_addr[1])  # the port the bind got
        self._server = server
        self._thread = threading.Thread(target=server.serve, name="nextcloud-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def __enter__(self) -> NextcloudStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dav_url(self) -> str:
        return f"{self.url}/remote.php/dav/files/{quote(self.user)}/"

    # ------------------------------------------------------------------ test hooks

    def grant(
        self, app_password: str | None = None, *, poll_token: str | None = None, wait: float = 0
    ) -> str:
        """Grant the newest pending login flow (or the one with `poll_token`), as a user
        clicking "Grant access" would; return the app password the poll will hand out.

        `wait` seconds are allowed for a client (in another thread) to start the flow;
        LookupError if none is pending by then.
        """
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                pending = [f for f in self.flows if f.app_password is None]
                if poll_token is not None:
                    pending = [f for f in pending if f.poll_token == poll_token]
                if pending:
                    pending[-1].app_password = app_password or _random(72)
                    self.app_passwords.add(pending[-1].app_password)
                    return pending[-1].app_password
            if time.monotonic() >= deadline:
                raise LookupError("no pending login flow")
            time.sleep(0.02)

    def deny(self) -> None:
        """Drop every pending flow (the user closed the browser): polls stay 404."""
        with self._lock:
            self.flows = [f for f in self.flows if f.app_password is not None]

    def used_bytes(self) -> int:
        return self.ledger.used_bytes()

    # ------------------------------------------------------------------ WSGI entry

    def _wsgi(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        raw_path = environ.get("PATH_INFO", "")
        path = raw_path.encode("latin-1").decode("utf-8", "replace")  # PEP 3333 -> UTF-8
        status_seen: list[int] = []

        def record(status: str, headers: list, exc_info: Any = None) -> Any:
            status_seen.append(int(status.split()[0]))
            return start_response(status, headers, exc_info)

        try:
            if path.startswith(("/remote.php/dav/files/", "/remote.php/webdav")):
                return self._dav(environ, path, record)
            reply = self._route(environ, method, path)
            return self._send(reply, record)
        finally:
            query = environ.get("QUERY_STRING", "")
            self.requests.append(RequestRecord(method, path, query, (status_seen or [0])[0]))

    @staticmethod
    def _send(reply: Reply, start_response: Callable) -> list[bytes]:
        headers = list(reply.headers)
        if reply.content_type:
            headers.append(("Content-Type", reply.content_type))
        headers.append(("Content-Length", str(len(reply.body))))
        phrase = HTTPStatus(reply.status).phrase
        start_response(f"{reply.status} {phrase}", headers)
        return [reply.body]

    def _route(self, environ: dict, method: str, path: str) -> Reply:
        body = _read_body(environ)
        if path.startswith("/index.php/"):
            path = path[len("/index.php") :]
        if path.startswith("/ocs/v1.php/") or path.startswith("/ocs/v2.php/"):
            return self._ocs(environ, method, path, body)
        if path == "/remote.php/dav/bulk":
            return self._bulk(environ, method, body)
        if path.startswith("/remote.php/"):
            return self._dav_not_found(environ, path)
        if path.startswith("/login/v2"):
            return self._login_flow(environ, method, path, body)
        if match := re.fullmatch(r"/s/([^/]+)/download", path):
            return self._public_download(match.group(1)) if method == "GET" else Reply(405)
        return _html_reply(404, "Page not found")

    # ------------------------------------------------------------------ authentication

    def authenticate(self, environ: dict) -> Auth | None:
        """Basic auth as Nextcloud's Session::logClientIn checks it; None when it fails.

        An app password is only valid with the login name it was issued for (compared
        case-insensitively, Session::validateTokenLoginName); the account password works with
        the user id or the login name.
        """
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            name, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        with self._lock:
            if secret in self.app_passwords and name.lower() == self.login_name.lower():
                return Auth(name, app_password=secret)
        if secrets.compare_digest(secret, self.password) and name in (self.user, self.login_name):
            return Auth(name)
        return None

    @staticmethod
    def _unauthenticated() -> Reply:
        """Sabre's answer to a missing or wrong password on /remote.php/."""
        return _sabre_reply(
            401,
            "Sabre\\DAV\\Exception\\NotAuthenticated",
            "No public access to this resource., Username or password was incorrect",
            WWW_Authenticate='Basic realm="Nextcloud", charset="UTF-8"',
        )

    # ------------------------------------------------------------------ WebDAV

    def _make_dav_app(self) -> WsgiDAVApp:
        """WsgiDAV over `root`, reusing rcwiz.demo.server's quota ledger and 507 gate.

        Authentication happens before WsgiDAV (it has to accept app passwords that come and
        go), so the stack has no HTTPAuthenticator.
        """
        _quiet_wsgidav(False)
        config = {
            "provider_mapping": {  # one provider per share: each knows its own href prefix
                f"/remote.php/dav/files/{self.user}": _NcProvider(self.root, self.ledger),
                "/remote.php/webdav": _NcProvider(self.root, self.ledger),
            },
            "middleware_stack": [ErrorPrinter, _QuotaGate, RequestResolver],
            "dir_browser": {"enable": False},
            "lock_storage": True,
            "property_manager": None,
            "verbose": 1,
            "logging": {"enable": False},
            "suppress_version_info": True,
        }
        return WsgiDAVApp(config)

    def _dav(self, environ: dict, path: str, start_response: Callable) -> Iterable[bytes]:
        auth = self.authenticate(environ)
        if auth is None:
            _read_body(environ)
            return self._send(self._unauthenticated(), start_response)
        prefix = f"/remote.php/dav/files/{self.user}"
        if not (path.startswith(("/remote.php/webdav", prefix + "/")) or path == prefix):
            _read_body(environ)
            return self._send(self._dav_not_found(environ, path), start_response)
        method = environ["REQUEST_METHOD"]
        if method == "PATCH":
            _read_body(environ)
            return self._send(self._recalculate_hash(environ, path, prefix), start_response)
        targets = [path] if method in ("PUT", "MKCOL") else []
        if method in ("MOVE", "COPY") and environ.get("HTTP_DESTINATION"):
            targets.append(unquote(environ["HTTP_DESTINATION"]))
        for target in targets:
            if problem := self.filename_problem(target.rstrip("/").rsplit("/", 1)[-1]):
                _read_body(environ)
                reply = _sabre_reply(
                    400, "OCA\\DAV\\Connector\\Sabre\\Exception\\InvalidPath", problem
                )
                return self._send(reply, start_response)
        mtime = None
        if method == "PUT" and "HTTP_X_OC_MTIME" in environ:
            try:
                mtime = sanitize_mtime(environ["HTTP_X_OC_MTIME"])
            except ValueError as exc:
                _read_body(environ)
                reply = _sabre_reply(400, "Sabre\\DAV\\Exception\\BadRequest", str(exc))
                return self._send(reply, start_response)
        environ["wsgidav.auth.user_name"] = self.user
        environ["wsgidav.auth.roles"] = ("admin",)
        status_box: list[int] = []

        def put_headers(status: str, headers: list, exc_info: Any = None) -> Any:
            status_box.append(int(status.split()[0]))
            if mtime is not None and status_box[0] in (200, 201, 204):
                headers = [*headers, ("X-OC-MTime", "accepted")]
            return start_response(status, headers, exc_info)

        if mtime is None:
            return self._dav_app(environ, put_headers)
        body = list(self._dav_app(environ, put_headers))  # WsgiDAV stores the file in here
        if status_box and status_box[0] in (200, 201, 204):
            local = self.root / path[len(prefix) :].lstrip("/")
            if path.startswith("/remote.php/webdav"):
                local = self.root / path[len("/remote.php/webdav") :].lstrip("/")
            os.utime(local, (mtime, mtime))
        return body

    def _recalculate_hash(self, environ: dict, path: str, prefix: str) -> Reply:
        """PATCH with X-Recalculate-Hash (apps/dav ChecksumUpdatePlugin::httpPatch).

        rclone's Nextcloud vendor asks for this after an upload: the server hashes the file,
        answers 204 with "OC-Checksum: SHA1:<hex>" and an empty body. Folders and unknown
        paths are not handled by the plugin (Sabre answers 501 there; 405 here is close).
        """
        local = self.root / unquote(path[len(prefix) :]).lstrip("/")
        kind = environ.get("HTTP_X_RECALCULATE_HASH", "").lower()
        if not local.is_file() or kind not in ("sha1", "md5", "adler32"):
            return Reply(405)
        data = local.read_bytes()
        if kind == "adler32":
            digest = f"{zlib.adler32(data):08x}"
        else:
            digest = hashlib.new(kind, data).hexdigest()
        return Reply(204, headers=[("OC-Checksum", f"{kind.upper()}:{digest}")])

    def _dav_not_found(self, environ: dict, path: str) -> Reply:
        if self.authenticate(environ) is None:
            return self._unauthenticated()
        name = path.rstrip("/").rsplit("/", 1)[-1]
        return _sabre_reply(
            404, "Sabre\\DAV\\Exception\\NotFound", f"File with name {name} could not be located"
        )

    def filename_problem(self, name: str) -> str | None:
        """FilenameValidator's message for a name Nextcloud refuses, else None."""
        lower = name.lower()
        if lower in self.forbidden_filenames:
            return f'"{name}" is a forbidden file or folder name.'
        for char in self.forbidden_characters:
            if char != "/" and char in name:
                return f'"{char}" is not allowed inside a file or folder name.'
        for ext in self.forbidden_extensions:
            if lower.endswith(ext):
                if ext.startswith("."):
                    return f'"{ext}" is a forbidden file type.'
                return f'Filenames must not end with "{ext}".'
        return None

    # ------------------------------------------------------------------ files and ids

    @staticmethod
    def normalize(path: str) -> str:
        """PathHelper::normalizePath: a leading slash, no doubled or trailing slashes."""
        parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
        return "/" + "/".join(parts)

    def local(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def file_id(self, rel: str) -> int:
        with self._lock:
            if rel not in self._file_ids:
                self._file_ids[rel] = next(self._next_file_id)
            return self._file_ids[rel]

    def _full_path(self, rel: str) -> str:
        return f"/{self.user}/files{rel if rel != '/' else ''}"

    # ------------------------------------------------------------------ login flow v2

    def _login_flow(self, environ: dict, method: str, path: str, body: bytes) -> Reply:
        """``POST /login/v2`` starts a flow; ``POST /login/v2/poll`` answers 404 (body ``[]``)
        until the flow is granted, then 200 once with server, loginName and appPassword.

        Opening the ``login`` URL (``GET /login/v2/flow/{token}``) with the account password
        in basic auth grants the flow, standing in for the browser login; without it the page
        asks the user to log in.
        """
        params = _params(environ, body)
        if path == "/login/v2" and method == "POST":
            flow = LoginFlow(_random(128), _random(128), time.monotonic())
            with self._lock:
                self.flows.append(flow)
            if self.auto_grant:
                self.grant(poll_token=flow.poll_token)
            base = f"{self.url}/index.php"  # linkToRouteAbsolute without pretty URLs
            return _json_reply(
                200,
                {
                    "poll": {"token": flow.poll_token, "endpoint": f"{base}/login/v2/poll"},
                    "login": f"{base}/login/v2/flow/{flow.login_token}",
                },
            )
        if path == "/login/v2/poll" and method == "POST":
            return self._poll(params.get("token", ""))
        if (match := re.fullmatch(r"/login/v2/flow/([^/]+)", path)) and method == "GET":
            return self._landing(environ, match.group(1))
        return _html_reply(404, "Page not found")

    def _poll(self, token: str) -> Reply:
        with self._lock:
            now = time.monotonic()
            self.flows = [f for f in self.flows if now - f.created < self.flow_ttl]
            flow = next((f for f in self.flows if f.poll_token == token), None)
            if flow is None or flow.app_password is None:
                return _json_reply(404, [])
            self.flows.remove(flow)  # the credentials are handed out only once
        data = {"server": self.url, "loginName": self.login_name, "appPassword": flow.app_password}
        return _json_reply(200, data)

    def _landing(self, environ: dict, login_token: str) -> Reply:
        with self._lock:
            flow = next((f for f in self.flows if f.login_token == login_token), None)
        if flow is None:
            return _html_reply(403, "Your login token is invalid or has expired")
        auth = self.authenticate(environ)
        if auth is None or auth.app_password is not None:
            return _html_reply(200, "Log in to grant access to your account.")
        if flow.app_password is None:
            self.grant(poll_token=flow.poll_token)
        return _html_reply(200, "Account connected. You can close this window.")

    # ------------------------------------------------------------------ OCS

    def _ocs_routes(self) -> list[tuple[str, re.Pattern, Callable, bool]]:
        """(method, route, handler, public). Every route is reachable under v1 and v2."""
        shares = "apps/files_sharing/api/v1/shares"
        routes = [
            ("GET", "cloud/capabilities", self._capabilities, True),
            ("GET", "cloud/user", self._cloud_user, False),
            ("DELETE", "core/apppassword", self._delete_app_password, False),
            ("GET", shares, self._list_shares, False),
            ("POST", shares, self._create_share, False),
            ("GET", shares + r"/(?P<id>[^/]+)", self._get_share, False),
            ("DELETE", shares + r"/(?P<id>[^/]+)", self._delete_share, False),
        ]
        return [(m, re.compile(r), h, public) for m, r, h, public in routes]

    def _ocs(self, environ: dict, method: str, path: str, body: bytes) -> Reply:
        version = 2 if path.startswith("/ocs/v2.php/") else 1
        route = path[len("/ocs/v1.php/") :].strip("/")
        params = _params(environ, body)
        fmt = params.get("format") or _format_from_accept(environ.get("HTTP_ACCEPT", ""))
        for verb, pattern, handler, public in self._routes:
            match = pattern.fullmatch(route)
            if not match or verb != method:
                continue
            auth = self.authenticate(environ)
            if auth is None and not public:  # SecurityMiddleware: NotLoggedInException
                return ocs_reply(
                    version, fmt, RESPOND_UNAUTHORISED, message="Current user is not logged in"
                )
            if not environ.get("HTTP_OCS_APIREQUEST"):  # no NoCSRFRequired on these routes
                return _json_reply(412, {"message": "CSRF check failed"})
            try:
                status, data = handler(auth, params, **match.groupdict())
            except OCSError as exc:
                return ocs_reply(version, fmt, exc.status, message=exc.message)
            return ocs_reply(version, fmt, status, data)
        return ocs_reply(
            version,
            fmt,
            RESPOND_NOT_FOUND,
            message="Invalid query, please check the syntax. API specifications are here: "
            "http://www.freedesktop.org/wiki/Specifications/open-collaboration-services.",
        )

    def _capabilities(self, auth: Auth | None, params: dict) -> tuple[int, Any]:
        major, minor, micro = VERSION
        version = {"major": major, "minor": minor, "micro": micro}
        version |= {"string": f"{major}.{minor}.{micro}", "edition": "", "extendedSupport": False}
        if auth is None:  # only IPublicCapability providers answer anonymous callers
            theming = {"name": "Nextcloud", "url": "https://nextcloud.com", "slogan": ""}
            return 200, {"version": version, "capabilities": {"theming": theming}}
        dav: dict[str, Any] = {"chunking": "1.0"}
        if self.bulkupload:
            dav["bulkupload"] = "1.0"
        files = {
            "$comment": '"blacklisted_files" is deprecated as of Nextcloud 30, '
            'use "forbidden_filenames" instead',
            "blacklisted_files": self.forbidden_filenames,
            "forbidden_filenames": self.forbidden_filenames,
            "forbidden_filename_basenames": [],
            "forbidden_filename_characters": self.forbidden_characters,
            "forbidden_filename_extensions": self.forbidden_extensions,
            "bigfilechunking": True,
            "undelete": True,
            "versioning": True,
        }
        sharing: dict[str, Any] = {"api_enabled": self.sharing_enabled}
        if self.sharing_enabled:
            public = {"enabled": True, "upload": self.public_upload_allowed}
            public["password"] = {
                "enforced": self.link_password_enforced,
                "askForOptionalPassword": False,
            }
            public["expire_date"] = {"enabled": False}
            sharing |= {"public": public, "resharing": True, "group_sharing": True}
            sharing |= {"default_permissions": PERM_ALL}
        else:
            sharing |= {"public": {"enabled": False}, "resharing": False}
        core = {"pollinterval": 60, "webdav-root": "remote.php/webdav", "reference-api": True}
        caps = {"core": core, "dav": dav, "files": files, "files_sharing": sharing}
        return 200, {"version": version, "capabilities": caps}

    def _cloud_user(self, auth: Auth | None, params: dict) -> tuple[int, Any]:
        """provisioning_api UsersController::getCurrentUser (``id`` is the user id)."""
        used = self.ledger.used_bytes()
        if self.quota is None:
            free, quota = shutil.disk_usage(self.root).free, -3
        else:
            free, quota = max(0, self.quota - used), self.quota
        total = used + free
        relative = round(used * 100 / total, 2) if total else 0
        quota_info = {"free": free, "used": used, "total": total, "relative": relative}
        return 200, {
            "enabled": True,
            "storageLocation": str(self.root),
            "id": self.user,
            "lastLogin": int(time.time() * 1000),
            "backend": "Database",
            "subadmin": [],
            "quota": quota_info | {"quota": quota},
            "email": self.login_name if "@" in self.login_name else None,
            "additional_mail": [],
            "display-name": self.user,
            "groups": sorted(self.groups),
            "language": "en",
            "locale": "",
            "backendCapabilities": {"setDisplayName": True, "setPassword": True},
        }

    def _delete_app_password(self, auth: Auth | None, params: dict) -> tuple[int, Any]:
        if auth is None or auth.app_password is None:
            raise OCSError(403, "no app password in use")
        with self._lock:
            self.app_passwords.discard(auth.app_password)
        return 200, []

    # ------------------------------------------------------------------ shares

    def _node(self, raw_path: str) -> str:
        """The user-relative path of an existing file or folder, else 404 as createShare."""
        rel = self.normalize(raw_path)
        if ".." in rel.split("/") or not self.local(rel).exists():
            raise OCSError(404, "Wrong path, file/folder does not exist")
        return rel

    def _create_share(self, auth: Auth | None, params: dict) -> tuple[int, Any]:
        """ShareAPIController::createShare with Share20\\Manager's checks, in that order."""
        if "path" not in params:
            raise OCSError(404, "Please specify a file or folder path")
        rel = self._node(params["path"])
        is_dir = self.local(rel).is_dir()
        share_type = php_int(params.get("shareType", -1))
        if "permissions" in params:
            permissions = php_int(params["permissions"])
        else:
            permissions = PERM_READ if share_type == SHARE_LINK else PERM_ALL
        if permissions < 0 or permissions > PERM_ALL:
            raise OCSError(404, "Invalid permissions")
        permissions |= PERM_READ
        if not is_dir:
            permissions &= ~(PERM_DELETE | PERM_CREATE)
        share_with = params.get("shareWith")
        share: dict[str, Any] = {"share_type": share_type, "password": None, "token": None}
        if share_type == SHARE_USER:
            if share_with not in self.other_users | {self.user}:
                raise OCSError(404, "Please specify a valid user")
        elif share_type == SHARE_GROUP:
            if share_with not in self.groups:
                raise OCSError(404, "Please specify a valid group")
        elif share_type == SHARE_LINK:
            permissions = self._link_permissions(params, permissions, is_dir)
            share["password"] = params.get("password") or None
            share_with = None
        else:
            raise OCSError(400, "Unknown share type")
        expiration = self._expiration(params.get("expireDate", ""))
        # Share20\Manager::createShare: every \Exception becomes OCSForbiddenException (403)
        if not self.sharing_enabled:
            raise OCSError(403, "Sharing is disabled")
        if rel == "/":
            raise OCSError(403, "You cannot share your root folder")
        if share_type == SHARE_USER and share_with == self.user:
            raise OCSError(403, "Cannot share with yourself")
        if share_type == SHARE_LINK and self.link_password_enforced and not share["password"]:
            raise OCSError(403, "Passwords are enforced for link and mail shares")
        share |= {"path": rel, "permissions": permissions, "share_with": share_with}
        share |= {"expiration": expiration, "stime": int(time.time())}
        share |= {"note": params.get("note", ""), "label": params.get("label", "")}
        with self._lock:
            share["id"] = str(next(self._share_ids))
            if share_type == SHARE_LINK:
                share["token"] = _random(15, _HUMAN_READABLE)
            self.shares[share["id"]] = share
        return 200, self.format_share(share)

    def _link_permissions(self, params: dict, permissions: int, is_dir: bool) -> int:
        upload = params.get("publicUpload") == "true"
        if upload and not self.public_upload_allowed:
            raise OCSError(403, "Public upload disabled by the administrator")
        if upload or permissions & (PERM_CREATE | PERM_UPDATE | PERM_DELETE):
            if not is_dir:
                raise OCSError(404, "Public upload is only possible for publicly shared folders")
            permissions = PERM_READ | PERM_CREATE | PERM_UPDATE | PERM_DELETE
        return permissions | PERM_SHARE  # outgoing federated shares are allowed by default

    @staticmethod
    def _expiration(raw: str) -> str | None:
        """parseDate(): YYYY-MM-DD (a time part is ignored); 404 when invalid or past."""
        if not raw:
            return None
        try:
            day = datetime.strptime(raw.strip('"')[:10], "%Y-%m-%d").date()
        except ValueError:
            raise OCSError(404, "Invalid date. Format must be YYYY-MM-DD") from None
        if day < date.today():
            raise OCSError(404, "Expiration date is in the past")
        return day.strftime("%Y-%m-%d 00:00:00")

    def format_share(self, share: dict[str, Any]) -> dict[str, Any]:
        """ShareAPIController::formatShare for the share types this stand-in creates."""
        rel, local = share["path"], self.local(share["path"])
        is_dir = local.is_dir()
        stat = local.stat()
        parent = self.normalize(rel.rsplit("/", 1)[0])
        mime = "httpd/unix-directory" if is_dir else mimetypes.guess_type(local.name)[0]
        result: dict[str, Any] = {
            "id": share["id"],
            "share_type": share["share_type"],
            "uid_owner": self.user,
            "displayname_owner": self.user,
            "permissions": share["permissions"],
            "can_edit": True,
            "can_delete": True,
            "stime": share["stime"],
            "parent": None,
            "expiration": share["expiration"],
            "token": share["token"],
            "uid_file_owner": self.user,
            "note": share["note"],
            "label": share["label"],
            "displayname_file_owner": self.user,
            "path": rel,
            "item_type": "folder" if is_dir else "file",
            "item_permissions": PERM_ALL if is_dir else PERM_ALL & ~PERM_CREATE,
            "mimetype": mime or "application/octet-stream",
            "has_preview": False,
            "storage_id": f"home::{self.user}",
            "storage": 1,
            "item_source": self.file_id(rel),
            "file_source": self.file_id(rel),
            "file_parent": self.file_id(parent),
            "file_target": "/" + local.name,
            "item_size": stat.st_size,
            "item_mtime": int(stat.st_mtime),
        }
        if share["share_type"] == SHARE_LINK:
            hashed = None
            if share["password"]:
                hashed = "$2y$10$" + hashlib.sha256(share["password"].encode()).hexdigest()[:53]
            result |= {"share_with": hashed, "share_with_displayname": "(Shared link)"}
            result |= {"password": hashed, "send_password_by_talk": False}
            result["url"] = f"{self.url}/index.php/s/{share['token']}"
        else:
            result |= {"share_with": share["share_with"]}
            result |= {"share_with_displayname": share["share_with"]}
        return result | {"mail_send": 0, "hide_download": 0, "attributes": None}

    def _list_shares(self, auth: Auth | None, params: dict) -> tuple[int, Any]:
        """getShares: the user's shares, of one node with ``path``, of its children with
        ``subfiles=true`` (400 "Not a directory" for a file)."""
        with self._lock:
            shares = [s for s in self.shares.values() if self.local(s["path"]).exists()]
        if params.get("shared_with_me") == "true":
            return 200, []
        if params.get("path"):
            rel = self._node(params["path"])
            if params.get("subfiles") == "true":
                if not self.local(rel).is_dir():
                    raise OCSError(400, "Not a directory")
                shares = [s for s in shares if self.normalize(s["path"].rsplit("/", 1)[0]) == rel]
            else:
                shares = [s for s in shares if s["path"] == rel]
        return 200, [self.format_share(s) for s in shares]

    def _get_share(self, auth: Auth | None, params: dict, id: str) -> tuple[int, Any]:
        share = self.shares.get(id)
        if share is None or not self.local(share["path"]).exists():
            raise OCSError(404, "Wrong share ID, share does not exist")
        return 200, [self.format_share(share)]

    def _delete_share(self, auth: Auth | None, params: dict, id: str) -> tuple[int, Any]:
        with self._lock:
            if self.shares.pop(id, None) is None:
                raise OCSError(404, "Wrong share ID, share does not exist")
        return 200, []

    def _public_download(self, token: str) -> Reply:
        """``/s/TOKEN/download``: the file, or a folder as a zip; 404 for unknown or expired
        shares; a password-protected share redirects to its authentication page."""
        share = next((s for s in self.shares.values() if s["token"] == token), None)
        today = date.today().strftime("%Y-%m-%d")
        if share is None or (share["expiration"] or "9999") < today:
            return _html_reply(404, "Share not found")
        local = self.local(share["path"])
        if not local.exists():
            return _html_reply(404, "Share not found")
        if share["password"]:
            location = f"{self.url}/index.php/s/{token}/authenticate/downloadShare"
            return Reply(303, headers=[("Location", location)])
        if local.is_file():
            disposition = f'attachment; filename="{local.name}"'
            content_type = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
            return Reply(
                200, local.read_bytes(), content_type, [("Content-Disposition", disposition)]
            )
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for item in sorted(local.rglob("*")):
                if item.is_file():
                    archive.write(item, (Path(local.name) / item.relative_to(local)).as_posix())
        disposition = f'attachment; filename="{local.name}.zip"'
        return Reply(
            200, buffer.getvalue(), "application/zip", [("Content-Disposition", disposition)]
        )

    # ------------------------------------------------------------------ bulk upload

    def _bulk(self, environ: dict, method: str, body: bytes) -> Reply:
        """``POST /remote.php/dav/bulk`` as BulkUploadPlugin::httpPost handles it."""
        if self.authenticate(environ) is None:
            return self._unauthenticated()
        if method != "POST":
            return self._dav_not_found(environ, "/bulk")
        if not self.bulk_plugin:  # no plugin takes POST: Sabre's Server::invokeMethod
            return _sabre_reply(
                501,
                "Sabre\\DAV\\Exception\\NotImplemented",
                "There was no plugin in the system that was willing to handle this POST method.",
            )
        with self._lock:
            self.bulk_requests += 1
            batch: list[str] = []
            self.bulk_batches.append(batch)
        try:
            parser = MultipartParser(body, environ.get("CONTENT_TYPE"))
        except BulkParseError as exc:  # thrown by the constructor, outside the plugin's try
            return _sabre_reply(400, "Sabre\\DAV\\Exception\\BadRequest", str(exc))
        written: dict[str, Any] = {}
        while not parser.at_last_boundary():
            try:
                headers, content = parser.next_part()
            except BulkParseError:
                return _json_reply(400, written or [])  # earlier parts stay stored
            key, entry = self._bulk_store(headers, content)
            batch.append(key)
            written[key] = entry
        return _json_reply(200, written or [])

    def _bulk_store(self, headers: dict[str, str], content: bytes) -> tuple[str, dict]:
        """One part: Folder::newFile, then touch(mtime); failures become an error entry."""
        path = headers.get("x-file-path")
        try:
            mtime = None
            if "x-file-mtime" in headers:
                mtime = sanitize_mtime(headers["x-file-mtime"])
            elif "x-oc-mtime" in headers:
                mtime = sanitize_mtime(headers["x-oc-mtime"])
            rel = self._new_file(path or "", content)
        except ValueError as exc:
            return path or "", {"error": True, "message": str(exc)}
        local = self.local(rel)
        if mtime is not None:
            os.utime(local, (mtime, mtime))
        else:
            local.touch()
        etag = hashlib.md5(f"{rel}:{local.stat().st_mtime_ns}".encode()).hexdigest()[:13]
        entry = {
            "error": False,
            "etag": etag,
            "fileid": f"{self.file_id(rel):08d}{self._instance_id}",  # DavUtil::getDavFileId
            "permissions": "RGDNVW",
        }
        return path or "", entry

    def _new_file(self, raw: str, content: bytes) -> str:
        """Folder::newFile: store `content` at `raw`, or raise ValueError with its message.

        The parent folder must exist; a file that would not fit (Quota::file_put_contents
        wants strictly less than the free space) or a path in `fail_paths` is refused.
        """
        if raw == "":
            raise ValueError("Could not create as provided path is empty")
        rel = self.normalize(raw)
        if ".." in rel.split("/"):
            raise ValueError(f'Invalid path "{rel}"')
        if problem := self.filename_problem(rel.rsplit("/", 1)[-1]):
            raise ValueError(problem)
        local = self.local(rel)
        refused = ValueError(f'Could not create path "{self._full_path(rel)}"')
        with self._lock:
            if raw in self.fail_paths or rel in self.fail_paths:
                raise refused
            if rel == "/" or not local.parent.is_dir() or local.is_dir():
                raise refused
            if self.quota is not None:
                free = max(self.quota - self.ledger.used_bytes(), 0)
                if not len(content) < free:
                    raise refused
            local.write_bytes(content)
        return rel


# --------------------------------------------------------------------------- request helpers


def _read_body(environ: dict) -> bytes:
    """The whole request body (once; later calls return what was read)."""
    if "standin.body" in environ:
        return environ["standin.body"]
    stream = environ.get("wsgi.input")
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if stream is None:
        body = b""
    elif length.isdigit():
        body = stream.read(int(length))
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        body = stream.read()
    else:
        body = b""
    environ["standin.body"] = body
    environ["wsgidav.all_input_read"] = True
    return body


def _params(environ: dict, body: bytes) -> dict[str, str]:
    """Query string merged with a form or JSON body, as IRequest::getParam sees them."""
    params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    content_type = environ.get("CONTENT_TYPE", "")
    if body and "application/json" in content_type:
        with_json = json.loads(body.decode("utf-8") or "{}")
        if isinstance(with_json, dict):
            params |= {k: v if isinstance(v, str) else json.dumps(v) for k, v in with_json.items()}
    elif body:
        params |= dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _format_from_accept(accept: str) -> str:
    """Controller::getResponderByHTTPHeader: the first entry that is exactly json or xml."""
    for entry in accept.split(","):
        responder = entry.strip().lower().replace("application/", "")
        if responder in ("json", "xml"):
            return responder
    return "xml"
