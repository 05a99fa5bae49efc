"""No import cycles between rcwiz's packages (issue 24): data flows one way (docs/architecture.md),
so a package never imports, even lazily inside a function or for type checking only, one that
imports it back. Read with `ast` from the source, every kind of import included; the failure names
one cycle and the modules whose imports make each step of it."""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

RCWIZ = Path(__file__).resolve().parents[2] / "rcwiz"


def unit_of(module: str) -> str:
    """The package a module belongs to: rcwiz.transfer.bulk -> rcwiz.transfer; a top-level
    module (rcwiz.cli, rcwiz.errors) is a unit of its own."""
    parts = module.split(".")
    if len(parts) > 2 or (RCWIZ / parts[-1]).is_dir():
        return ".".join(parts[:2])
    return module


def module_name(path: Path) -> str:
    relative = path.relative_to(RCWIZ.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every rcwiz module PATH imports, anywhere in the file (functions and TYPE_CHECKING too)."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "rcwiz" or name.startswith("rcwiz.")}


def graph() -> dict[str, dict[str, set[str]]]:
    """unit -> unit it imports -> the modules whose imports make that edge."""
    known = {module_name(p) for p in RCWIZ.rglob("*.py")}
    edges: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in RCWIZ.rglob("*.py"):
        here = module_name(path)
        for name in imports_of(path):
            while name not in known and "." in name:  # `from rcwiz.x import function`
                name = name.rpartition(".")[0]
            if name == "rcwiz" or name not in known:
                continue
            source, target = unit_of(here), unit_of(name)
            if source != target:
                edges[source][target].add(f"{here} -> {name}")
    return edges


def cycle_in(edges: dict[str, dict[str, set[str]]]) -> list[str] | None:
    """One cycle between units (a list that starts and ends at the same unit), or None."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = 1
        trail.append(unit)
        for target in sorted(edges.get(unit, {})):
            if state.get(target) == 1:
                return [*trail[trail.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        trail.pop()
        state[unit] = 2
        return None

    for unit in sorted(edges):
        if unit not in state and (found := visit(unit)):
            return found
    return None


def test_no_package_imports_one_that_imports_it_back():
    edges = graph()
    cycle = cycle_in(edges)
    steps = []
    if cycle:
        for a, b in itertools.pairwise(cycle):
            steps.append(f"{a} -> {b}: " + ", ".join(sorted(edges[a][b])[:3]))
    assert cycle is None, "import cycle:\n" + "\n".join(steps)


def test_the_check_finds_a_cycle():
    made_up = {"a": {"b": {"a.x -> b.y"}}, "b": {"c": {"b.y -> c.z"}}, "c": {"a": {"c.z -> a.x"}}}
    assert cycle_in(made_up) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b": {"a -> b"}}}) is None


def test_the_graph_sees_lazy_and_type_checking_imports():
    edges = graph()
    # cli imports the commands only inside functions (lazily, for start-up time)
    assert "rcwiz.commands" in edges["rcwiz.parser"] or "rcwiz.commands" in edges["rcwiz.cli"]
