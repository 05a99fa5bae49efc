"""The setup conversation as data (copier's way): preset, remote name, server or URL, vendor,
how to sign in, user, password. Each question has its flag, so a person at a terminal and a
script on a login node answer the same questions; rcwiz.actions.setup asks them."""

from __future__ import annotations

from rcwiz import errors
from rcwiz.nextcloud.urls import nextcloud_server
from rcwiz.presets import Preset
from rcwiz.rclone.config_edit import check_remote_name
from rcwiz.ui.wizard import Answers, Question

APP_PASSWORD_HINT = (
    "For Nextcloud an app password is best: in the web page, Settings > Security > "
    "'Create new app password'. It can be revoked later without changing your main password."
)


def webdav_url(text: str) -> str:
    from urllib.parse import urlsplit

    raw = text.strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.Invalid(f"'{raw}' is not a URL like https://dav.example.org/path/.")
    return raw


def _remote_name(value: str, answers: Answers) -> str:
    name = value.strip()
    check_remote_name(name)
    return name


def _user(value: str, answers: Answers) -> str:
    user = value.strip()
    if not user or any(c in user for c in "/\n\r"):
        raise errors.Invalid("The user name is empty or contains '/'.")
    return user


def _password(value: str, answers: Answers) -> str:
    if not value:
        raise errors.Invalid("The password is empty.")
    return value


def free_name(wanted: str, taken: set[str]) -> str:
    """WANTED, or WANTED2, WANTED3...: the first that no remote has (the name offered)."""
    return next(n for n in (wanted, *(f"{wanted}{i}" for i in range(2, 1000))) if n not in taken)


def questions(
    presets: dict[str, Preset],
    notes: list[str],
    guessed: set[str] | None = None,
    taken: frozenset[str] = frozenset(),
) -> list[Question]:
    """The setup conversation as data. NOTES collects one-line explanations of corrections;
    GUESSED the server addresses whose https:// rcwiz added (http:// is tried next); TAKEN
    the remote names in use (the name offered is a free one)."""

    def preset(answers: Answers) -> Preset:
        return presets[answers["preset"]]

    def server(value: str, answers: Answers) -> str:
        corrected = nextcloud_server(value)
        if corrected.note:
            notes.append(corrected.note)
        if corrected.guessed_https and guessed is not None:
            guessed.add(corrected.value)
        return corrected.value

    def typed(answers: Answers) -> bool:
        return answers.get("signin") != "login-flow"

    def app_password_hint(answers: Answers) -> str | None:
        return APP_PASSWORD_HINT if preset(answers).kind == "nextcloud" else None

    return [
        Question(
            "preset",
            "--preset",
            "Which service?",
            kind="select",
            choices=lambda a: [(p.name, p.title) for p in presets.values()],
        ),
        Question(
            "name",
            "--name",
            "Name of the remote",
            default=lambda a: free_name(preset(a).remote_name, set(taken)),
            check=_remote_name,
        ),
        Question(
            "server",
            "--server",
            "Nextcloud server address (e.g. https://cloud.example.org)",
            check=server,
            when=lambda a: preset(a).kind == "nextcloud" and not preset(a).server,
        ),
        Question(
            "url",
            "--url",
            "WebDAV URL",
            check=lambda v, a: webdav_url(v),
            when=lambda a: preset(a).kind == "webdav",
        ),
        Question(
            "vendor",
            "--vendor",
            "Server software (rclone's vendor)",
            kind="select",
            choices=lambda a: [(v, v) for v in preset(a).vendors or (preset(a).vendor,)],
            default=lambda a: preset(a).vendor,
            when=lambda a: preset(a).kind == "webdav",
        ),
        Question(
            "signin",
            "--login-flow",
            "How do you want to sign in?",
            kind="select",
            choices=lambda a: [
                ("login-flow", "In a browser (login flow; recommended)"),
                ("password", "Type a password or app password"),
            ],
            default=lambda a: "login-flow",
            when=lambda a: preset(a).kind == "nextcloud",
        ),
        Question("user", "--user", "User name", check=_user, when=typed),
        Question(
            "password",
            "--password-stdin",
            "Password or app password",
            kind="password",
            when=typed,
            check=_password,
            instruction=app_password_hint,
        ),
    ]
