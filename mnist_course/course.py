"""The course folder: where it is, its lessons and students, and the instructor's folders in it.

A course folder holds nbgrader_config.py and solutions/<lesson>/<lesson>.ipynb; nbgrader_config.py
puts every working folder of the instructor under grading/ (git-ignored). The paths below are
relative to the course, so they hold for the course and for the autograde workers' copies of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

CONFIG = "nbgrader_config.py"
SOLUTIONS, LESSONS = "solutions", "lessons"
GRADING = "grading"
SUBMITTED = f"{GRADING}/submitted"
AUTOGRADED = f"{GRADING}/autograded"
FEEDBACK = f"{GRADING}/feedback"
DOWNLOADED = f"{GRADING}/downloaded"
GRADEBOOK = f"{GRADING}/gradebook.db"
GRADES_CSV = f"{GRADING}/grades.csv"
# The checkout this package runs from: a course when installed with `pip install -e .`
INSTALLED_FROM = Path(__file__).resolve().parents[1]


class GradingError(RuntimeError):
    """A step cannot go on; the command line prints the message and exits with 1."""


def log(message: str) -> None:
    print(f"[mnist-course] {message}", flush=True)


def is_course(folder: Path) -> bool:
    return (folder / CONFIG).is_file() and (folder / SOLUTIONS).is_dir()


def find_course(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """The course folder: `explicit` (--course), else the nearest folder upward from `cwd` that holds
    nbgrader_config.py and solutions/, else the checkout this package is installed from (editable)."""
    if explicit is not None:
        course = Path(explicit).resolve()
        if not is_course(course):
            raise GradingError(f"{course} is not a course folder: it has no {CONFIG} and {SOLUTIONS}/")
        return course
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents, INSTALLED_FROM):
        if is_course(folder):
            return folder
    raise GradingError(
        f"no course folder found: neither {start} nor a folder above it holds {CONFIG} and "
        f"{SOLUTIONS}/, nor does {INSTALLED_FROM} (where mnist_course is installed); run from the "
        "course folder or pass --course FOLDER"
    )


def lesson_names(course: Path) -> list[str]:
    """Lessons in solutions/: folders <name> that hold <name>.ipynb, sorted."""
    return sorted(p.parent.name for p in (course / SOLUTIONS).glob("*/*.ipynb") if p.stem == p.parent.name)


def student_names(course: Path) -> list[str]:
    folder = course / SUBMITTED
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def db_url(course: Path) -> str:
    """The gradebook of `course`, as nbgrader_config.py sets c.CourseDirectory.db_url."""
    return f"sqlite:///{course / GRADEBOOK}"


def confirm_overwrite(paths: list[Path], force: bool) -> bool:
    """True if existing `paths` may be replaced: --force, or the instructor says yes at a terminal."""
    existing = [p for p in paths if p.exists()]
    if not existing or force:
        return True
    shown = ", ".join(str(p) for p in existing[:5]) + (" ..." if len(existing) > 5 else "")
    if sys.stdin.isatty():
        return input(f"Overwrite {len(existing)} existing item(s): {shown}? [y/N] ").strip().lower() == "y"
    log(f"not overwriting {len(existing)} existing item(s) ({shown}); pass --force to replace them")
    return False
