"""`python -m rcwiz` runs the same entry point as the `rcwiz` command."""

import sys

from rcwiz.cli import main

sys.exit(main())
