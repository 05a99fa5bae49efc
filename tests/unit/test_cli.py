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
