"""The job templates shipped in templates/jobs: example profiles to start a new one from.

A template brings settings besides where from and to (filters, flags, hooks). A profile made
from one must hold only what its owner saw and kept: `settings_of` lists what a template
brings, each described in words and marked when it can leave files out of the transfer, or
when it holds a placeholder to replace (`<like-this>`, or USER in a path): such a setting
cannot work as it is, so --yes never keeps one (see `placeholders`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rcwiz import errors, paths

# The keys that say where and how, asked for separately; everything else a template holds is
# a setting to show and confirm.
ROUTE_KEYS = ("source", "dest", "mode", "allow_deletes")
# Settings with which rclone sends fewer files than the source holds.
FILTER_KEYS = ("include", "exclude", "filter", "filter_from")
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


# What a template writes where its user must put their own value: <project>, or USER as a
# word of its own (/scratch/USER/x; $USER and ${USER} are the shell's and work as they are).
PLACEHOLDER = re.compile(r"<[A-Za-z][\w-]*>|(?<![\w${])USER(?!\w)")


@dataclass(frozen=True)
class Setting:
    key: str
    value: Any
    shown: str  # "extra_flags: --max-age 30d --fast-list"
    drops_files: bool  # rclone may leave files out because of it
    placeholder: str | None = None  # the placeholder it holds ("USER"), to be replaced


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
        # A list shown item by item ('- *.tmp', '+ *.csv'): a rule holds spaces of its own.
        if isinstance(value, list):
            text = ", ".join(f"'{item}'" for item in value)
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)  # as YAML
        drops = key in FILTER_KEYS or (
            key == "extra_flags"
            and any(flag.split("=")[0] in FILTER_FLAGS for flag in text.split())
        )
        mark = PLACEHOLDER.search(text)
        found.append(Setting(key, value, f"{key}: {text}", drops, mark[0] if mark else None))
    return found


def placeholders(template: str, kept: list[Setting]) -> None:
    """Refuse to keep, unseen (--yes), a setting that holds a placeholder: it cannot work."""
    marked = [setting for setting in kept if setting.placeholder]
    if not marked:
        return
    first = marked[0]
    raise errors.UsageError(
        f"The template {template} has {len(marked)} setting(s) with a placeholder to replace "
        f"({first.placeholder} in {first.key}), which --yes does not keep.",
        f"Give your own value with --{first.key.replace('_', '-')} (a flag wins over the "
        "template), or add the job at a terminal.",
        items=[f"{setting.shown}  (replace {setting.placeholder})" for setting in marked],
    )
