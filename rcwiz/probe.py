"""Is a server there at all? One HTTP request with a short timeout, standard library only.

The transfer watchdog uses it when no byte has moved for a while: rclone's own retries hide
a dead server for many minutes (its error count does not rise during low-level retries).
"""

from __future__ import annotations

from urllib.parse import urlsplit


def answers(url: str, timeout: float = 5.0) -> bool:
    """True when the server at URL answers HTTP at all (any status, even 401 or 404)."""
    import http.client  # only needed when a transfer stalls: kept out of rcwiz's start-up

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return True  # not something we can probe: assume alive
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("OPTIONS", parts.path or "/")
        connection.getresponse().read(0)
        return True
    except (TimeoutError, OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
