"""`rclone copy | move | sync`: the transfer options, declared once, and the argv they make.

Each field of `Settings` is one option a transfer takes, with its rclone flag, its kind and
its help in the field's metadata. Everything else is generated from that one table: the
command line's flags (`rcwiz copy`, `rcwiz job add`), the jobs file's checks
(rcwiz.jobs.schema), the profile (rcwiz.jobs.model.Job is a Settings) and the argv below.

The functions here are pure: they spell rclone command lines and run nothing. rcwiz.rclone.run
adds the binary and the options every run gets (--config, --ask-password=false,
--use-json-log).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from rcwiz import files

Verb = Literal["copy", "move", "sync"]  # what a transfer does
TRANSFER_VERBS: tuple[Verb, ...] = ("copy", "move", "sync")
MAX_TRANSFERS = 256
# Measured on a real Nextcloud 30: a 200 MB file took 2.6 s with 64M chunks, 6.1 s with
# rclone's default 10M (see shared/RCLONE-FACTS.md); at a 30 ms round trip, a 300 MB file
# (benchmarks/nextcloud_tuning.py): 10M 3.7 s, 32M 2.3 s, 64M 2.2 s, 100M 2.0 s, rclone's
# memory 130, 176, 271, 366 MB (a chunk per transfer). rclone sends big files itself only
# where rcwiz's fast path is off (it sends files of 32 MiB and more in parallel chunks).
NEXTCLOUD_CHUNK_SIZE = "64M"
NEXTCLOUD_CHUNK_BYTES = 64 * 2**20  # a file this big or bigger goes by chunked upload

# What a value of each kind is, in words (for messages) and how the command line takes it.
KINDS = {
    "bool": "true or false",
    "count": f"a whole number between 1 and {MAX_TRANSFERS}",
    "rate": "a rate such as '10M' (MiB/s) or a positive whole number (KiB/s)",
    "patterns": "a pattern or a list of patterns",
    "rules": "a filter rule ('+ PATTERN' keeps, '- PATTERN' skips) or a list of rules",
    "path": "the path of a filter file",
}


# rclone's --bwlimit: "off", a rate, "UP:DOWN", or a timetable of "[Day-]HH:MM,RATE" entries
# (checked against rclone 1.75: 10M 1.5G 100k 512 10Mi 10m off 1M:512k pass; fast, 10MB fail).
_RATE = r"(?:off|\d+(?:\.\d+)?(?:[bkmgtpBKMGTP]i?)?)"
_RATES = rf"{_RATE}(?::{_RATE})?"
# Compiled on first use (re caches it), not at every start: only a given --bwlimit needs it.
_BWLIMIT = rf"{_RATES}|(?:(?:[A-Za-z]{{3}}-)?\d\d?:\d\d,{_RATES}\s*)+"


def is_rate(text: str) -> bool:
    """TEXT is a --bwlimit value rclone accepts."""
    return re.fullmatch(_BWLIMIT, text.strip()) is not None


def _option(
    default: Any,
    flag: str,
    kind: str,
    help: str,
    metavar: str | None = None,
    *,
    rclone: bool = True,
) -> Any:
    metadata = {"flag": flag, "kind": kind, "help": help, "metavar": metavar, "rclone": rclone}
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """How a transfer runs. One field per option; the field's metadata is the option table."""

    dry_run: bool = _option(
        False,
        "--dry-run",
        "bool",
        "show what would be transferred (and the command); change nothing",
    )
    transfers: int | None = _option(None, "--transfers", "count", "files transferred at once", "N")
    bwlimit: str | None = _option(None, "--bwlimit", "rate", "bandwidth limit, e.g. 10M", "RATE")
    include: tuple[str, ...] = _option(
        (), "--include", "patterns", "only files matching PATTERN (repeatable)", "PATTERN"
    )
    exclude: tuple[str, ...] = _option(
        (), "--exclude", "patterns", "skip files matching PATTERN (repeatable)", "PATTERN"
    )
    # rclone applies --include and --exclude together in no fixed order (it logs an ERROR and
    # goes on); rules mixing both go here, applied in the order given, the first match wins.
    filter: tuple[str, ...] = _option(
        (),
        "--filter",
        "rules",
        "a filter rule, in order: '+ PATTERN' keeps, '- PATTERN' skips (repeatable)",
        "RULE",
    )
    filter_from: str | None = _option(
        None, "--filter-from", "path", "read include/exclude rules from FILE", "FILE"
    )
    checksum: bool = _option(False, "--checksum", "bool", "compare by checksum, not size+time")
    # rcwiz's own: `rcwiz check SRC DST` after the transfer (rcwiz.actions.check); exit 14.
    verify: bool = _option(
        False,
        "--verify",
        "bool",
        "afterwards prove the copy by content, as 'rcwiz check' does (exit 14 if it differs)",
        rclone=False,
    )


class Option(NamedTuple):
    """One row of the option table (a field of Settings)."""

    name: str
    flag: str
    kind: str
    help: str
    metavar: str | None
    default: Any
    rclone: bool = True  # an rclone flag (False: rcwiz's own option)

    @property
    def repeated(self) -> bool:
        """The option takes a list (one flag per item on rclone's command line)."""
        return self.kind in ("patterns", "rules")


OPTIONS: tuple[Option, ...] = tuple(
    Option(f.name, default=f.default, **f.metadata) for f in dataclasses.fields(Settings)
)


def settings_of(value: Settings) -> dict[str, Any]:
    """The option values VALUE holds (a TransferOptions, a Job), by name."""
    return {option.name: getattr(value, option.name) for option in OPTIONS}


@dataclass(frozen=True)
class _Route:
    source: str
    dest: str
    verb: Verb = "copy"


@dataclass(frozen=True)
class TransferOptions(Settings, _Route):
    """What a copy, move or sync is asked to do; shared by `rcwiz copy` and job profiles."""

    # Flags rcwiz chose (tuning); shown by --dry-run and written to the log.
    tuning: tuple[str, ...] = ()
    # Passed through unchanged after `--` (the user's escape hatch).
    extra: tuple[str, ...] = ()
    # Only the files named in this file (one per line, as they are: --files-from-raw): what
    # rclone has left to send after rcwiz sent the rest itself. rclone then lists only the
    # folders that hold them, or with no_traverse looks each file up instead.
    only: str | None = None
    no_traverse: bool = False

    @property
    def filtered(self) -> bool:
        """Some files may be left out on purpose (include / exclude / filter rules)."""
        return bool(self.include or self.exclude or self.filter or self.filter_from)

    @property
    def download(self) -> bool:
        """From a remote into a local path: the files are fetched, not sent."""
        from rcwiz.rclone.config import is_download  # not at import: it brings rclone.run

        return is_download(self.source, self.dest)


def rule_problem(rule: str) -> str | None:
    """Why RULE is not an rclone filter rule (None when it is): '+ ' or '- ' and a pattern,
    or '!' (forget the rules before it), as rclone's --filter takes them."""
    if rule == "!" or (rule[:2] in ("+ ", "- ") and rule[2:].strip()):
        return None
    return "a rule starts with '+ ' (keep) or '- ' (skip) and a pattern, like '- *.tmp'"


def tuning_for(dest_vendor: str | None) -> tuple[str, ...]:
    """Flags rcwiz adds for the server files go to (its webdav vendor), shown and logged: the
    Nextcloud chunk size tunes uploads only, so a download is given nothing."""
    if dest_vendor == "nextcloud":
        return ("--webdav-nextcloud-chunk-size", NEXTCLOUD_CHUNK_SIZE)
    return ()


def stats_flags(interval: float) -> tuple[str, ...]:
    """Flags that make rclone write one JSON stats line per `interval` seconds to stderr."""
    return ("--stats", f"{int(interval * 1000)}ms", "--stats-log-level", "NOTICE", "-v")


def option_flags(settings: Settings) -> list[str]:
    """The rclone flags for the options SETTINGS holds, in table order."""
    args: list[str] = []
    for option in OPTIONS:
        value = getattr(settings, option.name)
        if not option.rclone:
            continue
        if option.kind == "bool":
            if value:
                args.append(option.flag)
        elif option.repeated:
            for pattern in value:
                args += [option.flag, pattern]
        elif value is not None and value != "":
            args += [option.flag, str(value)]
    return args


def transfer_argv(opts: TransferOptions, *, stats_interval: float = 0.5) -> tuple[str, ...]:
    """Return the rclone arguments for a copy / move / sync described by OPTS."""
    if opts.verb not in TRANSFER_VERBS:
        raise ValueError(f"not a transfer verb: {opts.verb!r}")
    args: list[str] = [opts.verb]
    args += stats_flags(stats_interval)
    # rclone takes no filter beside --files-from-raw: its names passed them already (rcwiz
    # asked rclone which files do, rcwiz.rclone.lsjson.passing_filters).
    unfiltered = dataclasses.replace(opts, include=(), exclude=(), filter=(), filter_from=None)
    args += option_flags(opts if opts.only is None else unfiltered)
    args += opts.tuning
    if opts.only is not None:
        args += ["--files-from-raw", opts.only]
    if opts.no_traverse:
        args.append("--no-traverse")
    args += opts.extra
    # After "--" a path is a path, even one that starts with a dash (a folder named "-v").
    args += ["--", opts.source, opts.dest]
    return tuple(args)


# rclone looks up at most this many files one by one (--no-traverse); more, and it lists the
# folders that hold them (with --files-from, only those).
LOOK_UP_AT_MOST = 100


# Characters rclone's listing of a local folder shows otherwise (rclone 1.75): a control
# character or DEL as its Unicode picture (a tab as U+2409), a picture or U+201B quoted with
# U+201B. Invalid UTF-8, C1 controls and fullwidth forms it shows as they are.
_LISTED_OTHERWISE = re.compile("[\x00-\x1f\x7f\u2400-\u243f\u201b]")


def write_files_from(names: Iterable[str], path: Path) -> bool:
    """Write NAMES for rclone's --files-from-raw (one per line, the names' own bytes); False
    when one cannot be written as a line, or is one rclone lists under another name: given
    its bytes, rclone does not find it, or (with --no-traverse) sends it under its raw name,
    which Nextcloud refuses for a tab (it takes the name rclone's full run gives it)."""
    lines = []
    for name in names:
        if _LISTED_OTHERWISE.search(name):  # a line break too
            return False
        lines.append(name)
    text = "".join(f"{line}\n" for line in lines)
    files.write_private(path, text, errors="surrogateescape")
    return True
