"""Numbers for people: sizes, speeds, durations."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(n: float | None) -> str:
    """1536 -> '1.5 KiB' (binary units, as rclone prints them)."""
    if n is None:
        return "-"
    value = float(n)
    for unit in _UNITS:
        # 1023.96 MiB would print as "1024.0 MiB": it is "1.0 GiB".
        if abs(value) < (1024 if unit == "B" else 1023.95) or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def speed(bytes_per_second: float | None) -> str:
    return "-" if not bytes_per_second else f"{size(bytes_per_second)}/s"


def duration(seconds: float | None, *, short: bool = False) -> str:
    """75 -> '1m15s'; None -> '-'. SHORT drops the seconds from an hour or more ('3h12m')."""
    if seconds is None:
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{total}s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and short:
        return f"{hours}h{minutes:02d}m"
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def age(seconds: float | None) -> str:
    """How long ago, in the unit people use for it: '40 s', '12 min', '5 h', '30 days'."""
    if seconds is None:
        return "-"
    s = max(0.0, seconds)
    if s < 90:
        return f"{s:.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 36 * 3600:
        return f"{s / 3600:.0f} h"
    return f"{s / 86400:.0f} days"


def when(stamp: float | None) -> str:
    """Seconds since the epoch as local 'YYYY-MM-DD HH:MM' (what a person compares)."""
    if stamp is None:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))
