"""Pure functions that spell rclone command lines. They run nothing.

Each returns the arguments after the binary; rcwiz.rclone.execute adds the binary and the
options every run gets (--config, --ask-password=false, --use-json-log).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TRANSFER_VERBS = ("copy", "move", "sync")


@dataclass(frozen=True)
class TransferOptions:
    """What a copy, move or sync is asked to do; shared by `rcwiz copy` and job profiles."""

    source: str
    dest: str
    verb: str = "copy"
    dry_run: bool = False
    transfers: int | None = None
    bwlimit: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    filter_from: str | None = None
    checksum: bool = False
    # Flags rcwiz chose (tuning); shown by --dry-run and written to the log.
    tuning: tuple[str, ...] = ()
    # Passed through unchanged after `--` (the user's escape hatch).
    extra: tuple[str, ...] = field(default_factory=tuple)


def stats_flags(interval: float) -> tuple[str, ...]:
    """Flags that make rclone write one JSON stats line per `interval` seconds to stderr."""
    return ("--stats", f"{int(interval * 1000)}ms", "--stats-log-level", "NOTICE", "-v")


def transfer_argv(opts: TransferOptions, *, stats_interval: float = 0.5) -> tuple[str, ...]:
    """Return the rclone arguments for a copy / move / sync described by OPTS."""
    if opts.verb not in TRANSFER_VERBS:
        raise ValueError(f"not a transfer verb: {opts.verb!r}")
    args: list[str] = [opts.verb, opts.source, opts.dest]
    args += stats_flags(stats_interval)
    if opts.dry_run:
        args.append("--dry-run")
    if opts.transfers is not None:
        args += ["--transfers", str(opts.transfers)]
    if opts.bwlimit:
        args += ["--bwlimit", opts.bwlimit]
    for pattern in opts.include:
        args += ["--include", pattern]
    for pattern in opts.exclude:
        args += ["--exclude", pattern]
    if opts.filter_from:
        args += ["--filter-from", opts.filter_from]
    if opts.checksum:
        args.append("--checksum")
    args += opts.tuning
    args += opts.extra
    return tuple(args)


def about_argv(remote: str) -> tuple[str, ...]:
    return ("about", remote, "--json")
