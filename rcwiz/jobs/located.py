"""YAML read into plain values that remember where each came from (line, column, key path).

The text is composed into YAML nodes (not loaded) and the Python values are built here from
the nodes: only mappings, sequences and the standard scalar types, a bounded number of nodes
(an alias bomb stops early) and a bounded depth (a recursive alias too). Every problem found
becomes a Problem with its place; PyYAML's own errors too. rcwiz.jobs.schema checks the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

# A real jobs file has tens of nodes; aliases can make a short text expand to billions.
MAX_NODES = 100_000
MAX_DEPTH = 50
# PyYAML's scanner is quadratic in the depth of [ and { (2000 of them take seconds) and its
# composer recurses per level: text nested deeper than this is refused before parsing.
MAX_BRACKETS = 200
_BRACKETS = re.compile(r"[\[\]{}]")

_TAG = "tag:yaml.org,2002:"
MAP, SEQ, MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_SCALAR_KINDS = {
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "timestamp": "a date",
    "null": "empty",
    "str": "text",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a jobs file; line and column are 1-based, None when unknown."""

    file: str
    line: int | None
    column: int | None
    path: str  # the key path, "jobs.nightly.dest"; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class Unreadable:
    """A value already reported (unreadable scalar, unsupported tag): checks skip it quietly."""


UNREADABLE = Unreadable()


def shown(value: Any) -> str:
    """VALUE as a message names it: 'many', 300, true, a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # str() of an int beyond 4300 digits raises ValueError; nobody wants to read it anyway.
        return str(value) if value.bit_length() <= 64 else "a very large number"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    text = str(value)
    return repr(text if len(text) <= 40 else text[:40] + "...")


# ----------------------------------------------------------------------------- nodes -> values


KeyPath = tuple[Any, ...]


class Abort(Exception):
    """Stop reading the document (too large or too deep) with one problem at PATH and MARK."""

    def __init__(self, message: str, path: KeyPath, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.message, self.path, self.mark = message, path, mark


def dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class Document:
    """Python values built from a composed node tree, remembering where each key and value is."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        # Not wrong, but likely not what was meant (a relative path, include with exclude).
        self.warnings: list[Problem] = []
        self.value_marks: dict[KeyPath, yaml.Mark] = {}
        self.key_marks: dict[KeyPath, yaml.Mark] = {}
        self._budget = MAX_NODES
        self._constructor = SafeConstructor()

    def add(self, path: KeyPath, message: str, mark: yaml.Mark | None = None) -> None:
        """Record a problem at PATH; MARK defaults to where PATH's value starts."""
        mark = mark or self.value_marks.get(path) or self.key_marks.get(path)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        self.problems.append(Problem(self.filename, line, column, dotted(path), message))

    def warn(self, path: KeyPath, message: str) -> None:
        """Record a warning at PATH (where its value starts)."""
        mark = self.value_marks.get(path) or self.key_marks.get(path)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        self.warnings.append(Problem(self.filename, line, column, dotted(path), message))

    def at_key(self, path: KeyPath, message: str) -> None:
        self.add(path, message, self.key_marks.get(path))

    def build(self, node: yaml.Node, path: KeyPath, depth: int = 0) -> Any:
        self._budget -= 1
        if self._budget < 0:
            message = f"the file holds more than {MAX_NODES} values (aliases expanding?)"
            raise Abort(message, path, node.start_mark)
        if depth > MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep (an alias used inside itself?)"
            raise Abort(message, path, node.start_mark)
        self.value_marks[path] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth) if self._tag_ok(node, MAP, path) else UNREADABLE
        if isinstance(node, yaml.SequenceNode):
            if not self._tag_ok(node, SEQ, path):
                return UNREADABLE
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path) if self._tag_ok(node, _SCALAR_TAGS, path) else UNREADABLE

    def _tag_ok(self, node: yaml.Node, allowed: str | set[str], path: KeyPath) -> bool:
        if node.tag in ({allowed} if isinstance(allowed, str) else allowed):
            return True
        tag = node.tag.replace(_TAG, "!!")
        self.add(path, f"the tag {tag} is not supported here; remove it", node.start_mark)
        return False

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        construct = SafeConstructor.yaml_constructors[node.tag]
        if "\0" in str(node.value):  # no command line, path or environment can hold one
            self.add(path, "contains a NUL character (\\0), which no command or path can hold")
            return UNREADABLE
        try:
            return construct(self._constructor, node)
        # PyYAML's constructors fail in several ways on text that resolves to a type it cannot
        # hold (2024-13-45, a 5000-digit number, `!!bool maybe`): each is a problem in the file.
        except Exception:
            kind = _SCALAR_KINDS.get(node.tag.replace(_TAG, ""), "a value")
            self.add(path, f"{shown(node.value)} cannot be read as {kind}; quote it if it is text")
            return UNREADABLE

    def _mapping(self, node: yaml.MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        # `<<: *other` (YAML's merge key): explicit keys win, then earlier merged mappings win.
        merged: list[yaml.Node] = []
        for key, value in node.value:
            if key.tag == MERGE:
                merged += value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in reversed(merged):
            if isinstance(source, yaml.MappingNode):
                value = self.build(source, path, depth + 1)
                if isinstance(value, dict):
                    result.update(value)
            else:
                self.add(path, "'<<' takes a mapping (or a list of them)", source.start_mark)
        self.value_marks[path] = node.start_mark  # building a merged mapping moved it
        seen: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.add(path, "a key must be a plain name", key_node.start_mark)
                continue
            if not self._tag_ok(key_node, _SCALAR_TAGS, path):
                continue
            # Keys are names: taken as written, so `2024:` names a profile "2024".
            key = key_node.value
            key_path = (*path, key)
            if key in seen:
                first = seen[key].line + 1
                self.add(
                    key_path,
                    f"duplicate key {shown(key)} (first given on line {first}); YAML would keep "
                    "only the last one, silently",
                    key_node.start_mark,
                )
                continue
            seen[key] = key_node.start_mark
            self.key_marks[key_path] = key_node.start_mark
            result[key] = self.build(value_node, key_path, depth + 1)
        return result


def yaml_problem(filename: str, exc: yaml.YAMLError, text: str) -> Problem:
    """Malformed YAML as one problem, at the place the parser stopped."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        before = text[: exc.position]
        line, column = before.count("\n"), exc.position - (before.rfind("\n") + 1)
        message = f"not valid YAML: the character U+{exc.character:04X} is not allowed"
        return Problem(filename, line + 1, column + 1, "", message)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    message = f"not valid YAML: {problem}"
    if context:  # PyYAML's order: "while parsing a block mapping (line 3), expected <block end>"
        line_note = f" (line {context_mark.line + 1})" if context_mark else ""
        message = f"not valid YAML: {context}{line_note}, {problem}"
    if "'\\t'" in message:
        message += "; indent with spaces, not tabs"
    if mark is None:
        return Problem(filename, None, None, "", message)
    return Problem(filename, mark.line + 1, mark.column + 1, "", message)


def bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { in TEXT, counting brackets in quotes too (an upper bound)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest
