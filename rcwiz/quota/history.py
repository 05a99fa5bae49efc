"""Quota samples over time and a forecast of when a remote fills up.

Every `rcwiz quota` report appends one JSON line per remote to
$XDG_STATE_HOME/rcwiz/quota.jsonl; `rcwiz quota --history` reads them back. The forecast is
a least-squares line through the recent samples: pure arithmetic, tested on synthetic data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rcwiz import paths

DAY = 86400.0
WINDOW_DAYS = 30.0
# A trend over minutes says nothing about weeks: a forecast needs samples this far apart.
MIN_SPAN_DAYS = 2.0
SPARK = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Sample:
    time: float  # seconds since the epoch
    remote: str
    used: int
    total: int | None = None


def history_path() -> Path:
    return paths.state_dir() / "quota.jsonl"


def append(
    samples: Iterable[Sample], warn: Callable[[str], None], path: Path | None = None
) -> None:
    """Add SAMPLES to the history file (one line each; appends are atomic at this size); one
    warning if it cannot be written."""
    lines = "".join(json.dumps(asdict(s)) + "\n" for s in samples)
    if lines:
        paths.append_record(path or history_path(), lines, "This quota report", warn)


def load(path: Path | None = None) -> list[Sample]:
    """Every readable sample, oldest first; damaged lines are skipped, not fatal."""
    path = path or history_path()
    if not path.exists():
        return []
    samples = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(line)
            total = data.get("total")
            samples.append(
                Sample(
                    float(data["time"]),
                    str(data["remote"]),
                    int(data["used"]),
                    None if total is None else int(total),
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return sorted(samples, key=lambda s: s.time)


def by_remote(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.remote, []).append(sample)
    return grouped


@dataclass(frozen=True)
class Forecast:
    status: str  # "not enough data", "not growing", "growing", "full"
    rate_per_day: float | None = None  # bytes per day, from the recent trend
    days_to_full: float | None = None  # None when not growing or the total is unknown

    def describe(self) -> str:
        if self.status == "growing" and self.days_to_full is not None:
            return f"full in about {self.days_to_full:.0f} days"
        if self.status == "growing":
            return "growing (no quota known)"
        if self.status == "not enough data":
            return f"not enough data (needs {MIN_SPAN_DAYS:.0f} days of samples)"
        return self.status


def forecast(samples: Sequence[Sample], window_days: float = WINDOW_DAYS) -> Forecast:
    """When will the remote be full, judging by the samples of the last WINDOW_DAYS?"""
    ordered = sorted(samples, key=lambda s: s.time)
    if not ordered:
        return Forecast("not enough data")
    latest = ordered[-1]
    recent = [s for s in ordered if s.time >= latest.time - window_days * DAY]
    if latest.total is not None and latest.used >= latest.total:
        return Forecast("full", None, 0.0)
    if len(recent) < 2 or recent[-1].time - recent[0].time < MIN_SPAN_DAYS * DAY:
        return Forecast("not enough data")
    slope = _slope([s.time for s in recent], [float(s.used) for s in recent])  # bytes/second
    rate = slope * DAY
    if rate <= 0:
        return Forecast("not growing", rate)
    if latest.total is None:
        return Forecast("growing", rate)
    return Forecast("growing", rate, (latest.total - latest.used) / rate)


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def sparkline(samples: Sequence[Sample], width: int = 24) -> str:
    """Usage over time in block characters, scaled to the quota (or to the largest value)."""
    if not samples:
        return ""
    picked = list(samples)[-width:]
    top = max((s.total or 0 for s in picked), default=0) or max(s.used for s in picked) or 1
    return "".join(SPARK[min(len(SPARK) - 1, int(len(SPARK) * s.used / top))] for s in picked)
