"""A job profile as the rest of rcwiz uses it, once rcwiz.jobs.schema has validated it."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from rcwiz.rclone.argv import TransferOptions

MODES = ("copy", "sync", "move")
# sync deletes at the destination and move deletes the sources: a profile must say it knows.
DELETING_MODES = ("sync", "move")


@dataclass(frozen=True)
class ShareSpec:
    """A Nextcloud share link made for the destination after a successful run."""

    permissions: str = "read"  # read or edit
    expire_days: int | None = None  # the link ends this many days after the run


@dataclass(frozen=True)
class Job:
    name: str
    source: str
    dest: str
    mode: str = "copy"
    allow_deletes: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    filter_from: str | None = None
    transfers: int | None = None
    bwlimit: str | None = None
    checksum: bool = False
    dry_run: bool = False
    extra_flags: tuple[str, ...] = ()  # already split with shlex
    before: str | None = None
    after: str | None = None
    on_failure: str | None = None
    share: ShareSpec | None = None

    def options(self, *, dry_run: bool = False, tuning: tuple[str, ...] = ()) -> TransferOptions:
        """The transfer this profile describes (dry_run forces a dry run)."""
        return TransferOptions(
            source=self.source, dest=self.dest, verb=self.mode, dry_run=dry_run or self.dry_run,
            transfers=self.transfers, bwlimit=self.bwlimit, include=self.include,
            exclude=self.exclude, filter_from=self.filter_from, checksum=self.checksum,
            tuning=tuning, extra=self.extra_flags,
        )  # fmt: skip


def split_flags(text: str) -> tuple[str, ...]:
    """extra_flags as written in YAML ("--max-age 7d --fast-list") -> argv items."""
    return tuple(shlex.split(text))
