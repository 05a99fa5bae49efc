"""`rclone lsjson`: what is at a path, as parsed entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rcwiz import errors
from rcwiz.rclone.run import Rclone, bounded_flags


def lsjson(
    rclone: Rclone,
    path: str,
    *flags: str,
    secret_env: Mapping[str, str] | None = None,
    target: str | None = None,
    timeout: float | None = None,
) -> list[dict[str, Any]]:
    """The entries at PATH (rclone's lsjson objects); a missing folder raises its error."""
    result = rclone.run(
        ["lsjson", *flags, "--", path],
        secret_env=secret_env,
        target=target or path,
        timeout=timeout,
    )
    entries = result.json("lsjson", "[]")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def mtime_of(entry: Mapping[str, Any]) -> float:
    """An entry's ModTime as seconds since the epoch (ValueError/KeyError/TypeError if bad)."""
    return datetime.fromisoformat(str(entry["ModTime"]).replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Listing:
    """Everything under a path: files (relative path -> size, mtime), folders (-> mtime),
    the checksums a Nextcloud keeps (relative path -> its `oc:checksum` text) and the files'
    ETags where its listing gave them (a download of a big file needs no HEAD for them)."""

    files: dict[str, tuple[int, float]] = field(default_factory=dict)
    folders: dict[str, float] = field(default_factory=dict)
    # Not part of what two listings compare by: rclone's own listing does not ask for them.
    checksums: dict[str, str] = field(default_factory=dict, compare=False)
    etags: dict[str, str] = field(default_factory=dict, compare=False)


def listing(rclone: Rclone, path: str, flags: Sequence[str] = ()) -> Listing:
    """Every file and folder under PATH, recursively. None there: an empty Listing."""
    # A listing of a big tree takes long on Nextcloud (a request per folder): no overall time
    # limit, but each request gives up on a hung server within the stall timeout.
    bounded = bounded_flags(min(10.0, rclone.timeout), rclone.timeout, low_level_retries=2)
    try:
        entries = lsjson(rclone, path, "-R", "--no-mimetype", *bounded, *flags)
    except errors.DirectoryNotFound:
        return Listing()
    return listing_of(entries)


def listing_of(entries: Sequence[Mapping[str, Any]]) -> Listing:
    """rclone's lsjson ENTRIES as a Listing (entries without a usable path, size or time are
    left out)."""
    found = Listing()
    for entry in entries:
        try:
            relative, mtime = str(entry["Path"]), mtime_of(entry)
            if entry.get("IsDir"):
                found.folders[relative] = mtime
            else:
                found.files[relative] = (int(entry["Size"]), mtime)
        except (KeyError, ValueError, TypeError):
            continue
    return found


def passing_filters(rclone: Rclone, path: str, flags: Sequence[str]) -> list[str]:
    """The relative paths of the files under PATH that the filter FLAGS let through."""
    entries = lsjson(rclone, path, "-R", "--files-only", "--no-mimetype", "--no-modtime", *flags)
    return [str(e["Path"]) for e in entries if isinstance(e.get("Path"), str)]
