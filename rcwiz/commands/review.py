"""`rcwiz review REMOTE:`: what to clean up on a Nextcloud account, on one screen.

The quota, the five biggest folders, the trash bin, upload sessions left behind and risky
public links, each line with the next command to run (rcwiz.actions.review asks for all of
it at once). The exit code is `quota --check`'s, so it can run from cron: 0 ok, 1 warning
(the quota past --warn, upload sessions holding more than doctor's limit, or a risky link),
2 critical (the quota past --crit), 3 unknown (the account could not be read).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions import review
from rcwiz.commands import add_thresholds, days, remote_names
from rcwiz.nextcloud import shares, uploads
from rcwiz.nextcloud.account import account
from rcwiz.quota.report import STATES, state_of
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context

FOLDERS = 5  # the biggest folders shown


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("remote", metavar="REMOTE:", help="a Nextcloud remote")
    add_thresholds(parser)
    parser.add_argument(
        "--older-than",
        type=days,
        default=shares.OLD_LINK_DAYS,
        metavar="AGE",
        help=f"flag public links older than AGE (default {shares.OLD_LINK_DAYS:.0f}d)",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if not 0 < args.warn <= args.crit <= 100:
        raise errors.UsageError("The thresholds must satisfy 0 < --warn <= --crit <= 100.")
    (name,) = remote_names([args.remote])
    acct = account(ctx.rclone, name)
    try:
        found = review.gather(acct, "/", depth=1, count=FOLDERS, old_link_days=args.older_than)
    except (errors.ServerUnreachable, errors.AuthenticationFailed, errors.ServerError) as exc:
        # As quota --check: a server that cannot be read is "unknown" (3), said in one line.
        line = f"REVIEW UNKNOWN - {acct.remote} {exc.message}"
        return Output(
            {"state": "unknown", "remote": acct.remote, "error": exc.message},
            lambda console: console.out.print(line, markup=False),
            STATES["unknown"],
        )
    state, reasons = judge(found, args.warn, args.crit)
    data = {
        "state": state,
        "reasons": reasons,
        "warn": args.warn,
        "crit": args.crit,
        "usage": review.usage_data(found, FOLDERS),
        "trash": {"items": len(found.trash), "bytes": found.trash_bytes},
        "uploads": {
            "sessions": len(found.sessions),
            "bytes": found.session_bytes,
            "kept_for_resume": len(found.resumable),
        },
        "shares": len(found.shares or []),
        "risks": [
            {"id": f.share.id, "path": f.share.path, "risk": f.risk, "text": f.text, "fix": f.fix}
            for f in found.findings or []
        ],
    }
    from rcwiz.commands.review_show import show_review

    return Output(
        data,
        lambda console: show_review(console, found, state, reasons, args.warn, args.crit),
        STATES[state],
    )


def judge(found: review.Gathered, warn: float, crit: float) -> tuple[str, list[str]]:
    """The review's state (quota --check's words) and why it is not ok."""
    reasons = []
    quota = found.quota
    if quota is None:
        state = "unknown"
        reasons.append("the quota could not be read")
    elif quota.total is None:
        state = "ok"  # no quota: the account cannot fill up
    else:
        state = state_of(quota, warn, crit)
        if state != "ok":
            reasons.append(f"the quota is {quota.percent_used:.1f}% used")
    if found.session_bytes - sum(s.bytes for s in found.resumable) > uploads.WARN_BYTES:
        reasons.append("upload sessions left behind hold space")
    if found.findings:
        reasons.append("public links to check")
    if found.problems:
        reasons += [f"not read: {p}" for p in found.problems]
        state = "unknown" if state == "ok" else state
    if state == "ok" and reasons:
        state = "warning"
    return state, reasons
