"""A whole remote tree from Nextcloud in one round of requests: WebDAV PROPFIND and SEARCH.

`rclone lsjson -R` asks one folder at a time (a round trip per folder, after rclone's own
start-up); Nextcloud answers a whole tree at once. rcwiz trusts the answers only when they are
exactly what rclone's listing would hold: every folder holds exactly the files and folders the
server says it holds directly (`nc:contained-file-count`, `nc:contained-folder-count`), every
file has a size and a time, every name is one rclone would not encode (so the names are the
ones rclone shows) and lies inside the folder asked for. Anything else (another status, a
server without those counts, a name of another kind, a broken answer, no answer within the
stall timeout from a server that otherwise answers) gives None, and the caller lists with
rclone instead; a server that answers nothing at all is Stalled.

What a listing costs the server (measured on the production-like Nextcloud, 1000 files, see
benchmarks/README.md): a property that a node lacks (the counts on a file, the checksum of a
bulk-uploaded file) costs one SQL query per node (apps/dav's CustomPropertiesBackend looks it
up): a PROPFIND with the counts and checksums took 0.37-1.8 s where one with only names,
sizes and times took 0.09-0.44 s. So the counts are asked of the folders alone, and the files
with what every file has, all at once (rcwiz.nextcloud.outline): the folder's own level
(PROPFIND, Depth 1), a SEARCH for its folders and one for its files (the checksums only when
every file's is wanted, `rcwiz check`; a download asks for its big files' apart, when it has
any: big_checksums).

The files' SEARCH is limited to SPLIT_FILES + 1 results. A bigger tree (10^5 files took 97 s
to list in one request under load, longer than the stall timeout) comes a top-level folder
per PROPFIND (Depth: infinity), IN_FLIGHT at once, each request with its own deadline; the
files of the top level come from the level's answer. Those answers are read as they arrive
(rcwiz.nextcloud.multistatus) and checked as they come: each folder's counts are known
before its entries arrive, so an entry in a folder the search did not find, or one more
entry than its folder holds, ends the reading at once. A server without SEARCH is asked for
the whole tree in one PROPFIND that carries the counts, as before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, NamedTuple
from urllib.parse import quote, unquote, urlsplit

from rcwiz import errors
from rcwiz.clock import PROBE
from rcwiz.http import answers
from rcwiz.nextcloud import outline
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.multistatus import BODY, Said, Unusable, at_once, body, propfind, read
from rcwiz.nextcloud.urls import files_path
from rcwiz.rclone.lsjson import Listing

__all__ = ["SPLIT_FILES", "Listed", "ListedBy", "Unusable", "big_checksums", "read", "tree"]

SPLIT_FILES = 10_000  # a tree of more files comes a top-level folder per request
IN_FLIGHT = 3  # such requests at once

# Which requests listed the files: the outline's SEARCH; PROPFIND (a top-level folder per
# request, the whole tree in one for a server without SEARCH, or the one file asked for);
# rclone's `lsjson -R` (rcwiz.transfer.fastpath.remote_listing, when these give None).
ListedBy = Literal["search", "propfind", "rclone"]


class Listed(NamedTuple):
    """A listing, and which requests listed its files."""

    listing: Listing
    by: ListedBy


def tree(
    client: Client,
    dav_user: str,
    path: str,
    *,
    checksums: bool = True,
    split_above: int = SPLIT_FILES,
) -> Listed | None:
    """Every file and folder under PATH (relative to DAV_USER's home) as rclone would list
    them (a file: that file), and which requests listed them; an empty Listing when PATH is
    not there; None when rclone should list instead.

    The server's CHECKSUMS come with the files when asked (`rcwiz check`). A tree of more
    than SPLIT_ABOVE files is asked for a top-level folder per request."""
    target = files_path(dav_user, path)
    prefix = unquote(urlsplit(client.server).path.rstrip("/") + target)
    try:
        found = outline.ask(client, dav_user, path, prefix, checksums, split_above)
        if found is None:
            return Listed(Listing(), "propfind")
        if found.said is None:  # a server without SEARCH: one answer with the counts
            return Listed(_whole(client, target, prefix), "propfind")
        if found.tree is not None:
            listed = Listed(found.tree, "propfind" if found.one_file else "search")
        else:
            plain = body(checksums=checksums)
            listing = _split(client, target, prefix, plain, found.level, found.said)
            listed = Listed(listing, "propfind")
        # the top level's come with its answer, asked or not
        return listed if checksums else Listed(replace(listed.listing, checksums={}), listed.by)
    except errors.Stalled:
        # The server builds each answer whole before its first byte: a big enough tree takes
        # longer than the stall timeout. A server that still answers is only slow at that
        # (rclone lists it folder by folder); one that does not is hung.
        if answers(client.server, client.clock.at_most(PROBE)):
            return None
        raise
    except (errors.RcwizError, Unusable):
        return None


def big_checksums(client: Client, dav_user: str, path: str, size: int) -> dict[str, str]:
    """The checksums the server keeps of the files of SIZE bytes or more under PATH (relative
    to DAV_USER's home), by relative path: asked only when a download has big files to check
    (a request more at the start of every download costs more than it brings; PHP's built-in
    server serves a burst of requests one after another). None known: an empty dict."""
    prefix = unquote(urlsplit(client.server).path.rstrip("/") + files_path(dav_user, path))
    try:
        return outline.big_checksums(client, dav_user, path, prefix, size)
    except (errors.RcwizError, Unusable):
        return {}


def _whole(client: Client, target: str, prefix: str) -> Listing:
    """The tree at TARGET in one answer that carries every folder's counts."""
    listing = propfind(client, target, prefix, BODY, "infinity", counted=True)
    if listing is None:
        raise Unusable("the folder went away meanwhile")
    return listing


def _split(
    client: Client, target: str, prefix: str, asked: bytes, level: Listing, said: Said
) -> Listing:
    """The tree at TARGET a top-level folder per request, IN_FLIGHT at once; LEVEL: its top
    level (the files, and the folders with their times), from the outline."""

    def one(top: str) -> Listing:
        where = f"{target}{quote(top)}/"
        found = propfind(client, where, prefix, asked, "infinity", said=said, top=top)
        if found is None:
            raise Unusable(f"{top} went away meanwhile")
        return found

    listing = Listing(
        dict(level.files), dict(level.folders), dict(level.checksums), dict(level.etags)
    )
    with at_once(client, IN_FLIGHT) as pool:
        for part in pool.map(one, sorted(level.folders)):
            listing.files.update(part.files)
            listing.folders.update(part.folders)
            listing.checksums.update(part.checksums)
    return listing
