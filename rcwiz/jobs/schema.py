"""The jobs file, validated in one place: every problem at once, each with its line and key path.

A jobs file is YAML:

    version: 1                 # optional
    defaults:                  # optional; every profile inherits these, its own value wins
      dest: nextcloud:results
    jobs:                      # required; profile name -> profile
      nightly:
        source: /scratch/me/results
        mode: copy

Lists are not merged: a profile's `include:` replaces the default's. The keys a profile takes
are KEYS; rcwiz.jobs.model.Job is what a valid profile becomes.

The text is composed into YAML nodes (not loaded) so every value keeps the line and column it
came from, and the Python values are built here from the nodes: only mappings, sequences and
the standard scalar types, a bounded number of nodes (an alias bomb stops early) and a bounded
depth (a recursive alias too). Whatever the input, parse and load raise only JobsFileInvalid.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from rcwiz import errors
from rcwiz.jobs.model import DELETING_MODES, MODES, Job, ShareSpec, split_flags

TOP_KEYS = ("version", "defaults", "jobs")
VERSION = 1
MAX_TRANSFERS = 256
# Profile names become lock files, log files and systemd units (rcwiz-job-NAME.timer):
# ASCII only, starting with a letter or digit so a name is never hidden (.x) or an option (-x).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME_LENGTH = 64
# A real jobs file has tens of nodes; aliases can make a short text expand to billions.
MAX_NODES = 100_000
MAX_DEPTH = 50
# PyYAML's scanner is quadratic in the depth of [ and { (2000 of them take seconds) and its
# composer recurses per level: text nested deeper than this is refused before parsing.
MAX_BRACKETS = 200
_BRACKETS = re.compile(r"[\[\]{}]")

_TAG = "tag:yaml.org,2002:"
_MAP, _SEQ, _MERGE = _TAG + "map", _TAG + "seq", _TAG + "merge"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_SCALAR_KINDS = {"int": "a number", "float": "a number", "bool": "true or false",
                 "timestamp": "a date", "null": "empty", "str": "text"}  # fmt: skip


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


class JobsFileInvalid(errors.UsageError):
    """A jobs file that cannot be used; `problems` holds every problem found, in file order."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        count = len(problems)
        super().__init__(
            f"The jobs file {filename} has {count} problem{'' if count == 1 else 's'}.",
            "Fix the lines listed and run the command again. A profile takes the keys "
            f"{', '.join(KEYS)}.",
            items=[str(problem) for problem in problems],
        )
        self.filename = filename
        self.problems = list(problems)


# ----------------------------------------------------------------------------- profile values


class _Bad(Exception):
    """A value a key does not accept; `each` holds (path suffix, message) pairs."""

    def __init__(self, message: str = "", each: list[tuple[tuple[Any, ...], str]] | None = None):
        super().__init__(message)
        self.each = each if each is not None else [((), message)]


class _Invalid:
    """A value already reported (unreadable scalar, unsupported tag): checks skip it quietly."""


_INVALID = _Invalid()


def _shown(value: Any) -> str:
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


def _expected(what: str, value: Any) -> str:
    if value is None:
        return f"has no value; it must be {what}"
    return f"must be {what}, not {_shown(value)}"


def _skip_invalid(value: Any) -> None:
    if isinstance(value, _Invalid):
        raise _Bad(each=[])


def _text(what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        _skip_invalid(value)
        if not isinstance(value, str):
            quote = value is not None and not isinstance(value, (list, dict))
            raise _Bad(_expected(what, value) + ("; quote it to mean the text" if quote else ""))
        if not value.strip():
            raise _Bad(f"is empty; it must be {what}")
        return value

    return check


def _boolean(value: Any) -> bool:
    _skip_invalid(value)
    if not isinstance(value, bool):
        raise _Bad(_expected("true or false", value))
    return value


def _mode(value: Any) -> str:
    _skip_invalid(value)
    if isinstance(value, str) and value in MODES:
        return value
    message = _expected(f"one of {', '.join(MODES)}", value)
    if isinstance(value, str):
        message += _did_you_mean(value, MODES)
    raise _Bad(message)


def _transfers(value: Any) -> int:
    _skip_invalid(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_TRANSFERS:
        return value
    raise _Bad(_expected(f"a whole number between 1 and {MAX_TRANSFERS}", value))


def _bwlimit(value: Any) -> str:
    _skip_invalid(value)
    what = "a rate such as '10M' (MiB/s) or a positive whole number (KiB/s)"
    if isinstance(value, int) and not isinstance(value, bool):
        if value > 0 and value.bit_length() <= 63:
            return str(value)
    elif isinstance(value, str) and value.strip():
        return value
    raise _Bad(_expected(what, value))


def _strings(what: str, value: list[Any]) -> tuple[str, ...]:
    """Every item of VALUE must be non-empty text; all bad items are reported."""
    found, each = [], []
    for index, item in enumerate(value):
        if isinstance(item, _Invalid):
            each.append(((index,), ""))  # reported when it was read
        elif not isinstance(item, str):
            each.append(((index,), _expected(what, item)))
        elif not item.strip():
            each.append(((index,), f"is empty; it must be {what}"))
        else:
            found.append(item)
    if each:
        raise _Bad(each=[(suffix, message) for suffix, message in each if message])
    return tuple(found)


def _patterns(value: Any) -> tuple[str, ...]:
    _skip_invalid(value)
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list):
        return _strings("a pattern", value)
    raise _Bad(_expected("a pattern or a list of patterns", value))


def _flags(value: Any) -> tuple[str, ...]:
    _skip_invalid(value)
    if isinstance(value, str):
        try:
            return split_flags(value)
        except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
            raise _Bad(f"cannot be split into flags ({exc}); check the quotes") from None
    if isinstance(value, list):
        return _strings("a flag", value)
    raise _Bad(_expected("flags in one string or a list of flags", value))


def _share(value: Any) -> ShareSpec | None:
    """`share: true`, or a mapping with permissions (read, edit) and expire_days."""
    _skip_invalid(value)
    if value is True:
        return ShareSpec()
    if value is False or value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad(_expected("true, or a mapping with permissions: and expire_days:", value))
    each: list[tuple[tuple[Any, ...], str]] = []
    permissions, days = "read", None
    for key, item in value.items():
        if key == "permissions":
            if item in ("read", "edit"):
                permissions = item
            else:
                each.append(((key,), _expected("read or edit", item)))
        elif key == "expire_days":
            if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 3650:
                days = item
            else:
                each.append(((key,), _expected("a whole number of days from 1 to 3650", item)))
        else:
            hint = _did_you_mean(str(key), ("permissions", "expire_days"))
            each.append(((key,), f"unknown key {_shown(key)}{hint}"))
    if each:
        raise _Bad(each=each)
    return ShareSpec(permissions, days)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "source": _text("a local path or remote:path"),
    "dest": _text("a local path or remote:path"),
    "mode": _mode,
    "allow_deletes": _boolean,
    "include": _patterns,
    "exclude": _patterns,
    "filter_from": _text("the path of a filter file"),
    "transfers": _transfers,
    "bwlimit": _bwlimit,
    "checksum": _boolean,
    "dry_run": _boolean,
    "extra_flags": _flags,
    "before": _text("a shell command"),
    "after": _text("a shell command"),
    "on_failure": _text("a shell command"),
    "share": _share,
}
# The keys a profile (and `defaults:`) takes; each is a field of rcwiz.jobs.model.Job.
KEYS: tuple[str, ...] = tuple(_CHECKS)
_REQUIRED = {
    "source": "where the files come from, a local path or remote:path",
    "dest": "where the files go, a local path or remote:path",
}


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word.lower(), choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ----------------------------------------------------------------------------- nodes -> values


_KeyPath = tuple[Any, ...]


class _Abort(Exception):
    """Stop reading the document (too large or too deep) with one problem at PATH and MARK."""

    def __init__(self, message: str, path: _KeyPath, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.message, self.path, self.mark = message, path, mark


def _dotted(path: _KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Document:
    """Python values built from a composed node tree, remembering where each key and value is."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.value_marks: dict[_KeyPath, yaml.Mark] = {}
        self.key_marks: dict[_KeyPath, yaml.Mark] = {}
        self._budget = MAX_NODES
        self._constructor = SafeConstructor()

    def add(self, path: _KeyPath, message: str, mark: yaml.Mark | None = None) -> None:
        """Record a problem at PATH; MARK defaults to where PATH's value starts."""
        mark = mark or self.value_marks.get(path) or self.key_marks.get(path)
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        self.problems.append(Problem(self.filename, line, column, _dotted(path), message))

    def at_key(self, path: _KeyPath, message: str) -> None:
        self.add(path, message, self.key_marks.get(path))

    def build(self, node: yaml.Node, path: _KeyPath, depth: int = 0) -> Any:
        self._budget -= 1
        if self._budget < 0:
            message = f"the file holds more than {MAX_NODES} values (aliases expanding?)"
            raise _Abort(message, path, node.start_mark)
        if depth > MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep (an alias used inside itself?)"
            raise _Abort(message, path, node.start_mark)
        self.value_marks[path] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth) if self._tag_ok(node, _MAP, path) else _INVALID
        if isinstance(node, yaml.SequenceNode):
            if not self._tag_ok(node, _SEQ, path):
                return _INVALID
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path) if self._tag_ok(node, _SCALAR_TAGS, path) else _INVALID

    def _tag_ok(self, node: yaml.Node, allowed: str | set[str], path: _KeyPath) -> bool:
        if node.tag in ({allowed} if isinstance(allowed, str) else allowed):
            return True
        tag = node.tag.replace(_TAG, "!!")
        self.add(path, f"the tag {tag} is not supported here; remove it", node.start_mark)
        return False

    def _scalar(self, node: yaml.Node, path: _KeyPath) -> Any:
        construct = SafeConstructor.yaml_constructors[node.tag]
        try:
            return construct(self._constructor, node)
        # PyYAML's constructors fail in several ways on text that resolves to a type it cannot
        # hold (2024-13-45, a 5000-digit number, `!!bool maybe`): each is a problem in the file.
        except Exception:
            kind = _SCALAR_KINDS.get(node.tag.replace(_TAG, ""), "a value")
            self.add(path, f"{_shown(node.value)} cannot be read as {kind}; quote it if it is text")
            return _INVALID

    def _mapping(self, node: yaml.MappingNode, path: _KeyPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        # `<<: *other` (YAML's merge key): explicit keys win, then earlier merged mappings win.
        merged: list[yaml.Node] = []
        for key, value in node.value:
            if key.tag == _MERGE:
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
            if key_node.tag == _MERGE:
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
                    f"duplicate key {_shown(key)} (first given on line {first}); YAML would keep "
                    "only the last one, silently",
                    key_node.start_mark,
                )
                continue
            seen[key] = key_node.start_mark
            self.key_marks[key_path] = key_node.start_mark
            result[key] = self.build(value_node, key_path, depth + 1)
        return result


# ----------------------------------------------------------------------------- validation


@dataclass
class _Checked:
    """One mapping of profile keys after checking: good values, and every key it gave."""

    values: dict[str, Any]
    given: set[str]


def _check_keys(doc: _Document, mapping: dict[str, Any], path: _KeyPath) -> _Checked:
    values: dict[str, Any] = {}
    for key, value in mapping.items():
        key_path = (*path, key)
        check = _CHECKS.get(key)
        if check is None:
            doc.at_key(key_path, f"unknown key {_shown(key)}{_did_you_mean(key, KEYS)}")
            continue
        try:
            values[key] = check(value)
        except _Bad as bad:
            for suffix, message in bad.each:
                doc.add((*key_path, *suffix), message)
    return _Checked(values, {key for key in mapping if key in _CHECKS})


def _profile(doc: _Document, name: str, raw: Any, defaults: _Checked) -> Job | None:
    path = ("jobs", name)
    reported = len(doc.problems)
    if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
        doc.at_key(
            path,
            f"the name {_shown(name)} must start with a letter or digit and hold only letters, "
            f"digits, '_', '-' and '.' (at most {MAX_NAME_LENGTH}): it names files and "
            "systemd units",
        )
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        if not isinstance(raw, _Invalid):
            doc.add(path, _expected("a mapping of keys such as source: and dest:", raw))
        return None
    own = _check_keys(doc, raw, path)
    given = own.given | defaults.given
    resolved = {**defaults.values, **own.values}
    for key, meaning in _REQUIRED.items():
        if key not in given:
            doc.at_key(path, f"'{key}' is missing: {meaning}")
    mode = resolved.get("mode", "copy")
    if mode in DELETING_MODES and not resolved.get("allow_deletes", False):
        where = "the destination" if mode == "sync" else "the source"
        inherited = "mode" not in own.given
        doc.add(
            (*path, "mode"),
            f"mode {mode}{' (from defaults)' if inherited else ''} deletes files at {where}; "
            "add 'allow_deletes: true' to this profile or to defaults to confirm",
            doc.key_marks.get(path) if inherited else None,
        )
        return None
    # A value read as invalid (an unknown tag, a bad date) was reported while building.
    if len(doc.problems) > reported or given - resolved.keys():
        return None
    return Job(name=name, **resolved)


_EMPTY = "the file is empty: it needs a 'jobs:' mapping"


def _top_level(doc: _Document, data: Any, root: yaml.Node) -> dict[str, Job]:
    if data is None:  # only `---`, or `~`
        doc.add((), _EMPTY, root.start_mark)
        return {}
    if not isinstance(data, dict):
        if not isinstance(data, _Invalid):
            doc.add((), _expected("a mapping with a 'jobs:' key", data), root.start_mark)
        return {}
    for key in data:
        if key in TOP_KEYS:
            continue
        hint = (
            f" ('{key}' belongs in a profile under jobs:, or under defaults:)"
            if key in KEYS
            else _did_you_mean(key, TOP_KEYS)
        )
        doc.at_key((key,), f"unknown key {_shown(key)}{hint}")
    version = data.get("version", VERSION)
    if not isinstance(version, _Invalid) and (type(version) is not int or version != VERSION):
        doc.add(("version",), _expected(f"{VERSION} (the only version there is)", version))
    defaults = data.get("defaults")
    if defaults is None or isinstance(defaults, _Invalid):
        defaults = {}
    elif not isinstance(defaults, dict):
        doc.add(("defaults",), _expected("a mapping of profile keys", defaults))
        defaults = {}
    checked_defaults = _check_keys(doc, defaults, ("defaults",))
    if "jobs" not in data:
        message = "'jobs:' is missing: the file must map profile names to profiles under it"
        doc.add((), message, root.start_mark)
        return {}
    jobs = data["jobs"]
    if jobs is None or isinstance(jobs, _Invalid):
        return {}
    if not isinstance(jobs, dict):
        doc.add(("jobs",), _expected("a mapping of profile names to profiles", jobs))
        return {}
    found = {}
    for name, raw in jobs.items():
        job = _profile(doc, name, raw, checked_defaults)
        if job is not None:
            found[name] = job
    return found


def _yaml_problem(filename: str, exc: yaml.YAMLError, text: str) -> Problem:
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
    line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
    return Problem(filename, line, column, "", message)


def _bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { in TEXT, counting brackets in quotes too (an upper bound)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _read(text: str, filename: str) -> tuple[dict[str, Job], list[Problem]]:
    doc = _Document(filename)
    if _bracket_depth(text) > MAX_BRACKETS:
        message = f"brackets [ and {{ are nested more than {MAX_BRACKETS} deep"
        return {}, [Problem(filename, None, None, "", message)]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        return {}, [_yaml_problem(filename, exc, text)]
    except RecursionError:
        return {}, [Problem(filename, None, None, "", "the YAML is nested too deeply to read")]
    # PyYAML is a third-party parser: whatever else it raises on hostile text is still a
    # problem with the file, never a crash of rcwiz.
    except Exception as exc:
        return {}, [Problem(filename, None, None, "", f"cannot be read as YAML: {exc}")]
    if root is None:
        return {}, [Problem(filename, None, None, "", _EMPTY)]
    try:
        data = doc.build(root, ())
        jobs = _top_level(doc, data, root)
    except _Abort as abort:
        # The path can be thousands of aliases long: show where it starts.
        doc.add(abort.path[:3], abort.message, abort.mark)
        jobs = {}
    problems = sorted(doc.problems, key=lambda p: (p.line or 0, p.column or 0))
    return jobs, problems


# ----------------------------------------------------------------------------- public API


def problems_of(text: str, filename: str) -> list[Problem]:
    """Every problem in TEXT (a jobs file called FILENAME in messages), in file order."""
    return _read(text, filename)[1]


def parse(text: str, filename: str) -> dict[str, Job]:
    """The profiles in TEXT by name, in file order; raises JobsFileInvalid with every problem."""
    jobs, problems = _read(text, filename)
    if problems:
        raise JobsFileInvalid(filename, problems)
    return jobs


def load(path: Path) -> dict[str, Job]:
    """The profiles in the jobs file at PATH; a file that does not exist holds none."""
    filename = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise JobsFileInvalid(
            filename, [Problem(filename, None, None, "", f"cannot be read: {reason}")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        message = f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        raise JobsFileInvalid(filename, [Problem(filename, line, column, "", message)]) from None
    return parse(text, filename)
