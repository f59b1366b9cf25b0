"""Red team: hostile and honest submissions graded end to end, in one class, on the project's path.

The cases live in tests/redteam/ (one module per lesson). They are graded together, in the session's
graded class (tests/course_class.py), by ``mnist_course.autograde`` with 2 workers, beside the
honest `solutions` student of every lesson, so an attack that reached another learner, the gradebook
or the grading process itself would show in the others' scores. Run as root (CI), the learners'
kernels run in the sandbox (mnist_course/sandbox).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_class import SANDBOXED, SOLUTIONS
from redteam import Case, selected_cases

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

CASES = selected_cases()


def is_autograded(grade_id: str) -> bool:
    return grade_id.endswith("_test") or grade_id.endswith("_tests")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(graded_class, case: Case):
    if case.sandbox and not SANDBOXED:
        if os.environ.get("MNIST_REQUIRE_SANDBOX"):
            pytest.fail(f"{case.name} needs the grading sandbox (root, unshare), which is not available here")
        pytest.skip("needs the grading sandbox: run the tests as root")
    course, table = graded_class.course, graded_class.scores
    for name in case.absent:
        assert not Path(name.format(course=course)).exists(), f"{case.name} ({case.why}) left {name}"
    got = table[(case.name, case.lesson)]
    for grade_id, expected in case.scores.items():
        assert got[grade_id][0] == expected, f"{case.name} ({case.why}): {grade_id} scored {got[grade_id][0]}"
    if case.others == "full":
        autograded = {g: s for g, s in got.items() if is_autograded(g)}
        lost = {g: s[0] for g, s in autograded.items() if g not in case.scores and s[0] != s[1]}
        assert lost == {}, f"{case.name} ({case.why}) lost points elsewhere: {lost}"


def test_honest_controls_keep_full_marks(graded_class):
    """The honest, complete submission of every lesson in the class (the `solutions` student) keeps full marks."""
    for lesson in sorted({c.lesson for c in CASES}):
        got = graded_class.scores[(SOLUTIONS, lesson)]
        lost = {g: s[0] for g, s in got.items() if is_autograded(g) and s[0] != s[1]}
        assert lost == {}, f"{SOLUTIONS} lost {lost} in {lesson}"


def test_no_manual_grade_was_written(graded_class):
    """Free-text answers are graded by hand: nobody's kernel may have written a score into the gradebook."""
    written = {
        (student, lesson, g): s
        for (student, lesson), grades in graded_class.scores.items()
        for g, s in grades.items()
        if s[2] is not None
    }
    assert written == {}
