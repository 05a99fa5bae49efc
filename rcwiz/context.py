"""What every command is handed (Context), and the shape of every --json document.

Its own module so that commands and actions can name it without importing the command line
(rcwiz.cli imports them, so they must not import it back): rcwiz.cli makes one Context per run
from the global options and renders each command's Output through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rcwiz.clock import Clock

if TYPE_CHECKING:
    from rcwiz.errors import RcwizError
    from rcwiz.rclone.run import Rclone
    from rcwiz.ui.console import Console
    from rcwiz.ui.output import Output

JSON_VERSION = 1  # the version of every --json document's shape (README, "JSON output")


@dataclass
class Context:
    """What every command gets: the consoles and a way to reach rclone."""

    console: Console
    config: str | None = None
    rclone_path: str | None = None
    jobs: str | None = None  # --jobs FILE
    command: str = ""  # "copy", "job run", ...: named in every JSON document
    # The run's one clock, from --stall-timeout; it carries the certificate authority of
    # --ca-cert (or RCLONE_CA_CERT) to every request rcwiz makes itself (rcwiz.clock).
    clock: Clock = field(default_factory=Clock)
    ca_cert: str | None = None  # --ca-cert FILE: given to rclone as its own --ca-cert
    _rclone: Rclone | None = field(default=None, repr=False)

    @property
    def rclone(self) -> Rclone:
        """The rclone to use, found and version-checked on first use."""
        if self._rclone is None:
            from rcwiz.rclone.run import Rclone  # not for --help, --version or a bad line

            self._rclone = Rclone.locate(self.rclone_path, self.config)
            self._rclone.clock = self.clock
            self._rclone.ca_cert = self.ca_cert
        return self._rclone

    def render(self, output: Output) -> None:
        """Show OUTPUT: its data as one JSON document with --json, else as text."""
        if self.console.json:
            if output.data is not None:
                self.console.emit_json(envelope(self.command, output.exit_code, output.data))
        elif output.show is not None:
            output.show(self.console)
        if output.then is not None:
            output.then()


def envelope(command: str, exit_code: int, data: dict[str, Any]) -> dict[str, Any]:
    """A --json document: what every one starts with, then the command's own keys."""
    return {
        "version": JSON_VERSION,
        "command": command,
        "ok": exit_code == 0,
        "exit_code": exit_code,
        **data,
    }


def error_document(command: str, exc: RcwizError) -> dict[str, Any]:
    """The --json document for a failure: the error, and what a transfer had done by then."""
    summary = getattr(exc.summary, "as_dict", None)
    data: dict[str, Any] = {"event": "summary", **summary()} if summary else {}
    kind = next(c.__name__ for c in type(exc).__mro__ if not c.__name__.startswith("_"))
    data["error"] = {"type": kind, "message": exc.message, "hint": exc.hint, "items": exc.items}
    return envelope(command, int(exc.exit_code), data)
