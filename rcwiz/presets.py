"""Site presets: YAML files in templates/presets/, validated when loaded.

A preset says what kind of server a site runs and what rcwiz knows about it (fixed quota,
backup policy, advice for large datasets). Adding a site means adding a file.

Keys:
  name          the preset's id (must equal the file name without .yaml)
  title         shown in the setup menu
  kind          "nextcloud" (URL built from server and user) or "webdav" (URL asked)
  server        https://host[/path] of a Nextcloud; asked when absent (kind nextcloud)
  vendor        rclone's webdav vendor to write
  vendors       the vendors offered (kind webdav)
  remote_name   the default name of the remote
  quota_bytes, backup, docs, large_data.threshold_bytes, large_data.advice: optional context
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rcwiz import errors, paths

KINDS = ("nextcloud", "webdav")
WEBDAV_VENDORS = ("other", "owncloud", "sharepoint", "sharepoint-ntlm", "rclone", "nextcloud")
_KEYS = {
    "name": str,
    "title": str,
    "kind": str,
    "server": str,
    "vendor": str,
    "vendors": list,
    "remote_name": str,
    "quota_bytes": int,
    "backup": str,
    "docs": str,
    "large_data": dict,
}
_REQUIRED = ("name", "title", "kind", "vendor", "remote_name")
# The menu lists presets in this order; others follow alphabetically.
ORDER = ("alliance", "nextcloud", "webdav")


class Preset(NamedTuple):
    name: str
    title: str
    kind: str
    vendor: str
    remote_name: str
    server: str | None = None
    vendors: tuple[str, ...] = ()
    quota_bytes: int | None = None
    backup: str | None = None
    docs: str | None = None
    large_data_bytes: int | None = None
    large_data_advice: str | None = None

    def notes(self) -> list[str]:
        """What a user of this site should know, one line each."""
        lines = []
        if self.quota_bytes:
            # Nextcloud's "100 GB" quota is 100 * 2**30 bytes: it counts in binary units.
            lines.append(f"Quota: a fixed {self.quota_bytes / 2**30:.0f} GB per user.")
        if self.backup:
            lines.append(f"Backups: {self.backup}.")
        if self.large_data_advice:
            lines.append(self.large_data_advice)
        if self.docs:
            lines.append(f"Documentation: {self.docs}")
        return lines

    def serves(self, url: str) -> bool:
        """True when URL points at this preset's fixed server."""
        if not self.server:
            return False
        mine, theirs = urlsplit(self.server), urlsplit(url)
        return (mine.scheme, mine.netloc.lower()) == (theirs.scheme, theirs.netloc.lower())


def _problems(data: Any, stem: str) -> list[str]:
    if not isinstance(data, dict):
        return ["the file must hold a mapping of keys"]
    found = []
    for key in _REQUIRED:
        if key not in data:
            found.append(f"'{key}' is missing")
    for key, value in data.items():
        expected = _KEYS.get(key)
        if expected is None:
            found.append(f"unknown key '{key}'")
        elif not isinstance(value, expected) or isinstance(value, bool):
            found.append(f"'{key}' must be a {expected.__name__}")
    if data.get("name") not in (None, stem):
        found.append(f"'name' must be '{stem}', the file's name")
    if "kind" in data and data["kind"] not in KINDS:
        found.append(f"'kind' must be one of {', '.join(KINDS)}")
    vendors = data.get("vendors") or []
    for vendor in [data.get("vendor"), *vendors] if isinstance(vendors, list) else []:
        if vendor is not None and vendor not in WEBDAV_VENDORS:
            found.append(f"vendor '{vendor}' is not one rclone knows")
    server = data.get("server")
    if isinstance(server, str) and urlsplit(server).scheme not in ("http", "https"):
        found.append("'server' must start with https:// (or http://)")
    large = data.get("large_data")
    if isinstance(large, dict) and set(large) - {"threshold_bytes", "advice"}:
        found.append("'large_data' takes only threshold_bytes and advice")
    return found


def load_file(path: Path) -> Preset:
    """Read and validate one preset file; every problem is reported at once."""
    import yaml  # only when a preset is read: ~15 ms of start-up

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise errors.UsageError(f"The preset {path} cannot be read: {exc}") from exc
    problems = _problems(data, path.stem)
    if problems:
        raise errors.UsageError(
            f"The preset {path} is invalid: {'; '.join(problems)}.",
            "Fix the file; see the keys documented in rcwiz/presets.py.",
        )
    large = data.get("large_data") or {}
    return Preset(
        name=data["name"],
        title=data["title"],
        kind=data["kind"],
        vendor=data["vendor"],
        remote_name=data["remote_name"],
        server=(data.get("server") or "").rstrip("/") or None,
        vendors=tuple(data.get("vendors") or ()),
        quota_bytes=data.get("quota_bytes"),
        backup=data.get("backup"),
        docs=data.get("docs"),
        large_data_bytes=large.get("threshold_bytes"),
        large_data_advice=large.get("advice"),
    )


def load_all(folder: Path | None = None) -> dict[str, Preset]:
    """Every preset in templates/presets (or FOLDER), in menu order."""
    folder = folder or paths.templates_dir() / "presets"
    presets = {p.name: p for p in map(load_file, sorted(folder.glob("*.yaml")))}
    rank = {name: i for i, name in enumerate(ORDER)}
    return dict(sorted(presets.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))


def for_url(url: str, presets: dict[str, Preset] | None = None) -> Preset | None:
    """The preset whose fixed server URL serves, if any (for quota and transfer context)."""
    if presets is None:
        host = urlsplit(url).netloc.lower()
        folder = paths.templates_dir() / "presets"
        # Every copy asks, and YAML costs ~20 ms to import and parse: only files that name
        # the host at all are read as YAML (a server spelled with YAML escapes is missed).
        files = [p for p in sorted(folder.glob("*.yaml")) if host and host in _lower_text(p)]
        presets = {p.name: p for p in map(load_file, files)}
    for preset in presets.values():
        if preset.serves(url):
            return preset
    return None


def _lower_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").lower()
    except (OSError, UnicodeDecodeError):
        return ""
