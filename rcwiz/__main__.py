"""`python -m rcwiz` runs the same entry point as the `rcwiz` command."""

from rcwiz.launch import entry

entry()
