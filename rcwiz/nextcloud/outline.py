"""What a tree holds, asked all at once (rcwiz.nextcloud.listing): the folder's own level,
every folder below it with its counts, and its files when they are few.

Nextcloud answers a property a node lacks with one SQL query per node (apps/dav's
CustomPropertiesBackend), so the counts a listing is checked by (`nc:contained-file-count`,
`-folder-count`) are asked of the folders alone, by WebDAV SEARCH (apps/dav's
FileSearchBackend), and the files' request asks only for what every file has. Three
requests at once, each within the stall timeout:

* the folder's level: PROPFIND, Depth 1, with the counts and checksums (its files are few);
* every folder below it: SEARCH for the content type `httpd/unix-directory`, no limit;
* every file below it: SEARCH for any other type, at most MOST + 1 (more: the caller lists
  a top-level folder per request), with the checksums only when every file's is wanted;
and apart, when a download has big files to check (`big_checksums`): a SEARCH for the files
of `oc:size` at least that many bytes, with their checksums (files sent by bulk upload have
none: asking them of every file costs a query per such file).

The tree is trusted when every folder holds exactly the files and folders its counts say
(`_checked`), so a search that missed anything (a storage not scanned yet) gives Unusable.
A server that answers SEARCH otherwise (an older one, the app off) gets `said` None: the
caller lists in one PROPFIND with the counts, as before.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.multistatus import (
    BODY,
    CHUNK,
    Said,
    Unusable,
    at_once,
    each_response,
    found_props,
    http_time,
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
Result = tuple[str, bool, Element]  # one of a SEARCH's: (relative path, folder?, properties)
Results = list[Result]
MAX_RESULTS = 100_000  # of a search for folders or big files (an answer that never ends stops)
_SEARCH_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><d:searchrequest xmlns:d="DAV:"'
    ' xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:basicsearch>'
)


@dataclass
class Outline:
    """What the tree holds, before its listing, and the tree itself when it is small."""

    level: Listing  # the folder's own files and folders (their times, the files' checksums)
    said: Said | None  # every folder ("" the folder itself) -> (files, folders) it holds
    tree: Listing | None = None  # the whole tree, checked by the counts (None: too big)
    one_file: bool = False  # the path is a file: the level's answer is the tree


def ask(
    client: Client,
    dav_user: str,
    path: str,
    prefix: str,
    checksums: bool,
    most: int,
) -> Outline | None:
    """The outline of PATH (in DAV_USER's home; PREFIX: its unquoted href), None when it is
    not there; Unusable when the answers disagree; the files' CHECKSUMS when asked. The files
    of a tree of at most MOST files come too (`tree`); a PATH that is one file is its own
    tree (`one_file`: the level's answer; the searches, sent meanwhile, fail)."""
    scope = "/files/" + "/".join(p for p in (dav_user, path.strip("/")) if p)
    with at_once(client, 3) as pool:
        level = pool.submit(_level, client, files_path(dav_user, path), prefix)
        query = _folders_query(scope)
        folders = pool.submit(_search, client, query, prefix, _a_folder, MAX_RESULTS)
        query = _files_query(scope, most + 1, checksums=checksums)
        files = pool.submit(_search, client, query, prefix, _a_file, most + 1)
        found = level.result()
        if found is None:
            return None
        listed, said = found
        if "" not in said:  # counts come only with a folder
            return Outline(listed, {}, listed, one_file=True)
        below, small = folders.result(), files.result()
    if below is None:
        return Outline(listed, None)
    counts = _agreed(said, below, listed)
    whole = _checked(counts, below, small) if small is not None and len(small) <= most else None
    return Outline(listed, counts, whole)


def _checked(said: Said, folders: Results, files: Results) -> Listing:
    """The tree the two searches found, FOLDERS and FILES, once every folder holds exactly
    what SAID says it holds."""
    found = Listing()
    for relative, _, props in folders:
        found.folders[relative] = http_time(props.findtext(f"{_D}getlastmodified"))
    for relative, _, props in files:  # files only (_a_file)
        size = whole_number(props, f"{_D}getcontentlength")
        found.files[relative] = (size, http_time(props.findtext(f"{_D}getlastmodified")))
        checksum = props.findtext(f"{_OC}checksums/{_OC}checksum")
        if checksum:
            found.checksums[relative] = checksum
        if etag := props.findtext(f"{_D}getetag"):
            found.etags[relative] = etag
    held = Counter(parent(rel) for rel in found.files)
    inside = Counter(parent(rel) for rel in found.folders)
    if set(held) - set(said) or set(inside) - set(said):
        raise Unusable("an entry in a folder the search did not find")
    for rel, (said_files, said_folders) in said.items():
        if held[rel] != said_files or inside[rel] != said_folders:
            raise Unusable(f"{rel or 'the folder'} is not listed whole")
    return found


def big_checksums(
    client: Client, dav_user: str, path: str, prefix: str, size: int
) -> dict[str, str]:
    """The checksums the server keeps of the files of SIZE bytes or more under PATH (PREFIX:
    its unquoted href), by relative path, in one SEARCH; an empty dict when it gives none."""
    scope = "/files/" + "/".join(p for p in (dav_user, path.strip("/")) if p)
    query = _big_files_query(scope, size)
    return _checksums(_search(client, query, prefix, _at_least(size), MAX_RESULTS))


def _level(client: Client, target: str, prefix: str) -> tuple[Listing, Said] | None:
    """The folder's own level and the counts its answer gave (None: it is not there)."""
    said: Said = {}
    listed = propfind(client, target, prefix, BODY, "1", said=said, counted=True)
    return None if listed is None else (listed, said)


def _agreed(said: Said, below: Results, level: Listing) -> Said:
    """Every folder's counts: the folder's own from SAID (its level's answer), the others'
    from the SEARCH (BELOW); Unusable when the two name different top-level folders."""
    counts: Said = {"": said[""]}
    for relative, _, props in below:  # folders only (_a_folder)
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
    select = (
        "<d:getlastmodified/><d:resourcetype/>"
        "<nc:contained-file-count/><nc:contained-folder-count/>"
    )
    return _query(scope, select, where)


def _files_query(scope: str, most: int, *, checksums: bool) -> bytes:
    where = (
        f"<d:not><d:eq><d:prop><d:getcontenttype/></d:prop>"
        f"<d:literal>{_FOLDER_TYPE}</d:literal></d:eq></d:not>"
    )
    # The ETag is in the file cache's row (no query more per file): a big file's download
    # takes the version it asks for from here, not from a HEAD of its own.
    select = "<d:getlastmodified/><d:getcontentlength/><d:resourcetype/><d:getetag/>"
    limit = f"<d:limit><d:nresults>{int(most)}</d:nresults></d:limit>"
    return _query(scope, select + ("<oc:checksums/>" if checksums else ""), where, limit)


def _big_files_query(scope: str, size: int) -> bytes:
    where = f"<d:gte><d:prop><oc:size/></d:prop><d:literal>{int(size)}</d:literal></d:gte>"
    return _query(scope, "<d:getcontentlength/><d:resourcetype/><oc:checksums/>", where)


def _query(scope: str, select: str, where: str, limit: str = "") -> bytes:
    return (
        f"{_SEARCH_HEAD}<d:select><d:prop>{select}</d:prop></d:select>"
        f"<d:from><d:scope><d:href>{escape(scope)}</d:href><d:depth>infinity</d:depth>"
        f"</d:scope></d:from><d:where>{where}</d:where><d:orderby/>{limit}</d:basicsearch>"
        "</d:searchrequest>"
    ).encode()


def _search(
    client: Client, query: bytes, prefix: str, accept: Callable[[Result], None], most: int
) -> Results | None:
    """A SEARCH's results under PREFIX, read as they arrive, each given to ACCEPT (which
    raises Unusable for one that is not of the kind asked for: an endless answer stops at its
    first such entry), at most MOST (a server that gives more is not trusted); None when the
    server answers SEARCH with anything but a multistatus."""
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    with client.stream("SEARCH", "/remote.php/dav/", headers=headers, body=query) as answer:
        if answer.status != 207:
            return None
        found: Results = []
        for response in each_response(iter(lambda: answer.read(CHUNK), b"")):
            if len(found) == most:
                raise Unusable("more results than were asked for")
            found.append(_result(response, prefix))
            accept(found[-1])
        return found


def _result(response: Element, prefix: str) -> Result:
    props = found_props(response)
    folder = props.find(f"{_D}resourcetype/{_D}collection") is not None
    return relative_to(prefix, response.findtext(f"{_D}href") or ""), folder, props


def _a_folder(result: Result) -> None:
    if not result[1] or not result[0]:
        raise Unusable(f"{result[0] or 'the folder itself'} in the folders' search")


def _a_file(result: Result) -> None:
    if result[1] or not result[0]:
        raise Unusable(f"{result[0] or 'the folder itself'} in the files' search")


def _at_least(size: int) -> Callable[[Result], None]:
    def accept(result: Result) -> None:
        if not result[1] and whole_number(result[2], f"{_D}getcontentlength") < size:
            raise Unusable(f"{result[0]} is smaller than the search asked for")

    return accept
