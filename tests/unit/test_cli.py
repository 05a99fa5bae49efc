from rcwiz.cli import build_parser, chosen_command


def test_the_command_is_found_after_global_options_and_their_values():
    assert chosen_command(["--config", "copy", "quota", "--json"]) == "quota"
    assert chosen_command(["--json", "--jobs", "x.yaml", "job", "run", "a"]) == "job"
    assert chosen_command(["--help"]) is None
    assert chosen_command(["notacommand", "copy"]) is None


def test_only_the_chosen_command_gets_its_arguments_and_globals_work_both_sides():
    parser = build_parser(only="quota")
    args = parser.parse_args(["--json", "quota", "nc:", "--warn", "70", "--config", "c.conf"])
    assert (args.json, args.remotes, args.warn, args.config) == (True, ["nc:"], 70.0, "c.conf")
    full = build_parser()
    args = full.parse_args(["copy", "a", "b:", "--dry-run"])
    assert (args.source, args.dest, args.dry_run, args.verb) == ("a", "b:", True, "copy")


def test_an_abbreviated_global_option_takes_its_value_as_argparse_does():
    # argparse reads `--conf x` as `--config x` and `--job copy` as `--jobs copy`
    assert chosen_command(["--conf", "x", "copy", "a", "b:"]) == "copy"
    assert chosen_command(["--job", "copy", "quota"]) == "quota"
    assert chosen_command(["--j", "copy"]) == "copy"  # ambiguous (--jobs, --json): no value
    args = build_parser(only=chosen_command(["--job", "copy", "quota"])).parse_args(
        ["--job", "copy", "quota"]
    )
    assert (args.jobs, args.command, args.action.__module__) == (
        "copy",
        "quota",
        "rcwiz.commands.quota",
    )


def test_version_and_help_import_no_command_and_nothing_they_do_not_print():
    """`--version`, `--help` and bare `rcwiz` print the top-level parser: no command module,
    no rclone layer, no YAML, no rich (start-up time: benchmarks/startup.py)."""
    import json
    import subprocess
    import sys

    probe = (
        "import contextlib, io, json, sys\n"
        "from rcwiz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(sys.argv[1:])\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    for argv in (["--version"], ["--help"], ["--json", "--version"], []):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
        )
        loaded = json.loads(done.stderr.splitlines()[-1])
        heavy = [
            m
            for m in loaded
            if m.startswith(("rcwiz.commands", "rcwiz.rclone", "rcwiz.actions", "yaml", "rich"))
            or m in ("rcwiz.process", "subprocess", "logging")
        ]
        assert heavy == [], (argv, heavy)


def test_what_the_line_asked_travels_with_its_parsers_not_in_globals(capsys):
    """--version answers in JSON when its own line says --json, whatever another line in the
    same process asked (main() used to keep that in a module global)."""
    import json

    import pytest

    from rcwiz.parser import CommandLine

    as_json = build_parser(only="", line=CommandLine(["--json", "--version"]))
    as_text = build_parser(only="", line=CommandLine(["--version"]))
    for parser, expected in ((as_json, "json"), (as_text, "text"), (as_json, "json")):
        with pytest.raises(SystemExit):
            parser.parse_args(["--version"])
        out = capsys.readouterr().out
        assert json.loads(out)["rcwiz"] if expected == "json" else out.startswith("rcwiz ")
