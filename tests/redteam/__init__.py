"""Hostile and honest submissions, graded end to end by tests/test_redteam.py.

Each lesson's module (``lesson01`` ... ``lesson07``) lists its ``CASES``. A case starts from the
released lesson with every answer cell filled in with the solution, then changes it the way a
learner would: ``answers`` replaces answer cells (by grade_id), ``insert_after`` adds a code cell
of the learner's own after a cell (by grade_id), ``tests`` edits test cells (grading restores them).
``scores`` gives the expected points of graded test cells; every other graded test cell must keep
full points unless ``others`` is "any" (an attack that breaks its own kernel may lose more).
``sandbox`` cases need the per-submission sandbox (grading as root); ``absent`` lists files the
attack tries to leave behind outside its working folder.
REDTEAM_LESSON=03 selects only lesson 03's cases, and makes the graded class one of lesson 03 alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    name: str  # becomes the student id: [a-z0-9_]
    lesson: str  # e.g. "03_pooling_and_head"
    why: str  # one line: what it attacks, or which honest variant it is
    answers: dict[str, str] = field(default_factory=dict)
    insert_after: dict[str, str] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    others: str = "full"  # or "any"
    sandbox: bool = False  # needs the sandbox (grading as root); skipped elsewhere, a failure in CI
    absent: tuple[str, ...] = ()  # files that must not exist after grading ({course} = the course folder)


def all_cases() -> list[Case]:
    from importlib import import_module

    cases = []
    for n in range(1, 8):
        try:
            module = import_module(f"redteam.lesson{n:02d}")
        except ModuleNotFoundError as exc:
            if exc.name != f"redteam.lesson{n:02d}":
                raise
            continue
        cases.extend(module.CASES)
    return cases


def selected_cases() -> list[Case]:
    return [c for c in all_cases() if os.environ.get("REDTEAM_LESSON", c.lesson[:2]) == c.lesson[:2]]


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def solved(course: Path, lesson: str) -> nbformat.NotebookNode:
    """The released lesson with every answer cell holding the solution (what a good learner hands in)."""
    released = nbformat.read(course / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    source = nbformat.read(course / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    answers = {
        nbgrader_meta(c)["grade_id"]: MARKERS.sub("", c.source)
        for c in source.cells
        if nbgrader_meta(c).get("solution")
    }
    for cell in released.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return released


def submission(course: Path, case: Case) -> nbformat.NotebookNode:
    """The solved lesson changed as the case says."""
    nb = solved(course, case.lesson)
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in nb.cells}
    unknown = (set(case.answers) | set(case.tests) | set(case.insert_after)) - set(by_id)
    assert not unknown, f"{case.name}: no cells {unknown} in {case.lesson}"
    for grade_id, text in {**case.answers, **case.tests}.items():
        by_id[grade_id].source = text
    for grade_id, text in case.insert_after.items():
        index = nb.cells.index(by_id[grade_id])
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(text))
    return nb
