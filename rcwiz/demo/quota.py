"""The quota parts of the demo server: a ledger of bytes under a root and in flight, and the
WsgiDAV provider, folder and middleware that report a set quota (RFC 4331) and answer 507 to
an upload that would go over it. rcwiz.demo.server runs them; see its docstring for how an
upload is admitted.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

try:
    from wsgidav.dav_error import HTTP_INSUFFICIENT_STORAGE, DAVError
    from wsgidav.error_printer import ErrorPrinter
    from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource
    from wsgidav.http_authenticator import HTTPAuthenticator
    from wsgidav.mw.base_mw import BaseMiddleware
    from wsgidav.request_resolver import RequestResolver
except ImportError:  # the optional extra is not installed: rcwiz.demo.server says so
    # Stand-ins so the class statements below still run.
    FolderResource = FilesystemProvider = BaseMiddleware = object

# Set in a request's environ when its chunked body ran over the quota.
_REFUSED_KEY = "rcwiz.quota.refused"
# A chunked upload asks the ledger for room in steps this large, not for every block.
_RESERVE_STEP = 1 << 20


# --------------------------------------------------------------------------- quota ledger


class QuotaLedger:
    """Counts the bytes under `root` and admits uploads so the total never exceeds `quota`.

    Every reservation is decided under one lock against the files on disk plus the bytes
    other uploads in flight have reserved, so parallel uploads cannot overshoot together.
    """

    def __init__(self, root: Path, quota: int | None) -> None:
        self.root = Path(root)
        self.quota = quota
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._inflight: dict[int, tuple[str, int]] = {}  # ticket -> (file path, bytes reserved)

    def used_bytes(self, exclude: Iterable[str] = ()) -> int:
        """Return the sum of the sizes of the files under root, leaving out `exclude`."""
        skip = set(exclude)
        total = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = os.path.join(dirpath, name)
                if path in skip:
                    continue
                with contextlib.suppress(OSError):  # removed while we walk
                    total += os.lstat(path).st_size
        return total

    def available_bytes(self) -> int | None:
        """Return the free bytes (never negative), or None when no quota is set."""
        if self.quota is None:
            return None
        return max(0, self.quota - self.used_bytes())

    def open_ticket(self, path: str) -> int:
        """Register an upload to `path` with nothing reserved yet; return its ticket."""
        ticket = next(self._tickets)
        with self._lock:
            self._inflight[ticket] = (path, 0)
        return ticket

    def reserve(self, ticket: int, nbytes: int) -> bool:
        """Reserve `nbytes` more for `ticket`; False (and nothing reserved) if over quota.

        Files being uploaded count by their reservation, not by what is already on disk,
        and the target's old content is not counted because the upload replaces it.
        """
        with self._lock:
            path, held = self._inflight[ticket]
            if self.quota is not None:
                busy = {p for p, _ in self._inflight.values()}
                reserved = sum(r for _, r in self._inflight.values())
                if self.used_bytes(exclude=busy) + reserved + nbytes > self.quota:
                    return False
            self._inflight[ticket] = (path, held + nbytes)
            return True

    def reserved(self, ticket: int) -> int:
        with self._lock:
            return self._inflight[ticket][1]

    def close_ticket(self, ticket: int) -> None:
        with self._lock:
            self._inflight.pop(ticket, None)


# --------------------------------------------------------------------------- WsgiDAV parts


class _QuotaFolder(FolderResource):
    """A folder that reports the server's quota instead of the host's disk (RFC 4331)."""

    def get_used_bytes(self) -> int | None:
        ledger: QuotaLedger = self.provider.ledger
        return None if ledger.quota is None else ledger.used_bytes()

    def get_available_bytes(self) -> int | None:
        return self.provider.ledger.available_bytes()


class _QuotaProvider(FilesystemProvider):
    """The stock filesystem provider, handing out folders that report the quota."""

    def __init__(self, root: Path, ledger: QuotaLedger) -> None:
        super().__init__(str(root), fs_opts={"follow_symlinks": False})
        self.ledger = ledger

    def get_resource_inst(self, path: str, environ: dict) -> Any:
        res = super().get_resource_inst(path, environ)
        if isinstance(res, FolderResource) and not isinstance(res, _QuotaFolder):
            res = _QuotaFolder(path, environ, res._file_path)
        return res


class _MeteredInput:
    """Wraps a request body: each block read must first fit in the ledger, or 507 is raised.

    Raising from read() happens before WsgiDAV writes the block, so nothing over the
    quota reaches the disk.
    """

    def __init__(self, stream: Any, ledger: QuotaLedger, ticket: int, environ: dict) -> None:
        self._stream = stream
        self._ledger = ledger
        self._ticket = ticket
        self._environ = environ
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._admit(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._stream.readline(size)
        self._admit(len(data))
        return data

    def _admit(self, n: int) -> None:
        self._seen += n
        deficit = self._seen - self._ledger.reserved(self._ticket)
        if deficit <= 0:
            return
        if self._ledger.reserve(self._ticket, max(deficit, _RESERVE_STEP)):
            return
        if self._ledger.reserve(self._ticket, deficit):
            return
        self._environ[_REFUSED_KEY] = True
        raise DAVError(HTTP_INSUFFICIENT_STORAGE, "Upload exceeds the quota.")


class _QuotaGate(BaseMiddleware):
    """Admits PUTs against the quota; sits after authentication, before the request resolver."""

    def is_disabled(self) -> bool:
        return False

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        provider = environ.get("wsgidav.provider")
        if environ["REQUEST_METHOD"] != "PUT" or not isinstance(provider, _QuotaProvider):
            return self.next_app(environ, start_response)
        ledger = provider.ledger
        target = provider._loc_to_file_path(environ["PATH_INFO"], environ)
        ticket = ledger.open_ticket(target)
        try:
            length = _content_length(environ)
            if length is not None and not ledger.reserve(ticket, length):
                # Refuse before WsgiDAV creates or truncates anything.
                return _insufficient_storage(start_response, length, ledger)
            environ["wsgi.input"] = _MeteredInput(environ["wsgi.input"], ledger, ticket, environ)
            try:
                # WsgiDAV consumes the whole body inside this call.
                return list(self.next_app(environ, start_response))
            except DAVError:
                if not environ.get(_REFUSED_KEY):
                    raise
                with contextlib.suppress(OSError):
                    os.remove(target)  # the partial file of a refused chunked upload
                return _insufficient_storage(start_response, None, ledger)
        finally:
            ledger.close_ticket(ticket)


def _insufficient_storage(
    start_response: Callable, needed: int | None, ledger: QuotaLedger
) -> list[bytes]:
    """Answer 507 the way Nextcloud (SabreDAV) does, so rclone logs what it logs there."""
    wanted = "" if needed is None else f"{needed} required, "
    message = f"Insufficient space, {wanted}{ledger.available_bytes()} available"
    body = _SABRE_ERROR.format(
        exception="Sabre\\DAV\\Exception\\InsufficientStorage", message=escape(message)
    ).encode()
    start_response(
        "507 Insufficient Storage",
        [
            ("Content-Type", "application/xml; charset=utf-8"),
            ("Content-Length", str(len(body))),
            # The rest of the body is not read: the connection cannot be reused.
            ("Connection", "close"),
        ],
    )
    return [body]


_SABRE_ERROR = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n'
    "  <s:exception>{exception}</s:exception>\n"
    "  <s:message>{message}</s:message>\n"
    "</d:error>\n"
)


def _content_length(environ: dict) -> int | None:
    """Return the request's Content-Length, or None when it is absent (chunked upload)."""
    raw = (environ.get("CONTENT_LENGTH") or "").strip()
    if not raw or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        return None


def _wsgidav_config(provider: Any, user: str, password: str, verbose: bool) -> dict:
    return {
        "provider_mapping": {"/": provider},
        "simple_dc": {"user_mapping": {"*": {user: {"password": password, "roles": []}}}},
        "http_authenticator": {
            "domain_controller": None,  # SimpleDomainController with simple_dc
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        # Authenticate first, then meter uploads: a wrong password must get 401, not 507.
        "middleware_stack": [ErrorPrinter, HTTPAuthenticator, _QuotaGate, RequestResolver],
        "dir_browser": {"enable": False},
        "lock_storage": True,
        "property_manager": None,
        "verbose": 3 if verbose else 1,
        "logging": {"enable": False},
        "suppress_version_info": True,
    }


def _quiet_wsgidav(verbose: bool) -> None:
    """Keep WsgiDAV's logger off stderr unless asked (Python's last-resort handler prints)."""
    logger = logging.getLogger("wsgidav")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    if verbose and not any(type(h) is logging.StreamHandler for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
