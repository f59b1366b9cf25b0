"""The code is ruff-clean and ruff-formatted, with the rules of pyproject.toml ([tool.ruff])."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRAGMA = re.compile(r"#\s*fmt:\s*(skip|off)\b")


def ruff(*args: str) -> subprocess.CompletedProcess:
    """Run the ruff installed next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("ruff")
    command = str(beside) if beside.exists() else shutil.which("ruff")
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is not installed, and CI must run the style checks: pip install -e '.[dev]'")
        pytest.skip("ruff is not installed: pip install -e '.[dev]' (or pip install ruff) to run the style checks")
    return subprocess.run([command, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_complain_about():
    result = ruff("check", "--output-format", "concise", ".")
    assert result.returncode == 0, f"`ruff check .` reports:\n{result.stdout}{result.stderr}"


def test_code_is_formatted():
    result = ruff("format", "--check", "--output-format", "concise", ".")
    assert result.returncode == 0, f"run `ruff format` on these files:\n{result.stdout}{result.stderr}"


def python_files() -> list[Path]:
    """The project's Python files, as git sees them (tracked or new, not ignored): a learner's own
    files in the git-ignored workspace are not the project's."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def unexplained_pragmas(source: str) -> list[int]:
    """Lines with ``# fmt: skip`` / ``# fmt: off`` and no reason: neither more comment text on the
    same line nor a comment line right above."""
    lines = source.splitlines()
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT or not PRAGMA.search(token.string):
            continue
        rest = PRAGMA.sub("", token.string)
        row = token.start[0]
        above = lines[row - 2].strip() if row > 1 else ""
        if not re.search(r"\w", rest) and not (above.startswith("#") and re.search(r"\w", above)):
            found.append(row)
    return found


def test_every_fmt_skip_says_why():
    """A hand layout the formatter must keep is worth a short comment saying why."""
    offenders = [
        f"{path.relative_to(ROOT)}:{row}" for path in python_files() for row in unexplained_pragmas(path.read_text())
    ]
    assert not offenders, "`# fmt: skip` without a reason comment at: " + ", ".join(offenders)


@pytest.mark.parametrize(
    "source, unexplained",
    [
        ("x = [1, 2]  # fmt: skip\n", [1]),
        ("x = [1, 2]  # a 2x2 grid  # fmt: skip\n", []),
        ("x = [1, 2]  # fmt: skip # a 2x2 grid\n", []),
        ("# a 2x2 grid\nx = [1, 2]  # fmt: skip\n", []),
        ("#\nx = [1, 2]  # fmt: off\n", [2]),
        ("s = '# fmt: skip'\n", []),
    ],
)
def test_the_reason_rule(source, unexplained):
    assert unexplained_pragmas(source) == unexplained
