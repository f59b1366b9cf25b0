"""Release the lessons: solutions/ -> lessons/ with `nbgrader generate_assignment`.

Two ways, the same bytes in lessons/:
* release_lessons (`mnist-course lessons`, `make lessons`): --no-db, in a temporary copy of the
  course, then lessons/ is replaced; needs no gradebook and writes nothing but lessons/.
  tests/test_lessons.py uses generate_release to check that the committed lessons/ is what
  nbgrader produces now.
* release (`mnist-course release`): --force in the course itself, which also records each lesson
  (its test cells and points) in grading/gradebook.db; autograde needs that.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .course import CONFIG, GRADEBOOK, GRADING, LESSONS, SOLUTIONS, lesson_names, log
from .runner import nbgrader


def generate_release(course: Path, dest_dir: Path) -> Path:
    """Generate every lesson of course/solutions into dest_dir (as lessons/ would be); return dest_dir."""
    dest_dir = Path(dest_dir)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copy2(course / CONFIG, copy)
        shutil.copytree(course / SOLUTIONS, copy / SOLUTIONS, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for lesson in lesson_names(course):
            nbgrader(copy, "generate_assignment", lesson, "--force", "--no-db")
        shutil.copytree(copy / LESSONS, dest_dir, dirs_exist_ok=True)
    return dest_dir


def release_lessons(course: Path) -> list[str]:
    """Replace course/lessons with a fresh release; lessons no longer in solutions/ disappear."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_release(course, Path(tmp) / LESSONS)
        shutil.rmtree(course / LESSONS, ignore_errors=True)
        shutil.copytree(fresh, course / LESSONS)
    return lesson_names(course)


def release(course: Path, lessons: list[str] | None = None) -> list[str]:
    """`nbgrader generate_assignment L --force` for every lesson: lessons/ plus the gradebook entries."""
    (course / GRADING).mkdir(exist_ok=True)  # sqlite creates the gradebook file, not its folder
    lessons = lessons or lesson_names(course)
    for lesson in lessons:
        nbgrader(course, "generate_assignment", lesson, "--force")
        log(f"released {lesson} (gradebook: {course / GRADEBOOK})")
    return lessons
