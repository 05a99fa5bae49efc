"""cli.main(argv, env=Environment(...)): a run with its own streams, variables and folder, and
the process exactly as it was afterwards (rcwiz/environment.py)."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

from rcwiz import cli
from rcwiz.environment import Environment


def _env(tmp_path: Path, environ: dict[str, str], stdin: str = "") -> Environment:
    return Environment(
        stdin=io.StringIO(stdin),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=environ,
        cwd=tmp_path,
    )


def test_a_run_writes_to_its_own_streams_and_leaves_the_process_as_it_was(tmp_path):
    before = (sys.stdin, sys.stdout, sys.stderr, sys.argv, dict(os.environ), os.getcwd())
    handlers = logging.getLogger().handlers[:]
    env = _env(tmp_path, {"HOME": str(tmp_path), "RCWIZ_ONLY_HERE": "1"})
    assert cli.main(["--json", "--version"], env=env) == 0
    assert json.loads(env.stdout.getvalue())["command"] == "version"  # type: ignore[attr-defined]
    assert (sys.stdin, sys.stdout, sys.stderr, sys.argv, dict(os.environ), os.getcwd()) == before
    assert "RCWIZ_ONLY_HERE" not in os.environ
    assert logging.getLogger().handlers == handlers


def test_the_run_sees_its_variables_and_folder_and_says_its_errors_on_its_stderr(tmp_path):
    # A relative --config is read from the run's folder, and RCLONE_CONFIG from its variables.
    env = _env(tmp_path, {"HOME": str(tmp_path), "RCLONE_CONFIG": "named.conf"})
    assert cli.main(["quota"], env=env) == 8
    err = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "named.conf (RCLONE_CONFIG) does not exist" in err, err
    (tmp_path / "folder").mkdir()
    env = _env(tmp_path, {"HOME": str(tmp_path)})
    assert cli.main(["--config", "folder", "quota"], env=env) == 8
    assert "folder (--config) is a folder" in env.stderr.getvalue()  # type: ignore[attr-defined]


def test_what_a_run_sets_for_the_process_is_put_back(tmp_path):
    env = _env(tmp_path, {"HOME": str(tmp_path)})
    handlers = logging.getLogger().handlers[:]
    cli.main(["--debug", "quota"], env=env)
    assert logging.getLogger().handlers == handlers
    assert not any(type(h).__name__ == "RichHandler" for h in logging.getLogger().handlers), (
        "--debug's handler outlived its run"
    )


def test_help_ends_with_its_exit_code_instead_of_leaving_the_process(tmp_path):
    env = _env(tmp_path, {"HOME": str(tmp_path)})
    assert cli.main(["quota", "--help"], env=env) == 0
    assert "usage: rcwiz" in env.stdout.getvalue()  # type: ignore[attr-defined]
