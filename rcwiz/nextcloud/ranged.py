"""One file from Nextcloud's WebDAV in byte ranges, each tied to the version it started with.

Verified on the real Nextcloud 30 (PHP's built-in server; tests/nextcloud/test_nc_ranged.py):
a WebDAV GET with `Range: bytes=A-B` answers 206 with `Content-Range: bytes A-B/SIZE`; with
`If-Range: "ETAG"` it answers 206 only while the file's strong ETag is that one, else 200 with
the whole (new) file; a range past the end answers 416. HEAD gives `ETag` and `Content-Length`.

So a download takes the version now on the server from the listing of the same run (its
`getetag` is the ETag HEAD gives, quotes included; HEAD only when the listing gave none),
compares it with the one the bytes on disk came from, and sends every ranged GET with
If-Range: a file replaced on the server since the listing is never mixed into the bytes
already written (Changed; the caller starts again from zero). Every request runs under the
client's clock (rcwiz.clock): a server that stops sending ends as Stalled within the stall
timeout, and `Client.abort` cuts them all.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.http import Client
from rcwiz.nextcloud.urls import file_path

if TYPE_CHECKING:
    from rcwiz.body_to_file import Target

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


class Changed(errors.RcwizError):
    """The file on the server is no longer the version the download began with."""


@dataclass(frozen=True)
class Version:
    """Which version of a file the server holds: its strong ETag and size."""

    etag: str
    size: int


def version(client: Client, dav_user: str, path: str) -> Version:
    """The ETag and size of the file PATH (relative to the user's home) now; a failed status is
    the error rcwiz.errors maps it to (a file gone: NotFound)."""
    reply = client.request("HEAD", file_path(dav_user, path), headers={"Accept": "*/*"})
    if not reply.ok:
        raise errors.for_http_status(reply.status, f"Nextcloud's file {path}")
    etag = reply.headers.get("etag", "")
    length = reply.headers.get("content-length", "")
    if not etag or etag.startswith("W/") or not length.isdigit():
        raise errors.ServerError(
            f"Nextcloud gave no strong ETag and size for {path}, so a download cannot resume.",
            status=reply.status,
        )
    return Version(etag, int(length))


def fetch(
    client: Client,
    dav_user: str,
    path: str,
    span: tuple[int, int],
    of: Version,
    into: Target,
    stop: threading.Event,
) -> None:
    """Bytes SPAN (start, end exclusive) of version OF of PATH, written into INTO at their
    offsets as they come (rcwiz.body_to_file); ends early, quietly, once STOP is set or INTO
    takes no more.

    Changed when the server holds another version now (If-Range), ServerError when its answer
    is not the range asked for, whatever rcwiz.errors maps any other status to.
    """
    start, end = span
    headers = {"Range": f"bytes={start}-{end - 1}", "If-Range": of.etag, "Accept": "*/*"}
    with client.stream("GET", file_path(dav_user, path), headers=headers) as answer:
        if answer.status in (200, 412, 416):
            raise Changed(f"{path} changed on the server while it was being downloaded.")
        if answer.status != 206:
            raise errors.for_http_status(answer.status, f"Nextcloud's file {path}")
        # Nextcloud's WebDAV (sabre/dav) reads If-Range as a date when PHP can parse it as one,
        # which some ETags are: a range of another version may come back as 206. Its own ETag
        # says which version it is.
        if answer.headers.get("etag", of.etag) != of.etag:
            raise Changed(f"{path} changed on the server while it was being downloaded.")
        found = _CONTENT_RANGE.fullmatch(answer.headers.get("content-range", "").strip())
        if found is None or tuple(map(int, found.groups())) != (start, end - 1, of.size):
            raise errors.ServerError(
                f"Nextcloud answered another range of {path} than the one asked for "
                f"({answer.headers.get('content-range', 'none')}).",
                status=answer.status,
            )
        answer.into_file(span, into, stop)
