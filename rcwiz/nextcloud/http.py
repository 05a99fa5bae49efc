"""Nextcloud's OCS API over rcwiz.http: the `{"ocs": {"meta": ..., "data": ...}}` envelope
unwrapped, and a failed HTTP or OCS status turned into the named error for it
(rcwiz.errors.for_http_status: 401 AuthenticationFailed, 404 NotFound, 403 Forbidden,
507 QuotaExceeded). No answer at all is ServerUnreachable (from rcwiz.http).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rcwiz import errors, http
from rcwiz.http import Response

__all__ = ["Client", "Response", "raise_for_status"]


class Client(http.Client):
    """rcwiz.http.Client plus Nextcloud's OCS calls."""

    def ocs(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        """Call an OCS endpoint; return its `data`, or raise the named error for its status."""
        query = {"format": "json", **(params or {})}
        reply = self.request(
            method, path, params=query, form=form, headers={"OCS-APIRequest": "true"}
        )
        raise_for_status(reply, self.server)
        document = reply.json()
        meta = (document or {}).get("ocs", {}).get("meta", {}) if isinstance(document, dict) else {}
        code = int(meta.get("statuscode", reply.status) or 0)
        # OCS v1 answers HTTP 200 with its own status code; 100 and 200 mean success.
        if code not in (100, 200):
            raise_for_status(
                Response(code, reply.headers, reply.body),
                self.server,
                message=str(meta.get("message") or ""),
            )
        return document["ocs"].get("data")


def _said(reply: Response) -> str:
    """The server's own short message (OCS meta.message), one line; never an HTML page."""
    try:
        meta = json.loads(reply.body or b"{}").get("ocs", {}).get("meta", {})
        message = str(meta.get("message") or "")
    except (ValueError, AttributeError):
        return ""
    return " ".join(message.split())[:200]


def raise_for_status(
    reply: Response, server: str, message: str = "", name: str | None = None
) -> None:
    """Raise the named error for a failed HTTP (or OCS) status; return for success. NAME: the
    file the request was about (a 423 names it)."""
    if 200 <= reply.status < 300:
        return
    said = " ".join(message.split())[:200] if message else _said(reply)
    raise errors.for_http_status(reply.status, server, said, name)
