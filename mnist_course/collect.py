"""Collect submissions into grading/submitted/<student>/<lesson>/: from a folder, or from LMS downloads."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from .course import (
    DOWNLOADED,
    SUBMITTED,
    GradingError,
    confirm_overwrite,
    lesson_names,
    log,
)
from .runner import nbgrader

# The student in an LMS file name <student>_attempt_<timestamp>_<lesson>.ipynb (as nbgrader_config.py's
# FileNameCollectorPlugin.named_regexp reads it).
LMS_STUDENT = re.compile(r"(?:.*/)?([^/]+)_attempt_")


def collect(course: Path, source: Path, force: bool = False) -> dict[str, list[str]]:
    """Copy a folder of per-student files into grading/submitted/<student>/<lesson>/.

    Accepted layouts: source/<student>/<lesson>.ipynb or source/<student>/<lesson>/<files>."""
    lessons = set(lesson_names(course))
    collected: dict[str, list[str]] = {}
    for student_dir in sorted(p for p in Path(source).iterdir() if p.is_dir()):
        student = student_dir.name
        for item in sorted(student_dir.iterdir()):
            lesson = item.stem if item.is_file() else item.name
            if lesson not in lessons or (item.is_file() and item.suffix != ".ipynb"):
                log(f"skipping {item}: not a lesson of this course")
                continue
            dest = course / SUBMITTED / student / lesson
            if not confirm_overwrite([dest], force):
                continue
            shutil.rmtree(dest, ignore_errors=True)
            if item.is_dir():
                shutil.copytree(item, dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            else:
                dest.mkdir(parents=True)
                shutil.copy2(item, dest / item.name)
            collected.setdefault(student, []).append(lesson)
    log(f"collected {sum(map(len, collected.values()))} submission(s) of {len(collected)} student(s)")
    return collected


def zip_collect(course: Path, lesson: str, archives: list[Path], force: bool = False) -> None:
    """Put LMS downloads (zips or notebooks) into grading/downloaded/LESSON/archive, then
    `nbgrader zip_collect LESSON` (file names: <student>_attempt_<timestamp>_<lesson>.ipynb)."""
    archive_dir = course / DOWNLOADED / lesson / "archive"
    archive_dir.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        shutil.copy2(archive, archive_dir / Path(archive).name)
    students = set()
    for archive in archive_dir.iterdir():
        names = zipfile.ZipFile(archive).namelist() if zipfile.is_zipfile(archive) else [archive.name]
        students |= {m.group(1) for n in names if (m := LMS_STUDENT.match(n))}
    targets = [course / SUBMITTED / s / lesson for s in sorted(students)]
    extracted = course / DOWNLOADED / lesson / "extracted"
    if not confirm_overwrite(targets + [extracted], force):
        raise GradingError("zip_collect would overwrite existing submissions; pass --force")
    nbgrader(course, "zip_collect", lesson, "--force")
    log(f"zip_collect {lesson}: {len(students)} student(s)")
