"""What `rcwiz usage` and `rcwiz review` gather about a Nextcloud account, asked at once:
the tree's sizes (one PROPFIND, rcwiz.nextcloud.usage), the quota (OCS cloud/user), the
trash bin and the upload sessions (one PROPFIND each), and for the review the shares (one
OCS request). Each answer is independent, so they travel in parallel threads; the slowest
(the tree) sets the time.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rcwiz import errors
from rcwiz.nextcloud import shares, trash, uploads
from rcwiz.nextcloud import usage as sizing
from rcwiz.nextcloud.account import Account, usage
from rcwiz.rclone.about import Usage

T = TypeVar("T")


@dataclass
class Gathered:
    """Everything asked, each part None when it was not asked for."""

    acct: Account
    path: str
    sizes: sizing.Sizes
    quota: Usage | None
    trash: list[trash.Item]
    sessions: list[uploads.Session]
    findings: list[shares.Finding] | None = None
    shares: list[shares.Share] | None = None
    problems: list[str] | None = None  # parts that could not be read (one line each)

    @property
    def trash_bytes(self) -> int:
        return sum(i.bytes for i in self.trash)

    @property
    def session_bytes(self) -> int:
        return sum(s.bytes for s in self.sessions)

    @property
    def resumable(self) -> list[uploads.Session]:
        """The sessions rcwiz keeps to resume an upload (it removes them when done or stale)."""
        return [s for s in self.sessions if uploads.kept_for_resume(s)]


def gather(
    acct: Account,
    path: str,
    *,
    depth: int,
    count: int,
    larger_than: int = 0,
    older_than: float | None = None,
    old_link_days: float | None = None,
) -> Gathered:
    """Ask the server for all of it at once. The tree is required (its failure is the
    command's); the rest become `problems` when they fail. OLD_LINK_DAYS: also the shares
    and their findings (the review)."""
    jobs: dict[str, Callable[[], Any]] = {
        "quota": lambda: usage(acct),
        "trash": lambda: trash.items(acct),
        "sessions": lambda: uploads.sessions(acct),
    }
    if old_link_days is not None:
        jobs["shares"] = lambda: shares.list_for(acct.client(), path)
    client = acct.client()
    with concurrent.futures.ThreadPoolExecutor(len(jobs), "rcwiz-review") as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        tree = sizing.sizes(
            client,
            acct.dav_user,
            path,
            depth=depth,
            count=count,
            larger_than=larger_than,
            older_than=older_than,
        )
        answers: dict[str, Any] = {}
        problems = []
        for name, future in futures.items():
            try:
                answers[name] = future.result()
            except errors.RcwizError as exc:
                answers[name] = None
                problems.append(f"{name}: {exc.message}")
    found = Gathered(
        acct,
        path,
        tree,
        answers["quota"],
        answers["trash"] or [],
        answers["sessions"] or [],
        problems=problems,
    )
    if old_link_days is not None and answers.get("shares") is not None:
        found.shares = answers["shares"]
        now = time.time()
        found.findings = [
            f
            for s in answers["shares"]
            for f in shares.risks(s, acct.remote, now=now, old_days=old_link_days)
        ]
    return found


def shown(folder: sizing.Folder, count: int) -> tuple[list[sizing.Folder], int, int]:
    """The COUNT biggest subfolders of FOLDER, and how many more there are and what they
    hold (so what is shown adds up to the folder's size)."""
    rest = folder.children[count:]
    return folder.children[:count], len(rest), sum(c.bytes for c in rest)


def folder_dict(folder: sizing.Folder, count: int) -> dict[str, object]:
    """A folder of the tree as JSON: its size and files, its COUNT biggest subfolders, the
    rest of them in one sum, and what lies in it directly (`own_bytes`)."""
    children, more, more_bytes = shown(folder, count)
    return {
        "path": folder.path,
        "bytes": folder.bytes,
        "listed": folder.listed,  # its level was read (own_bytes and children are known)
        "own_bytes": folder.own_bytes,
        "children": [folder_dict(c, count) for c in children],
        "more_folders": more,
        "more_bytes": more_bytes,
    }


def usage_data(found: Gathered, count: int) -> dict[str, object]:
    """The --json document of `usage` (the review's `usage` key too)."""
    sizes = found.sizes
    quota = found.quota
    return {
        "remote": found.acct.remote,
        "path": found.path,
        "bytes": sizes.root.bytes,
        "requests": sizes.requests,
        "quota": quota.as_dict() if quota is not None else None,
        "tree": folder_dict(sizes.root, count),
        "biggest": [f.as_dict() for f in sizes.biggest],
        "oldest": [f.as_dict() for f in sizes.oldest],
        "not_counted": {
            "trash": found.trash_bytes,
            "uploads": found.session_bytes,
            "versions": None,  # Nextcloud lists versions per file only
        },
        "problems": found.problems or [],
    }
