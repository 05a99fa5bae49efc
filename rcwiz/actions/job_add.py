"""What `rcwiz job add` does beyond its arguments: its questions, the template settings kept,
local paths made absolute and the remotes checked before anything is written."""

from __future__ import annotations

import difflib
import os
from typing import TYPE_CHECKING, Any

from rcwiz import errors
from rcwiz.jobs import schema
from rcwiz.jobs.model import MODES
from rcwiz.jobs.templates import placeholders, settings_of
from rcwiz.rclone.config import is_remote, list_remotes, remote_name
from rcwiz.ui.wizard import Answers, Question, Wizard

if TYPE_CHECKING:
    from rcwiz.context import Context


def _profile_name(value: str, answers: Answers) -> str:
    name = value.strip()
    if not schema.valid_name(name):
        raise errors.Invalid(f"'{value}' cannot be a job name: a name {schema.NAME_RULE}.")
    return name


def _path_answer(value: str, answers: Answers) -> str:
    if not value.strip():
        raise errors.Invalid("The path is empty.")
    return value.strip()


NO_TEMPLATE = "none"


def add_questions(found: dict[str, dict[str, Any]], inherited_mode: str = "copy") -> list[Question]:
    """The questions of `job add`; INHERITED_MODE is what a profile gets without a mode: key
    (the jobs file's defaults:, else copy)."""

    def described(name: str, profile: dict[str, Any]) -> str:
        mode, source = profile.get("mode", "copy"), profile.get("source", "")
        return f"{name}: {mode} {source} -> {profile.get('dest', '')}"

    def template_mode(answers: Answers) -> str:
        return str(found.get(answers["template"], {}).get("mode", inherited_mode))

    return [
        Question("name", "NAME", "Name of the job", check=_profile_name),
        Question(
            "template",
            "--template",
            "Start from a template? (its settings are shown before any is kept)",
            kind="select",
            choices=lambda a: [
                (NO_TEMPLATE, "no: a plain profile"),
                *((k, described(k, v)) for k, v in found.items()),
            ],
            default=lambda a: NO_TEMPLATE,
        ),
        Question("source", "--source", "Copy from (local path or REMOTE:path)", check=_path_answer),
        Question("dest", "--dest", "Copy to (local path or REMOTE:path)", check=_path_answer),
        Question(
            "mode",
            "--mode",
            "Mode",
            kind="select",
            choices=lambda a: [(m, m) for m in MODES],
            default=template_mode,
        ),
    ]


def kept_settings(
    ctx: Context, wizard: Wizard, name: str, body: dict[str, Any], given: dict[str, Any]
) -> dict[str, Any]:
    """The settings of template NAME its user keeps: each is shown, and confirmed on a
    terminal (or all kept with --yes); a flag given for the same key wins."""
    settings = [s for s in settings_of(body) if s.key not in given]
    if not settings:
        return {}
    out = ctx.console.err if ctx.console.json else ctx.console.out
    out.print(f"The template {name} brings these settings:", markup=False)
    for setting in settings:
        marks = "  (rclone sends fewer files with it)" if setting.drops_files else ""
        if setting.placeholder:
            marks += f"  (replace {setting.placeholder}: it cannot work as it is)"
        out.print(f"  {setting.shown}{marks}", markup=False)
    if wizard.interactive:
        return {
            s.key: s.value
            for s in settings
            if wizard.confirm(f"Keep {s.shown}?", default=not (s.drops_files or s.placeholder))
        }
    if not wizard.assume_yes:
        # Nothing is added: a script that asked for a template and got a profile without its
        # settings would run something else than it asked for.
        raise errors.UsageError(
            f"The template {name} brings {len(settings)} setting(s) and there is no terminal to "
            "confirm them, so no job was added.",
            "Add --yes to keep them all (they are listed above), or give your own value for "
            "each with its flag (a flag wins over the template).",
            items=[s.shown for s in settings],
        )
    placeholders(name, settings)
    return {s.key: s.value for s in settings}


def absolute(value: str) -> str:
    """A local path made absolute (~ expanded), so the job finds it from any folder (a
    schedule runs it from another one); a remote path as it is."""
    return value if is_remote(value) else os.path.abspath(os.path.expanduser(value))


def check_remotes(ctx: Context, name: str, route: dict[str, str]) -> None:
    """Refuse a source or dest on a remote rclone.conf does not have (exit 3): the jobs file
    would name it, and `job validate` fail for the whole file."""
    named = {
        key: remote_name(value)
        for key, value in route.items()
        if is_remote(value) and not value.startswith(":")  # :webdav: is made on the fly
    }
    if not named:
        return
    known = sorted(remote.name for remote in list_remotes(ctx.rclone))
    for key, remote in named.items():
        if remote in known:
            continue
        close = difflib.get_close_matches(remote, known, n=1)
        maybe = f" (did you mean '{close[0]}:'?)" if close else ""
        configured = (
            f"The configured remotes are {', '.join(f'{r}:' for r in known)}."
            if known
            else "No remote is configured yet."
        )
        raise errors.RemoteNotFound(
            f"There is no remote '{remote}:' in rclone.conf{maybe}, so job '{name}' was not "
            f"added (its {key} is {route[key]}).",
            f"{configured} Create it first with 'rcwiz setup --name {remote}', or choose one "
            "of those.",
        )
