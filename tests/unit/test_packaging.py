"""The wheel ships every rcwiz package and the templates (pyproject lists packages by hand)."""

import sys
from pathlib import Path

# tomllib is Python 3.11's; on 3.10 (still supported) the test extra installs tomli, its origin.
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "rcwiz").rglob("__init__.py")
    }
    templates = {"rcwiz.templates"} | {
        f"rcwiz.templates.{folder.name}"
        for folder in (ROOT / "templates").iterdir()
        if folder.is_dir() and not folder.name.startswith("_")
    }
    assert on_disk | templates == listed
    assert config["package-dir"]["rcwiz.templates"] == "templates"


def test_every_template_matches_the_package_data_patterns():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    data = config["package-data"]
    templates = [p.relative_to(ROOT / "templates") for p in (ROOT / "templates").rglob("*.yaml")]
    assert templates and all(len(p.parts) == 2 for p in templates)
    assert all(data[f"rcwiz.templates.{p.parts[0]}"] == ["*.yaml"] for p in templates)


def test_the_license_file_is_the_one_pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_test_tools_are_pinned():
    """A new ruff or mypy must not fail `make test` on a fresh clone with no change here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pins = {spec.split("==")[0]: spec for spec in extras["test"] if "==" in spec}
    assert {"ruff", "mypy"} <= pins.keys()


def test_every_declared_marker_is_used():
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    names = [m.split(":")[0] for m in markers["ini_options"]["markers"]]
    source = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    assert all(f"mark.{name}" in source for name in names)
