"""Removing a remote: its section out of rclone.conf, and its login-flow app password revoked
when the user wants that (asked on a terminal; --revoke or --keep-app-password without one).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions.setup import login_flow_account, offer_revoke
from rcwiz.jobs import store
from rcwiz.rclone.config import config_path, is_remote, read_configured, remote_name
from rcwiz.rclone.config_edit import remove_remote
from rcwiz.ui.wizard import Wizard, terminal_available

if TYPE_CHECKING:
    from rcwiz.context import Context


def jobs_using(ctx: Context, name: str) -> list[str]:
    """The profiles whose source or destination is on remote NAME (none if the jobs file
    cannot be read: `rcwiz job validate` says why)."""
    try:
        jobs = store.load(store.jobs_path(ctx.jobs))
    except errors.RcwizError:
        return []
    return sorted(
        job_name
        for job_name, job in jobs.items()
        if any(is_remote(p) and remote_name(p) == name for p in (job.source, job.dest))
    )


def remove(ctx: Context, name: str, *, revoke: bool | None) -> tuple[Path, Path | None]:
    """Remove remote NAME; returns (rclone.conf, its backup). REVOKE None means: ask if you can."""
    # Read through rclone first: a file rclone cannot parse is refused (exit 8), not rewritten.
    if read_configured(ctx.rclone).remote(name) is None:
        raise errors.no_remote(name)
    old = login_flow_account(ctx.rclone, name)
    users = jobs_using(ctx, name)
    path = Path(config_path(ctx.rclone)).expanduser()
    backup = remove_remote(path, name)
    ctx.console.note(
        f"Removed remote {name}: from {path} (previous version, without its password: {backup})."
    )
    if users:
        one = len(users) == 1
        ctx.console.warn(
            f"{'Job' if one else 'Jobs'} {', '.join(users)} {'uses' if one else 'use'} {name}: "
            f"and will fail until a remote of that name exists again ('rcwiz setup --name "
            f"{name}'), or edit {'it' if one else 'them'} with 'rcwiz job edit'."
        )
    if old is None and revoke:
        ctx.console.note(
            f"Nothing to revoke: {name}: did not hold an app password from rcwiz's login flow "
            "(a password you typed stays valid until you change it in Nextcloud)."
        )
    if old is not None:
        wizard = Wizard(ctx.console, interactive=terminal_available())
        if revoke is None and not wizard.interactive:
            ctx.console.note(
                f"Kept the app password of {old.user} on {old.server}: there was no terminal to "
                "ask (--revoke or --keep-app-password decide without one); revoke it in "
                "Nextcloud under Settings > Security > Devices & sessions."
            )
            return path, backup
        offer_revoke(ctx, wizard, old, revoke=revoke)
    return path, backup
