"""What each job run did, one JSON line per run in $XDG_STATE_HOME/rcwiz/history.jsonl."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rcwiz import paths


@dataclass(frozen=True)
class Run:
    job: str
    start: float  # seconds since the epoch
    end: float
    outcome: str  # ok, failed, interrupted
    bytes: int = 0
    files: int = 0
    errors: int = 0
    dry_run: bool = False
    log: str = ""
    error: str | None = None

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "duration": round(self.duration, 3)}


def _stderr(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def history_path() -> Path:
    return paths.state_dir() / "history.jsonl"


def record(run: Run, path: Path | None = None, warn: Callable[[str], None] = _stderr) -> bool:
    """Add RUN to the history; False (after a warning) when the history cannot be written."""
    line = json.dumps(run.as_dict()) + "\n"
    return paths.append_record(path or history_path(), line, f"The run of job {run.job}", warn)


def load(name: str | None = None, path: Path | None = None) -> list[Run]:
    """Runs, oldest first (of job NAME only, if given); damaged lines are skipped."""
    path = path or history_path()
    if not path.exists():
        return []
    fields = set(Run.__dataclass_fields__)
    runs = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            data = json.loads(line)
            run = Run(**{k: v for k, v in data.items() if k in fields})
        except (ValueError, TypeError):
            continue
        if name is None or run.job == name:
            runs.append(run)
    return sorted(runs, key=lambda r: r.start)


def last_runs() -> dict[str, Run]:
    """The latest run of every job."""
    latest: dict[str, Run] = {}
    for run in load():
        latest[run.job] = run
    return latest
