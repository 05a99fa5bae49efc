"""The resume ledger's pure parts: records kept private and read back, which chunks a resume
trusts, when a session is stale, and the settable age."""

from __future__ import annotations

import os
import stat
import time

import pytest

from rcwiz import errors
from rcwiz.counting import Summary
from rcwiz.nextcloud import resume
from rcwiz.nextcloud.account import Account
from rcwiz.ui.meter import summary_text

MiB = 1024 * 1024


def record(**changes: object) -> resume.Record:
    base = resume.Record(
        "https://cloud.example", "alice", "dest/big.bin", "rcwiz-chunked-upload-x",
        "/data/big.bin", 20 * MiB, 1_700_000_000.5, 8 * MiB, time.time(),
    )  # fmt: skip
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_a_record_is_private_and_read_back_with_its_chunks():
    kept = record(chunks={1: "a" * 40, 3: "c" * 40})
    assert resume.save(kept)
    acct = Account("nc:", kept.server, "alice", "alice", "secret", "")
    (found,) = resume.records(acct)
    assert found == kept
    assert resume.load(kept.server, kept.user, kept.session) == kept
    (path,) = (resume.paths.state_dir() / "resume").glob("*.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    other = Account("nc:", kept.server, "bob", "bob", "secret", "")
    assert resume.records(other) == []  # another user's sessions are not this one's
    resume.forget(kept)
    assert resume.records(acct) == []


def test_an_unreadable_record_counts_as_none():
    kept = record()
    assert resume.save(kept)
    (path,) = (resume.paths.state_dir() / "resume").glob("*.json")
    path.write_text("{not json")
    assert resume.load(kept.server, kept.user, kept.session) is None


def test_only_chunks_confirmed_and_held_at_their_length_are_trusted():
    lengths = {1: 8 * MiB, 2: 8 * MiB, 3: 4 * MiB}
    kept = record(chunks={1: "h1", 2: "h2", 3: "h3"})
    on_server = {1: 8 * MiB, 2: 5 * MiB, 4: 8 * MiB}  # 2 cut short, 3 missing, 4 unrecorded
    assert resume.trusted(kept, on_server, lengths) == {1: "h1"}
    assert resume.trusted(record(), on_server, lengths) == {}


def test_a_source_is_the_same_only_by_path_size_and_time():
    kept = record()
    assert kept.same_source(kept.source, kept.size, kept.mtime)
    assert not kept.same_source(kept.source, kept.size + 1, kept.mtime)
    assert not kept.same_source(kept.source, kept.size, kept.mtime + 1)
    assert not kept.same_source("/data/other.bin", kept.size, kept.mtime)


def test_a_session_is_stale_below_nextclouds_day(monkeypatch):
    monkeypatch.delenv(resume.MAX_AGE_VARIABLE, raising=False)
    assert resume.MAX_AGE < 86400  # Nextcloud's UploadCleanup removes sessions after a day
    now = time.time()
    assert not record(created=now - resume.MAX_AGE + 60).stale(now)
    assert record(created=now - resume.MAX_AGE - 60).stale(now)


@pytest.mark.parametrize(
    ("value", "seconds"), [("90", 90.0), ("30m", 1800.0), ("12h", 43200.0), ("2d", 172800.0)]
)
def test_the_age_is_settable(monkeypatch, value, seconds):
    monkeypatch.setenv(resume.MAX_AGE_VARIABLE, value)
    assert resume.max_age() == seconds


def test_a_bad_age_is_one_sentence_with_a_hint(monkeypatch):
    monkeypatch.setenv(resume.MAX_AGE_VARIABLE, "soon")
    with pytest.raises(errors.UsageError) as caught:
        resume.max_age()
    assert caught.value.message == "RCWIZ_RESUME_MAX_AGE='soon' is not a duration."
    assert "12h" in caught.value.hint


def test_a_summary_shows_resumed_bytes_apart_from_those_sent():
    summary = Summary("copy", "src", "nc:dest", bytes=30 * MiB, files=1, chunked_files=1)
    summary.resumed_bytes = 70 * MiB
    lines = summary_text(summary)
    assert any("transferred 30.0 MiB in 1 file(s)" in line for line in lines), lines
    assert "  70.0 MiB resumed from an earlier run (not sent again)" in lines
    assert summary.as_dict()["resumed_bytes"] == 70 * MiB
    assert not any("resumed" in line for line in summary_text(Summary("copy", "a", "b")))


def test_the_ledger_lives_in_the_state_folder():
    assert str(resume.paths.state_dir()) == os.path.join(os.environ["XDG_STATE_HOME"], "rcwiz")
