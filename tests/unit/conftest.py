"""Unit tests' settings: Hypothesis keeps no example database, and its caches go to a
temporary folder removed at the end, not to a .hypothesis/ folder in the working tree (the
suite leaves nothing there, nor in /tmp)."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

settings.register_profile("rcwiz", database=None)
settings.load_profile("rcwiz")
# Set on import: Hypothesis reads it while the test modules are collected.
_HOME = tempfile.mkdtemp(prefix="rcwiz-hypothesis-")
set_hypothesis_home_dir(_HOME)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)
