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

    RCWIZ_DEVSERVER_PASSWORD=secret python -m rcwiz.demo.server --root DIR --quota 1000000

It prints one JSON line `{"url": ..., "port": ...}` once listening and serves until
SIGTERM or SIGINT. wsgidav and cheroot are the optional extra `rcwiz[demo]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rcwiz.demo.quota import (
    QuotaLedger,
    _quiet_wsgidav,
    _QuotaProvider,
    _wsgidav_config,
)
from rcwiz.errors import DemoExtraMissing, RcwizError, UsageError

try:
    from cheroot import wsgi as _cheroot_wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp
except ImportError as _exc:  # the optional extra is not installed: QuotaServer() says so
    _IMPORT_ERROR: ImportError | None = _exc
else:
    _IMPORT_ERROR = None

PASSWORD_ENV = "RCWIZ_DEVSERVER_PASSWORD"
_log = logging.getLogger(__name__)
_THREADS = 16


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
            raise UsageError(f"The server root {root} is not a folder.")
        if quota is not None and quota < 0:
            raise UsageError(f"The quota must not be negative (got {quota}).")
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
        if not verbose:
            self._server.error_log = self._error_log  # type: ignore[method-assign]
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
            raise RuntimeError("The server is already running.")
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
        prog="python -m rcwiz.demo.server",
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
