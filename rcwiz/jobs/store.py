"""The jobs file on disk: where it is, and profile-sized edits that keep everything else.

Adding or removing a profile edits the text, not a re-dumped document, so the other profiles
and their comments stay exactly as they were. Every write is validated first, then written
atomically with a backup (rcwiz.files).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from rcwiz import errors, paths
from rcwiz.files import LockFailed, locked, write_atomic
from rcwiz.jobs import schema
from rcwiz.jobs.model import MODES, Job


def jobs_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--jobs FILE, else RCWIZ_JOBS, else $XDG_CONFIG_HOME/rcwiz/jobs.yaml."""
    chosen = explicit or os.environ.get("RCWIZ_JOBS")
    return Path(chosen).expanduser() if chosen else paths.config_dir() / "jobs.yaml"


def load(path: Path, remotes: set[str] | None = None) -> dict[str, Job]:
    """The profiles at PATH (checked against REMOTES, rclone.conf's names, when given)."""
    return schema.load(path, remotes)


def warnings(path: Path) -> list[str]:
    """What in the jobs file at PATH runs but is likely not meant (schema.warnings_of)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return []
    return [str(found) for found in schema.warnings_of(text, str(path))]


def inherited_mode(path: Path) -> str:
    """The mode a profile without a mode: key gets in the jobs file at PATH: its defaults'
    mode, else copy (also when the file is missing or unreadable; adding validates it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return "copy"
    defaults = data.get("defaults") if isinstance(data, dict) else None
    mode = defaults.get("mode") if isinstance(defaults, dict) else None
    return mode if isinstance(mode, str) and mode in MODES else "copy"


def get(path: Path, name: str) -> Job:
    jobs = load(path)
    if name not in jobs:
        known = ", ".join(sorted(jobs)) or "none yet"
        raise errors.UsageError(
            f"There is no job named '{name}' in {path}.",
            f"Known jobs: {known}. Add one with 'rcwiz job add'.",
        )
    return jobs[name]


def _last_line(node: yaml.Node) -> int:
    """The 0-based line of the last character that belongs to NODE's content."""
    if isinstance(node, yaml.MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    # A mark at column 0 sits at the start of the next line: the content ended on the one before.
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _jobs_node(text: str) -> tuple[yaml.Node, yaml.Node] | None:
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "jobs":
            return key, value
    return None


def render_profile(name: str, body: dict[str, Any], indent: int = 2) -> str:
    block = yaml.safe_dump(
        {name: body}, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return "".join(" " * indent + line for line in block.splitlines(keepends=True))


def with_profile(text: str, name: str, body: dict[str, Any]) -> str:
    """TEXT with profile NAME added at the end of `jobs:`; every other line kept as it was."""
    found = _jobs_node(text) if text.strip() else None
    if found is None:
        prefix = text if not text.strip() else text.rstrip("\n") + "\n"
        return prefix + "jobs:\n" + render_profile(name, body)
    key, value = found
    lines = text.splitlines(keepends=True)
    if isinstance(value, yaml.MappingNode) and value.value and not value.flow_style:
        indent = value.value[0][0].start_mark.column
        after = _last_line(value) + 1
    else:  # `jobs:` empty, null or `{}` on its own line: rewrite that one line
        line = key.start_mark.line
        if (isinstance(value, yaml.MappingNode) and value.value) or _last_line(value) > line:
            raise errors.UsageError(
                "rcwiz cannot add to a jobs mapping written in {...} style.",
                "Rewrite `jobs:` in block style, one profile per line.",
            )
        lines[line] = lines[line][: key.start_mark.column] + "jobs:\n"
        indent, after = key.start_mark.column + 2, line + 1
    if after > 0 and not lines[after - 1].endswith("\n"):
        lines[after - 1] += "\n"
    lines.insert(after, render_profile(name, body, indent))
    return "".join(lines)


def without_profile(text: str, name: str) -> str:
    """TEXT without profile NAME's lines; the rest kept as it was."""
    found = _jobs_node(text)
    value = found[1] if found else None
    if found is None or not isinstance(value, yaml.MappingNode) or value.flow_style:
        raise errors.UsageError("rcwiz can only remove profiles from a block-style `jobs:`.")
    lines = text.splitlines(keepends=True)
    for key, body in value.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            start, end = key.start_mark.line, _last_line(body) + 1
            del lines[start:end]
            if len(value.value) == 1:  # the last profile: keep `jobs:` a mapping
                jobs_line = found[0].start_mark.line
                lines[jobs_line] = lines[jobs_line].rstrip("\n") + " {}\n"
            return "".join(lines)
    raise errors.UsageError(f"There is no job named '{name}'.")


def save(path: Path, text: str) -> Path | None:
    """Validate TEXT, then write it atomically with a backup; returns the backup's path."""
    schema.parse(text, str(path))  # raises JobsFileInvalid with every problem
    try:
        return write_atomic(path, text, mode=0o600)
    except OSError as exc:
        raise errors.FileUnwritable(
            f"The jobs file {path} cannot be written: {exc.strerror or exc}.",
            "Check the folder and its permissions, or use --jobs FILE.",
        ) from exc


@contextlib.contextmanager
def _editing(path: Path) -> Iterator[None]:
    """Hold the jobs file's lock (rcwiz.files.locked); one that cannot be taken is a sentence."""
    try:
        with locked(path):
            yield
    except LockFailed as exc:
        what = "is a folder" if exc.errno == errno.EISDIR else f"cannot be made: {exc.strerror}"
        raise errors.FileUnwritable(
            f"The jobs file {path} cannot be edited: its lock file {exc.filename} {what}.",
            "Remove what is in the way, or use another jobs file with --jobs FILE.",
        ) from None


def replace(path: Path, text: str) -> Path | None:
    """Write TEXT (a whole edited jobs file) under the file's lock; returns the backup's path."""
    with _editing(path):
        return save(path, text)


def add(path: Path, name: str, body: dict[str, Any]) -> Path | None:
    with _editing(path):
        text = schema.read(path) or ""
        if name in (schema.parse(text, str(path)) if text.strip() else {}):
            raise errors.UsageError(
                f"A job named '{name}' already exists in {path}.",
                "Choose another name, or remove it with 'rcwiz job rm'.",
            )
        return save(path, with_profile(text, name, body))


def remove(path: Path, name: str) -> Path | None:
    with _editing(path):
        get(path, name)
        return save(path, without_profile(schema.read(path) or "", name))
