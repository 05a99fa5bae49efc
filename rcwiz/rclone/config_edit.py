"""rclone.conf edited by rcwiz: one section at a time, atomically, never touching others.

Each edit reads the text, changes one section's lines, and writes the file again through
rcwiz.files (temp file, fsync, rename, previous file kept as rclone.conf.bak, mode 0600),
under an flock so two setups at once both land. Secrets are obscured with `rclone obscure -`
reading stdin.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

from rcwiz import errors
from rcwiz.files import locked, write_atomic
from rcwiz.rclone.config import SHOWN_KEYS
from rcwiz.rclone.run import Rclone

ENCRYPTED_MARKER = "RCLONE_ENCRYPT_V0:"
# rclone's rule for a remote's name (fs/config): letters, digits, '_', '.', '+', '@', with
# single spaces or dashes between them, never at either end ("a-" and "-x" are refused).
REMOTE_NAME = re.compile(r"[\w.+@]+(?:[ -]+[\w.+@]+)*")
REMOTE_NAME_RULE = (
    "use letters, digits, '_', '.', '+', '@', and spaces or '-' between them (not at either end)"
)
ENCRYPTED_HINT = (
    "Add or remove the remote with 'rclone config', or remove the encryption with "
    "'rclone config encryption remove' first."
)


def check_remote_name(name: str) -> None:
    """Raise Invalid unless rclone accepts NAME as a remote's name."""
    if not REMOTE_NAME.fullmatch(name):
        raise errors.Invalid(f"'{name}' cannot be a remote name: {REMOTE_NAME_RULE}.")


def is_encrypted(text: str) -> bool:
    """TEXT is an rclone.conf encrypted with `rclone config encryption set`."""
    return ENCRYPTED_MARKER in text


def refuse_encrypted(path: Path, why: str, text: str | None = None) -> None:
    """Raise ConfigError when the rclone.conf at PATH is encrypted (rcwiz never rewrites one)."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return
    if is_encrypted(text):
        raise errors.ConfigError(f"rclone.conf at {path} is encrypted; {why}.", ENCRYPTED_HINT)


def obscure(rclone: Rclone, secret: str) -> str:
    """Return SECRET obscured the way rclone stores passwords (read from stdin, never argv)."""
    if not secret:
        raise errors.UsageError("The password is empty.")
    return rclone.run(["obscure", "-"], input=secret, secrets=[secret]).stdout.strip()


def duplicated(text: str) -> dict[str, list[int]]:
    """The remotes rclone.conf TEXT defines more than once, each with the line numbers of its
    headers."""
    found: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = _header(line)
        if name is not None:
            found.setdefault(name, []).append(number)
    return {name: numbers for name, numbers in found.items() if len(numbers) > 1}


def what_rclone_uses(name: str, lines: list[int]) -> str:
    """One line on remote NAME defined at LINES, and what rclone makes of it (checked on
    rclone 1.75: it merges the sections, a key's later value replacing an earlier one)."""
    at = ", ".join(map(str, lines[:-1])) + f" and {lines[-1]}"
    return (
        f"rclone.conf defines [{name}] {len(lines)} times (lines {at}); rclone uses them merged: "
        "every key of each, a key set twice taking its last value"
    )


def refuse_duplicated(path: Path, text: str) -> None:
    """A ConfigError when rclone.conf TEXT defines a remote twice: whatever rcwiz wrote, rclone
    would read the merge (one thing said, another done)."""
    twice = duplicated(text)
    if twice:
        name, lines = next(iter(twice.items()))
        raise errors.ConfigError(
            f"{what_rclone_uses(name, lines)}, so rcwiz will not change {path}.",
            "Keep one section of each name (a text editor will do), then try again.",
        )


def _section_bounds(lines: list[str], name: str) -> tuple[int, int] | None:
    """Index range [start, end) of section NAME in LINES (header to before the next header);
    the caller has refused a file with a name twice (refuse_duplicated)."""
    start = None
    for i, line in enumerate(lines):
        header = _header(line)
        if header is not None:
            if start is not None:
                return start, i
            if header == name:
                start = i
    return (start, len(lines)) if start is not None else None


def _header(line: str) -> str | None:
    stripped = line.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        return stripped[1:-1].strip()
    return None


def render_section(name: str, settings: dict[str, str]) -> str:
    body = "".join(f"{key} = {value}\n" for key, value in settings.items())
    return f"[{name}]\n{body}"


def with_section(text: str, name: str, settings: dict[str, str], *, replace: bool) -> str:
    """Return rclone.conf TEXT with section NAME set to SETTINGS; other bytes stay as they are.

    Raises ConfigError when NAME exists and `replace` is false.
    """
    lines = text.splitlines(keepends=True)
    section = render_section(name, settings)
    bounds = _section_bounds(lines, name)
    if bounds is not None:
        if not replace:
            raise errors.ConfigError(
                f"A remote named '{name}' already exists.",
                "Choose another name, or replace it with --replace.",
            )
        start, end = bounds
        # Keep the blank line(s) that separated the old section from the next one.
        trailing = []
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
            trailing.append(lines[end])
        return "".join([*lines[:start], section, *reversed(trailing), *lines[bounds[1] :]])
    if text and not text.endswith("\n"):
        text += "\n"
    if not text.strip():
        return section
    return text + ("" if text.endswith("\n\n") else "\n") + section


def without_section(text: str, name: str) -> str:
    """rclone.conf TEXT without section NAME (and the blank lines after it); the rest as is."""
    lines = text.splitlines(keepends=True)
    bounds = _section_bounds(lines, name)
    if bounds is None:
        raise errors.no_remote(name)
    return "".join([*lines[: bounds[0]], *lines[bounds[1] :]])


@contextlib.contextmanager
def _editing(path: Path) -> Iterator[None]:
    """Hold rclone.conf's lock; an unreadable or unwritable file or folder is a ConfigError."""
    try:
        with locked(path):
            yield
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise errors.ConfigError(
            f"rclone.conf at {path} cannot be written: {reason}.",
            "Check the folder and its permissions, or choose another file with --config.",
        ) from exc


def without_secrets(text: str, name: str) -> str:
    """rclone.conf TEXT with section NAME keeping only the settings that are no secret."""
    lines = text.splitlines(keepends=True)
    bounds = _section_bounds(lines, name)
    if bounds is None:
        return text
    start, end = bounds
    kept = [
        line
        for line in lines[start + 1 : end]
        if "=" not in line or line.split("=", 1)[0].strip() in SHOWN_KEYS
    ]
    return "".join([*lines[: start + 1], *kept, *lines[end:]])


def remove_remote(path: Path, name: str) -> Path | None:
    """Remove remote NAME from the rclone.conf at PATH (atomically, with a backup).

    The backup keeps the removed section's address and user name but not its password or
    tokens: the person asked for the remote to go, so no hidden copy of its secret stays.
    """
    with _editing(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        refuse_encrypted(path, "rcwiz cannot edit it", text)
        refuse_duplicated(path, text)
        new = without_section(text, name)
        return write_atomic(path, new, backup_text=without_secrets(text, name))


def add_remote(
    path: Path, name: str, settings: dict[str, str], *, replace: bool = False
) -> Path | None:
    """Add (or with `replace`, swap) remote NAME in the rclone.conf at PATH.

    SETTINGS must already hold obscured secrets. Only that section changes; the file is
    written atomically at mode 0600 with a backup of the previous one, which is returned.
    """
    if not REMOTE_NAME.fullmatch(name):
        raise errors.UsageError(
            f"'{name}' is not a valid remote name.", REMOTE_NAME_RULE.capitalize() + "."
        )
    with _editing(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        refuse_encrypted(path, "rcwiz cannot add a section to it directly", text)
        refuse_duplicated(path, text)
        return write_atomic(path, with_section(text, name, settings, replace=replace))
