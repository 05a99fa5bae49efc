"""Unfinished chunked uploads: what an interrupted or refused transfer leaves on Nextcloud.

rclone sends a file above the chunk size through Nextcloud's chunked upload v2: it creates
`/remote.php/dav/uploads/USER/rclone-chunked-upload-HASH/`, PUTs the chunks there and MOVEs
`.file` into place. When the run stops between those steps (Ctrl-C, a 507 at a chunk), the
folder and its chunks stay until the server's background job removes them (never, where cron
does not run), using space the user cannot see.

HASH is the MD5 of the file's path under the remote's root (rclone's webdav backend,
getChunksUploadDir, checked on Nextcloud 30), so the sessions a run may have started are known
exactly from the files it was sending: only those are removed, never another run's.

`sessions` lists every session in the upload area (rclone's, rcwiz's own
`rcwiz-chunked-upload-*`, anyone's) with its size and last change, in one PROPFIND
(Depth: infinity). rcwiz's own chunked upload (rcwiz.nextcloud.chunked) claims its session in
the state folder while it writes (`claim`: a file naming the session and rcwiz's process), so
`rcwiz uploads rm` never removes one a running rcwiz of this user is writing; a session of
another program that changed within RECENT seconds may still be written, and is kept unless
asked for by name. A session rcwiz keeps for a resume (rcwiz.nextcloud.resume: an upload
that was interrupted) names the file it belongs to, and is kept unless named or stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from rcwiz import errors, files, paths
from rcwiz.clock import Clock
from rcwiz.nextcloud import dav, resume
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.http import raise_for_status
from rcwiz.nextcloud.urls import uploads_path

PREFIX = "rclone-chunked-upload-"
RCWIZ_PREFIX = "rcwiz-chunked-upload-"  # rcwiz.nextcloud.chunked's sessions
RECENT = 600.0  # seconds: a session changed since then may still be written by its program
WARN_BYTES = 50 * 2**20  # doctor and review warn when sessions hold more than this
_LENGTH = re.compile(r"<d:getcontentlength>(\d+)</d:getcontentlength>")
_RESPONSE = re.compile(r"<d:response>.*?</d:response>", re.S)
_HREF_FILE = re.compile(r"<d:href>[^<]*/\.file</d:href>")


def session_name(path: str) -> str:
    """The upload folder rclone makes for the file at PATH (relative to the remote's root)."""
    return PREFIX + hashlib.md5(path.strip("/").encode()).hexdigest()


@dataclass(frozen=True)
class Removed:
    name: str
    bytes: int  # what its chunks held


def _chunk_bytes(multistatus: str) -> int:
    """The bytes of a session's chunks; its virtual `.file` entry (the chunks put together,
    measured: the same size again) is not counted."""
    return sum(
        int(length)
        for block in _RESPONSE.findall(multistatus)
        if not _HREF_FILE.search(block)
        for length in _LENGTH.findall(block)
    )


def remove_sessions(
    acct: Account, paths: Iterable[str], clock: Clock | None = None
) -> list[Removed]:
    """Delete the upload folders rclone may have started for PATHS; return those that were there.

    Best effort: a folder that cannot be read or removed is left as it is. CLOCK, when given,
    is a shorter one than the run's (after Ctrl-C: rcwiz must end within moments).
    """
    client = acct.client(clock)
    base = uploads_path(acct.dav_user)
    removed = []
    for name in sorted({session_name(p) for p in paths}):
        try:
            listing = client.request("PROPFIND", f"{base}{name}/", headers={"Depth": "1"})
            if listing.status != 207:
                continue  # not there (404): this file's upload had not started, or finished
            size = _chunk_bytes(listing.body.decode("utf-8", "replace"))
            if client.request("DELETE", f"{base}{name}/").ok:
                removed.append(Removed(name, size))
        except errors.ServerUnreachable:
            break  # hung or gone: the next one would wait as long
        except errors.RcwizError:
            continue
    return removed


@dataclass(frozen=True)
class Session:
    """One folder in the upload area: what it holds and who left it."""

    name: str
    maker: str  # rclone, rcwiz, other (by the name's prefix)
    bytes: int  # its chunks (the virtual `.file`, the chunks put together, not counted)
    chunks: int
    changed: float | None  # the newest chunk's time (the folder's own, when it has none)
    writer: int | None = None  # the pid of the running rcwiz writing it, if one is
    resumes: str | None = None  # the local file it is kept for, to resume its upload
    stale: bool = False  # kept for a resume, but too old to trust (rcwiz removes it)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def maker_of(name: str) -> str:
    if name.startswith(PREFIX):
        return "rclone"
    return "rcwiz" if name.startswith(RCWIZ_PREFIX) else "other"


def sessions(acct: Account) -> list[Session]:
    """Every upload session of the account, biggest first: one PROPFIND of the whole area."""
    base = uploads_path(acct.dav_user)
    entries = (
        dav.propfind(
            acct.client(),
            base,
            "infinity",
            f"{dav.D}getcontentlength",
            f"{dav.D}getlastmodified",
            f"{dav.D}resourcetype",
        )
        or []
    )
    top = f"{dav.unquoted_path(acct.server)}{base}".rstrip("/")
    found: dict[str, list[dav.Entry]] = {}
    for entry in entries:
        inside = entry.path.rstrip("/")[len(top) :].strip("/")
        if entry.path.rstrip("/").startswith(top) and inside:
            found.setdefault(inside.split("/")[0], []).append(entry)
    writers = claimed(acct)
    ledger = resume.kept(acct)
    listed = []
    for name, parts in found.items():
        chunks = [e for e in parts if not e.folder and e.name != ".file"]
        times = [t for e in chunks if (t := e.time()) is not None]
        own = [t for e in parts if e.folder and (t := e.time()) is not None]
        changed = max(times or own) if times or own else None
        size = sum(e.number(f"{dav.D}getcontentlength") or 0 for e in chunks)
        record = ledger.get(name)
        listed.append(
            Session(
                name,
                maker_of(name),
                size,
                len(chunks),
                changed,
                writers.get(name),
                record.source if record else None,
                record.stale() if record else False,
            )
        )
    return sorted(listed, key=lambda s: (-s.bytes, s.name))


def remove(acct: Account, name: str) -> None:
    """Delete the session NAME and its chunks (NotFound when it is not there), and its record
    in the resume ledger (its upload starts afresh next time)."""
    client = acct.client()
    reply = client.request("DELETE", f"{uploads_path(acct.dav_user)}{quote(name)}/")
    record = resume.kept(acct).get(name)
    if record is not None and reply.status in (200, 204, 404):
        resume.forget(record)
    if reply.status == 404:
        raise errors.NotFound(f"There is no upload session {name}.")
    raise_for_status(reply, client.server)


def kept_for_resume(session: Session) -> bool:
    """SESSION is kept to resume an upload: `uploads rm` without names leaves it."""
    return session.resumes is not None and not session.stale


def may_be_written(session: Session, now: float) -> bool:
    """Some program may still be writing SESSION: a running rcwiz claims it, or it changed
    within RECENT seconds."""
    if session.writer is not None:
        return True
    return session.changed is not None and now - session.changed < RECENT


# ------------------------------------------------------------------ rcwiz's own sessions


def _claims_dir() -> Path:
    return paths.state_dir() / "uploads"


def _claim_file(acct: Account, name: str) -> Path:
    key = hashlib.sha1(f"{acct.server}|{acct.dav_user}|{name}".encode()).hexdigest()[:20]
    return _claims_dir() / f"{key}.json"


@contextlib.contextmanager
def claim(acct: Account, name: str) -> Iterator[None]:
    """While this runs, session NAME of ACCT is this process's: `uploads rm` leaves it.
    Best effort: a state folder that cannot be written only loses that protection."""
    path = _claim_file(acct, name)
    record = {"server": acct.server, "user": acct.dav_user, "session": name, "pid": os.getpid()}
    with contextlib.suppress(OSError):
        files.write_private(path, json.dumps(record))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def claimed(acct: Account) -> dict[str, int]:
    """Session name -> pid of every session of ACCT a running rcwiz claims; a claim whose
    process is gone (killed, so it could not remove it) is removed here."""
    import psutil

    found = {}
    try:
        files = list(_claims_dir().glob("*.json"))
    except OSError:
        return {}
    for path in files:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if not psutil.pid_exists(pid) or _started_after(pid, path):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if record.get("server") == acct.server and record.get("user") == acct.dav_user:
            found[str(record.get("session"))] = pid
    return found


def _started_after(pid: int, claim_file: Path) -> bool:
    """The process PID began after the claim was written: the pid was reused."""
    import psutil

    try:
        return psutil.Process(pid).create_time() > claim_file.stat().st_mtime + 1
    except (psutil.Error, OSError):
        return True
