"""Red team: hostile and honest submissions graded end to end, in one class, on the project's path.

The cases live in tests/redteam/ (one module per lesson). They are graded together as one class
by ``mnist_course.autograde`` with 2 workers, so an attack that reached another learner, the
gradebook or the grading process itself would show in the others' scores. Run as root (CI), the
learners' kernels run in the sandbox (mnist_course/sandbox).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from mnist_course.autograde import autograde
from mnist_course.course import SUBMITTED, db_url
from mnist_course.sandbox import manager as sandbox
from redteam import Case, all_cases
from test_autograde import make_course

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

# REDTEAM_LESSON=03 grades only lesson 03's cases (while working on one lesson).
CASES = [c for c in all_cases() if os.environ.get("REDTEAM_LESSON", c.lesson[:2]) == c.lesson[:2]]
SANDBOXED = sandbox.why_not_sandboxed(os.geteuid(), lambda: sandbox.unshare_refusal(shutil.which("unshare"))) is None
MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def solved(course, lesson: str) -> nbformat.NotebookNode:
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


def submission(course, case: Case) -> nbformat.NotebookNode:
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


def controls() -> list[Case]:
    """An honest, complete submission per lesson in the class: it must keep full marks."""
    return [
        Case(name=f"honest_{lesson[:2]}", lesson=lesson, why="the solution")
        for lesson in sorted({c.lesson for c in CASES})
    ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redteam")
    # Without the sandbox, the attacks on the machine itself (a fork bomb...) are not even run.
    everyone = [*(c for c in CASES if SANDBOXED or not c.sandbox), *controls()]
    course = make_course(tmp, sorted({c.lesson for c in everyone}))
    for case in everyone:
        folder = course / SUBMITTED / case.name / case.lesson
        folder.mkdir(parents=True)
        nbformat.write(submission(course, case), folder / f"{case.lesson}.ipynb")
    results = autograde(course, workers=2)
    return course, {r.student: r for r in results}, scores(course)


def scores(course) -> dict[tuple[str, str], dict[str, tuple[float | None, float, float | None]]]:
    """(student, lesson) -> {grade_id: (autograded score, max, manual score)} of every graded cell."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(db_url(course)) as gb:
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                table[(sub.student.id, assignment.name)] = {
                    grade.name: (grade.auto_score, grade.max_score, grade.manual_score)
                    for nb in sub.notebooks
                    for grade in nb.grades
                }
    return table


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(graded, case: Case):
    if case.sandbox and not SANDBOXED:
        if os.environ.get("MNIST_REQUIRE_SANDBOX"):
            pytest.fail(f"{case.name} needs the grading sandbox (root, unshare), which is not available here")
        pytest.skip("needs the grading sandbox: run the tests as root")
    course, results, table = graded
    for name in case.absent:
        assert not Path(name.format(course=course)).exists(), f"{case.name} ({case.why}) left {name}"
    got = table[(case.name, case.lesson)]
    for grade_id, expected in case.scores.items():
        assert got[grade_id][0] == expected, f"{case.name} ({case.why}): {grade_id} scored {got[grade_id][0]}"
    if case.others == "full":
        autograded = {g: s for g, s in got.items() if g.endswith("_test") or g.endswith("_tests")}
        lost = {g: s[0] for g, s in autograded.items() if g not in case.scores and s[0] != s[1]}
        assert lost == {}, f"{case.name} ({case.why}) lost points elsewhere: {lost}"


def test_honest_controls_keep_full_marks(graded):
    course, results, table = graded
    for control in controls():
        got = table[(control.name, control.lesson)]
        lost = {g: s[0] for g, s in got.items() if (g.endswith("_test") or g.endswith("_tests")) and s[0] != s[1]}
        assert lost == {}, f"{control.name} lost {lost}"


def test_no_manual_grade_was_written(graded):
    """Free-text answers are graded by hand: nobody's kernel may have written a score into the gradebook."""
    course, results, table = graded
    written = {
        (student, lesson, g): s
        for (student, lesson), grades in table.items()
        for g, s in grades.items()
        if s[2] is not None
    }
    assert written == {}
