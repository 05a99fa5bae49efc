"""A plain WebDAV remote's used and free space, asked in-process: what `rclone about` does for
a webdav remote (one PROPFIND, Depth 0, of the remote's URL for RFC 4331's
quota-available-bytes and quota-used-bytes), without starting rclone (~70 ms) for it.

Only the plain case is taken here: a webdav remote by URL, user and password, with nothing
that changes how rclone talks to the server (bearer tokens, extra headers, a unix socket,
SharePoint's log-ins, backend options in the environment). Anything else, and any answer but
a clean multistatus, is None: `rclone about` asks instead, so its errors (and messages) stay
the ones users know. Only a server that does not answer within the stall timeout is an
error here (errors.Stalled, as `rclone about` would be): asking rclone next would wait as
long again.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.rclone.about import Usage
from rcwiz.rclone.conf_read import env_key

SOURCE = "webdav"  # Usage.source: rcwiz's own PROPFIND (what `rclone about` asks)
_PROPS = ("{DAV:}quota-available-bytes", "{DAV:}quota-used-bytes")
# Settings that change how rclone reaches the server: with any of them, rclone asks.
_RCLONE_ONLY_KEYS = (
    "bearer_token",
    "bearer_token_command",
    "headers",
    "unix_socket",
    "auth_redirect",
)
_RCLONE_ONLY_VENDORS = ("sharepoint", "sharepoint-ntlm")
# Global options in the environment that change rclone's requests.
_RCLONE_ONLY_ENV = (
    "RCLONE_NO_CHECK_CERTIFICATE",
    "RCLONE_CLIENT_CERT",
    "RCLONE_CLIENT_KEY",
    "RCLONE_HEADER",
    "RCLONE_BIND",
    "RCLONE_USER_AGENT",
    "RCLONE_CONNECT_TIMEOUT",
    "RCLONE_CONTIMEOUT",
    "RCLONE_DUMP",
)


def askable(name: str, settings: Mapping[str, str], environ: Mapping[str, str]) -> bool:
    """True when remote NAME (its rclone.conf SETTINGS, as `config dump` gives them) is one
    rcwiz can ask itself exactly as rclone would."""
    if settings.get("type") != "webdav" or settings.get("vendor") in _RCLONE_ONLY_VENDORS:
        return False
    if any(settings.get(key) for key in _RCLONE_ONLY_KEYS):
        return False
    url = urlsplit(settings.get("url", ""))
    if url.scheme not in ("http", "https") or not url.hostname or "@" in url.netloc:
        return False
    if url.query or url.fragment:
        return False
    # Backend options in the environment (RCLONE_WEBDAV_*, or RCLONE_CONFIG_NAME_KEY for a
    # key the file lacks) win over rclone.conf: the dump does not show them.
    prefix = env_key(name, "")
    for key in environ:
        if key.startswith(("RCLONE_WEBDAV_", *_RCLONE_ONLY_ENV)):
            return False
        if key.startswith(prefix) and key not in {env_key(name, k) for k in settings}:
            return False
    return True


def _number(text: str | None) -> int | None:
    """rclone's rule: a whole number >= 0, else unknown (Nextcloud says -3 for no quota)."""
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def usage(name: str, settings: Mapping[str, str], clock: Clock) -> Usage | None:
    """Remote NAME's used and free space from its server (one PROPFIND on CLOCK); None when
    the answer is not a multistatus (rclone then asks, and names what went wrong)."""
    from rcwiz.nextcloud import dav
    from rcwiz.nextcloud.http import Client
    from rcwiz.rclone.obscure import reveal

    url = urlsplit(settings.get("url", ""))
    user, obscured = settings.get("user", ""), settings.get("pass", "")
    try:
        password = reveal(obscured) if obscured else ""
    except ValueError:
        return None  # rclone says what is wrong with it
    client = Client(
        f"{url.scheme}://{url.netloc}",
        user if user or password else None,
        password if user or password else None,
        clock=clock,
    )
    path = quote(url.path if url.path.endswith("/") else url.path + "/", safe="/%:@!$&'()*+,;=~")
    headers = {"Depth": "0", "Content-Type": "application/xml; charset=utf-8"}
    try:
        reply = client.request("PROPFIND", path, headers=headers, body=dav.body(*_PROPS))
        entries = dav.parse(reply.body) if reply.status == 207 else []
    except errors.Stalled as exc:
        raise errors.Stalled(
            f"The server did not answer within {clock.stall:g} s ({name}:), so rcwiz stopped "
            "waiting.",
            "Check the server and your network (a server that accepts connections but never "
            "answers is hung); --stall-timeout sets how long to wait.",
        ) from exc
    except errors.RcwizError:
        return None  # refused, TLS, not XML: rclone names it
    finally:
        client.close()
    if not entries:
        return None
    props = entries[0].props
    free, used = (_number(props.get(prop)) for prop in _PROPS)
    total = used + free if used is not None and free is not None else None
    return Usage(f"{name}:", total=total, used=used, free=free, source=SOURCE)
