"""`python -m rcwiz` runs the same entry point as the `rcwiz` command."""

from rcwiz.cli import entry

entry()
