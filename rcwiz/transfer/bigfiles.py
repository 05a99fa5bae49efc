"""The download phase for big files from Nextcloud: byte ranges several at a time, resumable.

Runs after the archive phase (rcwiz.transfer.archive, which takes the small files) and before
rclone (which gets whatever is left). Each big new or changed file is fetched in ranges,
several at once (rcwiz.transfer.streams; one TCP stream is often the limit on a distant
server), into its partial file beside the destination (rcwiz.transfer.partial_file), whose
record in rcwiz's state folder (rcwiz.transfer.partials) is brought up to date every SAVE_EVERY
seconds and whenever the run stops. An interrupted run (Ctrl-C, SIGTERM, SIGHUP, SIGKILL, a
hung or dead server) leaves both, and the next run of the same transfer continues from the
bytes on disk when the server still holds the same version; a file changed on the server starts
again from zero (never a mix of two versions). A file is renamed into place only when whole and
checked.

A fast path (rcwiz.transfer.fastpath) that extends the archive path of the same download:
`decide` takes the big files from the archive path's one listing, `send` runs the archive path
and then fetches them, `left` is the archive path's (whatever did not arrive is rclone's). Each
file is counted through the Channel into the one Tally when it is whole (Sender "ranged"), and
the bytes an earlier run had kept of it go to `Tally.resumed` (neither sent again nor counted
as moved this run).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.counting import Tally
from rcwiz.events import FileOutcome
from rcwiz.nextcloud import ranged
from rcwiz.nextcloud.bulk import safe_name
from rcwiz.rclone.events import FileDone, LogLine
from rcwiz.transfer import archive, engine, fastpath, partials, resumable, unzip
from rcwiz.transfer.partial_file import Download, Expected, Spoiled
from rcwiz.transfer.partials import Span
from rcwiz.transfer.streams import Event, Streams

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account

SAVE_EVERY = 0.25  # seconds between records: what a SIGKILL can cost
CHECKSUM_LOOK = 0.02  # seconds between looks at a whole file's checksum while it is on its way
MIB = 1024 * 1024
RETRIES = 3  # a cut connection: the piece's rest is asked again, this often per file


def chosen(todo: dict[str, tuple[int, float]], small: set[str]) -> dict[str, tuple[int, float]]:
    """The files of TODO this phase takes: not SMALL (the archive's), with a name rclone keeps
    as it is and that stays inside the destination."""
    return {
        rel: entry
        for rel, entry in todo.items()
        if rel not in small and safe_name(rel) and unzip.safe_entry(rel)
    }


def decide(first: archive.Download) -> BigFiles:
    """The big-file fast path of a download whose archive path FIRST is decided: the big
    files of the same listing, fetched after FIRST's small ones."""
    return BigFiles(first)


class BigFiles:
    """The archive path FIRST, then the big files in byte ranges (a fastpath.FastPath): what
    FIRST's listing found, with FIRST's display name and totals (they cover every file)."""

    def __init__(self, first: archive.Download) -> None:
        self.first = first
        self.prepared = first.prepared
        self.via = first.via
        self.expected = first.expected
        self.up_to_date = first.up_to_date
        self.big = chosen(self.prepared.todo, set(self.prepared.small()))
        self.phase = fastpath.Phase()  # the big files left to rclone, and why
        self.kept = 0  # bytes left in partial files when the run stopped (for the next run)

    def send(self, channel: fastpath.Channel) -> None:
        """The archive path's small files, then the big ones (their checksums asked for
        meanwhile). A stopped run's error says what it kept for the next one (under its
        message: shown once the display is gone)."""
        checksums = _Checksums(self.first.account, self.prepared, self.big)
        try:
            self.first.send(channel)
            self._fetch(channel, checksums.of)
        except KeyboardInterrupt:
            if not self.kept:
                raise
            stopped = engine.interrupted(self.first.opts.verb)
            stopped.items.append(self._kept())
            raise stopped from None
        except errors.RcwizError as exc:
            if self.kept:
                exc.items.append(self._kept())
            raise
        finally:
            checksums.end()

    def _kept(self) -> str:
        return (
            f"{_mib(self.kept)} of big files kept in partial files: the same command continues "
            "from there."
        )

    def _fetch(self, channel: fastpath.Channel, checksums: dict[str, Expected]) -> None:
        """Fetch the big files into the destination (stale partials removed first), each
        checked by its CHECKSUMS (the server's, maybe still on their way)."""
        opts, account = self.first.opts, self.first.account
        folder = Path(opts.dest).expanduser().resolve()
        root = self.prepared.root
        partials.tidy(folder, root, self.big, only=self.prepared.single)
        if not self.big:
            return
        etags = self.prepared.listing.etags
        downloads = [
            Download(
                rel,
                f"{root.rstrip('/')}/{rel}",
                str(folder / rel),
                size,
                mtime,
                checksums[rel],
                etags.get(rel, ""),
            )
            for rel, (size, mtime) in self.big.items()
        ]
        try:
            dest = unzip.Destination(folder)
        except OSError as exc:  # rclone says it better, for every file
            self.phase.refused += list(self.big)
            self.phase.reasons.append(f"the destination cannot be written ({exc.strerror or exc})")
            return
        with dest:
            _Loop(Streams(account, dest, downloads), self, channel).run()

    def left(self, tally: Tally) -> fastpath.Left:
        """The archive path's: nothing, or a whole rclone run; and what the big files did."""
        left = self.first.left(tally)
        return replace(left, notes=left.notes + self._notes(tally))

    def _notes(self, tally: Tally) -> tuple[str, ...]:
        notes = []
        if came := tally.sent_by("ranged"):  # as the upload fast path says it
            notes.append(f"{came} big file(s) came in byte ranges{resumable.of_them(tally)}.")
        if refused := self.phase.refused:
            notes.append(
                f"{len(refused)} big file(s) did not come in byte ranges "
                f"({self.phase.reasons[0]}); rclone fetches them."
            )
        return tuple(notes)


class _Loop:
    """The main thread's side: each event decided, records saved, progress shown."""

    def __init__(self, streams: Streams, path: BigFiles, channel: fastpath.Channel) -> None:
        self.streams = streams
        self.path = path
        self.channel = channel
        self.active: dict[int, Download] = {}  # id -> a file on its way
        self.pending: dict[int, int] = {}  # id -> its pieces not ended
        self.retries: dict[str, int] = {}  # relative -> pieces asked again
        self.saved = time.monotonic()
        self.failure: BaseException | None = None  # what stops the run once pieces on their way end
        # Files whole on disk whose checksum request has not answered yet: finished once it has
        # (_tick), so that the loop goes on saving records and showing progress meanwhile.
        self.finishing: list[Download] = []

    def run(self) -> None:
        self.streams.start()
        try:
            while self.streams.busy or not self.streams.events.empty() or self.finishing:
                event = self._next_event()
                if event is not None:
                    self._decide(event)
                self._tick()
            if self.failure is not None:
                raise self.failure
            for download in list(self.active.values()):  # never the case; never silently
                download.save()
                self._forget(download)
                self._leave(download, "it did not come")
        except BaseException:
            self.streams.end()
            self._save_all()
            self.path.kept = sum(d.done_bytes for d in self.active.values())
            raise
        finally:
            for download in self.active.values():
                download.close()

    def _next_event(self) -> Event | None:
        """The next event, or None when SAVE_EVERY passed without one."""
        try:  # a file held back for its checksum is looked at more often
            return self.streams.events.get(timeout=CHECKSUM_LOOK if self.finishing else SAVE_EVERY)
        except queue.Empty:
            return None

    def _decide(self, event: Event) -> None:
        kind, download, span, exc = event
        key = id(download)
        if kind == "open":
            self._not_opened(download, exc)
        elif kind == "opened":
            assert span is not None
            self.active[key] = download
            self.pending[key] = span[0]
            if download.resumed:
                self._say(download, f"resumed at {download.resumed} of {download.size} bytes")
            if not span[0]:
                self._finish(download)
        elif kind == "split":  # a stream took the rest of a running piece: one more to end
            if key in self.active:
                self.pending[key] += 1
        elif key in self.active:
            assert span is not None
            self.pending[key] -= 1
            if exc is not None:
                self._failed(download, span, exc)
            elif not self.pending[key] and download.whole:
                self._finish(download)

    def _not_opened(self, download: Download, exc: BaseException | None) -> None:
        assert exc is not None
        download.close()  # what `open` opened before it failed (the partial, its threads)
        if isinstance(exc, errors.ServerUnreachable) or not isinstance(
            exc, (errors.RcwizError, OSError)
        ):
            raise exc
        if isinstance(exc, (ranged.Changed, errors.NotFound)) and download.record is None:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(os.path.dirname(download.destination), download.temp))
            old = partials.load(download.destination)
            if old is not None:
                old.forget()
        self._leave(download, _why(exc))

    def _failed(self, download: Download, span: Span, exc: BaseException) -> None:
        """A piece failed: ask its rest again (a cut connection), start the file again (it
        changed on the server), or leave it to rclone; a hung server or a bug stops the run."""
        if isinstance(exc, ranged.Changed):
            self._drop(download)
            fresh = download.afresh()
            if self.retries.get(download.relative, 0) <= RETRIES:
                self.retries[download.relative] = self.retries.get(download.relative, 0) + 1
                self._say(download, "changed on the server: starting again from zero")
                self.streams.again(fresh)
            else:
                self._leave(download, _why(exc))
            return
        if isinstance(exc, errors.ServerUnreachable) and not isinstance(exc, errors.Stalled):
            count = self.retries.get(download.relative, 0) + 1
            self.retries[download.relative] = count
            rest = download.left(span)
            if count <= RETRIES and rest is not None:
                self.pending[id(download)] += 1
                self.streams.again(download, rest)
                return
            if rest is None and not self.pending[id(download)] and download.whole:
                self._finish(download)
                return
        if isinstance(exc, errors.ServerUnreachable):
            # A dead or hung server: no new piece starts, those on their way may still end
            # well (and be kept); then the run stops with this error.
            self.failure = self.failure or exc
            self.streams.stop.set()
            return
        if not isinstance(exc, (errors.RcwizError, OSError)):
            raise exc
        download.stop.set()
        download.save()
        download.close()
        self._forget(download)
        self._leave(download, _why(exc))

    def _finish(self, download: Download) -> None:
        """DOWNLOAD is whole on disk: checked and put in place once its checksum is known."""
        if not download.checksum.known:
            self.finishing.append(download)
            return
        try:
            download.finish()
        except (Spoiled, OSError) as exc:
            self._forget(download)
            download.discard()
            self._leave(download, _why(exc))
            return
        self._forget(download)
        rel, size = download.relative, download.size
        kept = f", {download.resumed} bytes resumed" if download.resumed else ""
        self._record(download, ok=True, message=kept.lstrip(", "))
        if download.resumed:  # only now: a spoiled partial is no resume
            self.channel.tally.resumed(rel, download.resumed)
        outcome: FileOutcome = "replaced" if rel in self.path.prepared.replaced else "new"
        message = f"Copied in byte ranges from Nextcloud{kept}"
        self.channel.file_done(FileDone(rel, outcome, size, None, message), "ranged")

    def _drop(self, download: Download) -> None:
        self._forget(download)
        download.discard()

    def _forget(self, download: Download) -> None:
        self.active.pop(id(download), None)
        self.pending.pop(id(download), None)

    def _leave(self, download: Download, why: str) -> None:
        self.path.phase.refused.append(download.relative)
        self.path.phase.reasons.append(why)
        self._record(download, ok=False, message=why)
        self.channel.notice(f"left to rclone: {why}", download.relative)

    def _record(self, download: Download, *, ok: bool, message: str) -> None:
        """One line of the run's log about DOWNLOAD's end."""
        entry = {"object": download.relative, "size": download.size, "ok": ok}
        self.channel.record({"rcwiz": "ranged", **entry, "message": message})

    def _say(self, download: Download, what: str) -> None:
        self.channel.record({"rcwiz": "ranged-note", "object": download.relative, "message": what})
        self.channel.sink.log(LogLine("info", what, download.relative))

    def _tick(self) -> None:
        """Finish the files whose checksum came, save every record that is due, and show the
        progress."""
        for download in [d for d in self.finishing if d.checksum.known]:
            self.finishing.remove(download)
            self._finish(download)
        now = time.monotonic()
        if now - self.saved >= SAVE_EVERY:
            self._save_all()
            self.saved = now
        coming = sum(d.moved for d in self.active.values())
        shown = tuple(  # on disk, of which `resumed` kept: the meter counts only this run's
            fastpath.in_flight(d.relative, d.size, d.moved, d.started, d.resumed)
            for d in self.active.values()
        )
        listed = len(self.path.prepared.listing.files)
        tally, everything = self.channel.tally, self.path.expected
        self.channel.progress(fastpath.progress(tally, everything, listed, coming, shown))

    def _save_all(self) -> None:
        for download in list(self.active.values()):
            with contextlib.suppress(OSError):  # a full disk: the next save may succeed
                download.save()


def _mib(count: int) -> str:
    """COUNT bytes in MiB, for a note (the display's formats are not this layer's)."""
    return f"{count / MIB:.1f} MiB"


def _why(exc: BaseException | None) -> str:
    """Why a file was left to rclone, in a few words."""
    if isinstance(exc, errors.RcwizError):
        return exc.message.rstrip(".")
    if isinstance(exc, OSError):
        return f"it could not be written ({exc.strerror or exc})"
    return "it did not come"


class _Checksums:
    """The checksums the server keeps of the big files BIG (relative path -> Expected), asked
    in a thread of its own from the start of the download: the small files and the first
    ranges do not wait for them, only each big file's check at its end does. A single file
    named as the source has its own already (rcwiz.transfer.single asked for it)."""

    def __init__(self, account: Account, prepared: archive.Prepared, big: dict) -> None:
        self.of = {rel: Expected() for rel in big}
        self.client = account.client()
        if prepared.single is not None or not big:
            for rel, expected in self.of.items():
                expected.give(prepared.listing.checksums.get(rel, ""))
            return
        smallest = min(size for size, _ in big.values())
        asking = threading.Thread(
            target=self._ask, args=(account.dav_user, prepared.root, smallest), daemon=True
        )
        asking.start()

    def _ask(self, dav_user: str, root: str, smallest: int) -> None:
        """The checksums of the files under ROOT of SMALLEST bytes or more, each given to its
        Expected ("" none known: the request failed, or the server keeps none)."""
        from rcwiz.nextcloud.listing import big_checksums  # Nextcloud downloads only

        found: dict[str, str] = {}
        try:
            found = big_checksums(self.client, dav_user, root, smallest)
        except Exception:  # no traceback under the display: the files are checked by size
            found = {}
        finally:
            for rel, expected in self.of.items():
                expected.give(found.get(rel, ""))

    def end(self) -> None:
        """The request ends now if it is still on its way (the run ends)."""
        self.client.abort()
