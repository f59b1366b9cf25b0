"""One class of the whole course, graded once per test session (the `graded_class` fixture, tests/conftest.py).

Autograding a lesson costs a kernel and a run of the lesson, so the slow grading tests share one class:
every lesson released once, everyone's submissions autograded together with 2 workers (in the background
from the start of the session, tests/conftest.py), then read (the gradebook, the autograded notebooks)
by many assertions:

* `solutions`: every lesson, the released notebook with the solutions in its answer cells; it is also
  the red team's honest control, in the class with the attackers (tests/test_autograde.py::test_whole_course,
  tests/test_redteam.py);
* `untouched`: every released lesson as it is (test_whole_course);
* `wrong_flatten`: lesson 03 with flatten_size missing the second pool (tests/test_class_report.py);
* one student per red-team case (tests/redteam/; the sandbox cases only where the sandbox runs).

REDTEAM_LESSON=03 makes it a class of lesson 03 alone (while working on one lesson).
Tests that change a course (feedback, a plain `nbgrader autograde`, a roster entry) do it in `subset()`,
a copy of part of the class, so the class stays what every test expects.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from demo_lesson import NAME as DEMO
from demo_lesson import write_demo_lesson
from mnist_course.autograde import StudentResult, autograde
from mnist_course.course import AUTOGRADED, SUBMITTED, db_url, lesson_names
from mnist_course.release import release
from mnist_course.sandbox import manager as sandbox
from redteam import selected_cases, solved, submission

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, UNTOUCHED, WRONG_FLATTEN = "solutions", "untouched", "wrong_flatten"
FLATTEN_LESSON = "03_pooling_and_head"
SANDBOXED = sandbox.why_not_sandboxed(os.geteuid(), lambda: sandbox.unshare_refusal(shutil.which("unshare"))) is None
# Without the sandbox, the attacks on the machine itself (a fork bomb...) are not even run.
RED_TEAM = [c for c in selected_cases() if SANDBOXED or not c.sandbox]
LESSONS = [lesson for lesson in lesson_names(ROOT) if os.environ.get("REDTEAM_LESSON", lesson[:2]) == lesson[:2]]

Scores = dict[tuple[str, str], dict[str, tuple[float | None, float, float | None]]]


def make_course(tmp: Path, lessons: list[str]) -> Path:
    """A released course of `lessons` (names in solutions/, or DEMO: the test fixture)."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for lesson in lessons:
        if lesson == DEMO:
            write_demo_lesson(course / "solutions")
            continue
        shutil.copytree(
            ROOT / "solutions" / lesson,
            course / "solutions" / lesson,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints"),
        )
    release(course)
    return course


@dataclass
class GradedClass:
    course: Path
    lessons: list[str]
    results: dict[str, StudentResult]  # student -> what autograde reported
    seconds: float  # wall clock of the autograde
    scores: Scores  # (student, lesson) -> {grade_id: (autograded score, max, manual score)}


def wrong_flatten(course: Path) -> nbformat.NotebookNode:
    """Lesson 03 solved, but flatten_size walks conv, conv without the second pool."""
    nb = solved(course, FLATTEN_LESSON)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "l03_flatten_size")
    answer.source = answer.source.replace('"conv", "conv", "pool")', '"conv", "conv")')
    assert '"conv", "conv")' in answer.source
    return nb


def grade_class(tmp: Path) -> GradedClass:
    course = make_course(tmp, LESSONS)
    handed_in: dict[tuple[str, str], nbformat.NotebookNode] = {}
    for lesson in LESSONS:
        handed_in[SOLUTIONS, lesson] = solved(course, lesson)
        handed_in[UNTOUCHED, lesson] = nbformat.read(course / "lessons" / lesson / f"{lesson}.ipynb", as_version=4)
    if FLATTEN_LESSON in LESSONS:
        handed_in[WRONG_FLATTEN, FLATTEN_LESSON] = wrong_flatten(course)
    for case in RED_TEAM:
        handed_in[case.name, case.lesson] = submission(course, case)
    for (student, lesson), nb in handed_in.items():
        folder = course / SUBMITTED / student / lesson
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{lesson}.ipynb")
    # The two students of seven lessons first: started last, they would leave one worker idle at the end.
    students = [SOLUTIONS, UNTOUCHED, *sorted({student for student, _ in handed_in} - {SOLUTIONS, UNTOUCHED})]
    start = time.perf_counter()
    results = autograde(course, workers=2, students=students)
    seconds = time.perf_counter() - start
    return GradedClass(course, LESSONS, {r.student: r for r in results}, seconds, read_scores(course))


def read_scores(course: Path) -> Scores:
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


def subset(graded: GradedClass, dest: Path, students: list[str], lessons: list[str]) -> Path:
    """A copy of the graded course with only `students` and `lessons` (files and gradebook), to change freely."""
    course = dest / "course"

    def ignore(folder: str, names: list[str]) -> list[str]:
        """In grading/submitted and grading/autograded: other students, and their other lessons."""
        step = Path(folder).relative_to(graded.course).as_posix()
        if step in (SUBMITTED, AUTOGRADED):
            return [n for n in names if n not in students]
        if str(Path(step).parent) in (SUBMITTED, AUTOGRADED):
            return [n for n in names if n not in lessons]
        return []

    shutil.copytree(graded.course, course, ignore=ignore)
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        for student in [s.id for s in gb.students if s.id not in students]:
            gb.remove_student(student)
        for lesson in [a.name for a in gb.assignments if a.name not in lessons]:
            gb.remove_assignment(lesson)
    return course
