"""A small HTTP client for Nextcloud's OCS and DAV endpoints (standard library only).

Errors become rcwiz's named errors: 401 AuthenticationFailed, 404 NotFound, 403 Forbidden,
507 QuotaExceeded, no answer ServerUnreachable. OCS replies are unwrapped from their
`{"ocs": {"meta": ..., "data": ...}}` envelope.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from rcwiz import __version__, errors

TIMEOUT = 30.0


class NextcloudError(errors.RcwizError):
    """The server answered, but not with what was asked (status and OCS message quoted)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int = 0) -> None:
        super().__init__(message, hint)
        self.status = status


class NotFound(NextcloudError):
    exit_code = errors.ExitCode.NOT_FOUND


class Forbidden(NextcloudError):
    exit_code = errors.ExitCode.FAILURE
    default_hint = "The server's administrator decides what is allowed (sharing policy)."


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise NextcloudError(f"The server's answer was not JSON (HTTP {self.status}).",
                                 status=self.status) from exc  # fmt: skip


@dataclass
class Client:
    """Requests to one Nextcloud as one user (basic auth with a password or app password)."""

    server: str  # base URL, e.g. https://cloud.example.org or http://127.0.0.1:8080/nc
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    def _auth(self) -> dict[str, str]:
        if self.user is None or self.password is None:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Response:
        """Send one request to SERVER + PATH; return the response whatever its status."""
        base = urlsplit(self.server)
        target = base.path.rstrip("/") + path
        if params:
            target += "?" + urlencode(params)
        all_headers = {"User-Agent": f"rcwiz/{__version__}", "Accept": "application/json"}
        if auth:
            all_headers.update(self._auth())
        if form is not None:
            body = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers.update(headers or {})
        if base.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                base.hostname or "", base.port, timeout=self.timeout,
                context=ssl.create_default_context())  # fmt: skip
        else:
            connection = http.client.HTTPConnection(base.hostname or "", base.port,
                                                    timeout=self.timeout)  # fmt: skip
        try:
            connection.request(method, target, body=body, headers=all_headers)
            reply = connection.getresponse()
            return Response(reply.status, {k.lower(): v for k, v in reply.getheaders()},
                            reply.read())  # fmt: skip
        except ssl.SSLError as exc:
            raise errors.ServerUnreachable(
                f"The secure connection to {self.server} failed: {exc.reason or exc}.",
                "Check the server address; a certificate error means the address or the "
                "server's TLS set-up is wrong.") from exc  # fmt: skip
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise errors.ServerUnreachable(
                f"The server {self.server} could not be reached: {exc}."
            ) from exc
        finally:
            connection.close()

    def ocs(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
            form: Mapping[str, str] | None = None) -> Any:  # fmt: skip
        """Call an OCS endpoint; return its `data`, or raise the named error for its status."""
        query = {"format": "json", **(params or {})}
        reply = self.request(method, path, params=query, form=form,
                             headers={"OCS-APIRequest": "true"})  # fmt: skip
        raise_for_status(reply, self.server)
        document = reply.json()
        meta = (document or {}).get("ocs", {}).get("meta", {}) if isinstance(document, dict) else {}
        code = int(meta.get("statuscode", reply.status) or 0)
        # OCS v1 answers HTTP 200 with its own status code; 100 and 200 mean success.
        if code not in (100, 200):
            raise_for_status(Response(code, reply.headers, reply.body), self.server,
                             message=str(meta.get("message") or ""))  # fmt: skip
        return document["ocs"].get("data")


def raise_for_status(reply: Response, server: str, message: str = "") -> None:
    """Raise the named error for a failed HTTP (or OCS) status; return for success."""
    status = reply.status
    if 200 <= status < 300:
        return
    if not message:
        try:
            meta = json.loads(reply.body or b"{}").get("ocs", {}).get("meta", {})
            message = str(meta.get("message") or "")
        except (ValueError, AttributeError):
            message = ""
    said = f": {message}" if message else ""
    if status == 401:
        raise errors.AuthenticationFailed(f"{server} refused the user name or password (401).")
    if status == 404:
        raise NotFound(f"Not found on {server}{said or ' (404)'}.", status=status)
    if status == 403:
        raise Forbidden(f"{server} does not allow this{said or ' (403)'}.", status=status)
    if status == 507:
        raise errors.QuotaExceeded(f"{server} is out of storage space (507).")
    raise NextcloudError(f"{server} answered HTTP {status}{said}.", status=status)
