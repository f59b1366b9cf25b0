"""PrepareRequests: before the learner's notebook runs, decide what the grader will ask it.

For every graded test cell (a ``check.X.hidden(X)`` line in the instructor's source, which
OverwriteCells has put back), the grader's requests are made here with a fresh seed: the calls
to replay or the seed of the exercise's ``ask`` (``mnist_course.checks``). They are written to a
file in the notebook's folder, named to the kernel by ``MNIST_GRADING_REQUESTS``; the trusted
copy stays in ``resources`` for TrustedVerdicts, which never reads the file back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

from mnist_ref.checks.grading import REQUESTS_ENV

from ..checks import GRADED, requests_for

HIDDEN_CHECK = re.compile(r"^\s*check\.(\w+)\.hidden\(", re.MULTILINE)
REQUESTS_FILE = ".mnist-grading-requests.json"
STATE = "mnist_grading"


def lesson_prefix(assignment: str) -> str:
    """ "03_pooling_and_head" -> "lesson03" (the key prefix of that lesson's exercises)."""
    number = re.match(r"(\d+)", assignment)
    return f"lesson{int(number.group(1)):02d}" if number else assignment


def graded_keys(cell, prefix: str) -> list[str]:
    """The exercises a graded test cell grades, read off its (instructor's) source."""
    if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
        return []
    return [f"{prefix}.{name}" for name in HIDDEN_CHECK.findall(cell.source) if f"{prefix}.{name}" in GRADED]


class PrepareRequests(NbGraderPreprocessor):
    """Make the grader's requests for this notebook and hand them to the kernel through a file."""

    seed = Integer(None, allow_none=True, help="Seed of the grader's inputs; None: a fresh one per notebook").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        prefix = lesson_prefix(resources.get("nbgrader", {}).get("assignment", ""))
        cells = {
            cell.metadata.nbgrader["grade_id"]: graded_keys(cell, prefix) for cell in nb.cells if utils.is_grade(cell)
        }
        keys = [key for found in cells.values() for key in found]
        seed = self.seed if self.seed is not None else secrets.randbelow(2**31)
        requests = requests_for(keys, seed)
        folder = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        path = folder / REQUESTS_FILE
        path.write_text(json.dumps(requests), encoding="utf-8")
        path.chmod(0o644)  # the sandboxed kernel runs as another user and must read it
        os.environ[REQUESTS_ENV] = str(path)
        resources[STATE] = {"requests": requests, "cells": cells, "file": str(path), "seed": seed}
        self.log.info("Grading %s with seed %d: %d exercises", prefix, seed, len(keys))
        return nb, resources
