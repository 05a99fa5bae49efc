"""The jobs file, validated in one place: every problem at once, each with its line and key path.

A jobs file is YAML:

    version: 1                 # optional
    defaults:                  # optional; every profile inherits these, its own value wins
      dest: nextcloud:results
    jobs:                      # required; profile name -> profile
      nightly:
        source: /scratch/me/results
        mode: copy

Lists are not merged: a profile's `include:` replaces the default's. The keys a profile takes
are KEYS; rcwiz.jobs.model.Job is what a valid profile becomes.

The values come from rcwiz.jobs.located, so every value keeps the line and column it came
from. Whatever the input, parse and load raise only JobsFileInvalid.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rcwiz import errors
from rcwiz.errors import JobsFileInvalid as JobsFileInvalid  # raised by parse and load
from rcwiz.jobs.located import (
    MAX_BRACKETS,
    Abort,
    Document,
    KeyPath,
    Problem,
    Unreadable,
    bracket_depth,
    shown,
    yaml_problem,
)
from rcwiz.jobs.model import DELETING_MODES, Job
from rcwiz.jobs.values import CHECKS, KEYS, Bad, did_you_mean, expected
from rcwiz.rclone.config import is_remote, remote_name

TOP_KEYS = ("version", "defaults", "jobs")
VERSION = 1
# Profile names become lock files, log files and systemd units (rcwiz-job-NAME.timer):
# ASCII only, starting with a letter or digit so a name is never hidden (.x) or an option (-x).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 64
NAME_RULE = (
    "must start with a letter or digit and hold only letters, digits, '_', '-' and '.' "
    f"(at most {MAX_NAME_LENGTH})"
)


def valid_name(name: str) -> bool:
    """NAME can name a profile (the one rule for the jobs file and `job add`)."""
    return bool(NAME_PATTERN.fullmatch(name)) and len(name) <= MAX_NAME_LENGTH


def _invalid(filename: str, problems: list[Problem]) -> errors.JobsFileInvalid:
    return errors.JobsFileInvalid(filename, list(problems), KEYS)


_REQUIRED = {
    "source": "where the files come from, a local path or remote:path",
    "dest": "where the files go, a local path or remote:path",
}


# ----------------------------------------------------------------------------- validation


@dataclass
class _Checked:
    """One mapping of profile keys after checking: good values, and every key it gave."""

    values: dict[str, Any]
    given: set[str]


def _check_keys(doc: Document, mapping: dict[str, Any], path: KeyPath) -> _Checked:
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        key_path = (*path, key)
        check = CHECKS.get(key)
        if check is None:
            doc.at_key(key_path, f"unknown key {shown(key)}{did_you_mean(key, KEYS)}")
            continue
        try:
            values[key] = check(value)
        except Bad as bad:
            for suffix, message in bad.each:
                doc.add((*key_path, *suffix), message)
    return _Checked(values, {key for key in mapping if key in CHECKS})


@dataclass
class _Remotes:
    """The remote names rclone.conf has (None: not checked), and the places already reported."""

    names: set[str] | None
    reported: set[KeyPath] = field(default_factory=set)

    def check(self, doc: Document, resolved: dict[str, Any], own: _Checked, path: KeyPath) -> None:
        """A source or dest that names a remote rclone.conf does not have is a problem."""
        if self.names is None:
            return
        for key in ("source", "dest"):
            value = resolved.get(key)
            if not isinstance(value, str) or not is_remote(value) or value.startswith(":"):
                continue  # a local path, or an on-the-fly remote (:webdav:)
            name = remote_name(value)
            at = (*path, key) if key in own.given else ("defaults", key)
            if name in self.names or at in self.reported:
                continue
            self.reported.add(at)
            known = ", ".join(f"{n}:" for n in sorted(self.names)) or "none"
            doc.add(
                at,
                f"there is no remote '{name}:' in rclone.conf"
                f"{did_you_mean(name, tuple(self.names))} (remotes: {known})",
            )


def _profile(
    doc: Document, name: str, raw: Any, defaults: _Checked, remotes: _Remotes
) -> Job | None:
    path = ("jobs", name)
    reported = len(doc.problems)
    if not valid_name(name):
        doc.at_key(path, f"the name {shown(name)} {NAME_RULE}: it names files and systemd units")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        if not isinstance(raw, Unreadable):
            doc.add(path, expected("a mapping of keys such as source: and dest:", raw))
        return None
    own = _check_keys(doc, raw, path)
    given = own.given | defaults.given
    resolved = {**defaults.values, **own.values}
    for key, meaning in _REQUIRED.items():
        if key not in given:
            doc.at_key(path, f"'{key}' is missing: {meaning}")
    mode = resolved.get("mode", "copy")
    if mode in DELETING_MODES and not resolved.get("allow_deletes", False):
        where = "the destination" if mode == "sync" else "the source"
        inherited = "mode" not in own.given
        doc.add(
            (*path, "mode"),
            f"mode {mode}{' (from defaults)' if inherited else ''} deletes files at {where}; "
            "add 'allow_deletes: true' to this profile or to defaults to confirm",
            doc.key_marks.get(path) if inherited else None,
        )
        return None
    remotes.check(doc, resolved, own, path)
    # A value read as invalid (an unknown tag, a bad date) was reported while building.
    if len(doc.problems) > reported or given - resolved.keys():
        return None
    _warnings(doc, resolved, own, path)
    return Job(name=name, **resolved)


def _warnings(doc: Document, resolved: dict[str, Any], own: _Checked, path: KeyPath) -> None:
    """What runs but is likely not meant: a relative local path (a schedule runs the job from
    another folder, where it is not found), include: with exclude: (rclone applies the two
    in no fixed order, and says so in its log only)."""

    def where(key: str) -> KeyPath:
        return (*path, key) if key in own.given else ("defaults", key)

    for key in ("source", "dest"):
        value = resolved[key]
        if not is_remote(value) and not os.path.isabs(os.path.expanduser(value)):
            doc.warn(
                where(key),
                f"{shown(value)} is a relative path: it is found only when the job runs from "
                f"the folder it is relative to (never from a schedule); make it absolute",
            )
    if resolved.get("include") and resolved.get("exclude"):
        doc.warn(
            where("include"),
            "include and exclude together are applied by rclone in no fixed order; write them "
            "as filter rules ('+ PATTERN' keeps, '- PATTERN' skips) in the order they apply",
        )


_EMPTY = "the file is empty: it needs a 'jobs:' mapping"


def _top_level(doc: Document, data: Any, root: yaml.Node, remotes: _Remotes) -> dict[str, Job]:
    if data is None:  # only `---`, or `~`
        doc.add((), _EMPTY, root.start_mark)
        return {}
    if not isinstance(data, dict):
        if not isinstance(data, Unreadable):
            doc.add((), expected("a mapping with a 'jobs:' key", data), root.start_mark)
        return {}
    for key in data:
        if key in TOP_KEYS:
            continue
        hint = (
            f" ('{key}' belongs in a profile under jobs:, or under defaults:)"
            if key in KEYS
            else did_you_mean(key, TOP_KEYS)
        )
        doc.at_key((key,), f"unknown key {shown(key)}{hint}")
    version = data.get("version", VERSION)
    if not isinstance(version, Unreadable) and (type(version) is not int or version != VERSION):
        doc.add(("version",), expected(f"{VERSION} (the only version there is)", version))
    defaults = data.get("defaults")
    if defaults is None or isinstance(defaults, Unreadable):
        defaults = {}
    elif not isinstance(defaults, dict):
        doc.add(("defaults",), expected("a mapping of profile keys", defaults))
        defaults = {}
    checked_defaults = _check_keys(doc, defaults, ("defaults",))
    if "jobs" not in data:
        message = "'jobs:' is missing: the file must map profile names to profiles under it"
        doc.add((), message, root.start_mark)
        return {}
    jobs = data["jobs"]
    if jobs is None or isinstance(jobs, Unreadable):
        return {}
    if not isinstance(jobs, dict):
        doc.add(("jobs",), expected("a mapping of profile names to profiles", jobs))
        return {}
    found = {}
    for name, raw in jobs.items():
        job = _profile(doc, name, raw, checked_defaults, remotes)
        if job is not None:
            found[name] = job
    return found


def _read(
    text: str, filename: str, remotes: set[str] | None = None
) -> tuple[dict[str, Job], list[Problem], list[Problem]]:
    """The profiles, the problems and the warnings, each list in file order."""
    doc = Document(filename)
    if bracket_depth(text) > MAX_BRACKETS:
        message = f"brackets [ and {{ are nested more than {MAX_BRACKETS} deep"
        return {}, [Problem(filename, None, None, "", message)], []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return {}, [yaml_problem(filename, exc, text)], []
    except RecursionError:
        return {}, [Problem(filename, None, None, "", "the YAML is nested too deeply to read")], []
    # PyYAML is a third-party parser: whatever else it raises on hostile text is still a
    # problem with the file, never a crash of rcwiz.
    except Exception as exc:
        return {}, [Problem(filename, None, None, "", f"cannot be read as YAML: {exc}")], []
    if root is None:
        return {}, [Problem(filename, None, None, "", _EMPTY)], []
    try:
        data = doc.build(root, ())
        jobs = _top_level(doc, data, root, _Remotes(remotes))
    except Abort as abort:
        # The path can be thousands of aliases long: show where it starts.
        doc.add(abort.path[:3], abort.message, abort.mark)
        jobs = {}

    def in_order(found: list[Problem]) -> list[Problem]:
        return sorted(found, key=lambda p: (p.line or 0, p.column or 0))

    # A warning about a key of defaults: once, not once per profile that inherits it.
    return jobs, in_order(doc.problems), in_order(list(dict.fromkeys(doc.warnings)))


# ----------------------------------------------------------------------------- public API


def problems_of(text: str, filename: str, remotes: set[str] | None = None) -> list[Problem]:
    """Every problem in TEXT (a jobs file called FILENAME in messages), in file order.

    With REMOTES (the names rclone.conf has), a source or dest naming any other remote is one.
    """
    return _read(text, filename, remotes)[1]


def warnings_of(text: str, filename: str) -> list[Problem]:
    """What in TEXT runs but is likely not meant (a relative path, include with exclude)."""
    return _read(text, filename)[2]


def parse(text: str, filename: str, remotes: set[str] | None = None) -> dict[str, Job]:
    """The profiles in TEXT by name, in file order; raises JobsFileInvalid with every problem."""
    jobs, problems, _ = _read(text, filename, remotes)
    if problems:
        raise _invalid(filename, problems)
    return jobs


def read(path: Path, filename: str | None = None) -> str | None:
    """The jobs file's text (None when it does not exist); unreadable or not UTF-8: invalid.
    FILENAME names it in problems (an edited draft is named as the file it will replace)."""
    filename = filename or str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _invalid(
            filename, [Problem(filename, None, None, "", f"cannot be read: {reason}")]
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        raise _invalid(filename, [Problem(filename, line, column, "", message)]) from None


def load(path: Path, remotes: set[str] | None = None) -> dict[str, Job]:
    """The profiles in the jobs file at PATH; a file that does not exist holds none."""
    text = read(path)
    return {} if text is None else parse(text, str(path), remotes)
