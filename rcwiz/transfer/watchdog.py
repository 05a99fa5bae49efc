"""The watchdog: stops rclone where waiting longer cannot help.

rclone itself would go on for minutes: after a 507 it tries every remaining file and every
retry (measured: 142 s and 184 failed files), and each refused replacement deletes the old
file on the server; a dead server is retried for about 20 minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rcwiz import errors
from rcwiz.rclone import classify
from rcwiz.rclone.events import Event, FileDone, LogLine, Progress

RESUME_HINT = "Run the same command again to resume: finished files are skipped."


@dataclass
class Watchdog:
    """Stops rclone where waiting longer cannot help (rclone itself would go on for minutes).

    * the first 507 Insufficient Storage: rclone would try every remaining file and retry
      (measured: 142 s and 184 failed files), and each refused replacement deletes the old
      file on the server;
    * no byte moved for `stall_timeout` seconds while errors rise, or while the server does
      not answer at all (`alive` probes it): rclone's retries would take about 20 minutes,
      and its error count stays flat during low-level retries. A server that answers but is
      slow (Nextcloud assembling a large upload) is left alone.
    """

    stall_timeout: float = 60.0
    alive: Callable[[], bool] | None = None
    probe_every: float = 5.0
    _last_bytes: int = -1
    _moved_at: float | None = None
    _errors_then: int = 0
    _probed_at: float = float("-inf")

    def __call__(self, event: Event, now: float) -> errors.RcwizError | None:
        if isinstance(event, FileDone) and event.outcome == "failed":
            found = classify.file_failure(event.error)
            if isinstance(found, errors.QuotaExceeded):
                return self._quota()
            if isinstance(found, errors.DiskFull):
                return errors.DiskFull(
                    "The local disk is full, so the transfer was stopped.",
                    f"Free space on the local disk, then: {RESUME_HINT}",
                )
        elif isinstance(event, LogLine) and event.level in ("error", "critical"):
            if classify.is_quota(event.message):
                return self._quota()
        elif isinstance(event, Progress):
            if classify.is_quota(event.last_error):
                return self._quota()
            if self._moved_at is None or event.bytes > self._last_bytes:
                self._last_bytes, self._moved_at = event.bytes, now
                self._errors_then = event.errors
            elif now - self._moved_at >= self.stall_timeout and self._gone(event, now):
                return errors.ServerUnreachable(
                    f"No data has moved for {now - self._moved_at:.0f} s and the server does "
                    "not answer: it seems unreachable, so the transfer was stopped.",
                    f"Check the server and your network. {RESUME_HINT}",
                    detail=event.last_error or "",
                )
        return None

    def _gone(self, event: Progress, now: float) -> bool:
        if event.errors > self._errors_then:
            return True
        if self.alive is None or now - self._probed_at < self.probe_every:
            return False
        self._probed_at = now
        return not self.alive()

    @staticmethod
    def _quota() -> errors.RcwizError:
        return errors.QuotaExceeded(
            "The server refused an upload with 507 Insufficient Storage: the quota is full, "
            "so the transfer was stopped.",
            f"Free some space (see 'rcwiz quota'), then: {RESUME_HINT}",
        )
