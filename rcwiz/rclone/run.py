"""The one place rcwiz starts rclone: run it, read its log, hand its failures to the table.

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
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from rcwiz import errors, files, process
from rcwiz.clock import Clock
from rcwiz.events import DONE_OUTCOMES
from rcwiz.rclone import binary as rclone_binary
from rcwiz.rclone import classify
from rcwiz.rclone.events import Event, FileDone, Progress, parse_line
from rcwiz.rclone.mask import mask_argv


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


TAIL_LINES = classify.TAIL_LINES


def bounded_flags(
    connect: float, idle: float, *, low_level_retries: int = 1, retries: int = 1
) -> tuple[str, ...]:
    """Flags that make rclone give up on a dead or silent server within seconds.

    CONNECT bounds each connection attempt, IDLE each wait for data; rclone's defaults retry
    for minutes.
    """
    return (
        "--contimeout",
        f"{connect:g}s",
        "--timeout",
        f"{idle:g}s",
        "--low-level-retries",
        str(low_level_retries),
        "--retries",
        str(retries),
    )


class Result(NamedTuple):
    """What a finished rclone run left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    log: list[Event]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self, what: str, empty: str = "null") -> Any:
        """rclone's stdout as JSON (EMPTY when it printed nothing); WHAT names the command."""
        try:
            return json.loads(self.stdout or empty)
        except ValueError as exc:
            raise errors.RcloneFailed(
                f"rclone {what} did not print JSON.", detail=self.stdout
            ) from exc


T = TypeVar("T")
U = TypeVar("U")


class Pending(Generic[T]):
    """The result of an rclone run that is still going: `result()` waits for it (once).

    When rclone.conf must be read by rclone (an encrypted file), pre-flight starts its rclone
    runs (`config dump`, `about`) together and reads them when needed, so their ~70 ms
    start-ups overlap; `Pending.ready` holds a result read in-process. Use as a context
    manager, or call `close()`, so a run whose result is not wanted after all does not go on.
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

    @classmethod
    def ready(cls, value: T) -> Pending[T]:
        """A Pending whose result is already known (nothing runs: read in-process)."""
        known: Pending[T] = cls(lambda: value, lambda: None)
        known._outcome = (True, value)
        return known

    @property
    def done(self) -> bool:
        """True when result() would not wait (no rclone is running for it)."""
        return self._outcome is not None

    def then(self, convert: Callable[[T], U]) -> Pending[U]:
        """A Pending of CONVERT(result) (conversion errors surface from result())."""
        converted = Pending(lambda: convert(self.result()), self._close)
        if self.done:  # nothing to wait for: convert now (a failure is kept for result())
            with contextlib.suppress(errors.RcwizError):
                converted.result()
        return converted

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Pending[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _user_config_file() -> Path:
    """$XDG_CONFIG_HOME/rclone/rclone.conf, else ~/.config/rclone/rclone.conf (Go's
    os.UserConfigDir, which rclone uses)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "rclone" / "rclone.conf"


def _private_config_folder() -> None:
    """Make the folder of rclone's default rclone.conf at 0700 before rclone runs: rclone
    makes it itself on any run, as the umask says (group-writable under umask 002, where
    anyone in the group could put an rclone.conf of theirs in it)."""
    if os.environ.get("RCLONE_CONFIG") or (Path.home() / ".rclone.conf").exists():
        return  # rclone uses that file; its folder is not rclone's to make
    with contextlib.suppress(OSError):  # rclone will say what is wrong with it
        files.private_folder(_user_config_file().parent)


@dataclass
class Rclone:
    """An rclone binary plus the options every run of it gets."""

    binary: Path
    config: Path | None = None
    version: tuple[int, int, int] | None = None
    env: dict[str, str] = field(default_factory=dict)
    # The run's clock (rcwiz.clock): how long a short run (about, a listing to verify a
    # remote) may take before it counts as a hung server; transfers are watched instead
    # (rcwiz.transfer.watchdog). Nextcloud accounts made from this rclone take it too.
    clock: Clock = field(default_factory=Clock)

    @property
    def timeout(self) -> float:
        """The stall timeout in seconds (the clock's)."""
        return self.clock.stall

    ca_cert: str | None = None  # rcwiz's --ca-cert, passed on as rclone's own

    @classmethod
    def locate(
        cls, explicit: str | os.PathLike[str] | None = None, config: str | os.PathLike | None = None
    ) -> Rclone:
        """Find rclone (rcwiz.rclone.binary), check its version, remember the config file."""
        if config is None:
            _private_config_folder()  # before `rclone version` runs and makes it
        binary = rclone_binary.find_binary(explicit)
        version = rclone_binary.version_of(binary)
        rclone_binary.check_version(binary, version)
        return cls(
            binary=binary, config=Path(config).expanduser() if config else None, version=version
        )

    def config_file(self) -> Path:
        """The rclone.conf rclone reads, found by rclone's own rule without running it
        (`rclone config file` costs a start): --config, RCLONE_CONFIG, an rclone.conf beside
        the binary, the user's config folder's, the legacy ~/.rclone.conf; else the first of
        those last two, where rclone would create it."""
        if self.config is not None:
            return self.config
        named = os.environ.get("RCLONE_CONFIG")
        if named:
            return Path(named).expanduser()
        beside = self.binary.resolve().parent / "rclone.conf"
        user, legacy = _user_config_file(), Path.home() / ".rclone.conf"
        return next((p for p in (beside, user, legacy) if p.exists()), user)

    def argv(self, args: Sequence[str]) -> tuple[str, ...]:
        """The full command line for `rclone ARGS` with rcwiz's standard options."""
        head = [str(self.binary)]
        if self.config is not None:
            head += ["--config", str(self.config)]
        if self.ca_cert is not None:
            head += ["--ca-cert", self.ca_cert]
        head += ["--ask-password=false", "--use-json-log"]
        return (*head, *args)

    def shown(self, args: Sequence[str]) -> list[str]:
        """The full command line for ARGS as it may be shown or logged: secrets masked."""
        return mask_argv(self.argv(args))

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
            shown = " ".join(mask_argv(argv, [*secrets, *(secret_env or {}).values()]))
            log.debug("run: %s%s", shown, suffix)

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
        source: str | None = None,
        dest: str | None = None,
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
            if spawned.timed_out:
                where = f" ({target})" if target else ""
                raise errors.Stalled(
                    f"The server did not answer within {timeout:g} s{where}, so rcwiz stopped "
                    "waiting.",
                    "Check the server and your network (a server that accepts connections "
                    "but never answers is hung); --stall-timeout sets how long to wait.",
                )
            events = [e for e in map(parse_line, done.stderr.splitlines()) if e is not None]
            if (log := _debug_log()) is not None:
                for event in events:
                    log.debug("rclone: %s", classify.message_of(event))
            result = Result(argv=argv, returncode=done.returncode, stdout=done.stdout, log=events)
            if check and not result.ok:
                raise classify.classify(done.returncode, events, target, source=source, dest=dest)
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


def _arrived(event: Event) -> int:
    """1 when EVENT says a file arrived, else 0."""
    return int(isinstance(event, FileDone) and event.outcome in DONE_OUTCOMES and not event.error)


class Running:
    """A streaming rclone run: iterate `lines()` for (raw line, event) as rclone writes them;
    the last events are kept for `error()`, which names the failure once the run ended.
    """

    def __init__(self, child: process.Child) -> None:
        self.child = child
        self.tail: deque[Event] = deque(maxlen=TAIL_LINES)
        self.arrived = 0  # files rclone said it copied or moved (error() words a 404 by it)
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
                self.arrived += _arrived(event)
            yield line, event

    def wait(self) -> int:
        self.returncode = self.child.wait()
        return self.returncode

    def stop(self, grace: float = 3.0) -> int:
        self.returncode = self.child.terminate(grace)
        return self.returncode

    def error(
        self, target: str | None = None, *, source: str | None = None, dest: str | None = None
    ) -> errors.RcwizError:
        return classify.classify(
            self.returncode or 0,
            list(self.tail),
            target,
            source=source,
            dest=dest,
            arrived=self.arrived,
        )

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc: object) -> None:
        self.child.__exit__(*exc)
