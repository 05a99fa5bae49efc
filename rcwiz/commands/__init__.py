"""One module per subcommand: its arguments (argparse) and how its result is shown.

What a command does lives in rcwiz.actions (or the layer it needs); a command module parses,
calls, and returns an rcwiz.ui.output.Output that rcwiz.cli renders as text or JSON. The
flags shared by several commands are generated here from their tables.
"""

from __future__ import annotations

import argparse
from typing import Any

from rcwiz import errors
from rcwiz.rclone.transfer import KINDS, MAX_TRANSFERS, OPTIONS, Option, is_rate, rule_problem

GUARD_DEFAULTS = {"log_interval": 10.0}


def _flag_kwargs(option: Option) -> dict[str, Any]:
    if option.kind == "bool":
        return {"action": "store_true", "default": None}
    if option.kind == "rules":
        return {"action": "append", "type": rule, "default": None, "metavar": option.metavar}
    if option.kind == "patterns":
        return {"action": "append", "default": None, "metavar": option.metavar}
    if option.kind == "count":
        return {"type": count, "default": None, "metavar": option.metavar}
    if option.kind == "rate":
        return {"type": rate, "default": None, "metavar": option.metavar}
    return {"default": None, "metavar": option.metavar}


def add_transfer_options(parser: argparse.ArgumentParser, *, skip: tuple[str, ...] = ()) -> None:
    """The transfer options (rcwiz.rclone.transfer.OPTIONS) as flags; unset ones stay None."""
    for option in OPTIONS:
        if option.name not in skip:
            parser.add_argument(
                option.flag, dest=option.name, help=option.help, **_flag_kwargs(option)
            )


def transfer_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The transfer options given on the command line (not the unset ones), by name."""
    found = {}
    for option in OPTIONS:
        value = getattr(args, option.name, None)
        if value is None:
            continue
        found[option.name] = tuple(value) if option.repeated else value
    return found


def add_thresholds(parser: argparse.ArgumentParser) -> None:
    """--warn and --crit, alike for `quota` and `review` (their states are quota's)."""
    from rcwiz.quota.report import CRIT_PERCENT, WARN_PERCENT

    parser.add_argument(
        "--warn",
        type=float,
        default=WARN_PERCENT,
        metavar="PCT",
        help=f"warn at this percentage used (default {WARN_PERCENT:.0f})",
    )
    parser.add_argument(
        "--crit",
        type=float,
        default=CRIT_PERCENT,
        metavar="PCT",
        help=f"critical at this percentage used (default {CRIT_PERCENT:.0f})",
    )


def add_remote_names(parser: argparse.ArgumentParser, help: str) -> None:
    """Optional REMOTE: arguments (quota, doctor)."""
    parser.add_argument("remotes", nargs="*", metavar="REMOTE:", help=help)


def remote_names(given: list[str]) -> list[str]:
    """REMOTE: arguments as bare names ("nc:" -> "nc"); anything else is a usage error."""
    names = []
    for name in given:
        bare = name[:-1] if name.endswith(":") else name
        if not bare or ":" in bare or "/" in bare:
            raise errors.UsageError(f"'{name}' is not a remote name (like nextcloud:).")
        names.append(bare)
    return names


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    """How a transfer is checked and watched (rcwiz.actions.transfer.Guard)."""
    parser.add_argument(
        "--force", action="store_true", help="go ahead even if the pre-flight says it will not fit"
    )
    parser.add_argument(
        "--log-interval",
        type=positive_float,
        default=GUARD_DEFAULTS["log_interval"],
        metavar="SECONDS",
        help="seconds between progress lines when not on a terminal (default 10)",
    )


def rate(text: str) -> str:
    if not is_rate(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not {KINDS['rate']}")
    return text


def count(text: str) -> int:
    """argparse type: a whole number from 1 to MAX_TRANSFERS (the jobs file's rule too)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= MAX_TRANSFERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_TRANSFERS}, not {value}")
    return value


def rule(text: str) -> str:
    """argparse type: an rclone filter rule ('+ *.csv', '- *.tmp', '!'), as --filter takes."""
    problem = rule_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"'{text}' is not a filter rule: {problem}")
    return text


def positive_float(text: str) -> float:
    """argparse type: a finite number of seconds above 0 (nan and inf are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text}")
    return value


_DAYS_PER = {"d": 1.0, "w": 7.0, "y": 365.0}


def days(text: str) -> float:
    """argparse type: an age in days, as `90`, `90d`, `12w` or `1y` (rclone's --min-age
    units that make sense for data kept for months)."""
    raw = text.strip().lower()
    unit = raw[-1:] if raw[-1:] in _DAYS_PER else "d"
    number = raw[:-1] if raw[-1:] in _DAYS_PER else raw
    try:
        value = float(number) * _DAYS_PER[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an age like 90d, 12w or 1y") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not an age like 90d, 12w or 1y")
    return value


_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def size(text: str) -> int:
    """argparse type: a size in bytes, as rclone writes them: 500, 100k, 10M, 1.5G (binary)."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b") or text
    unit = raw[-1:] if raw[-1:] in _SIZE_UNITS else ""
    try:
        value = float(raw[: len(raw) - len(unit)]) * _SIZE_UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 500k, 10M or 1.5G") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a size like 500k, 10M or 1.5G")
    return int(value)
