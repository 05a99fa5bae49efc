"""The README documents what the code does: exit codes and the presets it ships."""

import re
from pathlib import Path

from rcwiz.errors import ExitCode

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def test_exit_code_table_lists_every_code_and_nothing_else():
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert documented == {int(code) for code in ExitCode}


def test_yaml_examples_in_the_readme_are_valid_jobs_files():
    from rcwiz.jobs.schema import parse

    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    assert blocks, "the README shows a jobs file"
    for block in blocks:
        assert parse(block, "README.md")


def test_the_readme_names_every_make_target():
    makefile = (Path(__file__).parents[2] / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^## ([\w-]+):", makefile, re.M)
    phony = re.search(r"^\.PHONY: (.*)$", makefile, re.M)
    assert phony and sorted(targets) == sorted(phony.group(1).split())
    assert all(f"make {target}" in README for target in targets)
