"""`rcwiz --version` and `rcwiz --help` answered by rcwiz.launch before the rest of rcwiz is
imported (issue 24: start-up CPU, benchmarks/startup.py): the same bytes, exit code and stderr
as rcwiz.cli's answer, and no module beyond what they print needs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

LAUNCH = "from rcwiz.launch import entry; entry()"
CLI = "from rcwiz.cli import entry; entry()"


def run(code: str, argv: list[str], env: dict[str, str], stdout: str = "pipe") -> tuple:
    """(exit code, stdout bytes, stderr bytes) of CODE run as `rcwiz ARGV` in a child; STDOUT
    a pipe, /dev/full (every write fails: a full disk) or closed."""
    command = [sys.executable, "-c", code, *argv]
    if stdout == "closed":
        command = ["sh", "-c", '"$@" >&-', "sh", *command]
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            command,
            stdout={"pipe": subprocess.PIPE, "/dev/full": full}.get(stdout, subprocess.DEVNULL),
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["-h"]])
@pytest.mark.parametrize("columns", ["80", "40", "133", None])
def test_the_fast_answers_are_rcwiz_clis_byte_for_byte(argv, columns):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    fast, full = run(LAUNCH, argv, env), run(CLI, argv, env)
    assert fast == full
    assert fast[0] == 0 and fast[1].startswith(b"rcwiz 0." if argv == ["--version"] else b"usage")


@pytest.mark.parametrize(
    "argv", [["--version"], ["--help"], ["copy", "--help"], ["--json", "copy", "--help"]]
)
@pytest.mark.parametrize("stdout", ["/dev/full", "closed"])
def test_a_stdout_that_fails_is_answered_as_rcwiz_cli_answers_it(argv, stdout):
    """A full disk or a closed stdout: the same exit code and the same words on stderr, one
    sentence and a hint, never a traceback (a closed stdout ended in one from
    rcwiz.ui.console.make_console; a full disk was an "Internal error", exit 70, and for
    --help exit 0 with nothing said: argparse dropped the write's error)."""
    env = {**os.environ, "COLUMNS": "80"}
    fast, full = run(LAUNCH, argv, env, stdout), run(CLI, argv, env, stdout)
    assert fast == full
    assert b"Traceback" not in fast[2] and b"Internal error" not in fast[2]
    if stdout == "closed":
        assert fast[0] == 141 and fast[2].startswith(b"error: Standard output is closed")
    else:
        assert fast[0] == 12 and fast[2].startswith(b"error: The local disk is full")


def test_other_lines_still_go_through_rcwiz_cli():
    """`--json --version` (a JSON document) and a bad line are rcwiz.cli's answers."""
    env = {**os.environ, "COLUMNS": "80"}
    for argv in (["--json", "--version"], ["--version", "x"], ["--bogus"], ["copy", "--help"]):
        assert run(LAUNCH, argv, env) == run(CLI, argv, env), argv
    code, out, _ = run(LAUNCH, ["--json", "--version"], env)
    assert code == 0 and out.startswith(b"{")


def imported(code: str, argv: list[str]) -> set[str]:
    """Every module a child running CODE with ARGV imports, start-up included (`-X importtime`
    lists them as they are imported, so a run that ends with os._exit is seen too)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rpartition("|")[2].strip() for line in lines[1:]}  # [0] is the header


def test_version_and_help_import_only_what_they_print():
    """--version: rcwiz/__init__.py and rcwiz.launch beyond the interpreter's own start-up;
    --help: argparse, what argparse needs to print a help (measured on this Python, not
    listed by hand) and rcwiz.parser. Not rcwiz.cli, its console, rcwiz.errors, `typing`,
    `signal`, and no command."""
    bare = imported("pass", [])
    version = imported(LAUNCH, ["--version"]) - bare
    assert version <= {"rcwiz", "rcwiz.launch"}, sorted(version)
    argparse_help = imported("import argparse; argparse.ArgumentParser(prog='x').format_help()", [])
    allowed = argparse_help | {"rcwiz", "rcwiz.launch", "rcwiz.parser"}
    for argv in (["--help"], ["-h"]):
        loaded = imported(LAUNCH, argv)
        assert loaded - bare - allowed == set(), (argv, sorted(loaded - bare - allowed))
        assert "shutil" not in loaded  # argparse's HelpFormatter would import it for the width
    assert "typing" not in argparse_help - bare  # else the budget above would allow it


@pytest.mark.parametrize("columns", ["80", "40", "133"])
def test_commands_only_listed_print_as_built_ones(monkeypatch, columns):
    """The commands --help lists without building their parsers (rcwiz.parser._Commands): the
    same help, usage and refusal of an unknown command as with every parser built."""
    from rcwiz.errors import UsageError
    from rcwiz.parser import CommandLine, build_parser

    monkeypatch.setenv("COLUMNS", columns)
    built, listed = build_parser(), build_parser(only="")
    assert listed.format_help() == built.format_help()
    assert listed.format_usage() == built.format_usage()
    refusals = []
    for parser in (
        build_parser(line=CommandLine(["copi"])),
        build_parser("", CommandLine(["copi"])),
    ):
        with pytest.raises(UsageError) as refused:
            parser.parse_args(["copi"])
        refusals.append((refused.value.message, refused.value.hint))
    assert refusals[0] == refusals[1] and "did you mean 'copy'" in refusals[0][0]


def test_a_command_only_listed_is_built_if_argparse_hands_it_the_line():
    """A safety net: rcwiz.parser.chosen_command names the command first, so this should not
    happen; if it does, the command gets the parser it had before (global options, no action)."""
    from rcwiz.parser import build_parser

    args = build_parser(only="").parse_args(["quota", "--json"])
    assert (args.command, args.command_name, args.json) == ("quota", "quota", True)
    assert not hasattr(args, "action")


@pytest.mark.parametrize("columns", [None, "120", "0", "-3", "wide"])
@pytest.mark.parametrize("stdout", ["pipe", "terminal 100", "terminal 0", "closed"])
def test_the_help_width_is_shutils_without_shutil(columns, stdout):
    """rcwiz.parser.terminal_columns against shutil.get_terminal_size, in a child whose stdout
    is a pipe, a terminal (100 columns, 0 columns) or closed, with COLUMNS unset or odd."""
    import fcntl
    import pty
    import struct
    import termios

    probe = (
        "import shutil, sys\n"
        "from rcwiz.parser import terminal_columns\n"
        "print(terminal_columns(), shutil.get_terminal_size().columns, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    command = [sys.executable, "-c", probe]
    if stdout == "closed":
        command = ["sh", "-c", '"$@" >&-', "sh", *command]
    leader, follower = pty.openpty()
    try:
        if stdout.startswith("terminal"):
            width = int(stdout.split()[1])
            fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, width, 0, 0))
        done = subprocess.run(
            command,
            stdout=follower if stdout.startswith("terminal") else subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=True,
        )
    finally:
        os.close(leader)
        os.close(follower)
    ours, shutils = done.stderr.split()
    assert ours == shutils


@pytest.mark.parametrize("columns", ["80", "40", "133"])
def test_rcwiz_help_is_argparses_own_formatting(monkeypatch, columns):
    """The help rcwiz's formatter prints is what argparse's default one prints."""
    import argparse

    from rcwiz.parser import build_parser

    monkeypatch.setenv("COLUMNS", columns)
    parser = build_parser(only="")
    ours = parser.format_help(), parser.format_usage()
    parser.formatter_class = argparse.HelpFormatter
    assert ours == (parser.format_help(), parser.format_usage())
