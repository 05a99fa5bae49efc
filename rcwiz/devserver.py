"""A loopback WebDAV server with a set quota, for `rcwiz demo` and the test suite.

`rclone serve webdav` reports no quota and stock WsgiDAV reports the host's disk, so neither
can show what rcwiz does when a Nextcloud account fills up. This server reports a chosen
quota through the RFC 4331 properties (`quota-used-bytes`, `quota-available-bytes`) and
answers 507 Insufficient Storage to an upload that would go over it, storing nothing.

How an upload is admitted: a ledger keeps, under one lock, the bytes reserved by uploads in
flight. A PUT with a Content-Length reserves its whole size before WsgiDAV touches the disk,
so an over-quota PUT leaves the old file (if any) untouched. A chunked PUT reserves as the
bytes arrive and fails with 507 at the first block that does not fit; its partial file is
then removed. Parallel uploads therefore never store more than the quota between them.

"used" is the sum of the file sizes under the root, found by walking it: tests put files
there directly and expect them counted. Cheap for the small trees this server is meant for.

Run it as a separate process (tests kill it mid-transfer) with::

    RCWIZ_DEVSERVER_PASSWORD=secret python -m rcwiz.devserver --root DIR --quota 1000000

It prints one JSON line `{"url": ..., "port": ...}` once listening and serves until
SIGTERM or SIGINT. wsgidav and cheroot are the optional extra `rcwiz[demo]`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from rcwiz.errors import RcwizError

try:
    from cheroot import wsgi as _cheroot_wsgi
    from wsgidav.dav_error import HTTP_INSUFFICIENT_STORAGE, DAVError
    from wsgidav.error_printer import ErrorPrinter
    from wsgidav.fs_dav_provider import FilesystemProvider, FolderResource
    from wsgidav.http_authenticator import HTTPAuthenticator
    from wsgidav.mw.base_mw import BaseMiddleware
    from wsgidav.request_resolver import RequestResolver
    from wsgidav.wsgidav_app import WsgiDAVApp
except ImportError as _exc:  # the optional extra is not installed
    _IMPORT_ERROR: ImportError | None = _exc
    # Stand-ins so the class statements below still run; QuotaServer() refuses to start.
    FolderResource = FilesystemProvider = BaseMiddleware = object  # type: ignore
else:
    _IMPORT_ERROR = None

PASSWORD_ENV = "RCWIZ_DEVSERVER_PASSWORD"
_log = logging.getLogger(__name__)
# Set in a request's environ when its chunked body ran over the quota.
_REFUSED_KEY = "rcwiz.quota.refused"
# A chunked upload asks the ledger for room in steps this large, not for every block.
_RESERVE_STEP = 1 << 20
_THREADS = 16


class DemoExtraMissing(RcwizError):
    """wsgidav or cheroot is not installed, so the loopback server cannot run."""

    default_hint = "Install the optional extra: pip install 'rcwiz[demo]'"


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


class _QuotaFolder(FolderResource):  # type: ignore[misc,valid-type]
    """A folder that reports the server's quota instead of the host's disk (RFC 4331)."""

    def get_used_bytes(self) -> int | None:
        ledger: QuotaLedger = self.provider.ledger
        return None if ledger.quota is None else ledger.used_bytes()

    def get_available_bytes(self) -> int | None:
        return self.provider.ledger.available_bytes()


class _QuotaProvider(FilesystemProvider):  # type: ignore[misc,valid-type]
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


class _QuotaGate(BaseMiddleware):  # type: ignore[misc,valid-type]
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


# --------------------------------------------------------------------------- the server


class QuotaServer:
    """A WebDAV server on loopback that reports `quota` and answers 507 when it is exceeded.

    `quota=None` reports no quota at all (like `rclone serve webdav`). `delay` sleeps that
    long before every request, to imitate a slow server. Serves from a background thread
    of this process; use as a context manager so it is always stopped.
    """

    def __init__(
        self,
        root: Path,
        *,
        user: str,
        password: str,
        quota: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        verbose: bool = False,
    ) -> None:
        if _IMPORT_ERROR is not None:
            raise DemoExtraMissing(
                f"The loopback WebDAV server needs wsgidav and cheroot ({_IMPORT_ERROR})."
            )
        root = Path(root)
        if not root.is_dir():
            raise RcwizError(f"The server root {root} is not a folder.")
        if quota is not None and quota < 0:
            raise RcwizError(f"The quota must not be negative (got {quota}).")
        self.root = root.resolve()
        self.quota = quota
        self.host = host
        self.delay = delay
        self.ledger = QuotaLedger(self.root, quota)
        _quiet_wsgidav(verbose)
        provider = _QuotaProvider(self.root, self.ledger)
        app = WsgiDAVApp(_wsgidav_config(provider, user, password, verbose))
        # cheroot sets SO_REUSEADDR only for a fixed port; without it, the TIME_WAIT sockets a
        # killed server leaves behind keep the port from being bound again by a restart.
        port = port or _free_port(host)
        self._server = _cheroot_wsgi.Server((host, port), self._delayed(app), numthreads=_THREADS)
        self._server.error_log = self._error_log if not verbose else self._server.error_log
        # cheroot's selector loop notices stop() only between waits of this length (0.5 s by
        # default); tests start and stop many servers.
        self._server.expiration_interval = 0.1
        self._thread: threading.Thread | None = None
        self._requested_port = port

    def _delayed(self, app: Callable) -> Callable:
        if self.delay <= 0:
            return app

        def slow(environ: dict, start_response: Callable) -> Any:
            time.sleep(self.delay)
            return app(environ, start_response)

        return slow

    @staticmethod
    def _error_log(msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # cheroot writes socket errors (clients hanging up) to stderr; keep them in logging.
        _log.debug("cheroot: %s", msg, exc_info=traceback)

    def start(self) -> QuotaServer:
        """Bind the port and serve in a background thread; return once it accepts requests."""
        if self._thread is not None:
            raise RcwizError("The server is already running.")
        self._server.prepare()  # binds and listens; raises if the port is taken
        self._thread = threading.Thread(
            target=self._server.serve, name="rcwiz-devserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the worker threads; calling it twice is harmless."""
        if self._thread is None:
            return
        self._server.stop()
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> QuotaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (the real one once started, even when 0 was asked for)."""
        addr = self._server.bind_addr
        return int(addr[1]) if isinstance(addr, tuple) else self._requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def used_bytes(self) -> int:
        """Return the bytes stored under the root, as reported in quota-used-bytes."""
        return self.ledger.used_bytes()


def _free_port(host: str) -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rcwiz.devserver",
        description=f"Serve DIR over WebDAV on loopback with a quota. The password is read "
        f"from the environment variable {PASSWORD_ENV}.",
    )
    parser.add_argument("--root", type=Path, required=True, help="folder to serve")
    parser.add_argument("--quota", type=int, default=None, help="quota in bytes (default: none)")
    parser.add_argument("--user", default="rcwiz", help="user name (default: rcwiz)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait per request")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; print the address as one JSON line once listening."""
    args = _parse_args(argv)
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        print(
            f"error: set the password in the environment variable {PASSWORD_ENV}", file=sys.stderr
        )
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server = QuotaServer(
            args.root,
            user=args.user,
            password=password,
            quota=args.quota,
            host=args.host,
            port=args.port,
            delay=args.delay,
            verbose=args.verbose,
        )
        server.start()
    except (RcwizError, OSError) as exc:
        hint = getattr(exc, "hint", "")
        print(f"error: {exc}" + (f"\nhint: {hint}" if hint else ""), file=sys.stderr)
        return 1
    try:
        print(json.dumps({"url": server.url, "port": server.port}), flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
