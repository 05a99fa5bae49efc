"""The checks around a transfer, each said once: before it (paths, space, a sync's
deletions, names the server will refuse, a fast path kept off, empty folders) and after a
stopped one (the chunked uploads an upload left on the server, the partial files rclone left
in a local destination). Used by rcwiz.actions.transfer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.check import verify_problem
from rcwiz.clock import INTERRUPTED
from rcwiz.rclone.config import is_remote
from rcwiz.rclone.run import Rclone
from rcwiz.rclone.transfer import NEXTCLOUD_CHUNK_BYTES, TransferOptions, option_flags
from rcwiz.transfer import preflight
from rcwiz.transfer.endpoint import Endpoint
from rcwiz.transfer.walk import Tree, empty_folders
from rcwiz.ui import format as fmt
from rcwiz.ui.console import escape, escape_control

if TYPE_CHECKING:
    from rcwiz.context import Context
    from rcwiz.nextcloud.account import Account
    from rcwiz.nextcloud.capabilities import Capabilities

SHOWN_DELETIONS = 20


def check_paths(opts: TransferOptions) -> None:
    """Refuse what no transfer can do: --verify where `rcwiz check` cannot compare, or a
    local source that is not there."""
    problem = verify_problem(opts)
    if problem is not None:
        raise errors.UsageError(problem, "rcwiz check compares a local and a Nextcloud folder.")
    if not is_remote(opts.source) and not Path(opts.source).expanduser().exists():
        raise errors.DirectoryNotFound(
            f"The source was not found: {opts.source}.", "Check the path (and its spelling)."
        )


def confirm_deletions(
    ctx: Context, opts: TransferOptions, plan: preflight.Plan, *, yes: bool
) -> None:
    """Show what a sync would delete, and ask (unless YES); no terminal to ask is an error."""
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


def check_space(
    ctx: Context,
    opts: TransferOptions,
    plan: preflight.Plan | None,
    dest: Endpoint,
    started: preflight.FreeSpace,
    tree: Tree | None,
    *,
    force: bool,
) -> None:
    """Refuse a transfer that will not fit (unless FORCE), and warn of one too big for the
    service."""
    space = preflight.check_space(ctx.rclone, opts, plan, started, tree)
    remote = dest.remote
    preset = None
    if remote and remote.url:  # a server: a local copy's start-up does without presets
        from rcwiz import presets

        preset = presets.for_url(remote.url)
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


def note_empty_folders(ctx: Context, opts: TransferOptions, tree: Tree | None) -> None:
    """rclone creates no folder that holds no file, unless told to: said once, since a new
    user takes a copy without its empty folders for a whole one."""
    empty = empty_folders(tree) if tree is not None else []
    if empty and "--create-empty-src-dirs" not in opts.extra:
        ctx.console.note(
            f"{len(empty)} empty folder(s), such as {escape(escape_control(empty[0]))}, are not "
            "created at the destination (rclone's default); add '-- --create-empty-src-dirs' "
            "to create them."
        )


def warn_refused(
    ctx: Context, rclone: Rclone, opts: TransferOptions, local: Tree, caps: Capabilities
) -> None:
    """Name the files the server will refuse (Nextcloud's rules on names), before the run."""
    from rcwiz.nextcloud.capabilities import refused_files

    refused = refused_files(local, caps)
    if refused and (opts.filtered or opts.extra) and not local.filtered:
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


def say_fast_path_off(ctx: Context, opts: TransferOptions, way: str) -> None:
    """A note when the user's options keep Nextcloud's fast path off (it costs minutes on
    many small files, and nothing else would say so)."""
    from rcwiz.transfer import fastpath  # Nextcloud runs only: kept out of a plain copy's start-up

    why = fastpath.off_because(opts, filters=way == "upload")
    if why is not None and opts.verb in ("copy", "sync") and not opts.dry_run:
        ctx.console.note(
            f"Nextcloud's fast {way} is off with {why}: rclone moves every file, one request "
            "each (slower for many small files)."
        )


def remove_unfinished_uploads(
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


def remove_rclone_partials(ctx: Context, dest: str, in_flight: set[str], since: float) -> None:
    """After a stopped or failed rclone run into the local folder DEST: remove the partial
    files it left for the files it had IN_FLIGHT, made since SINCE (rcwiz.rclone.leftovers;
    rclone would not reuse them, and a preallocated one is as big as the whole file)."""
    if not in_flight:
        return
    from rcwiz.rclone import leftovers

    count, size = leftovers.remove(leftovers.found(Path(dest).expanduser(), in_flight, since))
    if count:
        ctx.console.note(
            f"Removed {count} unfinished download(s) ({fmt.size(size)}) that rclone left in "
            f"{escape(dest)} (its .partial files); the next run fetches them again."
        )
