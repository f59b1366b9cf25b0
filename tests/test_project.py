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


def test_both_packages_and_console_scripts_are_installed():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    scripts = {"mnist-ref": "mnist_ref.cli:main", "mnist-course": "mnist_course.cli:main"}
    assert pyproject["project"]["scripts"] == scripts
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["include"] == ["mnist_ref*", "mnist_course*"]


def test_no_sys_path_edits_in_tests_config_or_packages():
    sources = [
        *ROOT.glob("tests/*.py"),
        ROOT / "nbgrader_config.py",
        *ROOT.glob("mnist_course/**/*.py"),
        *ROOT.glob("mnist_ref/**/*.py"),
    ]
    edits = [p.relative_to(ROOT).as_posix() for p in sources if "sys." + "path" in p.read_text()]
    assert edits == [], "import through the installed packages or pytest's pythonpath instead"


def test_instructor_docs_and_make_use_the_mnist_course_command():
    docs = {
        name: (ROOT / name).read_text()
        for name in ("README.md", "docs/INSTRUCTORS.md", "docs/NBGRADER-NOTES.md", "Makefile", "nbgrader_config.py")
    }
    stale = {
        name: word
        for name, text in docs.items()
        for word in ("scripts/", "grade_class", "release_lessons", "grading_tools")
        if word in text
    }
    assert stale == {}, "the instructor's command is mnist-course"
    lessons_recipe = docs["Makefile"].split("\nlessons:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/mnist-course lessons" in lessons_recipe
