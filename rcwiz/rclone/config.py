"""`rclone listremotes`, `config dump`, `config file`: the remotes, without their secrets.

Reading goes through rclone itself, so an encrypted rclone.conf works whenever
RCLONE_CONFIG_PASS unlocks it, and remotes defined in the environment
(RCLONE_CONFIG_NAME_TYPE=...) are listed too. Writing is rcwiz.rclone.config_edit's.
Also rclone's rule for which paths name a remote (`is_remote`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rcwiz import errors
from rcwiz.rclone.run import Pending, Rclone, Result

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


def _shown(name: str, settings: object, source: str = "file") -> Remote:
    values = settings if isinstance(settings, dict) else {}
    return Remote(name=name, source=source, **{key: str(values.get(key, "")) for key in SHOWN_KEYS})


@dataclass(frozen=True)
class Configured:
    """The remotes as one `config dump` found them: views without secrets for everyone, and
    each remote's settings (secrets obscured) for the code that must use them
    (rcwiz.nextcloud.account), so that code needs no second rclone run."""

    remotes: list[Remote]
    _settings: dict[str, dict[str, str]] = field(repr=False)

    def remote(self, name: str) -> Remote | None:
        return next((r for r in self.remotes if r.name == name), None)

    def settings(self, name: str) -> dict[str, str]:
        found = self._settings.get(name)
        if found is None:
            raise errors.no_remote(name)
        return found


def _dump(result: Result) -> dict[str, dict[str, str]]:
    dumped = result.json("config dump")
    sections = dumped if isinstance(dumped, dict) else {}
    return {
        str(name): {str(k): str(v) for k, v in values.items()}
        for name, values in sections.items()
        if isinstance(values, dict)
    }


def begin_configured(rclone: Rclone) -> Pending[Configured]:
    """The remotes in rclone.conf (one `config dump`), started now and read later."""

    def configured(result: Result) -> Configured:
        sections = _dump(result)
        return Configured([_shown(name, s) for name, s in sections.items()], sections)

    return rclone.begin(["config", "dump"]).then(configured)


def read_configured(rclone: Rclone) -> Configured:
    """Every configured remote, those defined in the environment included, in rclone's order."""
    listed = rclone.run(["listremotes", "--json"]).json("listremotes")
    sections = _dump(rclone.run(["config", "dump"]))
    remotes = []
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        name = str(entry["name"])
        # Remotes defined in the environment are not in the dump: take what listremotes says.
        settings = sections.get(name) or {k: entry.get(k, "") for k in ("type", "description")}
        remotes.append(_shown(name, settings, str(entry.get("source", "file"))))
    return Configured(remotes, sections)


def list_remotes(rclone: Rclone) -> list[Remote]:
    """Return every configured remote with its non-secret settings, in rclone's order."""
    return read_configured(rclone).remotes


def section(rclone: Rclone, name: str) -> dict[str, str]:
    """Every setting of remote NAME as rclone.conf holds it (secrets obscured: keep it inside).

    For code that must use a secret (rcwiz.nextcloud.account); anything shown to people goes
    through list_remotes, which drops secrets.
    """
    dumped = rclone.run(["config", "dump"]).json("config dump")
    settings = dumped.get(name) if isinstance(dumped, dict) else None
    if not isinstance(settings, dict):
        raise errors.no_remote(name)
    return {str(k): str(v) for k, v in settings.items()}


def config_path(rclone: Rclone) -> str:
    """The rclone.conf rclone uses (it may not exist yet)."""
    if rclone.config is not None:
        return str(rclone.config)
    out = rclone.run(["config", "file"]).stdout.strip().splitlines()
    return out[-1].strip() if out else ""


def is_remote(path: str) -> bool:
    """rclone's rule: `name:path` (or `:backend:`) is remote when the colon comes before a slash.

    (Single letters count: `C:` is a drive only on Windows, which rcwiz does not target.)
    """
    head, colon, _ = path.partition(":")
    return bool(colon) and "/" not in head


def remote_name(path: str) -> str:
    return path.partition(":")[0]
