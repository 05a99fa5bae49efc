"""`job history` and `job list` never make a dry run read as a run that sent something."""

from __future__ import annotations

import io

from rcwiz.commands.job_tables import jobs_table, runs_table
from rcwiz.jobs.history import Run
from rcwiz.ui.console import Stream


def shown(renderable: object) -> str:
    buffer = io.StringIO()
    Stream(buffer, width=120, force_terminal=False).print(renderable)
    return buffer.getvalue()


def test_a_dry_run_says_it_sent_nothing():
    runs = [
        Run("nightly", 1_700_000_000.0, 1_700_000_002.0, "ok", 203 * 2**20, 363, dry_run=True),
        Run("nightly", 1_700_000_100.0, 1_700_000_109.0, "ok", 203 * 2**20, 363),
    ]
    text = shown(runs_table(runs))
    dry, real = (line for line in text.splitlines() if "nightly" in line)
    assert "dry run: nothing sent" in dry and "(203.0 MiB)" in dry and "(363)" in dry
    assert "(" not in real and "203.0 MiB" in real


def test_the_last_run_of_a_profile_says_what_a_dry_run_would_send():
    from rcwiz.jobs.model import Job

    job = Job(name="nightly", source="/data", dest="nc:x")
    run = Run("nightly", 1_700_000_000.0, 1_700_000_002.0, "ok", 2**20, 3, dry_run=True)
    assert "would send 1.0 MiB" in shown(jobs_table({"nightly": job}, {"nightly": run}))
    back = Job(name="nightly", source="nc:x", dest="/data")  # a download fetches
    assert "would fetch 1.0 MiB" in shown(jobs_table({"nightly": back}, {"nightly": run}))
