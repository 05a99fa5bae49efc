"""Secrets out of what people see: an rclone command line as it may be shown or logged.

Masking works on whole values, never on substrings: a secret is hidden where an argument is
that secret (or `--flag=secret`), and the value of any flag whose name says it is secret
(`--webdav-pass X`, `--x-token=Y`) is hidden whatever it is. A user name "u" does not turn
`--use-json-log` into `--***se-json-log`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Flags whose value is a secret: --webdav-pass, --crypt-password2, --x-bearer-token, ...
SECRET_FLAG = re.compile(r"(pass|password2?|token|secret|key)$", re.I)
NOT_SECRET = frozenset({"--ask-password"})
HIDDEN = "***"


def _secret_flag(flag: str) -> bool:
    return flag.startswith("--") and flag not in NOT_SECRET and bool(SECRET_FLAG.search(flag))


def mask_argv(argv: Sequence[str], secrets: Iterable[str] = ()) -> list[str]:
    """ARGV with secret values hidden (see the module's docstring)."""
    known = {s for s in secrets if s}
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        flag, eq, value = arg.partition("=")
        if hide_next:
            shown.append(HIDDEN)
            hide_next = False
        elif arg in known:
            shown.append(HIDDEN)
        elif eq and (value in known or _secret_flag(flag)):
            shown.append(f"{flag}={HIDDEN}")
        elif _secret_flag(arg):
            shown.append(arg)
            hide_next = True
        else:
            shown.append(arg)
    return shown
