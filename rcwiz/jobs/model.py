"""A job profile as the rest of rcwiz uses it, once rcwiz.jobs.schema has validated it."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from rcwiz.rclone.config import is_remote
from rcwiz.rclone.transfer import Settings, TransferOptions, Verb, settings_of

MODES: tuple[Verb, ...] = ("copy", "sync", "move")
# sync deletes at the destination and move deletes the sources: a profile must say it knows.
DELETING_MODES = ("sync", "move")


@dataclass(frozen=True)
class ShareSpec:
    """A Nextcloud share link made for the destination after a successful run."""

    permissions: str = "read"  # read or edit
    expire_days: int | None = None  # the link ends this many days after the run


@dataclass(frozen=True)
class _Profile:
    name: str
    source: str
    dest: str
    mode: Verb = "copy"
    allow_deletes: bool = False


@dataclass(frozen=True)
class Job(Settings, _Profile):
    """One profile: where from and to, the transfer options (Settings), flags and hooks."""

    extra_flags: tuple[str, ...] = ()  # already split with shlex
    before: str | None = None
    after: str | None = None
    on_failure: str | None = None
    share: ShareSpec | None = None

    def options(self, *, dry_run: bool = False, tuning: tuple[str, ...] = ()) -> TransferOptions:
        """The transfer this profile describes (dry_run forces a dry run)."""
        values = {**settings_of(self), "dry_run": dry_run or self.dry_run}
        return TransferOptions(
            source=local_path(self.source),
            dest=local_path(self.dest),
            verb=self.mode,
            tuning=tuning,
            extra=self.extra_flags,
            **values,
        )


def local_path(path: str) -> str:
    """A profile's local path with ~ expanded (rclone would make a folder named '~'); a
    remote path as it is."""
    return path if is_remote(path) else os.path.expanduser(path)


def split_flags(text: str) -> tuple[str, ...]:
    """extra_flags as written in YAML ("--max-age 7d --fast-list") -> argv items."""
    return tuple(shlex.split(text))
