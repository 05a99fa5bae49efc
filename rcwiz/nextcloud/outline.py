"""What a tree holds, asked before the tree itself (rcwiz.nextcloud.listing): the folder's own
level, every folder below it with its counts, and the big files' checksums, at once.

Nextcloud answers a property a node lacks with one SQL query per node (NEXTCLOUD-FACTS.md),
so the counts a listing is checked by (`nc:contained-file-count`, `-folder-count`) are asked
of the folders alone, by WebDAV SEARCH (apps/dav's FileSearchBackend: one query for the
folders, their children counted), and the tree's own PROPFIND carries only what every file
has. Three requests at once, each within the stall timeout:

* the folder's level: PROPFIND, Depth 1, with the counts and checksums (its files are few);
* every folder below it: SEARCH for the content type `httpd/unix-directory`, no limit;
* when a download wants the checksums of its big files only: SEARCH for `oc:size` at least
  that many bytes (files sent whole by bulk upload have none: asking them of every file
  costs a query per such file).

A server that answers SEARCH otherwise (an older one, the app off) gets `said` None: the
caller lists in one PROPFIND with the counts, as before.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError, fromstring
from xml.sax.saxutils import escape

from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.multistatus import (
    BODY,
    Said,
    Unusable,
    at_once,
    found_props,
    parent,
    propfind,
    relative_to,
    whole_number,
)
from rcwiz.nextcloud.urls import files_path
from rcwiz.rclone.lsjson import Listing

_D = "{DAV:}"
_OC = "{http://owncloud.org/ns}"
_NC = "{http://nextcloud.org/ns}"
_FOLDER_TYPE = "httpd/unix-directory"
Results = list[tuple[str, bool, Element]]  # a SEARCH's: (relative path, folder?, properties)
_SEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><d:searchrequest xmlns:d="DAV:"'
    ' xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:basicsearch>'
)


@dataclass
class Outline:
    """What the tree holds, before its listing."""

    level: Listing  # the folder's own files and folders (their times, the files' checksums)
    said: Said | None  # every folder ("" the folder itself) -> (files, folders) it holds
    checksums: dict[str, str] = field(default_factory=dict)  # the big files' (when asked)

    @property
    def files(self) -> int:
        """How many files the tree holds (0 when the server did not say)."""
        return sum(files for files, _ in (self.said or {}).values())


def ask(
    client: Client, dav_user: str, path: str, prefix: str, checksums_from: int | None
) -> Outline | None:
    """The outline of PATH (in DAV_USER's home; PREFIX: its unquoted href), None when it is
    not there; Unusable when it is a file or the answers disagree. CHECKSUMS_FROM: the size
    from which files' checksums are asked by SEARCH (0 or None: not here)."""
    scope = "/files/" + "/".join(p for p in (dav_user, path.strip("/")) if p)
    with at_once(client, 3) as pool:
        level = pool.submit(_level, client, files_path(dav_user, path), prefix)
        folders = pool.submit(_search, client, _folders_query(scope), prefix)
        big: Future[Results | None] | None = None
        if checksums_from:
            query = _big_files_query(scope, checksums_from)
            big = pool.submit(_search, client, query, prefix)
        found = level.result()
        if found is None:
            return None
        listed, said = found
        below = folders.result()
        checksums = _checksums(big.result() if big is not None else None)
    if below is None:
        return Outline(listed, None, checksums)
    return Outline(listed, _agreed(said, below, listed), checksums)


def _level(client: Client, target: str, prefix: str) -> tuple[Listing, Said] | None:
    """The folder's own level and the counts its answer gave (None: it is not there)."""
    said: Said = {}
    listed = propfind(client, target, prefix, BODY, "1", said=said, counted=True)
    return None if listed is None else (listed, said)


def _agreed(said: Said, below: Results, level: Listing) -> Said:
    """Every folder's counts: the folder's own from SAID (its level's answer), the others'
    from the SEARCH (BELOW); Unusable when the two name different top-level folders."""
    counts: Said = {"": said[""]}
    for relative, folder, props in below:
        if not folder or not relative:
            raise Unusable(f"{relative or 'the folder itself'} in the folders' search")
        counts[relative] = (
            whole_number(props, f"{_NC}contained-file-count"),
            whole_number(props, f"{_NC}contained-folder-count"),
        )
    tops = {rel for rel in counts if rel and not parent(rel)}
    if tops != set(level.folders):
        raise Unusable("the search and the folder's level name different folders")
    return counts


def _checksums(found: Results | None) -> dict[str, str]:
    """The files' checksums among FOUND (a SEARCH's answer), by relative path."""
    checksums: dict[str, str] = {}
    for relative, folder, props in found or ():
        text = props.findtext(f"{_OC}checksums/{_OC}checksum")
        if text and not folder:
            checksums[relative] = text
    return checksums


def _folders_query(scope: str) -> bytes:
    where = (
        f"<d:eq><d:prop><d:getcontenttype/></d:prop><d:literal>{_FOLDER_TYPE}</d:literal></d:eq>"
    )
    select = "<d:resourcetype/><nc:contained-file-count/><nc:contained-folder-count/>"
    return _query(scope, select, where)


def _big_files_query(scope: str, size: int) -> bytes:
    where = f"<d:gte><d:prop><oc:size/></d:prop><d:literal>{int(size)}</d:literal></d:gte>"
    return _query(scope, "<d:resourcetype/><oc:checksums/>", where)


def _query(scope: str, select: str, where: str) -> bytes:
    return (
        f"{_SEARCH_HEAD}<d:select><d:prop>{select}</d:prop></d:select>"
        f"<d:from><d:scope><d:href>{escape(scope)}</d:href><d:depth>infinity</d:depth>"
        f"</d:scope></d:from><d:where>{where}</d:where><d:orderby/></d:basicsearch>"
        "</d:searchrequest>"
    ).encode()


def _search(client: Client, query: bytes, prefix: str) -> Results | None:
    """A SEARCH's results under PREFIX: (relative path, is a folder, the properties found);
    None when the server answers SEARCH with anything but a multistatus."""
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    reply = client.request("SEARCH", "/remote.php/dav/", headers=headers, body=query)
    if reply.status != 207:
        return None
    try:
        root = fromstring(reply.body)
    except ParseError as exc:
        raise Unusable(f"not XML: {exc}") from None
    return [_result(response, prefix) for response in root.iterfind(f"{_D}response")]


def _result(response: Element, prefix: str) -> tuple[str, bool, Element]:
    props = found_props(response)
    folder = props.find(f"{_D}resourcetype/{_D}collection") is not None
    return relative_to(prefix, response.findtext(f"{_D}href") or ""), folder, props
