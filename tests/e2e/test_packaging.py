"""The wheel users install: built without warnings, with every template inside."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CACHES = shutil.ignore_patterns("__pycache__", "*.pyc")


def test_the_wheel_builds_without_warnings_and_ships_the_templates(tmp_path):
    # Built from a copy: setuptools writes build/ and *.egg-info/ beside the sources it builds,
    # and the suite leaves nothing in the working tree.
    source = tmp_path / "source"
    for name in ("rcwiz", "templates"):
        shutil.copytree(ROOT / name, source / name, ignore=_CACHES)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            str(source),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    said = (done.stdout + done.stderr).lower()
    assert "would be ignored" not in said and "setuptoolsdeprecationwarning" not in said
    assert "is absent from the `packages` configuration" not in said
    (wheel,) = tmp_path.glob("rcwiz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").rglob("*.yaml")}
    assert {"rcwiz/" + name for name in shipped} <= names
