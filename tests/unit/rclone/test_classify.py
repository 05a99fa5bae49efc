"""The one failure table, on real captured runs: each names the error its capture says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rcwiz import errors
from rcwiz.rclone import classify
from rcwiz.rclone.events import parse_line

# tests/data/capture.py's runs, and tests/data/capture_failures.py's (in failures/).
DATA = Path(__file__).resolve().parents[2] / "data" / "rclone"
METAS = {
    meta.name[: -len(".meta.json")]: meta
    for meta in [*DATA.glob("*.meta.json"), *(DATA / "failures").glob("*.meta.json")]
}
FAILED = sorted(n for n, m in METAS.items() if json.loads(m.read_text())["exit_code"] != 0)


def run_of(name: str) -> tuple[dict, list]:
    meta_path = METAS[name]
    meta = json.loads(meta_path.read_text())
    lines = meta_path.with_name(f"{name}.jsonl").read_text().splitlines()
    return meta, [e for e in map(parse_line, lines) if e is not None]


def test_every_failed_capture_says_what_it_must_become():
    assert len(FAILED) >= 12
    for name in FAILED:
        meta, _ = run_of(name)
        assert hasattr(errors, meta["classified"] or ""), name


@pytest.mark.parametrize("name", FAILED)
def test_each_capture_is_named_by_the_table(name):
    meta, events = run_of(name)
    found = classify.classify(meta["exit_code"], events, "nc:x", source="SRC", dest="DST")
    assert type(found).__name__ == meta["classified"]
    assert found.exit_code == getattr(errors, meta["classified"]).exit_code
    # One line, never a server's page: no tabs, newlines, markup or raw control bytes.
    assert "\n" not in found.message and "\t" not in found.message
    assert "<" not in found.message and "The server was unable" not in found.message
    assert not any(ord(c) < 32 for c in found.message)


def test_a_missing_source_is_named_as_the_source():
    for name in ("nc_missing_source", "local_missing_source"):
        meta, events = run_of(name)
        found = classify.classify(meta["exit_code"], events, "DST", source="SRC", dest="DST")
        assert found.message == "The source was not found: SRC."


def test_statuses_are_read_from_rclones_words():
    assert classify.status_in("Failed: Internal Server Error: 507 Insufficient Storage") == 507
    assert classify.status_in("couldn't list files: 401 Not Authorized") == 401
    assert classify.status_in("copied 500 files in 3 MB") is None
    assert classify.is_quota("x: 500 Internal Server Error: 507 Insufficient Storage")
    assert not classify.is_quota("HTTP 409 Conflict")


def test_reason_is_one_short_line_without_the_servers_page():
    _, events = run_of("nc_507")
    error = next(e.error for e in events if getattr(e, "outcome", None) == "failed")
    assert "\t" in error and "The server was unable" in error  # what Nextcloud sends
    assert classify.reason(error) == "unchunked simple update failed: HTTP 507 Insufficient Storage"
    assert classify.reason("bad \x1b[31mname\x00") == "bad \\x1b[31mname\\x00"
    assert len(classify.reason("x" * 500)) == 160


def test_file_failures_that_stop_a_run():
    assert isinstance(classify.file_failure("... 507 Insufficient Storage"), errors.QuotaExceeded)
    assert isinstance(classify.file_failure("write: no space left on device"), errors.DiskFull)
    assert classify.file_failure("HTTP 409 Conflict") is None


@pytest.mark.parametrize(
    ("code", "line", "said"),
    [
        (
            1,
            "2026/12/01 11:35:14 CRITICAL: Failed to initialise global options: failed to "
            'reload "filter" options: malformed rule "x*"',
            'failed to reload "filter" options: malformed rule "x*"',
        ),
        (
            2,
            "2026/11/27 16:18:21 NOTICE: Fatal error: unknown flag: --no-such-flag",
            "unknown flag: --no-such-flag",
        ),
    ],
)
def test_options_rclone_refuses_are_a_usage_error_in_its_words(code, line, said):
    found = classify.classify(code, [parse_line(line)], "nc:x")
    assert isinstance(found, errors.UsageError) and found.exit_code == 2
    assert found.message == f"rclone rejected the command line: {said}"
