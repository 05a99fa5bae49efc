"""rclone.conf as rcwiz sees it: the remotes, without their secrets.

Reading goes through rclone itself (`listremotes --json`, `config dump`), so an encrypted
rclone.conf works whenever RCLONE_CONFIG_PASS unlocks it, and remotes defined in the
environment (RCLONE_CONFIG_NAME_TYPE=...) are listed too.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from rcwiz import errors
from rcwiz.files import locked, write_atomic
from rcwiz.rclone.execute import Pending, Rclone, Result

# Only these keys of a remote ever leave this module: everything else (pass, token,
# bearer_token, client_secret, ...) may be a secret and is dropped on read.
SHOWN_KEYS = ("type", "vendor", "url", "user", "description")


@dataclass(frozen=True)
class Remote:
    name: str
    type: str
    vendor: str = ""
    url: str = ""
    user: str = ""
    source: str = "file"  # "file" or "environment", as rclone reports it
    description: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _json(text: str, what: str) -> object:
    try:
        return json.loads(text or "null")
    except ValueError as exc:
        raise errors.RcloneFailed(f"rclone's {what} output was not JSON.", detail=text) from exc


def _shown(name: str, settings: object, source: str = "file") -> Remote:
    values = settings if isinstance(settings, dict) else {}
    return Remote(name=name, source=source,
                  **{key: str(values.get(key, "")) for key in SHOWN_KEYS})  # fmt: skip


def file_remotes(rclone: Rclone) -> list[Remote]:
    """The remotes in rclone.conf (not those defined in the environment): one rclone call."""
    return begin_file_remotes(rclone).result()


def begin_file_remotes(rclone: Rclone) -> Pending[list[Remote]]:
    """file_remotes, started now and read later (while other rclone runs start)."""

    def remotes(result: Result) -> list[Remote]:
        dumped = _json(result.stdout, "config dump")
        sections = dumped if isinstance(dumped, dict) else {}
        return [_shown(str(name), settings) for name, settings in sections.items()]

    return rclone.begin(["config", "dump"]).then(remotes)


def list_remotes(rclone: Rclone) -> list[Remote]:
    """Return every configured remote with its non-secret settings, in rclone's order."""
    listed = _json(rclone.run(["listremotes", "--json"]).stdout, "listremotes")
    dumped = _json(rclone.run(["config", "dump"]).stdout, "config dump")
    sections = dumped if isinstance(dumped, dict) else {}
    remotes = []
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        name = str(entry["name"])
        # Remotes defined in the environment are not in the dump: take what listremotes says.
        settings = sections.get(name) or {k: entry.get(k, "") for k in ("type", "description")}
        remotes.append(_shown(name, settings, str(entry.get("source", "file"))))
    return remotes


def section(rclone: Rclone, name: str) -> dict[str, str]:
    """Every setting of remote NAME as rclone.conf holds it (secrets obscured: keep it inside).

    For code that must use a secret (rcwiz.nextcloud.account); anything shown to people goes
    through list_remotes, which drops secrets.
    """
    dumped = _json(rclone.run(["config", "dump"]).stdout, "config dump")
    settings = dumped.get(name) if isinstance(dumped, dict) else None
    if not isinstance(settings, dict):
        raise errors.RemoteNotFound(f"There is no remote named '{name}:' in rclone.conf.")
    return {str(k): str(v) for k, v in settings.items()}


def config_path(rclone: Rclone) -> str:
    """The rclone.conf rclone uses (it may not exist yet)."""
    if rclone.config is not None:
        return str(rclone.config)
    out = rclone.run(["config", "file"]).stdout.strip().splitlines()
    return out[-1].strip() if out else ""


# ---------------------------------------------------------------------------------------------
# Writing: one section at a time, atomically, never touching anybody else's remote.

ENCRYPTED_MARKER = "RCLONE_ENCRYPT_V0:"


def obscure(rclone: Rclone, secret: str) -> str:
    """Return SECRET obscured the way rclone stores passwords (read from stdin, never argv)."""
    if not secret:
        raise errors.UsageError("The password is empty.")
    return rclone.run(["obscure", "-"], input=secret, secrets=[secret]).stdout.strip()


def _section_bounds(lines: list[str], name: str) -> tuple[int, int] | None:
    """Index range [start, end) of section NAME in LINES (header to before the next header)."""
    start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if start is not None:
                return start, i
            if stripped[1:-1].strip() == name:
                start = i
    return (start, len(lines)) if start is not None else None


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
        raise errors.RemoteNotFound(f"There is no remote named '{name}:' in rclone.conf.")
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


def remove_remote(path: Path, name: str) -> Path | None:
    """Remove remote NAME from the rclone.conf at PATH (atomically, with a backup)."""
    with _editing(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if ENCRYPTED_MARKER in text:
            raise errors.ConfigError(
                f"rclone.conf at {path} is encrypted; rcwiz cannot edit it.",
                "Remove the remote with 'rclone config delete NAME'.",
            )
        return write_atomic(path, without_section(text, name))


def add_remote(
    path: Path, name: str, settings: dict[str, str], *, replace: bool = False
) -> Path | None:
    """Add (or with `replace`, swap) remote NAME in the rclone.conf at PATH.

    SETTINGS must already hold obscured secrets. Only that section changes; the file is
    written atomically at mode 0600 with a backup of the previous one, which is returned.
    """
    if not re.fullmatch(r"[\w.+@ -]+", name) or name != name.strip():
        raise errors.UsageError(
            f"'{name}' is not a valid remote name.",
            "Use letters, digits, '_', '-', '.', '+', '@' and spaces.",
        )
    with _editing(path):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        if ENCRYPTED_MARKER in text:
            raise errors.ConfigError(
                f"rclone.conf at {path} is encrypted; rcwiz cannot add a section to it directly.",
                "Decrypt it with 'rclone config encryption remove', or add the remote with "
                "'rclone config'.",
            )
        return write_atomic(path, with_section(text, name, settings, replace=replace))
