"""A single file named as the source, the way rclone means it, for the Nextcloud fast paths.

rclone 1.75 (../shared/RCLONE-FACTS.md): `rclone copy FILE remote:dir` puts FILE into dir (made
if missing) and `rclone copy remote:dir/FILE ./local` puts it into ./local/FILE; a sync does
the same and deletes nothing; a destination that is an existing file is rclone's error ("is a
file not a directory", exit 1); a remote source ending in "/" names a folder (a file named
so: nothing to transfer). The fast paths take such a file as they would the same file alone
in a folder: the upload (rcwiz.transfer.bulk) looks up that one name at the destination, not
the whole destination (a folder of 10^5 files is not listed for one file), and the download
(rcwiz.transfer.archive, then rcwiz.transfer.bigfiles) fetches it from its parent folder
into the local folder. A big file thus goes in parallel chunks or byte ranges, resumable,
whichever way it is named. Whatever does not fit that (the destination a file, the name a
folder there, an answer not understood) is left to rclone, which says what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.urls import file_path
from rcwiz.rclone.lsjson import Listing

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account

_PROPS = (f"{dav.D}getcontentlength", f"{dav.D}getlastmodified", f"{dav.D}resourcetype")
_CHECKSUMS = f"{dav.OC}checksums"
_ETAG = f"{dav.D}getetag"
# Errors rclone would meet the same way: the run stops with them, rclone is not asked.
_STOPS = (errors.AuthenticationFailed, errors.ServerUnreachable)


def local_taken(source: str) -> bool:
    """The local SOURCE is one an upload fast path may take: a folder, or one regular file."""
    path = Path(source).expanduser()
    return path.is_dir() or path.is_file()


def name_of(remote_path: str) -> str:
    """The last part of REMOTE:path ("nc:data/big.h5" -> "big.h5"; "" for a remote's top)."""
    return remote_path.partition(":")[2].rstrip("/").rpartition("/")[2]


def parent_of(remote_path: str) -> str:
    """REMOTE:path's folder ("nc:data/big.h5" -> "nc:data", "nc:big.h5" -> "nc:")."""
    remote, _, inside = remote_path.partition(":")
    return f"{remote}:{inside.rstrip('/').rpartition('/')[0]}"


def _found(account: Account, path: str, *props: str) -> list[dav.Entry] | None:
    """PATH's own entry (PROPFIND, depth 0: one request whatever it holds); None when it is
    not there. A refused login or a server gone stops the run; any other failure is an
    empty list (rclone judges)."""
    try:
        return dav.propfind(account.client(), file_path(account.dav_user, path), "0", *props)
    except _STOPS:
        raise
    except errors.RcwizError:
        return []


def destination(account: Account, dest: str, name: str) -> dict[str, tuple[int, float]] | None:
    """What the destination folder DEST (REMOTE:path) holds under NAME, looked up alone: {}
    when nothing (the folder is there, or will be made), {NAME: (size, mtime)} for a file;
    None when rclone must judge (DEST is a file, NAME a folder, an answer not understood)."""
    folder = account.path_of(dest)
    found = _found(account, f"{folder}/{name}", *_PROPS)
    if found is None:  # not there: DEST must be a folder, or missing
        above = _found(account, folder, _PROPS[2])
        return {} if above is None or (above and above[0].folder) else None
    if len(found) != 1 or found[0].folder:
        return None
    size, mtime = found[0].number(_PROPS[0]), found[0].time()
    return {name: (size, mtime)} if size is not None and mtime is not None else None


def remote_file(account: Account, source: str) -> Listing | None:
    """SOURCE (REMOTE:path) as a listing of its folder holding only it ({name: (size, mtime)},
    and the server's checksum and ETag) when it is one file; an empty Listing when it is a folder;
    None when rclone must judge (a file named with a "/" after it, which rclone takes for
    a folder and finds empty; gone; an answer not understood)."""
    if source.endswith("/"):
        return None
    found = _found(account, account.path_of(source), *_PROPS, _CHECKSUMS, _ETAG)
    if not found or len(found) != 1:
        return None
    if found[0].folder:
        return Listing()
    entry, name = found[0], name_of(source)
    size, mtime = entry.number(_PROPS[0]), entry.time()
    if size is None or mtime is None or not name:
        return None
    checksum, etag = entry.props.get(_CHECKSUMS, ""), entry.props.get(_ETAG, "")
    return Listing(
        files={name: (size, mtime)},
        checksums={name: checksum} if checksum else {},
        etags={name: etag} if etag else {},
    )
