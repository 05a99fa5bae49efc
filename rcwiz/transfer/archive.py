"""The fast path for downloads from Nextcloud: small files in a few archives, the rest by rclone.

Used by the transfer commands for a copy or sync from a Nextcloud remote to a local folder
(of a folder, or of one big file named as the source: rcwiz.transfer.single).
One listing of the remote (fastpath.remote_listing), compared with the local tree the way rclone
compares (size and modification time), decides what is new or changed. The small files among
those come in a few archive requests (rcwiz.nextcloud.archive), IN_FLIGHT at once, and are
written safely (rcwiz.transfer.unzip) with the listing's times. Whatever did not come that way
(big files, names rclone would encode, anything an archive refused or lacked) is left to
rclone, which runs right after under the same progress display and summary. When nothing is
left (and a sync has nothing to delete), rclone does not run: a re-run costs one listing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rcwiz.counting import Tally
from rcwiz.events import Expected
from rcwiz.nextcloud.account import Account
from rcwiz.nextcloud.archive import Archives, Batch, OnceMore, plan, server_major
from rcwiz.nextcloud.bulk import safe_name
from rcwiz.rclone.config import Remote, is_remote
from rcwiz.rclone.events import FileDone, FileOutcome
from rcwiz.rclone.lsjson import Listing
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import TransferOptions
from rcwiz.transfer import fastpath, single, unzip
from rcwiz.transfer.fetcher import Fetcher
from rcwiz.transfer.walk import walk

SMALL_FILE = 4 * 1024 * 1024  # files below this come by archive (measured: README)
IN_FLIGHT = 4  # archive requests at once (measured: benchmarks/README.md, floor_speed.py)
_REFUSED = "the archive was refused: "


def applies(opts: TransferOptions, source: Remote | None) -> bool:
    """The fast path may run: a plain copy or sync (fastpath.applies) from a Nextcloud remote
    SOURCE to a local folder, on a system that can write without following links."""
    return (
        source is not None
        and source.vendor == "nextcloud"
        and fastpath.applies(opts)
        and not is_remote(opts.dest)
        and not Path(opts.dest).expanduser().is_file()
        and safe_name(opts.source.partition(":")[2])
        and unzip.Destination.supported()
    )


@dataclass
class Prepared:
    """What one listing of the remote and one walk of the local folder decided."""

    listing: Listing
    todo: dict[str, tuple[int, float]]  # new or changed: relative path -> size, mtime
    replaced: set[str] = field(default_factory=set)  # of todo, those there locally now
    extra: bool = False  # the local folder holds what the listing lacks (a sync deletes it)
    started: float = field(default_factory=time.monotonic)  # when the listing began
    major: int | None = None  # the server's major version (status.php), asked meanwhile
    listed_by: str = "rclone"  # "propfind": Nextcloud listed the tree in one answer
    root: str = "/"  # the remote folder the names are under, as Account.path_of gives it
    single: str | None = None  # the one file named as the source (its name), if it was one

    @property
    def bytes(self) -> int:
        return sum(size for size, _ in self.todo.values())

    def small(self) -> dict[str, int]:
        """The files to fetch by archive: relative path -> size."""
        return {
            rel: size
            for rel, (size, _) in self.todo.items()
            if size < SMALL_FILE and safe_name(rel) and unzip.safe_entry(rel)
        }


def prepare(rclone: Rclone, opts: TransferOptions, account: Account) -> Prepared | None:
    """List the remote once and compare; None when rclone should judge alone (nothing
    listed, the folder missing, a single small file named as the source).

    The listing is Nextcloud's own in a few requests (rcwiz.nextcloud.listing) where it can be
    trusted, else rclone's; the server's version is asked for meanwhile.
    """
    started = time.monotonic()
    client = account.client()
    major: list[int | None] = []
    asking = threading.Thread(target=lambda: major.append(server_major(client)), daemon=True)
    asking.start()
    # No checksums: rcwiz.transfer.bigfiles asks for its big files' when there are any
    found, listed_by = fastpath.remote_listing(rclone, account, opts.source, False)
    asking.join()
    names = list(found.files)
    if not names:
        return None
    if names == [single.name_of(opts.source)] and not found.folders:  # or a folder holding it
        one = single.remote_file(account, opts.source)
        if one is None:
            return None
        if one.files:
            return _one_file(opts, account, one, started, major[0])
    tree = walk(Path(opts.dest).expanduser().resolve())  # a link to a folder: the folder
    local = {f.relative: (f.size, f.mtime) for f in tree.files} if tree else {}
    todo = {
        rel: entry
        for rel, entry in found.files.items()
        if not fastpath.unchanged(*entry, local.get(rel))
    }
    extra = tree is not None and (
        bool(set(local) - set(found.files))
        or bool(set(tree.folders) - set(found.folders))
        or tree.skipped > 0
    )
    replaced = {rel for rel in todo if rel in local}
    root = account.path_of(opts.source)
    return Prepared(found, todo, replaced, extra, started, major[0], listed_by, root)


def _one_file(
    opts: TransferOptions, account: Account, one: Listing, started: float, major: int | None
) -> Prepared | None:
    """A single file named as the source: ONE, its folder's listing holding only it, compared
    with the one local file it would replace (rclone puts it into the local folder); None
    when it is small (rclone fetches it as fast) or a folder has its name here (rclone's
    error)."""
    ((name, entry),) = one.files.items()
    local = walk(Path(opts.dest).expanduser().resolve() / name)
    if entry[0] < SMALL_FILE or (local is not None and not local.single):
        return None
    here = (local.files[0].size, local.files[0].mtime) if local is not None else None
    todo = {} if fastpath.unchanged(*entry, here) else {name: entry}
    replaced = set(todo) if here is not None else set()
    root = account.path_of(single.parent_of(opts.source))
    return Prepared(one, todo, replaced, False, started, major, "propfind", root, name)


def nothing_left(opts: TransferOptions, prepared: Prepared, tally: Tally) -> bool:
    """rclone would find nothing to do: every file came (by archive or in byte ranges), and a
    sync has nothing to delete."""
    came = sum(1 for rel in prepared.todo if rel in tally.arrived)
    return came == len(prepared.todo) and (opts.verb == "copy" or not prepared.extra)


def decide(rclone: Rclone, opts: TransferOptions, account: Account) -> Download | None:
    """The archive fast path for this download, from one listing (prepare); None when rclone
    should judge alone."""
    prepared = prepare(rclone, opts, account)
    return Download(account, opts, prepared) if prepared is not None else None


class Download:
    """The archive fast path of one download (a fastpath.FastPath)."""

    via = "archive-download"

    def __init__(self, account: Account, opts: TransferOptions, prepared: Prepared) -> None:
        self.account = account
        self.opts = opts
        self.prepared = prepared
        self.phase = fastpath.Phase()
        self.expected = Expected(bytes=prepared.bytes, files=len(prepared.todo))
        self.up_to_date = len(prepared.listing.files) - len(prepared.todo)  # already here

    def send(self, channel: fastpath.Channel) -> None:
        """Fetch the small files by archive into the local folder; what did not come is
        rclone's."""
        prepared, phase = self.prepared, self.phase
        small = prepared.small()
        folder = Path(self.opts.dest).expanduser()
        try:
            dest = unzip.Destination(folder)
        except OSError as exc:  # rclone says it better, for every file
            phase.refused += list(small)
            phase.reasons.append(f"the destination cannot be written ({exc.strerror or exc})")
            return
        with dest:
            counts = {"listed": len(prepared.listing.files), "todo": len(prepared.todo)}
            at = round(time.monotonic() - channel.tally.started, 3)
            _log(
                channel,
                "archive-start",
                **counts,
                small=len(small),
                listed_by=prepared.listed_by,
                at=at,
            )
            if small:
                self._fetch(channel, small, dest)
            _folder_times(dest, prepared.listing)

    def _fetch(
        self, channel: fastpath.Channel, small: dict[str, int], dest: unzip.Destination
    ) -> None:
        prepared, tally = self.prepared, channel.tally
        listed = len(prepared.listing.files)
        archives = Archives(self.account, prepared.root, prepared.major)
        batches = plan(
            small,
            prepared.listing.files,
            archives.room,
            parallel=IN_FLIGHT,
            root_name=archives.root_name,
        )
        once_more = OnceMore()
        folder = Path(self.opts.dest).expanduser()
        with Fetcher(archives, batches, folder, IN_FLIGHT) as fetcher:

            def tick(in_flight: int) -> None:
                channel.progress(fastpath.progress(tally, self.expected, listed, in_flight))

            for batch, answer, failure in fetcher.answers(tick):
                self.phase.requests += 1
                results = _unpack(batch, answer, dest, prepared) if answer else {}
                why = failure or _refused(results)
                if once_more.again(batch, why):  # before rclone fetches its files one by one
                    fetcher.again(batch)
                    at = round(time.monotonic() - tally.started, 3)
                    _log(channel, "archive-again", folder=batch.folder, failure=why, at=at)
                    continue
                _report(batch, results, failure, prepared, self.phase, channel)
                channel.progress(fastpath.progress(tally, self.expected, listed))

    def left(self, tally: Tally) -> fastpath.Left:
        """Nothing, or a whole rclone run (it lists the remote again and fetches the rest)."""
        if nothing_left(self.opts, self.prepared, tally):
            return fastpath.Left(notes=self._notes(tally, left=False))
        missing = tuple(sorted(set(self.prepared.todo) - set(tally.arrived)))
        return fastpath.Left(names=missing, whole=True, notes=self._notes(tally, left=True))

    def _notes(self, tally: Tally, *, left: bool) -> tuple[str, ...]:
        notes = []
        if came := tally.sent_by("archive"):
            then = "rclone fetches the rest" if left else "nothing is left for rclone to fetch"
            notes.append(
                f"{came} small file(s) came in {self.phase.requests} Nextcloud archive "
                f"request(s); {then}."
            )
        if refused := self.phase.refused:
            notes.append(
                f"{len(refused)} file(s) did not come by archive ({self.phase.reasons[0]}); "
                "rclone fetches them."
            )
        return tuple(notes)


def _log(channel: fastpath.Channel, kind: str, **fields: object) -> None:
    """One line of the run's log about the phase itself."""
    channel.record({"rcwiz": kind, **fields})


def _unpack(
    batch: Batch, answer: IO[bytes], dest: unzip.Destination, prepared: Prepared
) -> dict[str, str | None]:
    """Write BATCH's files from ANSWER: relative path -> None when written, or why not."""
    results: dict[str, str | None] = {}
    files = prepared.todo
    if batch.single is not None:
        answer.seek(0)
        size, mtime = files[batch.single]
        try:
            dest.write(batch.single, answer, size, mtime)
            return {batch.single: None}
        except unzip.Unwritten as exc:
            return {batch.single: str(exc)}
    try:
        archive = unzip.Archive(answer, batch.entries, batch.whole, _folders_in(batch, prepared))
    except unzip.Refused as exc:
        reason = f"{_REFUSED}{exc}"
        return dict.fromkeys(batch.entries.values(), reason)
    try:
        for rel in batch.entries.values():
            size, mtime = files[rel]
            try:
                archive.extract(rel, dest, size, mtime)
                results[rel] = None
            except unzip.Unwritten as exc:
                results[rel] = str(exc)
    finally:
        archive.close()
    return results


def _refused(results: dict[str, str | None]) -> str | None:
    """Why the whole archive was refused (cut off, not a zip), or None: such a batch is asked
    for once more (rcwiz.nextcloud.archive.OnceMore) before rclone gets its files."""
    reasons = set(results.values())
    if len(reasons) == 1:
        (reason,) = reasons
        if reason is not None and reason.startswith(_REFUSED):
            return reason
    return None


def _folders_in(batch: Batch, prepared: Prepared) -> int:
    """How many listed folders BATCH's whole folders hold (each is an entry of its archive)."""
    if batch.above:  # the remote's folder itself, and every folder in it
        return len(prepared.listing.folders) + 1
    base = f"{batch.folder}/" if batch.folder else ""
    tops = tuple(f"{base}{name}/" for name in batch.whole)
    return sum(1 for f in prepared.listing.folders if f"{f}/".startswith(tops))


def _report(
    batch: Batch,
    results: dict[str, str | None],
    failure: str | None,
    prepared: Prepared,
    phase: fastpath.Phase,
    channel: fastpath.Channel,
) -> None:
    """Count, log and show what BATCH brought; what it did not is left to rclone."""
    sizes = {"names": len(batch.names), "files": len(batch.entries), "bytes": batch.bytes}
    at = round(time.monotonic() - channel.tally.started, 3)
    _log(channel, "archive-request", folder=batch.folder, **sizes, failure=failure, at=at)
    left = []
    for rel in batch.entries.values():
        size = prepared.todo[rel][0]
        why = failure or results.get(rel, "it did not come")
        entry = {"object": rel, "size": size, "ok": why is None, "message": why or ""}
        _log(channel, "archive", **entry)
        if why is None:
            outcome: FileOutcome = "replaced" if rel in prepared.replaced else "new"
            came = FileDone(rel, outcome, size, None, "Copied from a Nextcloud archive")
            channel.file_done(came, "archive")
        else:
            left.append(rel)
            phase.refused.append(rel)
    if left:
        reason = failure or next((r for r in results.values() if r), "it did not come")
        channel.notice(f"{len(left)} file(s) left to rclone: {reason}", left[0])
        phase.reasons.append(reason)


def _folder_times(dest: unzip.Destination, found: Listing) -> None:
    """Give the local folders the listing's times, as rclone does after a copy."""
    for relative, mtime in found.folders.items():
        try:
            dest.set_folder_time(relative, mtime)
        except OSError:
            continue  # not there locally (empty on the server), or not a folder: rclone's
