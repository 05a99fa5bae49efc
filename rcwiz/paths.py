"""Where rcwiz keeps and finds its files (XDG folders, shipped templates), and the one rule
for what it records there: a record that cannot be written (a full disk, a read-only or
missing state folder) is one warning, never the command's failure."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rcwiz import files


def templates_dir() -> Path:
    """Return the folder holding presets/ and jobs/.

    In an installed wheel the top-level templates/ folder ships as the package
    rcwiz.templates; in a source checkout it sits beside the rcwiz package.
    """
    import rcwiz.templates  # a data-only package mapped from templates/ by pyproject.toml

    return Path(next(iter(rcwiz.templates.__path__)))


def shipped(kind: str) -> list[str]:
    """The names of the shipped templates of KIND ("presets", "jobs"), sorted: named in help
    texts, since an installed user has no templates/ folder to look in."""
    return sorted(p.stem for p in (templates_dir() / kind).glob("*.yaml"))


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / "rcwiz"


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state")


def append_record(path: Path, text: str, what: str, warn: Callable[[str], None]) -> bool:
    """Append TEXT (whole lines) to the state file PATH; False, after one warning naming WHAT,
    when it cannot be written."""
    try:
        with files.open_append(path) as handle:
            handle.write(text)
        return True
    except OSError as exc:
        warn(f"{what} was not recorded: {path} cannot be written ({exc.strerror or exc}).")
        return False
