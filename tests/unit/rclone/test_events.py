"""The stats parser against real rclone 1.75 output (tests/data/rclone/, made by
tests/data/capture.py) and against arbitrary input.

Expected values come from each capture's NAME.meta.json: the source files and sizes the
scenario was built from and the files it must end as new / replaced / deleted / failed /
skipped, independent of rclone's log.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rcwiz.rclone.events import (
    MAX_ETA_SECONDS,
    FileDone,
    InFlight,
    LogLine,
    Progress,
    parse_line,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "rclone"
SCENARIOS = sorted(p.name.removesuffix(".meta.json") for p in DATA.glob("*.meta.json"))

# Expected key in meta.json -> (FileDone.outcome, FileDone.action)
EXPECTED_OUTCOMES = {
    "new": ("new", None),
    "replaced": ("replaced", None),
    "deleted": ("deleted", None),
    "failed": ("failed", None),
    "skipped_copy": ("skipped", "copy"),
    "skipped_delete": ("skipped", "delete"),
    "server_side_copied": ("copied", None),
    "server_side_moved": ("moved", None),
    "backed_up": ("backed_up", None),
}


@cache
def meta(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.meta.json").read_text(encoding="utf-8"))


@cache
def raw_lines(name: str) -> tuple[str, ...]:
    return tuple((DATA / f"{name}.jsonl").read_text(encoding="utf-8").split("\n"))


@cache
def events(name: str) -> tuple[Any, ...]:
    return tuple(e for e in map(parse_line, raw_lines(name)) if e is not None)


def records(name: str) -> list[dict[str, Any]]:
    """The capture's JSON objects (non-JSON lines left out), read without the parser."""
    out = []
    for line in raw_lines(name):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def of_type(name: str, kind: type) -> list[Any]:
    return [e for e in events(name) if isinstance(e, kind)]


def final(name: str) -> Progress:
    progress = of_type(name, Progress)
    assert progress, f"{name}: no stats line"
    return progress[-1]


def expected(name: str) -> dict[str, Any]:
    return meta(name)["expected"]


def sizes(name: str) -> dict[str, int]:
    return meta(name)["source"]["sizes"]


def argv_value(name: str, flag: str) -> str | None:
    argv = meta(name)["argv"]
    return argv[argv.index(flag) + 1] if flag in argv else None


def verb(name: str) -> str:
    return next(a for a in meta(name)["argv"] if a in ("copy", "copyto", "move", "sync"))


def scenarios_where(predicate) -> list[str]:
    return [n for n in SCENARIOS if predicate(n)]


def test_captures_exist_and_come_from_rclone_1_75() -> None:
    for name in ("small_files", "big_files", "mixed", "replaced", "failure", "dry_run"):
        assert name in SCENARIOS
    for name in ("sync_delete", "server_killed", "usage_error"):
        assert name in SCENARIOS
    for name in SCENARIOS:
        assert meta(name)["rclone_version"].startswith("v1.75."), name
        assert meta(name)["argv"][0] == "rclone"
        assert not any(arg.startswith(("--pass", "--webdav-pass")) for arg in meta(name)["argv"])


# --------------------------------------------------------------------------- every line

PLAIN_LOG = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ([A-Z]+) *: (.*)")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_line_maps_to_its_kind(name: str) -> None:
    """Stats lines -> Progress, other JSON -> FileDone or LogLine with rclone's level,
    rclone's plain log lines -> LogLine with their level, anything else -> LogLine("text"),
    blank -> None."""
    for line in raw_lines(name):
        event = parse_line(line)
        if not line.strip():
            assert event is None
            continue
        assert parse_line(line + "\n") == event  # the trailing newline does not matter
        try:
            record = json.loads(line)
        except ValueError:
            plain = PLAIN_LOG.fullmatch(line.strip())
            if plain:
                assert event == LogLine(level=plain[1].lower(), message=plain[2])
            else:
                assert event == LogLine(level="text", message=line.strip())
            continue
        if "stats" in record:
            assert isinstance(event, Progress)
        elif isinstance(event, LogLine):
            assert event.level == record["level"]
            assert event.message == record["msg"]
            assert event.object == record.get("object")
        else:
            assert isinstance(event, FileDone)
            assert event.name == record["object"]
            assert event.message == record["msg"]
            assert event.object_type == record.get("objectType")


@pytest.mark.parametrize("name", SCENARIOS)
def test_stats_line_count_matches_meta(name: str) -> None:
    assert len(of_type(name, Progress)) == meta(name)["stats_lines"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_file_outcomes_match_the_scenario(name: str) -> None:
    """The set of files per outcome is exactly what the scenario was built to produce."""
    got: dict[str, set[str]] = defaultdict(set)
    for done in of_type(name, FileDone):
        got[f"{done.outcome}/{done.action}"].add(done.name)
    want: dict[str, set[str]] = defaultdict(set)
    for key, (outcome, action) in EXPECTED_OUTCOMES.items():
        if expected(name).get(key):
            want[f"{outcome}/{action}"] = set(expected(name)[key])
    assert dict(got) == dict(want)


@pytest.mark.parametrize("name", SCENARIOS)
def test_only_objects_become_files(name: str) -> None:
    """Lines about a folder or a remote ("objectType": "string" or "*webdav.Fs", e.g.
    "Skipped make directory as --dry-run is set") are never FileDone."""
    for record in records(name):
        event = parse_line(json.dumps(record))
        kind = record.get("objectType")
        if kind is not None and not kind.endswith("Object"):
            assert isinstance(event, LogLine), record["msg"]


# --------------------------------------------------------------------------- copies


COPIED = ("new", "replaced")


@pytest.mark.parametrize(
    "name", scenarios_where(lambda n: expected(n)["new"] or expected(n)["replaced"])
)
def test_copied_files_have_their_source_size(name: str) -> None:
    done = [d for d in of_type(name, FileDone) if d.outcome in COPIED]
    assert done
    for d in done:
        assert d.size == sizes(name)[d.name], d.name
        assert d.error is None


@pytest.mark.parametrize(
    "name",
    scenarios_where(
        lambda n: (expected(n)["new"] or expected(n)["replaced"]) and n != "move_local"
    ),
)
def test_final_stats_equal_the_sum_of_copied_files(name: str) -> None:
    done = [d for d in of_type(name, FileDone) if d.outcome in COPIED]
    last = final(name)
    want_files = len(expected(name)["new"]) + len(expected(name)["replaced"])
    assert sum(d.size for d in done) == last.bytes == last.total_bytes
    assert last.transfers == last.total_transfers == want_files == len(done)
    assert last.errors == 0
    assert last.percent == 100.0
    assert meta(name)["exit_code"] == 0


@pytest.mark.parametrize(
    "name", scenarios_where(lambda n: set(expected(n)["new"]) == set(sizes(n)) and sizes(n))
)
def test_full_copy_final_stats_match_the_source(name: str) -> None:
    """Copies of a whole source: bytes and totalTransfers are the source's totals."""
    last = final(name)
    assert last.bytes == meta(name)["source"]["bytes"]
    assert last.total_transfers == meta(name)["source"]["files"]
    assert {d.name for d in of_type(name, FileDone) if d.outcome == "new"} == set(sizes(name))


def test_small_files_copied_new_lines_become_new() -> None:
    """Every "Copied (new)" line of the 30-file copy is FileDone("new") with its size."""
    lines = [r for r in records("small_files") if r.get("msg") == "Copied (new)"]
    assert len(lines) == meta("small_files")["source"]["files"]
    for record in lines:
        done = parse_line(json.dumps(record))
        assert isinstance(done, FileDone)
        assert (done.outcome, done.name, done.size) == ("new", record["object"], record["size"])


def test_replaced_files_are_replaced_and_added_ones_new() -> None:
    by_outcome = defaultdict(set)
    for d in of_type("replaced", FileDone):
        by_outcome[d.outcome].add(d.name)
        assert d.size == sizes("replaced")[d.name]
    assert by_outcome["replaced"] == set(expected("replaced")["replaced"])
    assert by_outcome["new"] == set(expected("replaced")["new"])
    # every file that was not changed was checked and left alone
    assert final("replaced").checks == meta("replaced")["source"]["files"] - len(
        expected("replaced")["new"]
    )


@pytest.mark.parametrize("name", scenarios_where(lambda n: expected(n)["renamed_to"]))
def test_copy_under_another_name_keeps_source_and_destination(name: str) -> None:
    done = of_type(name, FileDone)
    assert done
    for d in done:
        assert d.dest == expected(name)["renamed_to"][d.name]
        assert d.outcome == "new"
        assert d.size == sizes(name)[d.name]


def test_no_dest_without_rename() -> None:
    for name in scenarios_where(lambda n: not expected(n)["renamed_to"]):
        assert all(d.dest is None for d in of_type(name, FileDone)), name


# --------------------------------------------------------------------------- mid-transfer


BWLIMITED = scenarios_where(lambda n: argv_value(n, "--bwlimit") is not None)


def test_some_captures_are_bandwidth_limited() -> None:
    assert {"big_files", "mixed"} <= set(BWLIMITED)


@pytest.mark.parametrize("name", BWLIMITED)
def test_mid_transfer_progress_lists_files_in_flight(name: str) -> None:
    moving = [p for p in of_type(name, Progress) if p.transferring]
    assert len(moving) >= 2, "expected several stats lines while files were in flight"
    for p in moving:
        for f in p.transferring:
            assert isinstance(f, InFlight)
            assert f.size == sizes(name)[f.name]
            assert 0 <= f.bytes <= f.size
            assert 0 <= f.percentage <= 100
            assert f.speed >= 0
        assert 0.0 <= p.percent <= 100.0
        assert p.bytes <= p.total_bytes


@pytest.mark.parametrize("name", scenarios_where(lambda n: meta(n)["exit_code"] == 0))
def test_bytes_never_go_backwards_in_a_clean_run(name: str) -> None:
    done = [p.bytes for p in of_type(name, Progress)]
    assert done == sorted(done)


@pytest.mark.parametrize("name", SCENARIOS)
def test_percent_and_eta_stay_in_range(name: str) -> None:
    stats_records = [r for r in records(name) if "stats" in r]
    for p, record in zip(of_type(name, Progress), stats_records, strict=True):
        assert 0.0 <= p.percent <= 100.0
        assert p.eta == record["stats"]["eta"]  # real ETAs are all small: kept as they are
        assert p.speed == record["stats"]["speed"]


# --------------------------------------------------------------------------- percent and ETA


def _stats_line(name: str, *, mid: bool = False, **changes: Any) -> str:
    """A real stats line of capture NAME (a mid-transfer one if MID) with CHANGES applied
    to its stats object."""
    candidates = [r for r in records(name) if "stats" in r]
    if mid:
        candidates = [r for r in candidates if r["stats"].get("transferring")]
    record = json.loads(json.dumps(candidates[-1]))
    record["stats"].update(changes)
    return json.dumps(record)


def test_percent_never_above_100_when_bytes_exceed_total() -> None:
    """After a retry rclone counts resent bytes again: bytes > totalBytes."""
    total = meta("big_files")["source"]["bytes"]
    p = parse_line(_stats_line("big_files", bytes=total + total // 3, totalBytes=total))
    assert isinstance(p, Progress)
    assert p.bytes > p.total_bytes
    assert p.percent == 100.0


def test_percent_of_real_numbers() -> None:
    total = meta("big_files")["source"]["bytes"]
    half = parse_line(_stats_line("big_files", bytes=total // 2, totalBytes=total))
    assert isinstance(half, Progress)
    assert half.percent == pytest.approx(100.0 * (total // 2) / total)


@pytest.mark.parametrize("changes", [{"totalBytes": 0}, {"bytes": -5}, {"totalBytes": -1}])
def test_percent_never_below_zero(changes: dict[str, int]) -> None:
    p = parse_line(_stats_line("small_files", **changes))
    assert isinstance(p, Progress)
    assert 0.0 <= p.percent <= 100.0
    if changes.get("totalBytes", 1) <= 0:
        assert p.percent == 0.0


@pytest.mark.parametrize(
    ("eta", "want"),
    [
        (9223372036, None),  # seen during an outage (int64 nanoseconds max, in seconds)
        (MAX_ETA_SECONDS + 1, None),
        (MAX_ETA_SECONDS, float(MAX_ETA_SECONDS)),
        (12, 12.0),
        (0, 0.0),
        (-1, None),
        (None, None),
        ("5s", None),
        (True, None),
    ],
)
def test_eta_clamped(eta: Any, want: float | None) -> None:
    line = json.loads(_stats_line("big_files", mid=True, eta=eta))
    for item in line["stats"]["transferring"]:
        item["eta"] = eta
    p = parse_line(json.dumps(line))
    assert isinstance(p, Progress)
    assert p.eta == want
    assert p.transferring
    assert all(f.eta == want for f in p.transferring)


def test_eta_infinite_is_none() -> None:
    text = _stats_line("big_files", eta=0).replace('"eta": 0', '"eta": Infinity', 1)
    assert '"eta": Infinity' in text
    p = parse_line(text)
    assert isinstance(p, Progress) and p.eta is None


# --------------------------------------------------------------------------- dry runs


DRY = scenarios_where(lambda n: "--dry-run" in meta(n)["argv"])


def test_dry_runs_were_captured() -> None:
    assert {"dry_run", "sync_dry_run"} <= set(DRY)


@pytest.mark.parametrize("name", DRY)
def test_dry_run_skips_are_files_with_their_action(name: str) -> None:
    skipped = [d for d in of_type(name, FileDone) if d.outcome == "skipped"]
    want = len(expected(name)["skipped_copy"]) + len(expected(name)["skipped_delete"])
    assert len(skipped) == want
    assert all(d.outcome == "skipped" for d in of_type(name, FileDone))  # nothing else happens
    copies = [d for d in skipped if d.action == "copy"]
    for d in copies:
        assert d.size == sizes(name)[d.name]
    last = final(name)
    assert last.bytes == sum(d.size for d in copies)  # a dry run counts what it would send
    assert last.transfers == len(copies)
    assert last.deletes == len(expected(name)["skipped_delete"])


def test_dry_run_folder_actions_are_log_lines() -> None:
    folder_skips = [r for r in records("sync_dry_run") if r.get("objectType") == "string"]
    assert folder_skips, "the capture has a skipped folder action (--create-empty-src-dirs)"
    for record in folder_skips:
        event = parse_line(json.dumps(record))
        assert isinstance(event, LogLine)
        assert event.level == record["level"]


# --------------------------------------------------------------------------- deletes, moves


@pytest.mark.parametrize("name", scenarios_where(lambda n: verb(n) == "sync"))
def test_sync_counts_deletes(name: str) -> None:
    gone = expected(name)["deleted"] or expected(name)["skipped_delete"] or []
    gone += expected(name)["backed_up"]
    assert final(name).deletes == len(gone)
    for d in of_type(name, FileDone):
        if d.outcome in ("deleted", "backed_up"):
            assert d.size is None  # rclone does not log a size for these
            assert d.object_type == "*webdav.Object"  # the destination's file


def test_local_move_deletes_the_sources() -> None:
    done = of_type("move_local", FileDone)
    new = {d.name for d in done if d.outcome == "new"}
    deleted = [d for d in done if d.outcome == "deleted"]
    assert new == {d.name for d in deleted} == set(sizes("move_local"))
    assert all(d.object_type == "*local.Object" for d in deleted)
    last = final("move_local")
    assert last.renames == last.deletes == meta("move_local")["source"]["files"]


def test_server_side_copy_counts() -> None:
    done = [d for d in of_type("server_side_copy", FileDone) if d.outcome == "copied"]
    last = final("server_side_copy")
    assert last.server_side_copies == len(done) == meta("server_side_copy")["source"]["files"]
    assert last.server_side_copy_bytes == meta("server_side_copy")["source"]["bytes"]
    assert all(d.size == sizes("server_side_copy")[d.name] for d in done)


def test_server_side_move_counts() -> None:
    done = [d for d in of_type("server_side_move", FileDone) if d.outcome == "moved"]
    last = final("server_side_move")
    assert last.server_side_moves == len(done) == meta("server_side_move")["source"]["files"]
    assert last.server_side_move_bytes == meta("server_side_move")["source"]["bytes"]


def test_directory_move_has_no_file_events() -> None:
    assert not of_type("server_side_dirmove", FileDone)
    assert meta("server_side_dirmove")["source"]["files"] > 0
    logs = of_type("server_side_dirmove", LogLine)
    assert logs and all(line.level == "info" for line in logs)


# --------------------------------------------------------------------------- failures


FAILED = scenarios_where(lambda n: meta(n)["exit_code"] not in (0, 2))


def test_failures_were_captured() -> None:
    assert {"failure", "server_killed", "wrong_password"} <= set(FAILED)


@pytest.mark.parametrize("name", FAILED)
def test_failure_lines_are_failed_files_or_error_lines(name: str) -> None:
    for record in records(name):
        if "stats" in record or record["level"] not in ("error", "critical"):
            continue
        event = parse_line(json.dumps(record))
        if "object" in record:
            assert isinstance(event, FileDone)
            assert event.outcome == "failed"
            assert event.error and event.error in record["msg"]
            assert not event.error.startswith("Failed to")
        else:
            assert isinstance(event, LogLine)
            assert event.level == record["level"]


@pytest.mark.parametrize("name", scenarios_where(lambda n: expected(n)["failed"]))
def test_each_failed_file_fails_once_per_attempt(name: str) -> None:
    attempts = int(argv_value(name, "--retries") or 3)
    failed = [d for d in of_type(name, FileDone) if d.outcome == "failed"]
    assert len(failed) == attempts * len(expected(name)["failed"])
    retries = [
        line for line in of_type(name, LogLine) if line.level == "error" and line.object is None
    ]
    assert len(retries) == attempts  # "Attempt i/N failed with ..." once per attempt
    for i, line in enumerate(retries, 1):
        assert line.message.startswith(f"Attempt {i}/{attempts} ")
    last = final(name)
    assert last.errors == len(expected(name)["failed"])
    assert last.retry_error is True
    assert last.last_error is not None
    assert all(d.error == last.last_error for d in failed)
    assert meta(name)["exit_code"] != 0


def test_wrong_password_is_one_critical_line() -> None:
    evs = events("wrong_password")
    assert not of_type("wrong_password", FileDone)
    assert not of_type("wrong_password", Progress)
    assert any(isinstance(e, LogLine) and e.level == "critical" for e in evs)


# --------------------------------------------------------------------------- not JSON


def test_usage_text_is_text_and_the_fatal_error_a_notice() -> None:
    assert meta("usage_error")["exit_code"] == 2
    lines = [line for line in raw_lines("usage_error") if line.strip()]
    assert len(lines) > 10
    *usage, last = lines
    for line in usage:
        assert parse_line(line) == LogLine(level="text", message=line.strip())
    assert parse_line(last) == LogLine(
        level="notice", message="Fatal error: unknown flag: --no-such-flag"
    )


# Written by rclone 1.75 before its JSON logging is set up (captured by hand: the first from
# `--include '*.csv' --exclude '*.tmp'`, the second from `--filter 'x*'`).
@pytest.mark.parametrize(
    ("line", "level", "message"),
    [
        (
            "2026/12/01 11:35:07 ERROR : Using --filter is recommended instead of both "
            "--include and --exclude as the order they are parsed in is indeterminate",
            "error",
            "Using --filter is recommended instead of both --include and --exclude as the "
            "order they are parsed in is indeterminate",
        ),
        (
            "2026/12/01 11:35:14 CRITICAL: Failed to initialise global options: failed to "
            'reload "filter" options: malformed rule "x*"',
            "critical",
            'Failed to initialise global options: failed to reload "filter" options: '
            'malformed rule "x*"',
        ),
    ],
)
def test_plain_log_lines_keep_their_level(line: str, level: str, message: str) -> None:
    assert parse_line(line) == LogLine(level=level, message=message)


@pytest.mark.parametrize(
    "line",
    [
        "Error: unknown flag: --no-such-flag",
        "panic: runtime error: invalid memory address",
        "[1, 2, 3]",
        '"just a string"',
        "42",
        "null",
        "{not json",
        "[" * 100_000,
    ],
)
def test_non_object_lines_are_text(line: str) -> None:
    assert parse_line(line) == LogLine(level="text", message=line.strip())


@pytest.mark.parametrize("line", ["", " ", "\n", "\r\n", "\t  \n"])
def test_blank_line_is_none(line: str) -> None:
    assert parse_line(line) is None


def test_bytes_input_is_decoded() -> None:
    raw = (DATA / "small_files.jsonl").read_bytes().split(b"\n")[0]
    assert parse_line(raw) == parse_line(raw.decode("utf-8"))


# --------------------------------------------------------------------------- never raises


KEYS = [
    "stats",
    "msg",
    "level",
    "object",
    "objectType",
    "size",
    "skipped",
    "source",
    "bytes",
    "totalBytes",
    "speed",
    "eta",
    "transfers",
    "totalTransfers",
    "checks",
    "totalChecks",
    "listed",
    "errors",
    "elapsedTime",
    "fatalError",
    "retryError",
    "lastError",
    "transferring",
    "name",
    "percentage",
    "deletes",
    "renames",
]
REAL_MESSAGES = sorted(
    {r["msg"] for n in SCENARIOS for r in records(n) if "object" in r}
    | {"Copied (new) to: x", "Skipped copy as --dry-run is set", "corrupted on transfer"}
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.integers(min_value=2**63 - 2, max_value=10**400)  # beyond int64 and float range
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(REAL_MESSAGES)
)


def json_values(max_leaves: int) -> st.SearchStrategy[Any]:
    """Any JSON value of up to MAX_LEAVES scalars: lists, and objects keyed by rclone's KEYS
    or by any text."""
    return st.recursive(
        SCALARS,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
        ),
        max_leaves=max_leaves,
    )


JSON_VALUES = json_values(30)
# A field's value in a stats line or a file's record: the same kinds (scalars, lists, objects
# holding KEYS: a `transferring` entry), fewer leaves. Twelve fields of up to 30 leaves each
# took 11 s a run (4: 6 s) for nothing more: the parser looks at a field's type, not its size.
FIELD_VALUES = json_values(4)


def _check(event: Any) -> None:
    assert event is None or isinstance(event, (Progress, FileDone, LogLine))
    if isinstance(event, Progress):
        assert 0.0 <= event.percent <= 100.0
        assert event.eta is None or 0 <= event.eta <= MAX_ETA_SECONDS
        for f in event.transferring:
            assert 0 <= f.percentage <= 100
            assert f.eta is None or 0 <= f.eta <= MAX_ETA_SECONDS


@settings(max_examples=300)
@given(st.text())
def test_never_raises_on_text(text: str) -> None:
    _check(parse_line(text))


@settings(max_examples=200)
@given(st.binary())
def test_never_raises_on_bytes(data: bytes) -> None:
    _check(parse_line(data))


@settings(max_examples=500)
@given(JSON_VALUES)
def test_never_raises_on_json(value: Any) -> None:
    _check(parse_line(json.dumps(value)))


@settings(max_examples=500)
@given(
    st.dictionaries(st.sampled_from(KEYS), FIELD_VALUES, max_size=12),
    st.dictionaries(st.sampled_from(KEYS), FIELD_VALUES, max_size=12),
)
def test_never_raises_on_stats_and_file_lines(stats: dict, record: dict) -> None:
    _check(parse_line(json.dumps({"level": "notice", "msg": "", "stats": stats})))
    _check(parse_line(json.dumps(record)))


def test_huge_numbers_do_not_overflow() -> None:
    huge = "9" * 400
    line = (
        '{"stats":{"bytes":%s,"totalBytes":1,"speed":%s,"eta":%s,'
        '"transferring":[{"name":"a","size":%s,"eta":%s,"speed":%s}]}}'
    ) % ((huge,) * 6)
    p = parse_line(line)
    assert isinstance(p, Progress)
    assert p.percent == 100.0 and p.eta is None
    done = parse_line('{"msg":"Copied (new)","object":"a","size":' + huge + "}")
    assert isinstance(done, FileDone) and done.size is not None
