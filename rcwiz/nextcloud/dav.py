"""WebDAV PROPFIND answers read into plain entries: the trash bin, versions, upload sessions
and folder sizes are each one PROPFIND away (Nextcloud's apps/dav and files_trashbin,
files_versions), and each reads the same multistatus shape.

Only the properties the server had (the propstat with status 200) are kept; the body is
read whole (these answers are small: one folder level, one file's versions, the upload
area), unlike the whole-tree listing (rcwiz.nextcloud.listing), which is read as it arrives.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import NamedTuple
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError, fromstring

from rcwiz import errors
from rcwiz.nextcloud.http import Client, raise_for_status

D = "{DAV:}"
OC = "{http://owncloud.org/ns}"
NC = "{http://nextcloud.org/ns}"
_PREFIXES = {D: "d", OC: "oc", NC: "nc"}


class Entry(NamedTuple):
    """One response of a multistatus answer."""

    path: str  # the href's path, unquoted ("/remote.php/dav/trashbin/u/trash/x.d123")
    folder: bool
    props: dict[str, str]  # "{ns}name" -> text

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]

    def number(self, prop: str) -> int | None:
        """PROP as a whole number, or None when it is missing or not a number."""
        text = self.props.get(prop, "")
        return int(text) if text.lstrip("-").isdigit() else None

    def time(self, prop: str = f"{D}getlastmodified") -> float | None:
        """PROP (an HTTP date) as seconds since the epoch, or None."""
        try:
            return parsedate_to_datetime(self.props.get(prop, "")).timestamp()
        except (TypeError, ValueError):
            return None


def body(*props: str) -> bytes:
    """A PROPFIND body asking for PROPS ("{DAV:}getcontentlength", ...)."""
    names = []
    for prop in props:
        ns, _, local = prop[1:].partition("}")
        names.append(f"<{_PREFIXES['{' + ns + '}']}:{local}/>")
    return (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" '
        f'xmlns:nc="http://nextcloud.org/ns"><d:prop>{"".join(names)}</d:prop></d:propfind>'
    ).encode()


def propfind(client: Client, path: str, depth: str, *props: str) -> list[Entry] | None:
    """PROPS of PATH (a quoted path under the server's base) and, with DEPTH "1" or
    "infinity", of what it holds; None when PATH is not there (404)."""
    headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
    reply = client.request("PROPFIND", path, headers=headers, body=body(*props))
    if reply.status == 404:
        return None
    raise_for_status(reply, client.server)
    if reply.status != 207:
        raise errors.ServerError(f"The server answered a listing with HTTP {reply.status}.")
    return parse(reply.body)


def parse(multistatus: bytes) -> list[Entry]:
    """The entries of a multistatus answer (a broken one is a ServerError)."""
    try:
        root = fromstring(multistatus)
    except ParseError as exc:
        raise errors.ServerError(f"The server's listing is not XML ({exc}).") from None
    return [entry(response) for response in root.iterfind(f"{D}response")]


def entry(response: Element) -> Entry:
    path = unquote(urlsplit(response.findtext(f"{D}href") or "").path)
    props: dict[str, str] = {}
    folder = False
    for propstat in response.iterfind(f"{D}propstat"):
        if " 200 " not in f"{propstat.findtext(f'{D}status') or ''} ":
            continue
        for prop in propstat.iterfind(f"{D}prop/*"):
            if prop.tag == f"{D}resourcetype":
                folder = prop.find(f"{D}collection") is not None
            # A property that holds one element (oc:checksums) is that element's text.
            text = prop.text if len(prop) != 1 else prop[0].text
            props[prop.tag] = (text or "").strip()
    return Entry(path, folder, props)


def unquoted_path(server: str) -> str:
    """The path part of a server's base URL ("http://x/nc" -> "/nc"), as hrefs carry it."""
    return unquote(urlsplit(server).path.rstrip("/"))
