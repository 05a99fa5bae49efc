"""`rcwiz usage REMOTE:[path]`: where the space goes on a Nextcloud account.

A few requests size the tree (every folder's recursive size is Nextcloud's `oc:size`; the
biggest and oldest files come from its SEARCH, rcwiz.nextcloud.usage):
the biggest folders as a tree (--depth levels, --count per folder), the biggest and the oldest
files (--larger-than, --older-than), totals that add up to the quota's "used", and beside
them what the quota does not count: the trash bin and upload sessions.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.actions import review
from rcwiz.commands import days, size
from rcwiz.nextcloud.account import account
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context

DEPTH = 2
COUNT = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="REMOTE:[path]", help="a Nextcloud remote, or a folder on it"
    )
    parser.add_argument(
        "--depth", type=int, default=DEPTH, metavar="N", help=f"folder levels (default {DEPTH})"
    )
    parser.add_argument(
        "--count",
        type=int,
        default=COUNT,
        metavar="N",
        help=f"folders per level, and files per list (default {COUNT})",
    )
    parser.add_argument(
        "--larger-than", type=size, default=0, metavar="SIZE", help="files above SIZE (10M, 1G)"
    )
    parser.add_argument(
        "--older-than",
        type=days,
        default=None,
        metavar="AGE",
        help="files not modified for AGE (90d, 12w, 1y)",
    )


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if ":" not in args.target:
        raise errors.UsageError("Name a Nextcloud remote as REMOTE: (or a folder, REMOTE:path).")
    if not 1 <= args.depth <= 20 or not 1 <= args.count <= 1000:
        raise errors.UsageError("--depth must be 1 to 20 and --count 1 to 1000.")
    acct = account(ctx.rclone, args.target)
    path = acct.path_of(args.target)
    before = time.time() - args.older_than * 86400 if args.older_than is not None else None
    found = review.gather(
        acct,
        path,
        depth=args.depth,
        count=args.count,
        larger_than=args.larger_than,
        older_than=before,
    )
    data = review.usage_data(found, args.count)
    from rcwiz.commands.review_show import show_usage

    return Output(data, lambda console: show_usage(console, found, args.count, args.target))
