"""A copy, move or sync as rcwiz runs it: pre-flight, a watched transfer with progress, a summary.

Shared by `rcwiz copy/move/sync` and `rcwiz job run`. The engine is rcwiz.transfer.engine;
this module adds the tuning rcwiz chooses for the servers involved (shown, never hidden),
runs the pre-flight checks, asks before a sync deletes anything, for a Nextcloud
destination sends the small files by bulk upload first (rcwiz.transfer.bulk), and from a
Nextcloud source fetches them in archives first (rcwiz.transfer.archive).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors, http, presets
from rcwiz.actions.check import verify_problem
from rcwiz.clock import INTERRUPTED, PROBE, Clock
from rcwiz.rclone.config import Configured, Remote, begin_configured, is_remote, remote_name
from rcwiz.rclone.run import Pending, Rclone
from rcwiz.rclone.transfer import (
    LOOK_UP_AT_MOST,
    NEXTCLOUD_CHUNK_BYTES,
    TransferOptions,
    option_flags,
    transfer_argv,
    write_files_from,
)
from rcwiz.rclone.transfer import tuning_for as rclone_tuning
from rcwiz.transfer import engine, fastpath, preflight
from rcwiz.transfer.fastpath import Phase
from rcwiz.transfer.walk import Tree, empty_folders, walk
from rcwiz.transfer.watchdog import Watchdog
from rcwiz.ui import format as fmt
from rcwiz.ui.console import escape, escape_control, shell_join
from rcwiz.ui.progress import make_sink

if TYPE_CHECKING:
    from rcwiz.cli import Context
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.capabilities import Capabilities
    from rcwiz.transfer import bulk
    from rcwiz.transfer.archive import Prepared

SHOWN_DELETIONS = 20


@dataclass(frozen=True)
class Guard:
    """How a transfer is checked before and watched during the run."""

    force: bool = False  # go on although the pre-flight says it will not fit
    yes: bool = False  # a sync may delete without asking
    log_interval: float = 10.0


def remotes_involved(rclone: Rclone, *paths: str) -> dict[str, Remote]:
    """The configured remotes named by PATHS (one rclone.conf read, none for local paths)."""
    configured = begin_configured_for(rclone, *paths).result()
    return involved(configured, *paths)


def begin_configured_for(rclone: Rclone, *paths: str) -> Pending[Configured | None]:
    """rclone.conf's remotes when PATHS name one (started now, read later); else None."""
    if not any(is_remote(p) for p in paths):
        return Pending(lambda: None, lambda: None)
    return begin_configured(rclone).then(lambda found: found)


def involved(configured: Configured | None, *paths: str) -> dict[str, Remote]:
    """The configured remotes PATHS name, by name."""
    names = {remote_name(p) for p in paths if is_remote(p)}
    found = configured.remotes if configured is not None else []
    return {r.name: r for r in found if r.name in names}


def tuning_for(remotes: dict[str, Remote]) -> tuple[str, ...]:
    """Flags rcwiz adds for the servers involved (shown by --dry-run and in the log)."""
    return rclone_tuning({r.vendor for r in remotes.values()})


def perform(ctx: Context, opts: TransferOptions, guard: Guard) -> engine.Summary:
    """Pre-flight, confirm a sync's deletions, then run OPTS watched, with progress.

    Raises the named error on failure (with the summary of what was done attached).
    """
    console = ctx.console
    rclone = ctx.rclone
    problem = verify_problem(opts)
    if problem is not None:
        raise errors.UsageError(problem, "rcwiz check compares a local and a Nextcloud folder.")
    if not is_remote(opts.source) and not Path(opts.source).expanduser().exists():
        raise errors.DirectoryNotFound(
            f"The source was not found: {opts.source}.", "Check the path (and its spelling)."
        )
    # The local source is walked at most once (when something needs it) and shared.
    tree = functools.cache(lambda: None if is_remote(opts.source) else walk(opts.source))
    with contextlib.ExitStack() as stack:
        # rclone's start-up is most of each pre-flight step: both runs go at once.
        listing = stack.enter_context(begin_configured_for(rclone, opts.source, opts.dest))
        space = None
        if not opts.dry_run:
            space = stack.enter_context(preflight.FreeSpace(rclone, opts.dest))
        configured = listing.result()
        remotes = involved(configured, opts.source, opts.dest)
        if space is not None:
            space.configured = configured  # a Nextcloud is asked through OCS
        opts = replace(opts, tuning=tuning_for(remotes))
        if opts.dry_run:  # the exact command that runs (secrets masked), to copy and paste
            shown = rclone.shown(transfer_argv(opts, stats_interval=engine.STATS_INTERVAL))
            console.note(f"[dim]{escape(shell_join(shown))}[/]")
        plan = None
        if opts.verb == "sync" and not opts.dry_run:
            plan = preflight.dry_run(rclone, opts)
            _confirm_deletions(ctx, opts, plan, yes=guard.yes)
        fetch = _listed_for_archives(ctx, opts, remotes, configured)
        if plan is None and fetch is not None:  # the listing says what a dry run would
            plan = preflight.Plan(fetch.bytes, len(fetch.todo))
        if space is not None:
            _check_space(ctx, rclone, opts, plan, remotes, space, tree(), force=guard.force)
    if space is not None:  # the walk is done: say what rclone will leave out
        _note_empty_folders(ctx, opts, tree())
    return _transfer(ctx, opts, guard, remotes, configured, tree, fetch, plan)


def _note_empty_folders(ctx: Context, opts: TransferOptions, tree: Tree | None) -> None:
    """rclone creates no folder that holds no file, unless told to: said once, since a new
    user takes a copy without its empty folders for a whole one."""
    empty = empty_folders(tree) if tree is not None else []
    if empty and "--create-empty-src-dirs" not in opts.extra:
        ctx.console.note(
            f"{len(empty)} empty folder(s), such as {escape(escape_control(empty[0]))}, are not "
            "created at the destination (rclone's default); add '-- --create-empty-src-dirs' "
            "to create them."
        )


def _listed_for_archives(
    ctx: Context, opts: TransferOptions, remotes: dict[str, Remote], configured: Configured | None
) -> Prepared | None:
    """For a download the archive fast path can take: the one listing it decides from."""
    source = remotes.get(remote_name(opts.source)) if is_remote(opts.source) else None
    if source is None or source.vendor != "nextcloud":
        return None
    # Imported here: only Nextcloud downloads need it (http.client and ssl cost start-up time).
    from rcwiz.transfer import archive

    if archive.applies(opts, source):
        assert configured is not None  # a remote is involved, so rclone.conf was read
        return archive.prepare(ctx.rclone, opts, account_of(source, configured, ctx.rclone.clock))
    if not is_remote(opts.dest):
        _say_fast_path_off(ctx, opts, "download")
    return None


def _say_fast_path_off(ctx: Context, opts: TransferOptions, way: str) -> None:
    """A note when the user's options keep Nextcloud's fast path off (it costs minutes on
    many small files, and nothing else would say so)."""
    from rcwiz.transfer.fastpath import off_because

    why = off_because(opts)
    if why is not None and opts.verb in ("copy", "sync") and not opts.dry_run:
        ctx.console.note(
            f"Nextcloud's fast {way} is off with {why}: rclone moves every file, one request "
            "each (slower for many small files)."
        )


def _transfer(
    ctx: Context,
    opts: TransferOptions,
    guard: Guard,
    remotes: dict[str, Remote],
    configured: Configured | None,
    tree: Callable[[], Tree | None],
    fetch: Prepared | None = None,
    plan: preflight.Plan | None = None,
) -> engine.Summary:
    console = ctx.console
    rclone = ctx.rclone
    sink = make_sink(console, guard.log_interval)
    watch = Watchdog(
        stall_timeout=rclone.clock.stall,
        alive=_prober(remotes, rclone.clock),
        started=time.monotonic(),
    )
    if fetch is not None:
        assert configured is not None  # a remote is involved, so rclone.conf was read
        source = remotes[remote_name(opts.source)]
        return _download(
            ctx, opts, sink, watch, account_of(source, configured, ctx.rclone.clock), fetch
        )
    dest = remotes.get(remote_name(opts.dest)) if is_remote(opts.dest) else None
    if dest is not None and dest.vendor == "nextcloud":
        # Imported here: only Nextcloud remotes need them (http.client and ssl cost start-up time).
        from rcwiz.nextcloud.account import account_from
        from rcwiz.transfer import bulk

        assert configured is not None  # a remote is involved, so rclone.conf was read
        acct = functools.cache(
            lambda: account_from(dest.name, configured.settings(dest.name), rclone.clock)
        )
        caps = nextcloud_capabilities(dest.name, acct)
        local = tree()
        if caps is not None and local is not None:
            _warn_refused(ctx, rclone, opts, local, caps)
        try:
            if caps is not None and bulk.available(caps) and local:
                if bulk.eligible(opts):
                    return _fast_path(ctx, opts, acct(), caps, local, plan, sink, watch)
                _say_fast_path_off(ctx, opts, "upload")
            return engine.run(rclone, opts, sink, watch=watch, warn=console.warn)
        except (errors.RcwizError, KeyboardInterrupt) as exc:
            if local is not None:
                stopping = isinstance(exc, KeyboardInterrupt)
                _remove_unfinished_uploads(ctx, acct(), opts, local, stopping)
            raise
    return engine.run(rclone, opts, sink, watch=watch, warn=console.warn)


def account_of(remote: Remote, configured: Configured, clock: Clock) -> Account:
    """The Nextcloud account behind REMOTE (its password read from rclone.conf's dump)."""
    from rcwiz.nextcloud.account import account_from

    return account_from(remote.name, configured.settings(remote.name), clock)


def _download(
    ctx: Context,
    opts: TransferOptions,
    sink: engine.Sink,
    watch: Watchdog,
    acct: Account,
    fetch: Prepared,
) -> engine.Summary:
    """The archive phase (rcwiz.transfer.archive), then rclone for whatever is left."""
    from rcwiz.transfer import archive

    console = ctx.console
    log_path = engine.new_log_path(opts.verb)
    phase = Phase(started=fetch.started)  # the summary's duration includes the listing

    def rest() -> engine.Continued:
        return fastpath.continued(sink, phase, archive_files=phase.files)

    try:
        archive.run(acct, opts, fetch, sink, log_path, phase)
    except KeyboardInterrupt:
        engine.without_rclone(opts, rest(), log_path, engine.interrupted(opts.verb))
    except errors.RcwizError as exc:
        engine.without_rclone(opts, rest(), log_path, exc)
    left = not archive.nothing_left(opts, fetch, phase)
    if phase.files:
        then = "rclone fetches the rest" if left else "nothing is left for rclone"
        console.note(
            f"{phase.files} small file(s) came in {phase.requests} Nextcloud archive "
            f"request(s); {then}."
        )
    if phase.refused:
        console.note(
            f"{len(phase.refused)} file(s) did not come by archive ({phase.reasons[0]}); "
            "rclone fetches them."
        )
    if not left:
        return engine.without_rclone(opts, rest(), log_path)
    return engine.run(ctx.rclone, opts, rest(), log_path=log_path, watch=watch, warn=console.warn)


def _fast_path(
    ctx: Context,
    opts: TransferOptions,
    acct: Account,
    caps: Capabilities,
    local: Tree,
    plan: preflight.Plan | None,
    sink: engine.Sink,
    watch: Watchdog,
) -> engine.Summary:
    """Nextcloud's fast path (rcwiz.transfer.bulk), then rclone for what it left, if anything.

    A sync's dry run already listed both sides: what it would send is taken from there
    instead of a second listing.
    """
    from rcwiz.transfer import bulk

    console = ctx.console
    log_path = engine.new_log_path(opts.verb)
    wanted = set(plan.sends) if plan is not None else None
    phase = bulk.run(
        ctx.rclone, acct, caps, opts, local, sink, log_path, wanted=wanted, warn=console.warn
    )
    if phase.requests and not phase.files:
        console.note("Nextcloud bulk upload sent nothing; rclone sends every file.")
    elif phase.files:
        console.note(_fast_path_note(phase))
    rest = bulk.continued(sink, phase)
    deletes = plan is not None and bool(plan.deletions or plan.removed_folders)
    if not (phase.left or phase.rclone_needed or deletes):
        return engine.without_rclone(opts, rest, log_path)  # rclone has nothing left to do
    watch.started = time.monotonic()  # rclone's stall clock starts with rclone
    watch.locked.update(phase.locked)  # rclone retries them quietly: the watchdog names them
    if opts.verb != "copy" or phase.rclone_needed:
        # A sync's rclone deletes what the source lacks, so it must see every file.
        return engine.run(ctx.rclone, opts, rest, log_path=log_path, watch=watch, warn=console.warn)
    with tempfile.TemporaryDirectory(prefix="rcwiz-") as folder:
        listing = Path(folder) / "files-from"
        names = [f.relative for f in phase.left]
        if write_files_from(names, listing):
            # A few files are cheaper to look up one by one than their folders to list.
            few = len(names) <= LOOK_UP_AT_MOST
            opts = replace(opts, only=str(listing), no_traverse=few)
        return engine.run(ctx.rclone, opts, rest, log_path=log_path, watch=watch, warn=console.warn)


def _fast_path_note(phase: bulk.Phase) -> str:
    """What went which way: "150 small file(s) went by Nextcloud bulk upload in 2 request(s);
    rclone sends the rest." """
    ways = []
    if phase.bulk_files:
        ways.append(
            f"{phase.bulk_files} small file(s) went by Nextcloud bulk upload in "
            f"{phase.requests} request(s)"
        )
    if phase.chunked_files:
        ways.append(f"{phase.chunked_files} big file(s) went in parallel chunks")
    if phase.resumed:
        ways[-1] += f" ({fmt.size(phase.resumed)} of them resumed, not sent again)"
    rest = "rclone sends the rest" if phase.left else "nothing is left for rclone"
    return f"{' and '.join(ways)}; {rest}."


def _remove_unfinished_uploads(
    ctx: Context, acct: Account, opts: TransferOptions, local: Tree, stopping: bool
) -> None:
    """After a stopped or refused upload: remove the chunked uploads it left on the server
    (after Ctrl-C, STOPPING, waiting for each answer only a moment)."""
    from rcwiz.nextcloud.uploads import remove_sessions

    root = opts.dest.partition(":")[2].strip("/")
    big = [f.relative for f in local.files if f.size >= NEXTCLOUD_CHUNK_BYTES]
    if not big:
        return
    paths = [f"{root}/{rel}" if root else rel for rel in big]
    removed = remove_sessions(acct, paths, acct.clock.at_most(INTERRUPTED) if stopping else None)
    if removed:
        size = fmt.size(sum(r.bytes for r in removed))
        ctx.console.note(
            f"Removed {len(removed)} unfinished upload(s) ({size}) from the server, which "
            "would otherwise keep them out of sight until its cleanup job runs."
        )


def nextcloud_capabilities(remote: str, acct: Callable[[], Account]) -> Capabilities | None:
    """The server's capabilities, cached since setup (fetched now if missing; None if unknown)."""
    from rcwiz.nextcloud import capabilities

    found = capabilities.cached(remote)
    if found is None:
        try:
            found = capabilities.fetch(acct().client())
        except errors.RcwizError:
            return None
        capabilities.save(remote, found)
    return found


def _warn_refused(
    ctx: Context, rclone: Rclone, opts: TransferOptions, local: Tree, caps: Capabilities
) -> None:
    from rcwiz.nextcloud.capabilities import refused_files

    refused = refused_files(local, caps)
    if refused and (opts.filtered or opts.extra):
        # Only what rclone will send counts: ask it which files pass the filters (only here,
        # where a refused name is found: rare, and one more walk of the source).
        from rcwiz.rclone.lsjson import passing_filters

        flags = [*option_flags(opts), *opts.extra]
        sent = set(passing_filters(rclone, opts.source, flags))
        refused = [(name, reason) for name, reason in refused if name in sent]
    if not refused:
        return
    ctx.console.warn(f"The server will refuse {len(refused)} file(s); they will fail:")
    for name, reason in refused[:SHOWN_DELETIONS]:
        ctx.console.warn(f"  {name}: {reason}")


def _prober(remotes: dict[str, Remote], clock: Clock) -> Callable[[], bool] | None:
    """A check that every server involved still answers HTTP (None when none has a URL)."""
    urls = [r.url for r in remotes.values() if r.url]
    if not urls:
        return None
    probe = clock.at_most(PROBE)
    return lambda: all(http.answers(url, probe) for url in urls)


def _check_space(
    ctx: Context,
    rclone: Rclone,
    opts: TransferOptions,
    plan: preflight.Plan | None,
    remotes: dict[str, Remote],
    started: preflight.FreeSpace,
    tree: Tree | None,
    *,
    force: bool,
) -> None:
    space = preflight.check_space(rclone, opts, plan, started, tree)
    dest = remotes.get(remote_name(opts.dest)) if is_remote(opts.dest) else None
    preset = presets.for_url(dest.url) if dest and dest.url else None
    if preset and preset.large_data_bytes and space.needed > preset.large_data_bytes:
        ctx.console.warn(
            f"{fmt.size(space.needed)} is more than this service is meant for. "
            f"{preset.large_data_advice or ''}"
        )
    if space.fits:
        return
    refusal = preflight.refuse(space)
    if not force:
        raise refusal
    ctx.console.warn(f"{refusal.message} Going ahead anyway (--force).")
    if plan is None or plan.files:  # files may be replaced
        ctx.console.warn(
            "When the server refuses to replace a file for lack of space, rclone deletes the "
            "old copy at the destination (Nextcloud keeps it in its trash bin)."
        )


def _confirm_deletions(
    ctx: Context, opts: TransferOptions, plan: preflight.Plan, *, yes: bool
) -> None:
    if not plan.deletions:
        return
    console = ctx.console
    out = console.err if console.json else console.out
    shown = [f"- {name}" for name in sorted(plan.deletions)[:SHOWN_DELETIONS]]
    if len(plan.deletions) > SHOWN_DELETIONS:
        shown.append(f"… and {len(plan.deletions) - SHOWN_DELETIONS} more")
    out.print(f"sync will delete {len(plan.deletions)} file(s) at {escape(opts.dest)}:")
    for line in shown:
        out.print(f"  {escape(line)}")
    if yes:
        return
    from rcwiz.ui.wizard import Wizard, terminal_available  # only a sync that deletes asks

    wizard = Wizard(console, interactive=terminal_available())
    if not wizard.interactive:
        raise errors.UsageError(
            f"sync would delete {len(plan.deletions)} file(s) and there is no terminal to ask.",
            "Check the list, then add --yes to go ahead (or use copy, which never deletes).",
            items=shown if console.json else None,  # a JSON reader gets the list in the error
        )
    if not wizard.confirm("Delete these files at the destination?", default=False):
        raise errors.Declined("Nothing was changed.")
