"""The jobs file: every problem at once with its line, column and key path; nothing else escapes."""

from __future__ import annotations

import dataclasses
import re
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rcwiz import paths
from rcwiz.errors import ExitCode, UsageError
from rcwiz.jobs.located import MAX_NODES, Problem
from rcwiz.jobs.model import Job
from rcwiz.jobs.schema import (
    KEYS,
    JobsFileInvalid,
    load,
    parse,
    problems_of,
    warnings_of,
)
from rcwiz.jobs.templates import PLACEHOLDER, placeholders, settings_of, templates


def where(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """The 1-based (line, column) of the OCCURRENCE-th NEEDLE in TEXT."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def invalid(text: str, filename: str = "jobs.yaml") -> JobsFileInvalid:
    with pytest.raises(JobsFileInvalid) as info:
        parse(text, filename)
    return info.value


def only(problems: list[Problem], path: str) -> Problem:
    found = [p for p in problems if p.path == path]
    assert len(found) == 1, (path, problems)
    return found[0]


# ----------------------------------------------------------------------------- done when

DONE_WHEN = """\
version: 1
defaults:
  transfers: 4
jobs:
  nightly:
    source: /scratch/me/results
    destt: nextcloud:results
    transfers: many
"""


def test_done_when_every_problem_with_its_line_and_a_suggestion() -> None:
    exc = invalid(DONE_WHEN)
    assert exc.exit_code == ExitCode.USAGE == 2
    assert isinstance(exc, UsageError)
    assert exc.message == "The jobs file jobs.yaml has 3 problems."
    assert exc.hint

    typo = only(exc.problems, "jobs.nightly.destt")
    assert (typo.line, typo.column) == where(DONE_WHEN, "destt")
    assert typo.message == "unknown key 'destt' (did you mean 'dest'?)"

    wrong = only(exc.problems, "jobs.nightly.transfers")
    assert (wrong.line, wrong.column) == where(DONE_WHEN, "many")
    assert wrong.message == "must be a whole number between 1 and 256, not 'many'"

    missing = only(exc.problems, "jobs.nightly")
    assert (missing.line, missing.column) == where(DONE_WHEN, "nightly")
    assert "'dest' is missing" in missing.message

    # Shown under the message, in file order, as file:line:column: path: message.
    line, column = where(DONE_WHEN, "destt")
    assert exc.items == [str(p) for p in exc.problems]
    assert f"jobs.yaml:{line}:{column}: jobs.nightly.destt: unknown key 'destt'" in exc.items[1]
    assert [p.line for p in exc.problems] == sorted(p.line for p in exc.problems)


def test_problem_text_format() -> None:
    problem = Problem(
        "jobs.yaml", 12, 5, "jobs.nightly.destt", "unknown key 'destt' (did you mean 'dest'?)"
    )
    expected = "jobs.yaml:12:5: jobs.nightly.destt: unknown key 'destt' (did you mean 'dest'?)"
    assert str(problem) == expected
    assert str(Problem("/x/jobs.yaml", None, None, "", "the file is empty")) == (
        "/x/jobs.yaml: the file is empty"
    )
    assert str(Problem("j.yaml", 3, None, "jobs", "m")) == "j.yaml:3: jobs: m"


def test_one_problem_is_singular() -> None:
    exc = invalid("jobs:\n  a: {source: x}\n", "/home/me/jobs.yaml")
    assert exc.message == "The jobs file /home/me/jobs.yaml has 1 problem."
    assert exc.filename == "/home/me/jobs.yaml"


def test_keys_are_the_job_fields() -> None:
    fields = [f.name for f in dataclasses.fields(Job) if f.name != "name"]
    assert list(KEYS) == fields


# ----------------------------------------------------------------------------- valid files


def test_a_full_profile() -> None:
    text = """\
jobs:
  nightly:
    source: /scratch/results
    dest: "nextcloud:results 2024"
    mode: move
    allow_deletes: yes
    include: "*.csv"
    exclude: ["*.tmp", "cache/**"]
    filter_from: /home/me/filters.txt
    transfers: 256
    bwlimit: 10
    checksum: true
    dry_run: false
    extra_flags: --max-age 7d --exclude 'a b'
    before: make check
    after: echo done
    on_failure: mail -s failed me
"""
    assert parse(text, "jobs.yaml") == {
        "nightly": Job(
            name="nightly",
            source="/scratch/results",
            dest="nextcloud:results 2024",
            mode="move",
            allow_deletes=True,
            include=("*.csv",),
            exclude=("*.tmp", "cache/**"),
            filter_from="/home/me/filters.txt",
            transfers=256,
            bwlimit="10",
            checksum=True,
            dry_run=False,
            extra_flags=("--max-age", "7d", "--exclude", "a b"),
            before="make check",
            after="echo done",
            on_failure="mail -s failed me",
        )
    }


def test_defaults_are_inherited_and_lists_replaced_not_merged() -> None:
    text = """\
defaults:
  dest: nextcloud:backup
  transfers: 4
  include: ["*.csv", "*.h5"]
  checksum: true
jobs:
  first:
    source: /a
  second:
    source: /b
    dest: /elsewhere
    transfers: 8
    include: ["*.txt"]
"""
    jobs = parse(text, "jobs.yaml")
    assert list(jobs) == ["first", "second"]
    first, second = jobs["first"], jobs["second"]
    assert (first.dest, first.transfers, first.include, first.checksum) == (
        "nextcloud:backup",
        4,
        ("*.csv", "*.h5"),
        True,
    )
    assert (second.dest, second.transfers, second.include, second.checksum) == (
        "/elsewhere",
        8,
        ("*.txt",),
        True,
    )


def test_empty_jobs_mapping_is_valid() -> None:
    assert parse("jobs: {}\n", "jobs.yaml") == {}
    assert parse("version: 1\njobs:\n", "jobs.yaml") == {}
    assert problems_of("jobs: {}\n", "jobs.yaml") == []


def test_anchors_aliases_and_merge_keys() -> None:
    text = """\
jobs:
  base: &base
    source: /a
    dest: nextcloud:a
    include: &pats ["*.csv"]
  other:
    <<: *base
    dest: nextcloud:b
    exclude: *pats
"""
    jobs = parse(text, "jobs.yaml")
    assert jobs["other"] == Job(
        name="other", source="/a", dest="nextcloud:b", include=("*.csv",), exclude=("*.csv",)
    )


def test_numbers_and_dates_as_names_and_bwlimit() -> None:
    jobs = parse("jobs:\n  2024:\n    source: a\n    dest: b\n    bwlimit: 10\n", "jobs.yaml")
    assert jobs["2024"].bwlimit == "10"
    assert isinstance(jobs["2024"].bwlimit, str)


def test_extra_flags_as_a_list() -> None:
    jobs = parse("jobs: {a: {source: x, dest: y, extra_flags: [--fast-list, -v]}}", "j.yaml")
    assert jobs["a"].extra_flags == ("--fast-list", "-v")


# ----------------------------------------------------------------------------- deletes


@pytest.mark.parametrize("mode, where_", [("sync", "destination"), ("move", "source")])
def test_deleting_modes_need_allow_deletes(mode: str, where_: str) -> None:
    text = f"jobs:\n  mirror:\n    source: /a\n    dest: b:c\n    mode: {mode}\n"
    problem = only(invalid(text).problems, "jobs.mirror.mode")
    assert (problem.line, problem.column) == where(text, mode)
    assert "allow_deletes: true" in problem.message and where_ in problem.message
    assert parse(text + "    allow_deletes: true\n", "j.yaml")["mirror"].mode == mode
    assert "jobs.mirror.mode" in {
        p.path for p in invalid(text + "    allow_deletes: no\n").problems
    }


def test_allow_deletes_in_defaults() -> None:
    text = "defaults:\n  allow_deletes: true\njobs:\n  m: {source: a, dest: b, mode: sync}\n"
    assert parse(text, "jobs.yaml")["m"].allow_deletes is True


def test_mode_from_defaults_without_allow_deletes_points_at_the_profile() -> None:
    text = "defaults:\n  mode: sync\njobs:\n  m: {source: a, dest: b}\n"
    problem = only(invalid(text).problems, "jobs.m.mode")
    assert "(from defaults)" in problem.message
    assert problem.line == where(text, "m:")[0]


# ----------------------------------------------------------------------------- wrong values

BAD_VALUES = [
    ("transfers", "0", "between 1 and 256, not 0"),
    ("transfers", "257", "between 1 and 256, not 257"),
    ("transfers", "true", "between 1 and 256, not true"),  # a bool is not a number here
    ("transfers", "2.5", "between 1 and 256, not 2.5"),
    ("transfers", "9" * 5000, "cannot be read as a number"),
    ("transfers", "0x" + "f" * 5000, "not a very large number"),
    ("bwlimit", "0", "positive whole number"),
    ("bwlimit", "-5", "not -5"),
    ("bwlimit", "yes", "not true"),
    ("bwlimit", "0x" + "f" * 5000, "not a very large number"),
    ("checksum", "maybe", "must be true or false, not 'maybe'"),
    ("dry_run", "1", "must be true or false, not 1"),
    ("mode", "mirror", "one of copy, sync, move, not 'mirror'"),
    ("mode", "synk", "(did you mean 'sync'?)"),
    ("include", "[a, 5]", "must be a pattern, not 5"),
    ("exclude", "{a: b}", "not a mapping"),
    ("extra_flags", '"--exclude \'a b"', "cannot be split into flags"),
    ("extra_flags", "[--a, [x]]", "must be a flag, not a list"),
    ("before", "", "has no value"),
    ("after", "'  '", "is empty"),
    ("on_failure", "12", "not 12; quote it"),
    ("filter_from", "2024-13-45", "cannot be read as a date"),
    ("source", "!!python/object/apply:os.system [echo]", "tag !!python/object/apply:os.system"),
    ("source", "!custom x", "tag !custom is not supported"),
    ("source", "!!binary aGk=", "tag !!binary is not supported"),
    ("source", "!!bool maybe", "cannot be read as true or false"),
]


@pytest.mark.parametrize("key, value, expected", BAD_VALUES)
def test_wrong_value_is_a_problem_at_its_line(key: str, value: str, expected: str) -> None:
    text = f"jobs:\n  job1:\n    source: /a\n    dest: b:c\n    {key}: {value}\n"
    if key == "source":
        text = f"jobs:\n  job1:\n    dest: b:c\n    {key}: {value}\n"
    problems = invalid(text).problems
    path = f"jobs.job1.{key}"
    matching = [p for p in problems if p.path.startswith(path)]
    assert matching, problems
    assert any(expected in p.message for p in matching), matching
    assert all(p.line == where(text, f"{key}:")[0] for p in matching)
    assert len(problems) == len(matching)  # no follow-up problem such as "'source' is missing"


def test_problems_inside_lists_name_the_item() -> None:
    text = (
        'jobs:\n  a:\n    source: x\n    dest: y\n    include:\n      - ok\n      - 3\n      - ""\n'
    )
    problems = invalid(text).problems
    assert [p.path for p in problems] == ["jobs.a.include[1]", "jobs.a.include[2]"]
    assert [(p.line, p.column) for p in problems] == [where(text, "3"), where(text, '""')]


def test_every_problem_in_defaults_is_reported_once() -> None:
    text = "defaults:\n  transfers: lots\njobs:\n  a: {source: x, dest: y}\n  b: {dest: y}\n"
    problems = invalid(text).problems
    assert [p.path for p in problems] == ["defaults.transfers", "jobs.b"]  # b lacks source


def test_missing_source_and_dest() -> None:
    text = "jobs:\n  empty:\n  alone: {mode: copy}\n"
    problems = invalid(text).problems
    assert [(p.path, p.line) for p in problems] == [
        ("jobs.empty", 2),
        ("jobs.empty", 2),
        ("jobs.alone", 3),
        ("jobs.alone", 3),
    ]
    assert {p.message.split(" ")[0] for p in problems} == {"'source'", "'dest'"}


def test_a_profile_must_be_a_mapping() -> None:
    problem = only(invalid("jobs:\n  a: [x, y]\n").problems, "jobs.a")
    assert "must be a mapping" in problem.message and "not a list" in problem.message


# ----------------------------------------------------------------------------- keys and names


def test_unknown_keys_everywhere_get_suggestions() -> None:
    text = "job:\n  a: {}\ndefaults:\n  transfer: 3\n  colour: red\nsource: x\njobs: {}\n"
    problems = invalid(text).problems
    assert only(problems, "job").message == "unknown key 'job' (did you mean 'jobs'?)"
    assert only(problems, "defaults.transfer").message.endswith("(did you mean 'transfers'?)")
    assert only(problems, "defaults.colour").message == "unknown key 'colour'"
    assert "belongs in a profile" in only(problems, "source").message
    assert only(problems, "defaults.colour").line == where(text, "colour")[0]


def test_duplicate_keys_are_a_problem() -> None:
    text = "jobs:\n  a:\n    source: x\n    dest: one\n    dest: two\n  a:\n    source: y\n"
    problems = invalid(text).problems
    dest = only(problems, "jobs.a.dest")
    assert (dest.line, dest.column) == where(text, "dest", occurrence=2)
    assert f"first given on line {where(text, 'dest')[0]}" in dest.message
    profile = only(problems, "jobs.a")
    assert profile.line == where(text, "  a:", occurrence=2)[0]
    assert "duplicate key 'a'" in profile.message


@pytest.mark.parametrize(
    "name", ["my job", "-x", ".hidden", "a/b", "..", "é", "x" * 65, "a:b", '""', "'a\\n'"]
)
def test_bad_profile_names(name: str) -> None:
    text = f"jobs:\n  {name}:\n    source: x\n    dest: y\n"
    problems = invalid(text).problems
    assert len(problems) == 1
    assert problems[0].line == 2 and problems[0].path.startswith("jobs.")
    assert "letters, digits" in problems[0].message


@pytest.mark.parametrize("name", ["a", "A-1_b.c", "2024", "nightly.v2", "x" * 64])
def test_good_profile_names(name: str) -> None:
    assert list(parse(f"jobs:\n  {name}:\n    source: x\n    dest: y\n", "j.yaml")) == [name]


# ----------------------------------------------------------------------------- the file itself


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_an_empty_file_is_a_problem(text: str) -> None:
    problems = invalid(text).problems
    assert len(problems) == 1 and "empty" in problems[0].message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("version: 1\ndefaults: {}\n", "'jobs:' is missing"),
        ("- a\n- b\n", "not a list"),
        ("just text\n", "not 'just text'"),
        ("jobs: [a]\n", "mapping of profile names"),
        ("defaults: 3\njobs: {}\n", "a mapping of profile keys"),
        ("version: 2\njobs: {}\n", "not 2"),
        ("version: true\njobs: {}\n", "not true"),
    ],
)
def test_wrong_shape_of_the_file(text: str, expected: str) -> None:
    problems = invalid(text).problems
    assert len(problems) == 1 and expected in problems[0].message, problems


def test_malformed_yaml_has_the_parsers_line_and_column() -> None:
    text = "jobs:\n  a:\n    source: x: y\n"
    (problem,) = invalid(text).problems
    assert (problem.line, problem.column) == where(text, ": y")
    assert problem.message.startswith("not valid YAML: ") and "mapping values" in problem.message

    tabs = "jobs:\n  a:\n\tsource: x\n"
    (problem,) = invalid(tabs).problems
    assert (problem.line, problem.column) == where(tabs, "\t")
    assert "not tabs" in problem.message

    two = "jobs: {}\n---\njobs: {}\n"
    (problem,) = invalid(two).problems
    assert problem.line == where(two, "---")[0] and "single document" in problem.message


def test_control_characters_are_a_problem_at_their_place() -> None:
    text = "jobs:\n  a: {source: x\x00, dest: y}\n"
    (problem,) = invalid(text).problems
    assert (problem.line, problem.column) == where(text, "\x00")
    assert "U+0000" in problem.message


def test_python_tags_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"jobs:\n  a:\n    source: !!python/object/apply:os.system ['touch {marker}']\n"
    text += "    dest: !!python/name:os.system\n"
    assert len(invalid(text).problems) == 2
    assert not marker.exists()


def test_alias_bomb_stops_early() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = "\n".join(lines) + "\njobs: {}\n"
    started = time.monotonic()
    problems = invalid(text).problems
    assert time.monotonic() - started < 5
    assert any(f"more than {MAX_NODES} values" in p.message for p in problems)


@pytest.mark.parametrize(
    "text",
    [
        "jobs: &a {x: *a}\n",
        "jobs:\n  a: &p\n    <<: *p\n",
        "defaults: &d [*d, *d]\njobs: {}\n",
        "[" * 2_000,
        "[" * 100_000,  # PyYAML would take hours: its scanner is quadratic in this depth
        "{a: " * 2_000,
        "- " * 2_000 + "x\n",
    ],
)
def test_recursion_and_deep_nesting_are_problems(text: str) -> None:
    problems = invalid(text).problems
    assert len(problems) == 1 and "deep" in problems[0].message


# ----------------------------------------------------------------------------- load


def test_load_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("jobs:\n  a: {source: x, dest: y}\n", encoding="utf-8")
    assert list(load(path)) == ["a"]
    path.write_text("jobs:\n  a: {source: x}\n", encoding="utf-8")
    with pytest.raises(JobsFileInvalid) as info:
        load(path)
    assert info.value.problems[0].file == str(path)
    assert info.value.items[0].startswith(f"{path}:2:")


def test_a_missing_file_holds_no_jobs(tmp_path: Path) -> None:
    assert load(tmp_path / "nope.yaml") == {}


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_bytes(b"jobs:\n  a: {source: caf\xe9, dest: y}\n")
    with pytest.raises(JobsFileInvalid) as info:
        load(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (2, len("  a: {source: caf") + 1)
    assert "UTF-8" in problem.message and "0xe9" in problem.message


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(JobsFileInvalid) as info:
        load(tmp_path)  # a directory
    assert "cannot be read" in info.value.problems[0].message


# ----------------------------------------------------------------------------- templates

TEMPLATES = sorted((paths.templates_dir() / "jobs").glob("*.yaml"))


def test_there_are_job_templates() -> None:
    assert len(TEMPLATES) >= 2


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_job_template_is_valid(template: Path) -> None:
    jobs = load(template)
    assert list(jobs) == [template.stem]  # one profile, named like its file
    # Nothing a template brings mixes include with exclude (rclone's order is undefined).
    assert not [w for w in warnings_of(template.read_text(), "t") if "together" in w.message]


@pytest.mark.parametrize("name", sorted(templates()))
def test_no_template_setting_holds_a_placeholder_that_cannot_work(name: str) -> None:
    # Its source and dest are asked for separately; what else it brings is kept by --yes.
    assert [s.shown for s in settings_of(templates()[name]) if s.placeholder] == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("test -e /scratch/USER/results/DONE", "USER"),
        ("echo <project>", "<project>"),
        ('test -e "$RCWIZ_SOURCE/DONE"', None),
        ("echo $USER ${USER}", None),
        ("--user-agent rcwiz --max-age 30d", None),
    ],
)
def test_placeholders_are_found(text: str, found: str | None) -> None:
    match = PLACEHOLDER.search(text)
    assert (match[0] if match else None) == found
    (setting,) = settings_of({"before": text})
    assert setting.placeholder == found


def test_yes_never_keeps_a_placeholder() -> None:
    kept = settings_of({"transfers": 4, "before": "test -e /scratch/USER/DONE"})
    placeholders("t", kept[:1])  # nothing to replace: kept
    with pytest.raises(UsageError) as info:
        placeholders("t", kept)
    assert "placeholder to replace (USER in before)" in info.value.message
    assert "--before" in info.value.hint
    assert info.value.items == ["before: test -e /scratch/USER/DONE  (replace USER)"]


# ----------------------------------------------------------------------------- filter rules


def test_filter_rules_are_checked_one_by_one() -> None:
    text = (
        "jobs:\n  a:\n    source: /a\n    dest: nc:b\n    filter:\n      - '- *.tmp'\n      - x*\n"
    )
    problem = only(invalid(text).problems, "jobs.a.filter[1]")
    assert "'x*' is not a filter rule" in problem.message and "'+ ' (keep)" in problem.message
    assert (problem.line, problem.column) == where(text, "x*")
    one = parse(text.replace("      - x*\n", "      - '+ *.csv'\n      - '!'\n"), "j")
    assert one["a"].filter == ("- *.tmp", "+ *.csv", "!")
    single = "jobs:\n  a:\n    source: /a\n    dest: nc:b\n    filter: '+'\n"
    assert "is not a filter rule" in only(invalid(single).problems, "jobs.a.filter").message


# ----------------------------------------------------------------------------- warnings


def test_warnings_name_a_relative_path_and_include_with_exclude_once() -> None:
    text = (
        "defaults:\n  exclude: '*.tmp'\n  dest: results\n"
        "jobs:\n  a:\n    source: ./in\n    include: '*.csv'\n"
        "  b:\n    source: ~/in\n    dest: nc:x\n"
        "  c:\n    source: /in\n"
    )
    parse(text, "j.yaml")  # valid: these run, they are only likely not meant
    found = [(w.path, w.line) for w in warnings_of(text, "j.yaml")]
    assert found == [
        ("defaults.dest", 3),  # inherited by a and c: said once
        ("jobs.a.source", 6),
        ("jobs.a.include", 7),
    ]


# ----------------------------------------------------------------------------- fuzzing

PLAUSIBLE = [*KEYS, "version", "defaults", "jobs", "destt", "<<", "name"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["copy", "sync", "move", "/scratch/a", "nc:b", "10M", "--x 'y", "*.csv"])
)
KEY = st.sampled_from(PLAUSIBLE) | st.text(max_size=6)
# Flat values are much cheaper for Hypothesis to draw than recursive ones (a 2-core budget).
VALUE = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(KEY, SCALARS, max_size=3)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=3),
    max_leaves=6,
)
GOOD = {
    "mode": st.sampled_from(["copy", "sync", "move"]),
    "allow_deletes": st.booleans(),
    "transfers": st.integers(0, 300),
    "bwlimit": st.integers(-1, 10**6) | st.sampled_from(["10M", ""]),
    "include": st.lists(st.sampled_from(["*.csv", "a/**"]), max_size=2),
    "filter": st.lists(st.sampled_from(["- *.tmp", "+ *.csv", "!", "x"]), max_size=2),
    "extra_flags": st.sampled_from(["-v --fast-list", "--x 'y", "", "--a 'b c'"]),
    "checksum": st.booleans(),
}
# Mostly plausible values, sometimes anything: profiles near the valid/invalid border.
NEAR_PROFILE = st.fixed_dictionaries(
    {"source": st.sampled_from(["/scratch/a", "nc:b"]), "dest": st.sampled_from(["x", "nc:"])},
    optional={key: st.one_of(good, good, good, VALUE) for key, good in GOOD.items()}
    | {"destt": VALUE},
)
PROFILE = NEAR_PROFILE | NEAR_PROFILE | st.dictionaries(KEY, VALUE, max_size=6) | VALUE
NAME = st.one_of(st.sampled_from(["a", "b.c", "x-1"]), st.sampled_from(["y", "Z"]), st.text())
JOBS_FILE = st.fixed_dictionaries(
    {"jobs": st.dictionaries(NAME, PROFILE, max_size=3)},
    optional={
        "defaults": st.fixed_dictionaries({}, optional=GOOD) | PROFILE,
        "version": st.sampled_from([1, 1, 2, "1"]),
    },
)
DOCUMENTS = st.one_of(NESTED, JOBS_FILE, JOBS_FILE)
YAMLISH = st.text(alphabet=st.sampled_from(list("jobs:dest-[]{}&*!|>'\"#%@`?,.<\n \t01~\\")))


def parse_or_invalid(text: str) -> dict[str, Job] | None:
    """parse(TEXT) must return profiles or raise JobsFileInvalid with located problems."""
    try:
        jobs = parse(text, "fuzz.yaml")
    except JobsFileInvalid as exc:
        assert exc.problems and exc.exit_code == 2
        assert exc.items == [str(p) for p in exc.problems]
        # YAML also breaks lines at \r, \x85, \u2028 and \u2029, and Problems count them
        last_line = len(re.split("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1
        for p in exc.problems:
            assert p.file == "fuzz.yaml" and p.message
            assert p.line is None or 1 <= p.line <= last_line
            assert p.column is None or p.column >= 1
        return None
    assert isinstance(jobs, dict)
    assert all(isinstance(job, Job) and job.name == name for name, job in jobs.items())
    return jobs


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_fuzz_generated_documents(data: Any) -> None:
    jobs = parse_or_invalid(yaml.safe_dump(data, sort_keys=False))
    if jobs:  # what was accepted matches what was written
        defaults = data.get("defaults") or {}
        for name, job in jobs.items():
            resolved = {**defaults, **(data["jobs"][name] or {})}
            assert (job.source, job.dest) == (resolved["source"], resolved["dest"])
            assert job.mode == resolved.get("mode", "copy")
            if job.mode != "copy":
                assert job.allow_deletes is True


@settings(max_examples=1000, deadline=None)
@given(st.text() | YAMLISH)
def test_fuzz_arbitrary_text(text: str) -> None:
    parse_or_invalid(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_from_disk(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "jobs.yaml"
        path.write_bytes(data)
        try:
            jobs = load(path)
        except JobsFileInvalid as exc:
            assert exc.problems
        else:
            assert isinstance(jobs, dict)


# Valid text: not blank, and no NUL (a jobs file refuses one: no command or path holds it)
NONBLANK = st.text(min_size=1, max_size=20).filter(lambda t: t.strip() and "\0" not in t)
OPTIONAL = {
    "transfers": st.integers(1, 256),
    "bwlimit": st.integers(1, 10**9) | st.sampled_from(["10M", "1G", "08:00,512k 18:00,off"]),
    "checksum": st.booleans(),
    "dry_run": st.booleans(),
    "include": NONBLANK | st.lists(NONBLANK, max_size=3),
    "exclude": st.lists(NONBLANK, max_size=3),
    "extra_flags": st.lists(NONBLANK, max_size=3) | st.sampled_from(["-v", "--a 'b c'", ""]),
    "before": NONBLANK,
    "filter_from": NONBLANK,
}


def expected_job(name: str, resolved: dict[str, Any]) -> Job:
    """The Job a resolved profile should become, computed independently of the loader."""
    values = dict(resolved)
    for key in ("include", "exclude"):
        if isinstance(values.get(key), str):
            values[key] = [values[key]]
    if isinstance(values.get("extra_flags"), str):
        values["extra_flags"] = shlex.split(values["extra_flags"])
    if isinstance(values.get("bwlimit"), int):
        values["bwlimit"] = str(values["bwlimit"])
    for key in ("include", "exclude", "extra_flags"):
        if key in values:
            values[key] = tuple(values[key])
    return Job(name=name, **values)


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries({}, optional={"dest": NONBLANK, **OPTIONAL}),
    st.dictionaries(
        st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}", fullmatch=True),
        st.fixed_dictionaries({"source": NONBLANK, "dest": NONBLANK}, optional=OPTIONAL),
        max_size=3,
    ),
)
def test_fuzz_valid_documents_round_trip(defaults: dict, profiles: dict) -> None:
    text = yaml.safe_dump({"defaults": defaults, "jobs": profiles}, sort_keys=False)
    expected = {name: expected_job(name, {**defaults, **p}) for name, p in profiles.items()}
    assert parse(text, "jobs.yaml") == expected


def test_verify_is_a_profile_key_that_reaches_the_transfer() -> None:
    text = "version: 1\njobs:\n  up:\n    source: ./a\n    dest: nc:b\n    verify: true\n"
    job = parse(text, "jobs.yaml")["up"]
    assert job.options().verify is True
    (problem,) = problems_of(text.replace("true", "'often'"), "jobs.yaml")
    assert problem.path == "jobs.up.verify"
