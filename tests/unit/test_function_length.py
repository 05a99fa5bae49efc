"""The transfer path reads in small functions: none over MAX_LINES lines (issue 24).

Counted with `ast` from the `def` line to the last line of the body, docstring and comments
included, nested functions counted within their parent.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RCWIZ = Path(__file__).resolve().parents[2] / "rcwiz"
MAX_LINES = 60
TRANSFER_PATH = sorted(
    [
        RCWIZ / "actions" / "transfer.py",
        RCWIZ / "actions" / "transfer_checks.py",
        RCWIZ / "counting.py",
        RCWIZ / "events.py",
        RCWIZ / "ui" / "progress.py",
        RCWIZ / "ui" / "live.py",
        RCWIZ / "ui" / "meter.py",
        *(RCWIZ / "transfer").glob("*.py"),
    ]
)


def long_functions(path: Path) -> list[str]:
    """The functions in PATH longer than MAX_LINES, as "name: N lines"."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_LINES:
                found.append(f"{node.name}: {length} lines")
    return found


@pytest.mark.parametrize("path", TRANSFER_PATH, ids=lambda p: str(p.relative_to(RCWIZ)))
def test_no_function_in_the_transfer_path_is_over_60_lines(path):
    assert path.exists()
    assert long_functions(path) == []


def test_the_check_finds_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    sample = tmp_path / "long.py"
    sample.write_text(f"def long():\n{body}\n", encoding="utf-8")
    assert long_functions(sample) == [f"long: {MAX_LINES + 1} lines"]
