"""A copy, move or sync as rcwiz runs it: pre-flight, a watched transfer with progress, a summary.

Shared by `rcwiz copy/move/sync` and `rcwiz job run`. The pipeline, in the order it runs:

1. both sides resolved once from one read of rclone.conf (rcwiz.transfer.endpoint), the
   tuning rcwiz adds for their servers (shown, never hidden);
2. the checks before the run (rcwiz.actions.transfer_checks): space, a sync's deletions
   asked about, names the server will refuse;
3. a fast path, where one applies, decided from one listing (rcwiz.transfer.fastpath):
   archive download from a Nextcloud source, bulk upload to a Nextcloud destination;
4. rclone for whatever is left (rcwiz.transfer.engine), under the same display, counted in
   the same Tally (rcwiz.counting), watched by the watchdog.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from rcwiz import errors
from rcwiz.actions import transfer_checks as checks
from rcwiz.clock import PROBE, Clock
from rcwiz.counting import Summary, Tally
from rcwiz.rclone.config import Remote, is_remote
from rcwiz.rclone.transfer import LOOK_UP_AT_MOST, TransferOptions, option_flags, transfer_argv
from rcwiz.rclone.transfer import write_files_from as files_from
from rcwiz.transfer import endpoint, engine, preflight
from rcwiz.transfer.endpoint import Sides
from rcwiz.transfer.walk import Tree, passing, walk
from rcwiz.transfer.watchdog import Watchdog
from rcwiz.ui.console import escape, shell_join
from rcwiz.ui.progress import make_sink

if TYPE_CHECKING:
    from rcwiz.context import Context
    from rcwiz.rclone.run import Rclone
    from rcwiz.transfer import fastpath
    from rcwiz.transfer.bigfiles import BigFiles


class Guard(NamedTuple):
    """How a transfer is checked before and watched during the run (a NamedTuple, not a frozen
    dataclass: one costs ~10x less to create at import, issue 26's fixed cost)."""

    force: bool = False  # go on although the pre-flight says it will not fit
    yes: bool = False  # a sync may delete without asking
    log_interval: float = 10.0


def perform(ctx: Context, opts: TransferOptions, guard: Guard) -> Summary:
    """Pre-flight, confirm a sync's deletions, then run OPTS watched, with progress.

    Raises the named error on failure (with the summary of what was done attached).
    """
    checks.check_paths(opts)
    rclone = ctx.rclone
    # The local source is walked at most once (when something needs it) and shared.
    tree = functools.cache(lambda: None if is_remote(opts.source) else walk(opts.source))
    with contextlib.ExitStack() as stack:
        # rclone's start-up is most of each pre-flight step: both runs go at once.
        conf = stack.enter_context(endpoint.begin(rclone, opts.source, opts.dest))
        space = None
        if not opts.dry_run:
            space = stack.enter_context(preflight.FreeSpace(rclone, opts.dest, conf))
        sides = endpoint.resolve(conf.result(), opts.source, opts.dest, rclone.clock)
        if space is not None:
            space.configured = sides.configured  # a Nextcloud is asked through OCS
        opts = replace(opts, tuning=sides.tuning())
        if opts.dry_run:  # the exact command that runs (secrets masked), to copy and paste
            shown = rclone.shown(transfer_argv(opts, stats_interval=engine.STATS_INTERVAL))
            ctx.console.note(f"[dim]{escape(shell_join(shown))}[/]")
        plan = None
        if opts.verb == "sync" and not opts.dry_run:
            plan = preflight.dry_run(rclone, opts)
            checks.confirm_deletions(ctx, opts, plan, yes=guard.yes)
        download = _download(ctx, opts, sides)
        if plan is None and download is not None:  # the listing says what a dry run would
            plan = preflight.Plan(download.expected.bytes, download.expected.files)
        if space is not None:
            checks.check_space(ctx, opts, plan, sides.dest, space, tree(), force=guard.force)
    if space is not None:  # the walk is done: say what rclone will leave out
        checks.note_empty_folders(ctx, opts, tree())
    run = _Run(ctx, opts, make_sink(ctx.console, guard.log_interval), _watchdog(ctx, sides))
    if download is not None:  # the duration includes the listing
        return run.through(download, Tally(opts.verb, download.prepared.started))
    if not sides.dest.nextcloud:
        return run.rclone(opts)
    return _upload(run, sides, tree(), plan)


def _download(ctx: Context, opts: TransferOptions, sides: Sides) -> BigFiles | None:
    """The download fast path, for a download it may take, decided from one listing: small
    files by archive (rcwiz.transfer.archive), then big ones in byte ranges, resumable
    (rcwiz.transfer.bigfiles)."""
    if not sides.source.nextcloud:
        return None
    # Imported here: only Nextcloud downloads need them (http.client and ssl cost start-up time).
    from rcwiz.transfer import archive, bigfiles

    if archive.applies(opts, sides.source.remote):
        first = archive.decide(ctx.rclone, opts, sides.source.account)
        return bigfiles.decide(first) if first is not None else None
    if sides.dest.local:
        checks.say_fast_path_off(ctx, opts, "download")
    return None


def _upload(run: _Run, sides: Sides, local: Tree | None, plan: preflight.Plan | None) -> Summary:
    """To a Nextcloud: the bulk-upload fast path where it applies, then rclone; what a stopped
    upload left on the server is removed. A sync's dry run already listed both sides: what it
    would send is taken from there instead of a second listing."""
    # Imported here: only Nextcloud remotes need it (http.client and ssl cost start-up time).
    from rcwiz.transfer import bulk

    ctx, opts, caps = run.ctx, run.opts, sides.dest.capabilities
    fast = caps is not None and bulk.offered(caps) and local is not None and bulk.applies(opts)
    if fast and opts.filtered and local is not None and not local.single:
        local = _passing(ctx.rclone, opts, local)
    if caps is not None and local is not None:
        checks.warn_refused(ctx, ctx.rclone, opts, local, caps)
    try:
        if caps is None or not bulk.offered(caps) or not local:
            return run.rclone(opts)
        if not bulk.applies(opts):
            checks.say_fast_path_off(ctx, opts, "upload")
            return run.rclone(opts)
        if opts.filtered and not local.filtered:  # rclone alone can say what its rules pass
            return run.rclone(opts)
        wanted = set(plan.sends) if plan is not None else None
        deletes = plan is not None and bool(plan.deletions or plan.removed_folders)
        tally = Tally(opts.verb)  # the duration includes the listing, as a download's does
        upload = bulk.decide(ctx.rclone, sides.dest.account, caps, opts, local, wanted, deletes)
        if upload is None:  # a single file whose destination rclone must judge
            return run.rclone(opts)
        return run.through(upload, tally)
    except (errors.RcwizError, KeyboardInterrupt) as exc:
        if local is not None:
            stopping = isinstance(exc, KeyboardInterrupt)
            checks.remove_unfinished_uploads(ctx, sides.dest.account, opts, local, stopping)
        raise


def _passing(rclone: Rclone, opts: TransferOptions, local: Tree) -> Tree:
    """LOCAL narrowed to the files the filters of OPTS let through, as rclone itself says
    (one listing of the local source: rclone's rules exactly, whatever they are); LOCAL as it
    was, not narrowed, when rclone lists a name otherwise than the walk, when the walk met an
    unreadable folder, or when that listing fails (a rule rclone refuses, a file gone meanwhile):
    rclone alone judges then, and copies what it can."""
    from rcwiz.rclone.lsjson import passing_filters

    if local.errors:
        return local
    try:
        names = passing_filters(rclone, opts.source, option_flags(opts))
    except errors.RcwizError:
        return local
    narrowed = passing(local, names)
    return local if narrowed is None else narrowed


class _Run:
    """One transfer's run: its display and its watchdog, for rclone alone or after a fast path.
    (A plain class: a dataclass's methods are compiled at import, issue 26's fixed cost.)"""

    __slots__ = ("ctx", "opts", "sink", "watch")

    def __init__(
        self, ctx: Context, opts: TransferOptions, sink: engine.Sink, watch: Watchdog
    ) -> None:
        self.ctx, self.opts, self.sink, self.watch = ctx, opts, sink, watch

    def rclone(
        self, opts: TransferOptions, tally: Tally | None = None, log: engine.RunLog | None = None
    ) -> Summary:
        """rclone for OPTS under this display; the partial files a stopped run left in a
        local destination are removed (transfer_checks.remove_rclone_partials)."""
        warn, started = self.ctx.console.warn, time.time()
        tally = tally if tally is not None else Tally(opts.verb)
        try:
            return engine.run(
                self.ctx.rclone, opts, self.sink, watch=self.watch, warn=warn, tally=tally, log=log
            )
        except errors.RcwizError:
            if not is_remote(opts.dest):
                checks.remove_rclone_partials(self.ctx, opts.dest, tally.in_flight, started)
            raise

    def through(self, path: fastpath.FastPath, tally: Tally) -> Summary:
        """PATH (a fast path), then rclone for what it left, if anything, under one display,
        one summary and one run log."""
        from rcwiz.transfer import fastpath  # here: a plain copy (rclone alone) needs none

        console, opts = self.ctx.console, self.opts
        with engine.open_log(opts.verb, console.warn) as log:
            left = fastpath.run(path, opts, self.sink, log, tally, console.warn)
            for note in left.notes:
                console.note(note)
            if left.nothing:
                return engine.without_rclone(opts, self.sink, log, tally)  # rclone need not start
            self.watch.started = time.monotonic()  # rclone's stall clock starts with rclone
            self.watch.locked.update(left.locked)  # rclone retries them quietly: named
            if left.whole:  # a sync's rclone deletes what the source lacks: it sees every file
                return self.rclone(opts, tally, log)
            import tempfile  # only when rclone sends what a fast path left (issue 26)

            with tempfile.TemporaryDirectory(prefix="rcwiz-") as folder:
                listing = Path(folder) / "files-from"
                if files_from(list(left.names), listing):
                    # A few files are cheaper to look up one by one than their folders to list.
                    few = len(left.names) <= LOOK_UP_AT_MOST
                    opts = replace(opts, only=str(listing), no_traverse=few)
                return self.rclone(opts, tally, log)


def _watchdog(ctx: Context, sides: Sides) -> Watchdog:
    """The watchdog of this transfer, on the run's clock."""
    clock = ctx.rclone.clock
    alive = _prober(sides.remotes, clock)
    return Watchdog(stall_timeout=clock.stall, alive=alive, started=time.monotonic())


def _prober(remotes: dict[str, Remote], clock: Clock) -> Callable[[], bool] | None:
    """A check that every server involved still answers HTTP (None when none has a URL)."""
    urls = [r.url for r in remotes.values() if r.url]
    if not urls:
        return None
    from rcwiz import http  # only a transfer with a server: not a local copy's start-up

    probe = clock.at_most(PROBE)
    return lambda: all(http.answers(url, probe) for url in urls)
