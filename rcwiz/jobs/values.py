"""One value of a job profile checked: each key's check, generated for the transfer options
from their table (rcwiz.rclone.transfer.OPTIONS). rcwiz.jobs.schema walks the file and calls
these; a check returns the value as a Job field takes it, or raises Bad with what is wrong."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from rcwiz.jobs.located import Unreadable, shown
from rcwiz.jobs.model import MODES, ShareSpec, split_flags
from rcwiz.rclone.transfer import KINDS, MAX_TRANSFERS, OPTIONS, is_rate, rule_problem


class Bad(Exception):
    """A value a key does not accept; `each` holds (path suffix, message) pairs."""

    def __init__(self, message: str = "", each: list[tuple[tuple[Any, ...], str]] | None = None):
        super().__init__(message)
        self.each = each if each is not None else [((), message)]


def expected(what: str, value: Any) -> str:
    if value is None:
        return f"has no value; it must be {what}"
    return f"must be {what}, not {shown(value)}"


def _skip_invalid(value: Any) -> None:
    if isinstance(value, Unreadable):
        raise Bad(each=[])


def _text(what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        _skip_invalid(value)
        if not isinstance(value, str):
            quote = value is not None and not isinstance(value, (list, dict))
            raise Bad(expected(what, value) + ("; quote it to mean the text" if quote else ""))
        if not value.strip():
            raise Bad(f"is empty; it must be {what}")
        return value

    return check


def _boolean(value: Any) -> bool:
    _skip_invalid(value)
    if not isinstance(value, bool):
        raise Bad(expected("true or false", value))
    return value


def _mode(value: Any) -> str:
    _skip_invalid(value)
    if isinstance(value, str) and value in MODES:
        return value
    message = expected(f"one of {', '.join(MODES)}", value)
    if isinstance(value, str):
        message += did_you_mean(value, MODES)
    raise Bad(message)


def _transfers(value: Any) -> int:
    _skip_invalid(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_TRANSFERS:
        return value
    raise Bad(expected(KINDS["count"], value))


def _bwlimit(value: Any) -> str:
    _skip_invalid(value)
    what = KINDS["rate"]
    if isinstance(value, int) and not isinstance(value, bool):
        if value > 0 and value.bit_length() <= 63:
            return str(value)
    elif isinstance(value, str) and is_rate(value):
        return value
    raise Bad(expected(what, value))


def _strings(what: str, value: list[Any]) -> tuple[str, ...]:
    """Every item of VALUE must be non-empty text; all bad items are reported."""
    found, each = [], []
    for index, item in enumerate(value):
        if isinstance(item, Unreadable):
            each.append(((index,), ""))  # reported when it was read
        elif not isinstance(item, str):
            each.append(((index,), expected(what, item)))
        elif not item.strip():
            each.append(((index,), f"is empty; it must be {what}"))
        else:
            found.append(item)
    if each:
        raise Bad(each=[(suffix, message) for suffix, message in each if message])
    return tuple(found)


def _patterns(value: Any) -> tuple[str, ...]:
    _skip_invalid(value)
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list):
        return _strings("a pattern", value)
    raise Bad(expected(KINDS["patterns"], value))


def _rules(value: Any) -> tuple[str, ...]:
    _skip_invalid(value)
    if not isinstance(value, (str, list)):
        raise Bad(expected(KINDS["rules"], value))
    rules = _patterns(value)  # text, or a list of text (a bad item is reported there)
    each = []
    for index, rule in enumerate(rules):
        problem = rule_problem(rule)
        if problem:
            suffix = () if isinstance(value, str) else (index,)
            each.append((suffix, f"{shown(rule)} is not a filter rule: {problem}"))
    if each:
        raise Bad(each=each)
    return rules


def _flags(value: Any) -> tuple[str, ...]:
    _skip_invalid(value)
    if isinstance(value, str):
        try:
            return split_flags(value)
        except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
            raise Bad(f"cannot be split into flags ({exc}); check the quotes") from None
    if isinstance(value, list):
        return _strings("a flag", value)
    raise Bad(expected("flags in one string or a list of flags", value))


def _share(value: Any) -> ShareSpec | None:
    """`share: true`, or a mapping with permissions (read, edit) and expire_days."""
    _skip_invalid(value)
    if value is True:
        return ShareSpec()
    if value is False or value is None:
        return None
    if not isinstance(value, dict):
        raise Bad(expected("true, or a mapping with permissions: and expire_days:", value))
    each: list[tuple[tuple[Any, ...], str]] = []
    permissions, days = "read", None
    for key, item in value.items():
        if key == "permissions":
            if item in ("read", "edit"):
                permissions = item
            else:
                each.append(((key,), expected("read or edit", item)))
        elif key == "expire_days":
            if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 3650:
                days = item
            else:
                each.append(((key,), expected("a whole number of days from 1 to 3650", item)))
        else:
            hint = did_you_mean(str(key), ("permissions", "expire_days"))
            each.append(((key,), f"unknown key {shown(key)}{hint}"))
    if each:
        raise Bad(each=each)
    return ShareSpec(permissions, days)


# How each kind of transfer option (rcwiz.rclone.transfer.OPTIONS) is checked.
_KIND_CHECKS: dict[str, Callable[[Any], Any]] = {
    "bool": _boolean,
    "count": _transfers,
    "rate": _bwlimit,
    "patterns": _patterns,
    "rules": _rules,
    "path": _text(KINDS["path"]),
}
CHECKS: dict[str, Callable[[Any], Any]] = {
    "source": _text("a local path or remote:path"),
    "dest": _text("a local path or remote:path"),
    "mode": _mode,
    "allow_deletes": _boolean,
    **{option.name: _KIND_CHECKS[option.kind] for option in OPTIONS},
    "extra_flags": _flags,
    "before": _text("a shell command"),
    "after": _text("a shell command"),
    "on_failure": _text("a shell command"),
    "share": _share,
}
# The keys a profile (and `defaults:`) takes; each is a field of rcwiz.jobs.model.Job.
KEYS: tuple[str, ...] = tuple(CHECKS)


def did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word.lower(), choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
