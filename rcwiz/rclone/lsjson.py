"""`rclone lsjson`: what is at a path, as parsed entries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def file_listing(
    rclone: Rclone, path: str, flags: Sequence[str] = ()
) -> dict[str, tuple[int, float]]:
    """Every file under PATH, recursively: relative path -> (size, mtime). None there: {}."""
    # A listing of a big tree takes long on Nextcloud (a request per folder): no overall time
    # limit, but each request gives up on a hung server within the stall timeout.
    bounded = bounded_flags(min(10.0, rclone.timeout), rclone.timeout, low_level_retries=2)
    try:
        entries = lsjson(rclone, path, "-R", "--files-only", "--no-mimetype", *bounded, *flags)
    except errors.DirectoryNotFound:
        return {}
    listing = {}
    for entry in entries:
        try:
            listing[str(entry["Path"])] = (int(entry["Size"]), mtime_of(entry))
        except (KeyError, ValueError, TypeError):
            continue
    return listing


def passing_filters(rclone: Rclone, path: str, flags: Sequence[str]) -> list[str]:
    """The relative paths of the files under PATH that the filter FLAGS let through."""
    entries = lsjson(rclone, path, "-R", "--files-only", "--no-mimetype", "--no-modtime", *flags)
    return [str(e["Path"]) for e in entries if isinstance(e.get("Path"), str)]
