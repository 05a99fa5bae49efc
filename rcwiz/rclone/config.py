"""`rclone listremotes`, `config dump`, `config file`: the remotes, without their secrets.

rclone.conf is read in-process by rclone's own rules (rcwiz.rclone.conf_read: no rclone
start, ~70 ms each, before a copy); a file that reader leaves to rclone (encrypted, unlocked
by RCLONE_CONFIG_PASS; one rclone would refuse) is read through rclone itself, as it always
was. Remotes defined in the environment (RCLONE_CONFIG_NAME_TYPE=...) are listed either way.
Writing is rcwiz.rclone.config_edit's. Also rclone's rule for which paths name a remote
(`is_remote`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import NamedTuple

from rcwiz import errors
from rcwiz.rclone import conf_read
from rcwiz.rclone.run import Pending, Rclone, Result

# Only these keys of a remote ever leave this module: everything else (pass, token,
# bearer_token, client_secret, ...) may be a secret and is dropped on read.
SHOWN_KEYS = ("type", "vendor", "url", "user", "description")


class Remote(NamedTuple):
    name: str
    type: str
    vendor: str = ""
    url: str = ""
    user: str = ""
    source: str = "file"  # "file" or "environment", as rclone reports it
    description: str = ""

    def as_dict(self) -> dict[str, str]:
        return self._asdict()


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


def read_here(rclone: Rclone) -> tuple[conf_read.ConfFile, dict[str, str]] | None:
    """rclone.conf as RCLONE would read it, with the environment it would see; None when the
    file is for rclone to read (conf_read.Unreadable: encrypted, refused, unreadable)."""
    environ = {**os.environ, **rclone.env}
    try:
        conf = conf_read.load(rclone.config_file())
        conf_read.dump(conf, environ)  # every value expands (a loop is rclone's to report)
    except (conf_read.Unreadable, RecursionError):
        return None
    return conf, environ


def _from_dump(sections: dict[str, dict[str, str]]) -> Configured:
    return Configured([_shown(name, s) for name, s in sections.items()], sections)


def begin_configured(rclone: Rclone) -> Pending[Configured]:
    """The remotes in rclone.conf (what `config dump` says), read now in-process, or by
    `config dump` started now and read later."""
    here = read_here(rclone)
    if here is not None:
        return Pending.ready(_from_dump(conf_read.dump(*here)))
    return rclone.begin(["config", "dump"]).then(lambda result: _from_dump(_dump(result)))


def _listed_and_dumped(rclone: Rclone) -> tuple[object, dict[str, dict[str, str]]]:
    """`listremotes --json` and `config dump` as rclone prints them (in-process when it can)."""
    here = read_here(rclone)
    if here is not None:
        return conf_read.listed(*here), conf_read.dump(*here)
    listed = rclone.run(["listremotes", "--json"]).json("listremotes")
    return listed, _dump(rclone.run(["config", "dump"]))


def read_configured(rclone: Rclone) -> Configured:
    """Every configured remote, those defined in the environment included, in rclone's order."""
    listed, sections = _listed_and_dumped(rclone)
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
    return begin_configured(rclone).result().settings(name)


def config_path(rclone: Rclone) -> str:
    """The rclone.conf rclone uses (it may not exist yet), found by rclone's rule without
    running it (Rclone.config_file)."""
    return str(rclone.config_file())


def is_remote(path: str) -> bool:
    """rclone's rule: `name:path` (or `:backend:`) is remote when the colon comes before a slash.

    (Single letters count: `C:` is a drive only on Windows, which rcwiz does not target.)
    """
    head, colon, _ = path.partition(":")
    return bool(colon) and "/" not in head


def is_download(source: str, dest: str) -> bool:
    """A transfer from a remote into a local path: its files are fetched, not sent."""
    return is_remote(source) and not is_remote(dest)


def only_remote(*paths: str) -> str | None:
    """The one remote PATHS name (its name, without the colon); None when they name none, or
    more than one."""
    names = {remote_name(path) for path in paths if is_remote(path)}
    return names.pop() if len(names) == 1 else None


def remote_name(path: str) -> str:
    return path.partition(":")[0]
