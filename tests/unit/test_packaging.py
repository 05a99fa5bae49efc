"""The wheel ships every rcwiz package and the templates (pyproject lists packages by hand)."""

from pathlib import Path

import tomllib

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
