"""`rcwiz quota [REMOTE: ...]`: how full each remote is, at a glance and for monitoring.

Asks every remote at once (`rclone about`), colours rows past --warn / --crit, records one
sample per remote for `--history`, and with --check exits 0/1/2/3 (ok, warning, critical,
unknown) like a monitoring plugin.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import TYPE_CHECKING

from rich.table import Table

from rcwiz import errors, quota_history
from rcwiz.console import escape
from rcwiz.quota import STATES, Row, gather, overall_state
from rcwiz.rclone.conf import list_remotes
from rcwiz.ui import format as fmt
from rcwiz.ui.tables import quota_table

if TYPE_CHECKING:
    from rcwiz.cli import Context

NOT_SUPPORTED = "doesn't support about"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "remotes",
        nargs="*",
        metavar="REMOTE:",
        help="remotes to report (default: every remote that reports space)",
    )
    parser.add_argument(
        "--warn",
        type=float,
        default=80.0,
        metavar="PCT",
        help="warn at this percentage used (default 80)",
    )
    parser.add_argument(
        "--crit",
        type=float,
        default=95.0,
        metavar="PCT",
        help="critical at this percentage used (default 95)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 ok, 1 warning, 2 critical, 3 unknown (for cron and monitoring)",
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="usage over time and days until full, from earlier reports",
    )


def _targets(ctx: Context, names: list[str]) -> list[tuple[str, str]]:
    """(remote, url) pairs to ask: the named ones, or every configured remote."""
    known = {r.name: r.url for r in list_remotes(ctx.rclone)}
    if not names:
        return [(f"{name}:", url) for name, url in known.items()]
    picked = []
    for name in names:
        bare = name[:-1] if name.endswith(":") else name
        if ":" in bare or "/" in bare:
            raise errors.UsageError(f"'{name}' is not a remote name (like nextcloud:).")
        picked.append((f"{bare}:", known.get(bare, "")))
    return picked


def run(ctx: Context, args: argparse.Namespace) -> int:
    if not 0 < args.warn <= args.crit <= 100:
        raise errors.UsageError("The thresholds must satisfy 0 < --warn <= --crit <= 100.")
    if args.history:
        return _history(ctx, args)
    rows = gather(ctx.rclone, _targets(ctx, args.remotes), warn=args.warn, crit=args.crit)
    if not args.remotes:  # by default, leave out backends that cannot report space at all
        rows = [r for r in rows if not (r.error and NOT_SUPPORTED in r.error.message)]
    stamp = time.time()
    quota_history.append(
        quota_history.Sample(stamp, r.remote, r.usage.used, r.usage.total)
        for r in rows if r.usage is not None and r.usage.used is not None
    )  # fmt: skip
    state = overall_state(rows)
    if ctx.console.json:
        ctx.console.emit_json(
            {
                "state": state,
                "warn": args.warn,
                "crit": args.crit,
                "remotes": [r.as_dict() for r in rows],
            }
        )
    else:
        _show(ctx, rows, args, state)
    return STATES[state] if args.check else 0


def _show(ctx: Context, rows: list[Row], args: argparse.Namespace, state: str) -> None:
    out = ctx.console.out
    if args.check:
        worst = [r for r in rows if r.state == state]
        detail = ", ".join(f"{r.remote} {_pct(r)}" for r in worst) if worst else "no remotes"
        out.print(f"QUOTA {state.upper()} - {detail}", markup=False)
    if not rows:
        out.print("No remotes to report. Create one with 'rcwiz setup'.", markup=False)
        return
    out.print(quota_table(rows, warn=args.warn, crit=args.crit))
    for preset in {r.preset.name: r.preset for r in rows if r.preset}.values():
        facts = "; ".join(line.rstrip(".") for line in preset.notes()[:2])
        out.print(f"[dim]{escape(preset.title)}: {escape(facts)}.[/]")
    for row in rows:
        if row.state in ("warning", "critical"):
            advice = f"{row.remote} is {_pct(row)} full: delete or archive what you no longer need"
            if row.preset and row.preset.large_data_advice:
                advice += f". {row.preset.large_data_advice}"
            out.print(f"[yellow]{escape(advice)}[/]")


def _pct(row: Row) -> str:
    pct = row.usage.percent_used if row.usage else None
    return "unknown" if pct is None else f"{pct:.1f}%"


def _history(ctx: Context, args: argparse.Namespace) -> int:
    grouped = quota_history.by_remote(quota_history.load())
    if args.remotes:
        wanted = {n if n.endswith(":") else f"{n}:" for n in args.remotes}
        grouped = {k: v for k, v in grouped.items() if k in wanted}
    if ctx.console.json:
        ctx.console.emit_json({"remotes": [
            {"remote": remote, "samples": len(samples), "first": samples[0].time,
             "last": samples[-1].time, "used": samples[-1].used, "total": samples[-1].total,
             **_forecast_dict(quota_history.forecast(samples))}
            for remote, samples in grouped.items()
        ]})  # fmt: skip
        return 0
    if not grouped:
        ctx.console.out.print(
            "No quota history yet: each 'rcwiz quota' report adds a sample.", markup=False
        )
        return 0
    table = Table(header_style="bold")
    for column in ("remote", "samples", "since", "usage over time", "used", "trend", "forecast"):
        table.add_column(column)
    for remote, samples in grouped.items():
        guess = quota_history.forecast(samples)
        last = samples[-1]
        used = fmt.size(last.used) + (f" of {fmt.size(last.total)}" if last.total else "")
        trend = "-" if guess.rate_per_day is None else f"{fmt.size(guess.rate_per_day)}/day"
        since = datetime.fromtimestamp(samples[0].time).strftime("%Y-%m-%d")
        table.add_row(
            remote,
            str(len(samples)),
            since,
            quota_history.sparkline(samples),
            used,
            trend,
            guess.describe(),
        )
    ctx.console.out.print(table)
    return 0


def _forecast_dict(guess: quota_history.Forecast) -> dict[str, object]:
    return {"forecast": guess.status, "rate_per_day": guess.rate_per_day,
            "days_to_full": guess.days_to_full}  # fmt: skip
