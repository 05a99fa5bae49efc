"""What a Nextcloud server offers and refuses, from GET /ocs/v2.php/cloud/capabilities.

Kept per remote in $XDG_STATE_HOME/rcwiz/capabilities/NAME.json (read at setup, refreshed
when missing), and used by the pre-flight to list local files the server will refuse.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rcwiz import files, paths
from rcwiz.nextcloud.http import Client

if TYPE_CHECKING:
    from rcwiz.nextcloud.bulk import Sendable

API = "/ocs/v2.php/cloud/capabilities"


@dataclass(frozen=True)
class Capabilities:
    version: str = ""
    chunking: str | None = None  # dav.chunking, e.g. "1.0"
    bulkupload: str | None = None  # dav.bulkupload, e.g. "1.0" (admins can turn it off)
    bigfilechunking: bool = False
    # files.chunked_upload (newer servers): the largest chunk and how many at once the server
    # wants (its own web client follows them); None where it does not say.
    chunk_max_size: int | None = None
    chunk_max_parallel: int | None = None
    forbidden_filenames: tuple[str, ...] = ()
    forbidden_characters: tuple[str, ...] = ()
    forbidden_extensions: tuple[str, ...] = ()
    raw_keys: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_ocs(cls, data: dict[str, Any]) -> Capabilities:
        caps = data.get("capabilities") or {}
        dav = caps.get("dav") or {}
        files = caps.get("files") or {}
        version = (data.get("version") or {}).get("string", "")

        def strings(key: str) -> tuple[str, ...]:
            value = files.get(key) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        chunked = files.get("chunked_upload")
        chunked = chunked if isinstance(chunked, dict) else {}

        def number(key: str) -> int | None:
            value = chunked.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                return None
            try:
                return int(value)
            except ValueError:
                return None

        return cls(
            version=str(version),
            chunking=dav.get("chunking") or None,
            bulkupload=dav.get("bulkupload") or None,
            bigfilechunking=bool(files.get("bigfilechunking")),
            chunk_max_size=number("max_size"),
            chunk_max_parallel=number("max_parallel_count"),
            forbidden_filenames=strings("forbidden_filenames"),
            forbidden_characters=strings("forbidden_filename_characters"),
            forbidden_extensions=strings("forbidden_filename_extensions"),
            raw_keys=tuple(sorted(caps)),
        )

    def refusal(self, name: str) -> str | None:
        """Why the server will refuse a file or folder called NAME, or None."""
        lowered = name.lower()
        if lowered in (f.lower() for f in self.forbidden_filenames):
            return f"the name {name} is not allowed on this server"
        for ext in self.forbidden_extensions:
            if lowered.endswith(ext.lower()):
                return f"files ending in {ext} are not allowed on this server"
        bad = [c for c in self.forbidden_characters if c and c != "/" and c in name]
        if bad:
            return f"the character {bad[0]} is not allowed on this server"
        return _refused_by_every_nextcloud(name)


def _refused_by_every_nextcloud(name: str) -> str | None:
    """What Nextcloud refuses whatever its capabilities say (its FilenameValidator): a name
    longer than 250 bytes (404 to each of rclone's tries), one of only spaces (400). rclone
    sends both as they are (its encoding for Nextcloud is the identity); a control character
    it sends as its Unicode picture (a tab as U+2409), which the server takes."""
    if len(name.encode("utf-8", "surrogateescape")) > 250:
        return "a name longer than 250 bytes is not allowed on Nextcloud"
    if not name.strip(" "):
        return "a name of only spaces is not allowed on Nextcloud"
    # Not refused for a leading or trailing space: Nextcloud 30 stores " a.txt" and "a.txt "
    # as they are (checked on the real server).
    return None


def fetch(client: Client) -> Capabilities:
    return Capabilities.from_ocs(client.ocs("GET", API) or {})


def cache_path(remote: str) -> Path:
    return paths.state_dir() / "capabilities" / f"{remote.rstrip(':')}.json"


def save(remote: str, caps: Capabilities) -> None:
    """Cache CAPS; a cache that cannot be written only costs a request next time."""
    path = cache_path(remote)
    with contextlib.suppress(OSError):
        files.write_private(path, json.dumps(asdict(caps)))


def cached(remote: str) -> Capabilities | None:
    try:
        data = json.loads(cache_path(remote).read_text(encoding="utf-8"))
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return Capabilities(**values)
    except (OSError, ValueError, TypeError):
        return None


class LocalTree(Protocol):
    """A walked local folder as the refusal check reads it (rcwiz.transfer.walk.Tree is one;
    nextcloud is below transfer and names what it needs instead of importing it)."""

    @property
    def files(self) -> Sequence[Sendable]: ...
    @property
    def folders(self) -> Sequence[str]: ...  # POSIX paths under the root


def refused_files(tree: LocalTree, caps: Capabilities, limit: int = 1000) -> list[tuple[str, str]]:
    """Paths in a walked local TREE the server will refuse, with the reason (at most LIMIT).

    A refused folder is named once (its files are not listed again).
    """
    found: list[tuple[str, str]] = []
    refused_folders: list[str] = []
    for relative in sorted([*tree.folders, *(f.relative for f in tree.files)]):
        if any(relative.startswith(f"{folder}/") for folder in refused_folders):
            continue
        reason = caps.refusal(relative.rsplit("/", 1)[-1])
        if reason:
            found.append((relative, reason))
            if relative in tree.folders:
                refused_folders.append(relative)
            if len(found) >= limit:
                break
    return found
