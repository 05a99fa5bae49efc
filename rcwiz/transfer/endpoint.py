"""Each side of a transfer, resolved once: its path, the remote it names, and for a Nextcloud
its account and capabilities (each found at most once, when first needed).

`resolve` turns one read of rclone.conf (`begin`: started early, read when needed) into two
`Endpoint`s; every later step asks them instead of passing rclone.conf, the remotes and an
account around. The Nextcloud modules are imported only when a Nextcloud side is asked about
(http.client and ssl cost start-up time).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from rcwiz import errors
from rcwiz.clock import Clock
from rcwiz.rclone.config import Configured, Remote, begin_configured, is_remote, remote_name
from rcwiz.rclone.run import Pending, Rclone
from rcwiz.rclone.transfer import tuning_for

if TYPE_CHECKING:
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.capabilities import Capabilities


def begin(rclone: Rclone, *paths: str) -> Pending[Configured | None]:
    """rclone.conf's remotes when PATHS name one (started now, read later); else None."""
    if not any(is_remote(p) for p in paths):
        return Pending.ready(None)
    return begin_configured(rclone).then(lambda found: found)


@dataclass
class Endpoint:
    """One side of a transfer: a local path, or a path on a configured remote."""

    path: str
    remote: Remote | None  # None: a local path, or a remote rclone.conf does not define
    configured: Configured | None = field(repr=False)
    clock: Clock = field(repr=False)

    @property
    def local(self) -> bool:
        return not is_remote(self.path)

    @property
    def nextcloud(self) -> bool:
        """A Nextcloud remote: rcwiz's fast paths and clean-ups may serve it."""
        return self.remote is not None and self.remote.vendor == "nextcloud"

    @functools.cached_property
    def account(self) -> Account:
        """The Nextcloud account behind the remote (its password read from rclone.conf's
        dump); only for a Nextcloud side."""
        from rcwiz.nextcloud.account import account_from

        if self.remote is None or self.configured is None:
            raise errors.no_remote(remote_name(self.path))
        return account_from(
            self.remote.name, self.configured.settings(self.remote.name), self.clock
        )

    @functools.cached_property
    def capabilities(self) -> Capabilities | None:
        """The server's capabilities, cached since setup (fetched now if missing; None if
        unknown or not a Nextcloud)."""
        if not self.nextcloud or self.remote is None:
            return None
        from rcwiz.nextcloud import capabilities

        found = capabilities.cached(self.remote.name)
        if found is None:
            try:
                found = capabilities.fetch(self.account.client())
            except errors.RcwizError:
                return None
            capabilities.save(self.remote.name, found)
        return found


class Sides(NamedTuple):
    """Both ends of one transfer."""

    source: Endpoint
    dest: Endpoint
    configured: Configured | None

    @property
    def remotes(self) -> dict[str, Remote]:
        """The configured remotes involved, by name."""
        found = [side.remote for side in (self.source, self.dest) if side.remote is not None]
        return {r.name: r for r in found}

    def tuning(self) -> tuple[str, ...]:
        """Flags rcwiz adds for the server files go to (shown by --dry-run and in the log)."""
        return tuning_for(self.dest.remote.vendor if self.dest.remote is not None else None)


def resolve(configured: Configured | None, source: str, dest: str, clock: Clock) -> Sides:
    """SOURCE and DEST as Endpoints, from one read of rclone.conf (CONFIGURED)."""

    def side(path: str) -> Endpoint:
        known = configured is not None and is_remote(path)
        remote = configured.remote(remote_name(path)) if known and configured else None
        return Endpoint(path, remote, configured, clock)

    return Sides(side(source), side(dest), configured)


def sides_of(rclone: Rclone, source: str, dest: str) -> Sides:
    """SOURCE and DEST resolved now (one rclone.conf read, none for local paths)."""
    return resolve(begin(rclone, source, dest).result(), source, dest, rclone.clock)
