"""Where rcwiz keeps and finds its files (XDG folders, shipped templates)."""

from __future__ import annotations

import os
from pathlib import Path


def templates_dir() -> Path:
    """Return the folder holding presets/ and jobs/.

    In an installed wheel the top-level templates/ folder ships as the package
    rcwiz.templates; in a source checkout it sits beside the rcwiz package.
    """
    import rcwiz.templates  # a data-only package mapped from templates/ by pyproject.toml

    return Path(next(iter(rcwiz.templates.__path__)))


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / "rcwiz"


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state")
