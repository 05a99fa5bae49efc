"""https or http: decided before any password leaves this computer.

A bare host (`cloud.example.org`) is tried with https first. Only a TLS handshake is made,
with no credentials in it, and what it finds decides:

* it succeeds: https;
* nothing listens (connection refused), or the port answers plain HTTP: http:// on a
  loopback address only (a test server on this computer); anywhere else rcwiz stops and says
  to type `http://` if that is really meant, because the password would travel in clear text;
* the certificate cannot be trusted: that is an answer, not silence, so it is
  CertificateFailed (exit 6, the hint names --ca-cert), never a retry over http.

An address typed with `http://` is used as typed; for a host other than loopback rcwiz says
once that the password will travel unencrypted.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from rcwiz import errors, http
from rcwiz.clock import Clock

Handshake = Literal["tls", "refused", "not-tls", "unknown"]


def is_loopback(url: str) -> bool:
    """URL's host is this computer (127.0.0.0/8, ::1, localhost): plain http stays on it."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def handshake(url: str, clock: Clock) -> Handshake:
    """Try a TLS handshake with URL's host (no request, no credentials) within the clock's
    stall timeout and say what came back; a certificate that cannot be trusted (by the
    clock's certificate authority, else the system's) is CertificateFailed."""
    import socket
    import ssl

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        with (
            socket.create_connection((host, parts.port or 443), timeout=clock.stall) as raw,
            http.tls_context(clock.ca_cert).wrap_socket(raw, server_hostname=host),
        ):
            return "tls"
    except ConnectionRefusedError:
        return "refused"
    except ssl.SSLCertVerificationError as exc:
        raise errors.CertificateFailed(
            f"The certificate of {parts.scheme}://{parts.netloc} cannot be trusted: "
            f"{exc.verify_message or exc.reason}; nothing was sent to it."
        ) from exc
    except (ssl.SSLError, ConnectionResetError):
        return "not-tls"  # something answered, but not TLS (a plain-http port, say)
    except OSError:
        return "unknown"  # no such host, a timeout: the verification names it


def settle(server: str, guessed: bool, clock: Clock) -> tuple[str, str | None]:
    """The address to use for SERVER (GUESSED: rcwiz added its https://) and a note to show
    once, if any; raises when the only way on would be a password in clear text."""
    if not guessed:
        if urlsplit(server).scheme == "http" and not is_loopback(server):
            return server, (
                f"{server} is plain http: the password and every file travel unencrypted."
            )
        return server, None
    found = handshake(server, clock)
    if found in ("tls", "unknown"):
        return server, None
    plain = "http://" + server.removeprefix("https://")
    if found == "not-tls" and not http.answers(plain, clock):
        raise errors.ServerUnreachable(
            f"{server} answered, but neither in https nor in http.",
            "Check the address (and its port).",
        )
    if not is_loopback(server):
        said = f"Nothing listens at {server}" if found == "refused" else f"{server} is not https"
        raise errors.NotEncrypted(
            f"{said}, and rcwiz sends no password over plain http to another computer: "
            "nothing was sent."
        )
    said = "nothing listens there" if found == "refused" else "it answers plain http"
    return plain, f"{server}: {said}; trying http:// (this computer only)."
