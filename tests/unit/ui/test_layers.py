"""The displays draw the events they are handed: they import neither the engine nor the rclone
layer, and the engine imports no display (issue 24). Imports are read with `ast`, those inside
functions and under TYPE_CHECKING included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RCWIZ = Path(__file__).resolve().parents[3] / "rcwiz"


def imported(path: Path) -> set[str]:
    """Every rcwiz module PATH imports, wherever in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("rcwiz")}


@pytest.mark.parametrize("display", ["progress", "live", "meter"])
def test_a_display_imports_neither_the_engine_nor_rclone(display):
    found = imported(RCWIZ / "ui" / f"{display}.py")
    leaks = {n for n in found if n.startswith(("rcwiz.transfer", "rcwiz.rclone"))}
    assert leaks == set()


def test_the_live_display_and_the_other_sinks_do_not_import_each_other():
    assert not {n for n in imported(RCWIZ / "ui" / "live.py") if n.startswith("rcwiz.ui.progress")}
    assert not {n for n in imported(RCWIZ / "ui" / "meter.py") if "progress" in n or "live" in n}


@pytest.mark.parametrize(
    "module", ["engine.py", "fastpath.py", "bulk.py", "archive.py", "bigfiles.py"]
)
def test_the_engine_and_the_fast_paths_import_no_display(module):
    assert not {n for n in imported(RCWIZ / "transfer" / module) if n.startswith("rcwiz.ui")}


def test_the_neutral_modules_import_nothing_of_either_side():
    assert imported(RCWIZ / "events.py") == set()
    assert {n.split(".")[1] for n in imported(RCWIZ / "counting.py")} <= {"events"}
