"""The project files agree with each other."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _requirement(spec: str) -> tuple[str, str]:
    name, _, bound = re.match(r"([A-Za-z0-9_.-]+)\s*(>=)?\s*(\S*)", spec).groups()
    return CONDA_NAMES.get(name.lower(), name.lower()), bound


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_packages = dict(_requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"])
    dependencies = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    conda_lines = re.findall(r"^\s+- ([^#\n]+?)\s*$", dependencies, re.M)
    conda_packages = dict(_requirement(s) for s in conda_lines if not s.startswith(("python", "pip")))
    assert conda_packages == pip_packages


def test_ci_runs_the_readme_test_command_with_real_data_and_browser_required():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)$", quick_start, re.M)
    assert commands == ["make lab", "make test"]
    assert re.search(r"^make test$", ci, re.M) and "MNIST_REQUIRE_REAL=1" in ci
    # the browser test is mandatory in CI, with the system's chromium that CI installs itself
    assert "MNIST_REQUIRE_BROWSER=1" in ci and re.search(r"apt-get install .*\bchromium\b", ci)
