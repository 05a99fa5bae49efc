"""`rcwiz check SRC DST` (and `copy --verify`): prove a transfer between a local folder and a
Nextcloud folder by content (rcwiz.transfer.verify), in either direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.rclone.config import is_remote, remote_name

if TYPE_CHECKING:
    from rcwiz.context import Context
    from rcwiz.rclone.transfer import TransferOptions
    from rcwiz.transfer.verify import Report

SHOWN = 20  # names shown per kind of difference (--json has them all)
NOT_SUPPORTED_HINT = (
    "rcwiz check compares a local folder with a folder on a Nextcloud remote; "
    "for other pairs use 'rclone check SRC DST' (add --download to compare contents)."
)


def check(
    ctx: Context, source: str, dest: str, *, download: bool = False, one_way: bool = False
) -> Report:
    """Compare SOURCE with DEST (one local, one on a Nextcloud remote); the Report says how
    each file compared (with DOWNLOAD, every one by content; with ONE_WAY, files only DEST
    holds are not extra, as for rclone check --one-way). Raises the named error when a side
    cannot be read at all."""
    from concurrent.futures import ThreadPoolExecutor

    from rcwiz.nextcloud.archive import server_major
    from rcwiz.transfer import endpoint, fastpath
    from rcwiz.transfer.verify import Content, Report, compare
    from rcwiz.transfer.walk import walk

    if is_remote(source) == is_remote(dest):
        raise errors.UsageError(
            "check needs one local folder and one Nextcloud folder.", NOT_SUPPORTED_HINT
        )
    remote_path, local_path = (source, dest) if is_remote(source) else (dest, source)
    local = walk(local_path)
    if local is None:
        raise errors.DirectoryNotFound(
            f"The local folder was not found: {local_path}.", "Check the path (and its spelling)."
        )
    side = endpoint.sides_of(ctx.rclone, remote_path, local_path).source
    remote = side.remote
    if remote is None:
        raise errors.no_remote(remote_name(remote_path))  # cli names the nearest one
    if not side.nextcloud:
        raise errors.UsageError(f"'{remote.name}' is not a Nextcloud remote.", NOT_SUPPORTED_HINT)
    account = side.account
    with ThreadPoolExecutor(1) as asking:  # the server's version meanwhile (its archive URL)
        major = asking.submit(server_major, account.client())
        listing, listed_by = fastpath.remote_listing(ctx.rclone, account, remote_path)
    report = Report(source, dest, listed_by=listed_by)
    root = account.path_of(remote_path)
    name = root.rpartition("/")[2]
    if local.root.is_file() and list(listing.files) == [name] and not listing.folders:
        # A file named on both sides: its folder holds it (and maybe more, not compared).
        content = Content(account, root.rpartition("/")[0], [name], major.result(), whole=False)
    else:
        content = Content(account, root, listing.files, major.result())
    local_is_source = not is_remote(source)
    compare(
        local,
        listing,
        local_is_source=local_is_source,
        report=report,
        fetch=content,
        download=download,
        notice=_on_terminal(ctx),
    )
    report.requests = content.requests
    if one_way:
        report.extra = []
    return report


def _on_terminal(ctx: Context) -> Callable[[str], None] | None:
    """Where to say what takes time: stderr when a person watches it (never into a pipe)."""
    from rcwiz.ui.console import escape

    err = ctx.console.err
    return (lambda text: err.print(f"[dim]{escape(text)}[/]")) if err.is_terminal else None


def verify_problem(opts: TransferOptions) -> str | None:
    """Why OPTS's --verify cannot run (checked before the transfer starts); None: it can."""
    if not opts.verify or opts.dry_run:
        return None
    if opts.verb == "move":
        return "--verify needs the source afterwards, and move deletes it: use copy --verify."
    if is_remote(opts.source) == is_remote(opts.dest):
        return "--verify needs one local folder and one Nextcloud folder."
    return None


def verify_after(ctx: Context, opts: TransferOptions, summary: object) -> Report | None:
    """The check after OPTS's transfer (None in a dry run): a note when DST holds what SRC
    holds, else VerifyFailed (exit 14) naming the differences, with SUMMARY attached."""
    from rcwiz.ui.console import escape

    if not opts.verify or opts.dry_run:
        return None
    # A copy leaves what else DST holds alone: only a sync must not leave extra files.
    report = check(ctx, opts.source, opts.dest, one_way=opts.verb != "sync")
    ways = ", ".join(f"{n} by {way}" for way, n in report.same.items() if n)
    if report.identical:
        ctx.console.note(
            f"Verified: {escape(opts.dest)} holds what {escape(opts.source)} holds "
            f"({sum(report.same.values())} file(s){': ' + ways if ways else ''})."
        )
        return report
    failed = errors.VerifyFailed(
        f"The transfer finished, but {opts.dest} does not hold what {opts.source} holds: "
        f"{len(report.missing)} missing, {len(report.extra)} extra, {len(report.differ)} "
        f"different, {len(report.unreadable)} unreadable.",
        items=report.differences(SHOWN),
    )
    failed.summary = summary
    raise failed
