"""The one failure table: what rclone's log messages, exit codes and quoted HTTP statuses mean.

rclone exits 1 for a wrong password, a full quota and an unknown remote alike, so a failed run
is named from its JSON log first and its exit code last. Each rule below is tried in order;
the first that matches names the failure as a typed error (rcwiz.errors) with one sentence.
The captured runs in tests/data/rclone/ carry the class each must become
(tests/unit/rclone/test_classify.py).

What an HTTP status means is rcwiz.errors.for_http_status's to say; this module finds the
status in rclone's words ("507 Insufficient Storage") and never lets a server's page (HTML or
XML, with its tabs and newlines) into a message: `reason()` gives the short form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from rcwiz import errors

# rclone's words read for people and for their HTTP status (rcwiz.events), used here too
from rcwiz.events import reason as reason
from rcwiz.events import status_in as status_in
from rcwiz.events import statuses_in as statuses_in
from rcwiz.rclone.events import Event, FileDone, LogLine

# Exit codes rclone documents (rclone.org/docs/#exit-code).
RC_USAGE = 2
RC_DIR_NOT_FOUND = 3

TAIL_LINES = 40

# What rclone (Go's net/http) says when there is no answer -> the same in a few words.
UNREACHABLE = {
    "connection refused": "the connection was refused",
    "no such host": "no such host (check the address)",
    "network is unreachable": "the network is unreachable",
    "i/o timeout": "no answer in time",
    "context deadline exceeded": "no answer in time",
    "timeout awaiting response headers": "no answer in time",
    "connection reset": "the connection was reset",
    ": eof": "the connection dropped",  # mid-request
    "use of closed network connection": "the connection dropped",  # ... while writing to it
    "broken pipe": "the connection dropped",
    "dial tcp": "no connection could be made",
}
UNREACHABLE_MARKS = tuple(UNREACHABLE)
# What rclone says when the local disk fills: the write fails, or preallocation refuses first.
DISK_FULL_MARKS = ("no space left on device", "file too big for remaining disk space")
TLS_MARKS = ("x509:", "tls:", "certificate", "server gave http response to https client")
CERTIFICATE_MARKS = ("x509:", "certificate")
ABOUT_UNSUPPORTED = "doesn't support about"
_QUOTA_WORDS = ("insufficient storage", "insufficient space")


def is_quota(text: str | None) -> bool:
    """TEXT says the server is out of quota (507, or Nextcloud's words for it)."""
    lowered = (text or "").lower()
    return 507 in statuses_in(text) or any(word in lowered for word in _QUOTA_WORDS)


def is_disk_full(text: str | None) -> bool:
    lowered = (text or "").lower()
    return any(mark in lowered for mark in DISK_FULL_MARKS)


def refusal(name: str | None, text: str | None) -> errors.RcwizError | None:
    """The error a refused request means when TEXT (rclone's words for it) quotes the
    server's HTTP status: the server answered, and said no. None when it quotes none (no
    answer at all, or a local failure)."""
    status = status_in(text)
    if status is None:
        return None
    if status == 423:
        return errors.locked(name)
    what = f" ({name})" if name else ""
    return errors.Refused(f"The server refused the transfer{what}: {reason(text)}.")


def file_failure(error: str | None) -> errors.RcwizError | None:
    """The failure one file's error means for the whole run, when it means one (507, disk)."""
    if is_quota(error):
        return errors.QuotaExceeded("The server refused an upload with 507 Insufficient Storage.")
    if is_disk_full(error):
        return errors.DiskFull("The local disk is full.")
    return None


def message_of(event: Event) -> str:
    if isinstance(event, LogLine):
        return event.message
    if isinstance(event, FileDone):
        return event.message or event.error or ""
    return ""


def messages_of(events: Sequence[Event]) -> list[str]:
    return [m for m in map(message_of, events) if m]


class Where(NamedTuple):
    """What a run was about, to word the message: the target, and a transfer's two sides;
    how many files arrived before it failed, and the files the server said were not there."""

    target: str | None = None
    source: str | None = None
    dest: str | None = None
    arrived: int = 0  # files copied before it failed: the remote's URL is right
    gone: tuple[str, ...] = ()  # files whose own request the server answered 404

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(path for path in (self.target, self.source, self.dest) if path)

    def named(self) -> str:
        return f" ({self.target})" if self.target else ""


def _first(messages: Sequence[str], *needles: str) -> str | None:
    for message in messages:
        lowered = message.lower()
        if any(needle in lowered for needle in needles):
            return message
    return None


def _first_status(messages: Sequence[str], status: int) -> str | None:
    return next((m for m in messages if status in statuses_in(m)), None)


Rule = Callable[[int, list[str], Where], errors.RcwizError | None]


def _remote_missing(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    msg = _first(messages, "didn't find section in config file")
    if msg is None:
        return None
    name = re.search(r'\("([^"]*)"\)', msg)
    if name:
        return errors.no_remote(name[1])
    return errors.RemoteNotFound("There is no remote named that remote in rclone.conf.")


def _encrypted(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if not _first(messages, "unable to decrypt configuration", "couldn't decrypt configuration"):
        return None
    if _first(messages, "using rclone_config_pass env password"):
        return errors.ConfigError(
            "rclone.conf is encrypted and RCLONE_CONFIG_PASS does not unlock it.",
            "Check the configuration password in RCLONE_CONFIG_PASS.",
        )
    return errors.ConfigError(
        "rclone.conf is encrypted and no password was given to unlock it.",
        "Set RCLONE_CONFIG_PASS to the configuration password (rcwiz never prompts for it).",
    )


def _corrupt_config(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    msg = _first(messages, "failed to load config file", "couldn't parse config", "is a directory")
    if msg is None or "config" not in msg.lower():
        return None
    return errors.ConfigError(
        f"rclone.conf cannot be read: {reason(msg)}",
        "Check the file (or the path given with --config); when rcwiz last changed it, it kept "
        "the version before as rclone.conf.bak beside it.",
    )


def _about(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if _first(messages, ABOUT_UNSUPPORTED) is None:
        return None
    return errors.AboutUnsupported(f"This remote cannot report its free space{where.named()}.")


def _auth(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if _first_status(messages, 401) is None:
        return None
    from rcwiz.rclone.config import only_remote  # not at import: config imports run, run this

    refused = errors.AuthenticationFailed(
        f"The server refused the user name or password{where.named()}."
    )
    refused.name_remote(only_remote(*where.paths))
    return refused


def _quota(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if not any(is_quota(m) for m in messages):
        return None
    return errors.QuotaExceeded(
        f"The server is out of storage space: the quota is full{where.named()}."
    )


def _disk(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if not any(is_disk_full(m) for m in messages):
        return None
    return errors.DiskFull(f"The local disk is full{where.named()}.")


def _tls(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    msg = _first(messages, *TLS_MARKS)
    if msg is None:
        return None
    if any(mark in msg.lower() for mark in CERTIFICATE_MARKS):
        why = msg[msg.lower().rfind("x509:") :] if "x509:" in msg.lower() else reason(msg)
        return errors.CertificateFailed(
            f"The server's certificate cannot be trusted{where.named()}: {reason(why)}"
        )
    return errors.ServerUnreachable(
        f"The secure connection to the server failed{where.named()}: {reason(msg)}",
        "Check the server address; a certificate error means the address or the server's "
        "TLS set-up is wrong.",
    )


def _unreachable(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    msg = _first(messages, *UNREACHABLE_MARKS)
    if msg is None:
        return None
    cause = next(words for mark, words in UNREACHABLE.items() if mark in msg.lower())
    return errors.ServerUnreachable(f"The server could not be reached{where.named()}: {cause}.")


def _locked(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    msg = _first_status(messages, 423)
    return None if msg is None else errors.locked(where.target)


def _not_found_status(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if _first_status(messages, 404) is None:
        return None
    if where.arrived and where.gone:  # the URL is right: those files were not there
        return _files_gone(where.gone)
    return errors.DirectoryNotFound(
        f"The server answered 404 Not Found{where.named()}.",
        "Check the URL: for Nextcloud it ends in /remote.php/dav/files/USER/.",
    )


def _files_gone(names: tuple[str, ...]) -> errors.RcwizError:
    """Files the server answered 404 for while others arrived: not a wrong URL."""
    first = sorted(set(names))
    which = first[0] if len(first) == 1 else f"{len(first)} files, such as {first[0]},"
    return errors.DirectoryNotFound(
        f"The server answered 404 Not Found for {which} while the other files arrived: moved "
        "or deleted on the server during the copy, or a name the server refused.",
        "Run the same command again: finished files are skipped, and a file that is gone is "
        "no longer listed.",
    )


def _missing(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    if code != RC_DIR_NOT_FOUND and _first(messages, "directory not found") is None:
        return None
    # rclone says which side it could not read: "error reading source root directory".
    if _first(messages, "source root") and where.source:
        return errors.DirectoryNotFound(
            f"The source was not found: {where.source}.", "Check the path (and the remote's name)."
        )
    if _first(messages, "destination root") and where.dest:
        return errors.DirectoryNotFound(f"The destination was not found: {where.dest}.")
    return errors.DirectoryNotFound(f"The directory was not found{where.named()}.")


# rclone's words for options it cannot use, said before it does anything (it exits 1 for a bad
# filter rule or glob, 2 for a flag it does not know or a value it cannot parse).
_OPTIONS_REFUSED = "failed to initialise global options"
_USAGE_PREFIX = re.compile(rf"(?i)^(fatal error|{_OPTIONS_REFUSED}): ")


def _usage(code: int, messages: list[str], where: Where) -> errors.RcwizError | None:
    refused = _first(messages, _OPTIONS_REFUSED)
    if code != RC_USAGE and refused is None:
        return None
    said = refused or _first(messages, "unknown flag", "fatal error", "error:") or "usage error"
    return errors.UsageError(
        f"rclone rejected the command line: {reason(_USAGE_PREFIX.sub('', said))}",
        "Check the transfer options: the filters and extra_flags of a profile, the flags given, "
        "and anything after -- ('rclone help flags' lists rclone's).",
    )


# In order: the first rule that matches names the failure.
RULES: tuple[Rule, ...] = (
    _remote_missing,
    _encrypted,
    _corrupt_config,
    _about,
    _auth,
    _quota,
    _disk,
    _tls,
    _unreachable,
    _locked,
    _not_found_status,
    _missing,
    _usage,
)


def classify(
    returncode: int,
    log_events: Sequence[Event],
    target: str | None = None,
    *,
    source: str | None = None,
    dest: str | None = None,
    arrived: int = 0,
) -> errors.RcwizError:
    """Name the failure of an rclone run from its JSON log (and, last, its exit code).

    TARGET (a remote or path), SOURCE and DEST are only used to word the message; ARRIVED,
    the files copied before it failed, tells one file's 404 from a wrong URL's.
    """
    messages = messages_of(log_events)
    gone = tuple(
        e.name for e in log_events if isinstance(e, FileDone) and 404 in statuses_in(message_of(e))
    )
    where = Where(target, source, dest, arrived, gone)
    detail = "\n".join(messages[-TAIL_LINES:])
    for rule in RULES:
        found = rule(returncode, messages, where)
        if found is not None:
            found.detail = detail
            return found
    important = [
        e.message
        for e in log_events
        if isinstance(e, LogLine) and e.level in ("error", "critical", "text", "notice")
    ] or messages
    last = important[-1] if important else f"exit code {returncode}"
    return errors.RcloneFailed(f"rclone failed: {reason(last, 200)}", detail=detail)
