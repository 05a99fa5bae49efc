"""Profile-sized edits of the jobs file keep every other line, comments included."""

import yaml

from rcwiz.jobs.store import with_profile, without_profile

FILE = """# Research group transfers
defaults:
  transfers: 4   # the login node is shared

jobs:
  # every night, results up to Nextcloud
  nightly:
    source: /project/results
    dest: nextcloud:results
    exclude:
      - "*.tmp"

# keep this comment at the end
"""


def test_adding_keeps_other_profiles_and_comments():
    new = with_profile(FILE, "fetch", {"source": "nc:inputs", "dest": "/scratch/in"})
    added = "  fetch:\n    source: nc:inputs\n    dest: /scratch/in\n"
    head, _ = FILE.split("\n# keep this comment at the end\n")
    assert new == head + added + "\n# keep this comment at the end\n"
    assert set(yaml.safe_load(new)["jobs"]) == {"nightly", "fetch"}


def test_adding_to_an_empty_or_missing_jobs_mapping():
    assert with_profile("", "a", {"source": "x", "dest": "y"}) == (
        "jobs:\n  a:\n    source: x\n    dest: y\n"
    )
    for empty in ("jobs:\n", "jobs: {}\n", "# mine\njobs:   {}  \n"):
        new = with_profile(empty, "a", {"source": "x", "dest": "y"})
        assert yaml.safe_load(new)["jobs"] == {"a": {"source": "x", "dest": "y"}}
    assert with_profile("# mine\njobs: {}\n", "a", {"source": "x", "dest": "y"}).startswith(
        "# mine\njobs:\n  a:"
    )


def test_adding_when_jobs_is_not_last_and_indented_by_four():
    text = "jobs:\n    a:\n        source: s\n        dest: d\ndefaults:\n    transfers: 2\n"
    new = with_profile(text, "b", {"source": "t", "dest": "e"})
    assert new.endswith("defaults:\n    transfers: 2\n")
    assert yaml.safe_load(new)["jobs"]["b"] == {"source": "t", "dest": "e"}


def test_removing_takes_only_that_profile():
    two = with_profile(FILE, "fetch", {"source": "nc:inputs", "dest": "/scratch/in"})
    assert without_profile(two, "fetch") == FILE
    only = without_profile(FILE, "nightly")
    assert yaml.safe_load(only)["jobs"] == {}
    assert "# Research group transfers" in only and "# keep this comment at the end" in only
