"""The job templates shipped in templates/jobs: example profiles to start a new one from.

A template brings settings besides where from and to (filters, flags, hooks). A profile made
from one must hold only what its owner saw and kept: `settings_of` lists what a template
brings, each described in words and marked when it can leave files out of the transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcwiz import paths

# The keys that say where and how, asked for separately; everything else a template holds is
# a setting to show and confirm.
ROUTE_KEYS = ("source", "dest", "mode", "allow_deletes")
# Settings with which rclone sends fewer files than the source holds.
FILTER_KEYS = ("include", "exclude", "filter_from")
FILTER_FLAGS = (
    "--max-age",
    "--min-age",
    "--max-size",
    "--min-size",
    "--include",
    "--exclude",
    "--filter",
    "--filter-from",
    "--files-from",
    "--max-depth",
    "--exclude-from",
    "--include-from",
    "--exclude-if-present",
)


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    shown: str  # "extra_flags: --max-age 30d --fast-list"
    drops_files: bool  # rclone may leave files out because of it


def templates() -> dict[str, dict[str, Any]]:
    """The job templates in templates/jobs: name -> the profile body they hold."""
    import yaml

    found = {}
    for path in sorted((paths.templates_dir() / "jobs").glob("*.yaml")):
        jobs = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("jobs") or {}
        if jobs:
            found[path.stem] = dict(next(iter(jobs.values())))
    return found


def settings_of(body: dict[str, Any]) -> list[Setting]:
    """What a template brings besides its route, in its own order."""
    found = []
    for key, value in body.items():
        if key in ROUTE_KEYS:
            continue
        text = " ".join(map(str, value)) if isinstance(value, list) else str(value)
        drops = key in FILTER_KEYS or (
            key == "extra_flags"
            and any(flag.split("=")[0] in FILTER_FLAGS for flag in text.split())
        )
        found.append(Setting(key, value, f"{key}: {text}", drops))
    return found
