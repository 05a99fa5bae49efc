"""The watchdog: stops rclone where waiting longer cannot help.

rclone itself would go on for minutes: after a 507 it tries every remaining file and every
retry (measured: 142 s and 184 failed files), and each refused replacement deletes the old
file on the server; a dead server is retried for about 20 minutes, and a hung one (it accepts
connections and never answers) for as long as rclone's 5-minute idle timeout allows, again
and again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rcwiz import errors
from rcwiz.rclone import classify
from rcwiz.rclone.events import Event, FileDone, LogLine, Progress
from rcwiz.transfer.engine import again

RESUME_HINT = again(None)  # the watchdog stops rclone, which resumes no file


@dataclass
class Watchdog:
    """Watches a transfer's events, and the clock (the engine calls it at least every second,
    with `event` None when rclone said nothing), and names the failure that should stop it:

    * the first 507 Insufficient Storage;
    * refusals: nothing new confirmed for `stall_timeout` seconds, and meanwhile the server
      answered a request with a refusal (rclone quotes its HTTP status: 423 Locked, 403,
      a 5xx), or took bytes that rclone then sent again (rclone retries a refused upload
      quietly: a 423 is logged only after its ten low-level retries, minutes later) while the
      server still answers the probe: the server is no unreachable one; the error names the
      refusal (a locked file by name) or the file sent again, and exits with its own code;
    * a stall: nothing new confirmed for `stall_timeout` seconds while errors rise, or while
      the server does not answer (`alive` probes it). Progress means new bytes: files that
      arrived, and the furthest each file in flight has got. rclone's own byte count grows
      when it re-sends a file from the start, which is no progress at all. A server that
      answers but is slow (Nextcloud assembling a large upload) is left alone.

    Before rclone's first stats line the clock runs too: a server that hangs during the
    listing is caught the same way.
    """

    stall_timeout: float  # the run's Clock.stall (rcwiz.clock): given, never defaulted here
    alive: Callable[[], bool] | None = None
    probe_every: float = 5.0
    started: float | None = None
    _furthest: dict[str, int] = field(default_factory=dict)  # in flight: bytes sent, at most
    _arrived: set[str] = field(default_factory=set)
    _measure: int = -1
    _moved_at: float | None = None
    _errors_then: int = 0
    _errors: int = 0
    _probed_at: float = float("-inf")
    locked: set[str] = field(default_factory=set)  # files the server said are locked (423)
    _refusal: errors.RcwizError | None = None  # the last refusal since anything moved
    _sent = 0  # rclone's byte count (resent bytes included) at the last progress event
    _again: str | None = None  # a file rclone sent again since anything moved
    _answered: bool = True  # what the last probe found

    def __call__(self, event: Event | None, now: float) -> errors.RcwizError | None:
        if self._moved_at is None:
            self._moved_at = self.started if self.started is not None else now
        if isinstance(event, FileDone):
            if event.outcome == "failed":
                return self._file_failed(event)
            self._arrived.add(event.name)
            self._furthest.pop(event.name, None)
            self._moved(now)
        elif isinstance(event, LogLine) and event.level in ("error", "critical"):
            if classify.is_quota(event.message):
                return self._quota()
            self._refused(event.object, event.message)
        elif isinstance(event, Progress):
            if classify.is_quota(event.last_error):
                return self._quota()
            self._errors = event.errors
            for item in event.transferring:
                if item.name not in self._arrived and item.bytes > self._furthest.get(item.name, 0):
                    self._furthest[item.name] = item.bytes
            measure = len(self._arrived) + sum(self._furthest.values())
            if measure > self._measure:
                self._measure = measure
                self._moved(now)
            elif event.bytes > self._sent and event.transferring:
                self._again = event.transferring[0].name  # bytes sent, nothing new kept
            self._sent = max(self._sent, event.bytes)
            if self.locked and event.transferring:
                held = [item.name for item in event.transferring if item.name in self.locked]
                if len(held) == len(event.transferring):  # all rclone is at: locked files
                    self._again = held[0]
        if now - self._moved_at >= self.stall_timeout and self._refusal is not None:
            return self._refused_all(now)
        if now - self._moved_at >= self.stall_timeout and self._again and self._answers(now):
            if self._again in self.locked:
                self._refusal = errors.locked(self._again)
                return self._refused_all(now)
            return errors.Refused(
                f"The server answers but keeps refusing {self._again}: rclone sent it again "
                f"and again, and nothing arrived for {now - self._moved_at:.0f} s, so the "
                "transfer was stopped.",
                "rclone's log names the server's answer (after its own retries); a file "
                f"locked on a Nextcloud is released after {errors.LOCK_RELEASE}. {RESUME_HINT}",
            )
        if now - self._moved_at >= self.stall_timeout and self._gone(now):
            return errors.Stalled(
                f"Nothing has moved for {now - self._moved_at:.0f} s and the server does "
                "not answer: it seems unreachable or hung, so the transfer was stopped.",
                f"Check the server and your network. {RESUME_HINT}",
            )
        return None

    def _moved(self, now: float) -> None:
        self._moved_at = now
        self._errors_then = self._errors
        self._refusal = None
        self._again = None

    def _answers(self, now: float) -> bool:
        """The server still answers (asked at most every probe_every seconds)."""
        if self.alive is None:
            return True
        if now - self._probed_at >= self.probe_every:
            self._probed_at = now
            self._answered = self.alive()
        return self._answered

    def _refused(self, name: str | None, text: str | None) -> None:
        """Remember a refusal (a named one rather than rclone's summary line of it)."""
        found = classify.refusal(name, text)
        if found is not None and (self._refusal is None or name):
            self._refusal = found

    def _refused_all(self, now: float) -> errors.RcwizError:
        found = self._refusal
        assert found is not None and self._moved_at is not None
        found.message = (
            f"{found.message.rstrip('.')}. Nothing else arrived for {now - self._moved_at:.0f} "
            "s, so the transfer was stopped."
        )
        return found

    def _file_failed(self, event: FileDone) -> errors.RcwizError | None:
        found = classify.file_failure(event.error)
        self._refused(event.name, event.error)
        if isinstance(found, errors.QuotaExceeded):
            return self._quota()
        if isinstance(found, errors.DiskFull):
            return errors.DiskFull(
                "The local disk is full, so the transfer was stopped.",
                f"Free space on the local disk, then: {RESUME_HINT}",
            )
        return None

    def _gone(self, now: float) -> bool:
        if self._errors > self._errors_then:
            return True
        return self.alive is not None and not self._answers(now)

    @staticmethod
    def _quota() -> errors.RcwizError:
        return errors.QuotaExceeded(
            "The server refused an upload with 507 Insufficient Storage: the quota is full, "
            "so the transfer was stopped.",
            f"Free some space (see 'rcwiz quota'), then: {RESUME_HINT} Where the server "
            "refused to replace a file, rclone deleted the old copy (Nextcloud keeps it in its "
            "trash bin).",
        )
