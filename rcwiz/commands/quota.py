"""`rcwiz quota [REMOTE: ...]`: how full each remote is, at a glance and for monitoring.

Asks every remote at once (rcwiz.quota.report), colours rows past --warn / --crit, records one
sample per remote for `--history` (rcwiz.quota.history), and with --check exits 0/1/2/3 (ok,
warning, critical, unknown) like a monitoring plugin.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from rcwiz import errors
from rcwiz.commands import add_remote_names, add_thresholds, remote_names
from rcwiz.quota import history as quota_history
from rcwiz.quota.report import STATES, Row, gather, overall_state
from rcwiz.rclone.config import list_remotes, read_configured
from rcwiz.ui.console import Console, escape
from rcwiz.ui.output import Output

if TYPE_CHECKING:
    from rcwiz.context import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_remote_names(parser, "remotes to report (default: every remote that reports space)")
    add_thresholds(parser)
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


def run(ctx: Context, args: argparse.Namespace) -> Output:
    if not 0 < args.warn <= args.crit <= 100:
        raise errors.UsageError("The thresholds must satisfy 0 < --warn <= --crit <= 100.")
    if args.history:
        return _history(ctx, args)
    configured = read_configured(ctx.rclone)
    names = remote_names(args.remotes) or [r.name for r in configured.remotes]
    for name in names:  # a typo is an error, as it is for copy and share
        configured.settings(name)
    rows = gather(ctx.rclone, names, configured, warn=args.warn, crit=args.crit)
    if not args.remotes:  # by default, leave out backends that cannot report space at all
        rows = [r for r in rows if not isinstance(r.error, errors.AboutUnsupported)]
    stamp = time.time()
    quota_history.append(
        (
            quota_history.Sample(stamp, r.remote, r.usage.used, r.usage.total)
            for r in rows
            if r.usage is not None and r.usage.used is not None
        ),
        ctx.console.warn,
    )
    state = overall_state(rows)
    data = {
        "state": state,
        "warn": args.warn,
        "crit": args.crit,
        "remotes": [r.as_dict() for r in rows],
    }
    failed = [r.error for r in rows if r.error is not None]
    # --check speaks the monitoring protocol (3 unknown). Otherwise a remote that could not be
    # asked is a row of the report, unless no remote could be: then that failure's exit code.
    code = STATES[state] if args.check else 0
    if not args.check and failed and len(failed) == len(rows):
        code = int(failed[0].exit_code)
    return Output(data, lambda console: _show(console, rows, args, state), code)


def _show(console: Console, rows: list[Row], args: argparse.Namespace, state: str) -> None:
    from rcwiz.ui.tables import quota_table

    out = console.out
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
    if row.error is not None:
        return f"unknown ({row.error.message.rstrip('.')})"
    pct = row.usage.percent_used if row.usage else None
    return "unknown" if pct is None else f"{pct:.1f}%"


def _history(ctx: Context, args: argparse.Namespace) -> Output:
    grouped = quota_history.by_remote(quota_history.load())
    if args.remotes:
        wanted = {f"{name}:" for name in remote_names(args.remotes)}
        grouped = {k: v for k, v in grouped.items() if k in wanted}
    try:  # samples of remotes that were removed since are marked
        configured: set[str] | None = {f"{r.name}:" for r in list_remotes(ctx.rclone)}
    except errors.RcwizError:
        configured = None  # rclone.conf unreadable: nothing is marked
    removed = {r for r in grouped if configured is not None and r not in configured}
    data = {
        "remotes": [
            {
                "remote": remote,
                "configured": remote not in removed,
                "samples": len(samples),
                "first": samples[0].time,
                "last": samples[-1].time,
                "used": samples[-1].used,
                "total": samples[-1].total,
                **_forecast_dict(quota_history.forecast(samples)),
            }
            for remote, samples in grouped.items()
        ]
    }

    def show(console: Console) -> None:
        if not grouped:
            console.out.print(
                "No quota history yet: each 'rcwiz quota' report adds a sample.", markup=False
            )
            return
        from rcwiz.ui.tables import quota_history_table

        console.out.print(quota_history_table(grouped, removed))

    return Output(data, show)


def _forecast_dict(guess: quota_history.Forecast) -> dict[str, object]:
    return {
        "forecast": guess.status,
        "rate_per_day": guess.rate_per_day,
        "days_to_full": guess.days_to_full,
    }
