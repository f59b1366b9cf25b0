"""What the class gets back: HTML feedback per student and lesson, and the grades as CSV."""

from __future__ import annotations

from pathlib import Path

from .course import AUTOGRADED, FEEDBACK, GRADES_CSV, lesson_names, log
from .runner import nbgrader, tail


def feedback(course: Path, force: bool = False) -> None:
    """`nbgrader generate_feedback L` per lesson -> grading/feedback/<student>/<lesson>/<lesson>.html."""
    for lesson in lesson_names(course):
        if not any((course / AUTOGRADED).glob(f"*/{lesson}")):
            continue
        args = ["generate_feedback", lesson] + (["--force"] if force else [])
        proc = nbgrader(course, *args, check=False)
        if proc.returncode != 0:
            log(f"generate_feedback {lesson} reported errors:\n{tail(proc.stdout, 15)}")
    log(f"feedback in {course / FEEDBACK}")


def export(course: Path) -> Path:
    """`nbgrader export` -> grading/grades.csv (one row per student and lesson)."""
    nbgrader(course, "export")
    log(f"grades in {course / GRADES_CSV}")
    return course / GRADES_CSV
