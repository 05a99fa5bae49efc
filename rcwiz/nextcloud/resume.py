"""The resume ledger: rcwiz's chunked uploads that stopped half-way, kept to be continued.

rcwiz.nextcloud.chunked writes one record per upload session in the state folder
(`resume/KEY.json`, private) before it makes the session on the server, and adds each chunk
as the server confirms it, with the SHA-1 of the bytes it sent. A run that stops (Ctrl-C,
SIGTERM, SIGHUP, a dead or hung server, a 507, SIGKILL) leaves the session and its record;
the next run that sends the same file asks the server which chunks the session holds (one
PROPFIND, names and sizes) and trusts a chunk only when the record confirmed it, the server
holds it at the size it must have, and the file still has the bytes the record's hash names
(checked while the rest travels: rcwiz.nextcloud.chunked). Anything else starts over.

A session is discarded (deleted on the server, its record removed) when the source changed
(path, size, mtime), when the server lost it, when its file arrived another way, and when it
is older than MAX_AGE. Nextcloud 30 removes a session whose folder and chunks are all more
than a day old (apps/dav/lib/BackgroundJob/UploadCleanup.php, run once a day per session),
and on object storage the upload id lives 86400 s from the MKCOL in its memcache
(apps/dav/lib/Upload/ChunkingV2Plugin.php, afterMkcol): a day in both. MAX_AGE stays below
it, counted from the session's making; RCWIZ_RESUME_MAX_AGE sets another (seconds, or with
m, h or d).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rcwiz import errors, files, paths
from rcwiz.nextcloud import dav
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import Client
from rcwiz.nextcloud.urls import uploads_path

MAX_AGE = 20 * 3600.0  # seconds: below Nextcloud's day (the module's docstring)
MAX_AGE_VARIABLE = "RCWIZ_RESUME_MAX_AGE"
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class Record:
    """One session kept for a resume: whose, for which file, and the chunks confirmed."""

    server: str
    user: str  # the WebDAV user id
    target: str  # the file's path under the user's home
    session: str  # the session folder's name in the upload area
    source: str  # the local file
    size: int
    mtime: float
    chunk: int  # the chunk size the session was made with
    created: float  # when the session was made (wall clock)
    chunks: dict[int, str] = field(default_factory=dict)  # number -> SHA-1 of what was sent
    url: str = ""  # the session folder's URL (for people reading the ledger; not trusted)

    def same_source(self, source: str, size: int, mtime: float) -> bool:
        """The file is the one the session was made for, unchanged by size and time (its
        bytes are compared by the chunks' hashes as they are read again)."""
        return (self.source, self.size, self.mtime) == (source, size, mtime)

    def stale(self, now: float | None = None, limit: float | None = None) -> bool:
        """Too old to trust the server still has it (or soon will not): older than LIMIT,
        max_age() unless given."""
        age = (time.time() if now is None else now) - self.created
        return age > (max_age() if limit is None else limit)

    def confirmed_bytes(self, lengths: dict[int, int]) -> int:
        return sum(lengths.get(n, 0) for n in self.chunks)


def max_age() -> float:
    """MAX_AGE, or RCWIZ_RESUME_MAX_AGE when set (UsageError when it is not a duration)."""
    value = os.environ.get(MAX_AGE_VARIABLE)
    if not value:
        return MAX_AGE
    found = _AGE.match(value)
    if found is None:
        raise errors.UsageError(
            f"{MAX_AGE_VARIABLE}={value!r} is not a duration.",
            "Give seconds, or a number with m, h or d (such as 12h); Nextcloud removes "
            "sessions after a day.",
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


def _folder() -> Path:
    return paths.state_dir() / "resume"


def _file(server: str, user: str, session: str) -> Path:
    key = hashlib.sha1(f"{server}|{user}|{session}".encode()).hexdigest()[:24]
    return _folder() / f"{key}.json"


def save(record: Record) -> bool:
    """Write RECORD (atomically, private); False when the state folder cannot take it (the
    upload then cannot be resumed, and is cleaned up as it was before resumes)."""
    data = asdict(record)
    data["chunks"] = {str(n): h for n, h in record.chunks.items()}
    try:
        files.write_private(_file(record.server, record.user, record.session), json.dumps(data))
    except OSError:
        return False
    return True


def _read(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["chunks"] = {int(n): str(h) for n, h in data.get("chunks", {}).items()}
        return Record(**data)
    except (OSError, ValueError, TypeError, AttributeError):
        return None  # unreadable or from another version: as if there were none


def load(server: str, user: str, session: str) -> Record | None:
    return _read(_file(server, user, session))


def forget(record: Record) -> None:
    with contextlib.suppress(OSError):
        _file(record.server, record.user, record.session).unlink()


def records(acct: Account) -> list[Record]:
    """Every record of ACCT's sessions (unreadable ones left out)."""
    try:
        found = sorted(_folder().glob("*.json"))
    except OSError:
        return []
    mine = [r for p in found if (r := _read(p)) is not None]
    return [r for r in mine if (r.server, r.user) == (acct.server, acct.dav_user)]


def held(client: Client, dav_user: str, session: str) -> dict[int, int] | None:
    """Chunk number -> size of what the session holds on the server (one PROPFIND, Depth 1);
    None when the server has no such session (lost, removed, or never made)."""
    folder = f"{uploads_path(dav_user)}{session}/"
    entries = dav.propfind(client, folder, "1", f"{dav.D}getcontentlength")
    if entries is None:
        return None
    found = {}
    for entry in entries:
        size = entry.number(f"{dav.D}getcontentlength")
        if not entry.folder and entry.name.isdigit() and size is not None:
            found[int(entry.name)] = size
    return found


def trusted(record: Record, on_server: dict[int, int], lengths: dict[int, int]) -> dict[int, str]:
    """The chunks of RECORD a resume may skip: confirmed by the record and held by the server
    at the length the chunk must have (LENGTHS); number -> the hash the record keeps."""
    return {
        n: digest
        for n, digest in record.chunks.items()
        if n in lengths and on_server.get(n) == lengths[n]
    }


def discard(acct: Account, record: Record, wait: float = 5.0) -> bool:
    """Delete RECORD's session on the server (gone already counts) and the record; False,
    keeping the record, when the server could not be asked (it is tried again later)."""
    client = acct.client(acct.clock.at_most(wait))
    try:
        reply = client.request("DELETE", f"{uploads_path(acct.dav_user)}{record.session}/")
        if reply.status not in (200, 204, 404):
            return False
    except errors.RcwizError:
        return False
    finally:
        client.close()
    forget(record)
    return True


def sweep(acct: Account, arrived: Callable[[Record], bool] = lambda r: False) -> list[Record]:
    """Discard ACCT's sessions that are stale, or whose file ARRIVED another way; return them.
    No request at all when there are none (the common case). A bad RCWIZ_RESUME_MAX_AGE is
    a UsageError here, before anything is sent."""
    now, limit = time.time(), max_age()
    gone = [r for r in records(acct) if r.stale(now, limit) or arrived(r)]
    return [r for r in gone if discard(acct, r)]


def kept(acct: Account) -> dict[str, Record]:
    """Session name -> record, for every session of ACCT kept for a resume."""
    return {r.session: r for r in records(acct)}
