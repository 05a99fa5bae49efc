"""The job templates shipped in templates/jobs: example profiles to start a new one from."""

from __future__ import annotations

from typing import Any

from rcwiz import paths


def templates() -> dict[str, dict[str, Any]]:
    """The job templates in templates/jobs: name -> the profile body they hold."""
    import yaml

    found = {}
    for path in sorted((paths.templates_dir() / "jobs").glob("*.yaml")):
        jobs = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("jobs") or {}
        if jobs:
            found[path.stem] = dict(next(iter(jobs.values())))
    return found
