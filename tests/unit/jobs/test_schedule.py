"""The text of a schedule: what cron, systemd and Slurm would run, exactly."""

from __future__ import annotations

import pytest

from rcwiz import errors
from rcwiz.jobs.schedule import When, crontab_line, scrontab_entry, systemd_units

ARGV = ["/opt/py/bin/python", "-m", "rcwiz", "--jobs", "/home/me/50%/jobs.yaml", "job", "run", "n"]


def test_a_percent_in_a_crontab_line_is_escaped():
    line = crontab_line("n", When(daily="02:30"), ARGV)
    assert "/home/me/50\\%/jobs.yaml" in line and "50%/" not in line
    assert line.startswith("30 2 * * * ") and line.endswith(" # rcwiz job n")


def test_systemd_keeps_percent_and_dollar_literal():
    units = systemd_units("n", When(daily="02:30"), [*ARGV[:-1], "$HOME"])
    exec_start = next(
        line for line in units["rcwiz-job-n.service"].splitlines() if line.startswith("ExecStart=")
    )
    assert "50%%/jobs.yaml" in exec_start and "'$$HOME'" in exec_start


def test_scrontab_entry_has_sbatch_options_and_refuses_a_percent():
    entry = scrontab_entry(
        "n", When(cron="*/15 * * * *"), [a.replace("50%", "50") for a in ARGV], "1-00:00:00"
    )
    lines = entry.splitlines()
    assert lines[0] == "#SCRON --job-name=rcwiz-job-n" and lines[1] == "#SCRON --time=1-00:00:00"
    assert lines[-1].startswith("*/15 * * * * /opt/py/bin/python -m rcwiz")
    with pytest.raises(errors.UsageError, match="%"):
        scrontab_entry("n", When(daily="02:30"), ARGV, "02:00:00")
    with pytest.raises(errors.UsageError, match="time limit"):
        scrontab_entry("n", When(daily="02:30"), ARGV[:3], "soon")
