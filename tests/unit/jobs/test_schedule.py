"""The text of a schedule: what cron, systemd and Slurm would run, exactly."""

from __future__ import annotations

import pytest

from rcwiz import errors
from rcwiz.jobs.model import Job
from rcwiz.jobs.schedule import (
    When,
    command,
    crontab_line,
    relative_paths,
    scrontab_entry,
    systemd_units,
)

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


def test_the_command_names_the_config_and_rclone_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = command("n", tmp_path / "jobs.yaml", "conf/rclone.conf", "bin/rclone")
    assert argv[3:] == [
        "--jobs",
        str(tmp_path / "jobs.yaml"),
        "--config",
        str(tmp_path / "conf/rclone.conf"),
        "--rclone",
        str(tmp_path / "bin/rclone"),
        "job",
        "run",
        "n",
    ]
    assert "--rclone" not in command("n", tmp_path / "jobs.yaml", "/c", None)
    with_ca = command("n", tmp_path / "jobs.yaml", None, None, "ca.pem")
    assert with_ca[5:7] == ["--ca-cert", str(tmp_path / "ca.pem")]


def test_relative_local_paths_are_found():
    job = Job(name="n", source="./results", dest="nc:x")
    assert relative_paths(job) == [("source", "./results")]
    assert relative_paths(Job(name="n", source="~/r", dest="out")) == [("dest", "out")]
    assert relative_paths(Job(name="n", source="/r", dest=":webdav:x")) == []
