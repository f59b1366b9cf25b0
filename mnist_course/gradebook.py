"""The gradebook (grading/gradebook.db), through nbgrader's Gradebook API: read the grades, and merge
an autograde worker's gradebook into it. Only the parent process writes it, so sqlite never races."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

from .course import AUTOGRADED, SUBMITTED, db_url


def grades(course: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(student, lesson) -> (score, max_score)."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(db_url(course)) as gb:
        for student in gb.students:
            for submission in student.submissions:
                table[(student.id, submission.assignment.name)] = (submission.score, submission.max_score)
    return table


def merge_student(course: Path, workdir: Path, student: str, lessons: list[str]) -> list[str]:
    """Copy one worker's grades (its course copy `workdir`) into the course's gradebook and its autograded
    notebooks into grading/autograded/. Manual scores already in the gradebook are kept, as nbgrader does."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    merged = []
    with warnings.catch_warnings(), Gradebook(db_url(workdir)) as worker, Gradebook(db_url(course)) as main:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission autoflush noise
        main.update_or_create_student(student)
        for lesson in lessons:
            try:
                theirs = worker.find_submission(lesson, student)
            except MissingEntry:  # nbgrader never got to it (no notebook at all): the lesson scores 0
                theirs = None
            kwargs = {"timestamp": theirs.timestamp} if theirs is not None and theirs.timestamp else {}
            ours = main.update_or_create_submission(lesson, student, **kwargs)
            for their_nb in theirs.notebooks if theirs is not None else []:
                our_nb = main.find_submission_notebook(their_nb.name, lesson, student)
                our_nb.flagged = their_nb.flagged
                our_nb.late_submission_penalty = their_nb.late_submission_penalty
                for grade in their_nb.grades:
                    mine = main.find_grade(grade.name, their_nb.name, lesson, student)
                    mine.auto_score = grade.auto_score
                    mine.needs_manual_grade = grade.needs_manual_grade or mine.manual_score is not None
                for comment in their_nb.comments:
                    main.find_comment(comment.name, their_nb.name, lesson, student).auto_comment = comment.auto_comment
            # nbgrader's rule for a missing notebook (auto_score 0, nothing to grade by hand), also
            # when it was the only one: autograde then stops before applying it.
            for our_nb in ours.notebooks:
                if not (course / SUBMITTED / student / lesson / f"{our_nb.name}.ipynb").exists():
                    for grade in our_nb.grades:
                        grade.auto_score, grade.needs_manual_grade = 0.0, False
            main.db.commit()
            dest = course / AUTOGRADED / student / lesson
            shutil.rmtree(dest, ignore_errors=True)
            src = workdir / AUTOGRADED / student / lesson
            if src.is_dir():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(src, dest)
            merged.append(lesson)
    return merged
