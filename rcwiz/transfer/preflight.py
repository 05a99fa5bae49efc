"""Before the first byte: will the transfer fit, and what would a sync delete?

Cheap first: the destination's free space (Nextcloud's OCS, a WebDAV server's own quota
properties, else `rclone about`; psutil for a local folder)
against the size of a local source (walked in-process). Only when that does not obviously
fit, or for a sync (which must show its deletions), rclone itself is asked with --dry-run,
which gives the exact bytes it would send and the files it would delete.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from rcwiz import errors
from rcwiz.rclone.about import Usage, begin_about
from rcwiz.rclone.config import Configured, begin_configured, is_remote, remote_name
from rcwiz.rclone.events import FileDone, LogLine
from rcwiz.rclone.run import Pending, Rclone, bounded_flags
from rcwiz.rclone.transfer import TransferOptions, transfer_argv
from rcwiz.transfer.walk import Tree, walk
from rcwiz.ui import format as fmt


@dataclass
class Plan:
    """What the dry run said rclone would do."""

    bytes: int = 0
    files: int = 0
    deletions: list[str] = field(default_factory=list)
    sends: list[str] = field(default_factory=list)  # the files it would copy, by name
    removed_folders: int = 0  # folders a sync would remove at the destination


_REMOVE_FOLDER = "Skipped remove directory as --dry-run is set"


def dry_run(rclone: Rclone, opts: TransferOptions) -> Plan:
    """Ask rclone what it would transfer and delete (nothing is changed)."""
    # Each request gives up on a hung server within the stall timeout; the user's own flags,
    # which come later, still win.
    bounded = bounded_flags(min(10.0, rclone.timeout), rclone.timeout, low_level_retries=2)
    probe = dataclasses.replace(opts, dry_run=True, extra=(*bounded, *opts.extra))
    result = rclone.run(
        transfer_argv(probe, stats_interval=60),
        target=opts.dest,
        source=opts.source,
        dest=opts.dest,
    )
    plan = Plan()
    seen: set[str] = set()
    for event in result.log:
        if isinstance(event, LogLine) and event.message.startswith(_REMOVE_FOLDER):
            plan.removed_folders += 1
        if not isinstance(event, FileDone) or event.outcome != "skipped" or event.name in seen:
            continue
        seen.add(event.name)
        if event.action == "delete":
            plan.deletions.append(event.name)
        else:
            plan.files += 1
            plan.bytes += event.size or 0
            plan.sends.append(event.name)
    return plan


def local_size(path: str) -> int | None:
    """Total size of the files under a local PATH (a file or a folder); None if missing."""
    tree = walk(path)
    return tree.bytes if tree is not None else None


def local_free(path: str) -> int:
    """Free bytes on the file system that would hold PATH (its nearest existing parent)."""
    probe = Path(path).expanduser().absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    # What psutil.disk_usage(...).free is (the blocks free to an unprivileged user), without
    # importing psutil at every local copy's start-up (issue 26: fixed cost).
    found = os.statvfs(probe)
    return found.f_bavail * found.f_frsize


class Space(NamedTuple):
    needed: int  # bytes to send
    free: int | None  # free bytes at the destination; None when unknown
    where: str

    @property
    def fits(self) -> bool:
        return self.free is None or self.needed <= self.free


class FreeSpace:
    """The free space at a destination, asked for as early as possible, rclone last.

    A Nextcloud is asked through OCS, a plain WebDAV remote by rcwiz's own PROPFIND
    (rcwiz.quota.report.webdav_usage), both once rclone.conf's remotes are known
    (`configured`); `rclone about` only for other backends or when those cannot answer. When
    rclone.conf is itself being read by rclone (LISTING still running: an encrypted file),
    `about` starts at once, so the two rclone start-ups overlap as before. Use as a context
    manager so an unread `about` is stopped.
    """

    def __init__(
        self, rclone: Rclone, dest: str, listing: Pending[Configured | None] | None = None
    ) -> None:
        self.dest = dest
        self.rclone = rclone
        self.clock = rclone.clock
        self._about: Pending[Usage] | None = None
        if is_remote(dest) and (listing is None or not listing.done):
            self._about = self._begin_about()
        self.configured: Configured | None = None  # set once known: Nextcloud is asked by OCS

    def _begin_about(self) -> Pending[Usage]:
        return begin_about(self.rclone, f"{remote_name(self.dest)}:", target=self.dest)

    def bytes(self) -> int | None:
        """Free bytes at the destination; None when the backend cannot say."""
        if not is_remote(self.dest):
            return local_free(self.dest)
        # Imported here: a local destination (a local copy's start-up) needs neither.
        from rcwiz.quota.report import nextcloud_usage, webdav_usage

        name = remote_name(self.dest)
        current = nextcloud_usage(name, self.configured, self.clock)
        if current is None or current.free is None:  # not Nextcloud, or OCS has no figure
            current = webdav_usage(self.rclone, name, self.configured)
        if current is not None:
            self.close()  # not needed: the server's own figure is fresher
            return current.free
        if self._about is None:
            self._about = self._begin_about()
        try:
            return self._about.result().free
        except errors.AboutUnsupported:
            return None  # a backend without `about`: the space is unknown, not a failure

    def close(self) -> None:
        if self._about is not None:
            self._about.close()

    def __enter__(self) -> FreeSpace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_space(
    rclone: Rclone,
    opts: TransferOptions,
    plan: Plan | None,
    space: FreeSpace | None = None,
    tree: Tree | None = None,
) -> Space:
    """Compare the bytes to send with the free space at the destination (SPACE, if started).

    TREE is the local source, walked already (walked here when not given).
    """
    if space is None:
        listing: Pending[Configured | None] = (
            begin_configured(rclone).then(lambda found: found)
            if is_remote(opts.dest)
            else Pending.ready(None)
        )
        with listing, FreeSpace(rclone, opts.dest, listing) as started:
            started.configured = listing.result()
            return check_space(rclone, opts, plan, started, tree)
    where = opts.dest
    if plan is not None:
        return Space(plan.bytes, space.bytes(), where)
    # The local walk runs while `about` is still on its way.
    if tree is None and not is_remote(opts.source):
        tree = walk(opts.source)
    size = None if opts.filtered or tree is None else tree.bytes
    free = space.bytes()
    if size is not None and (free is None or size <= free):
        return Space(size, free, where)
    # Not obviously fine (or unknown): ask rclone what it would really send.
    return Space(dry_run(rclone, opts).bytes, free, where)


def refuse(space: Space) -> errors.RcwizError:
    return errors.WontFit(
        f"This transfer needs {fmt.size(space.needed)} ({space.needed} bytes) but only "
        f"{fmt.size(space.free)} ({space.free} bytes) is free at {space.where}.",
        "Free some space or send less (--include / --exclude); --force goes anyway.",
    )
