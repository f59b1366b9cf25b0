"""Autograde a class in parallel: one nbgrader process per student, merged into one gradebook.

nbgrader grades one submission at a time (its issue #174). Here each student is graded by
`nbgrader autograde "*" --student=S --force` in a temporary copy of the course (config, solutions/,
that student's submissions, a snapshot of the gradebook), `workers` students at a time. With fewer
students than workers (one learner, a late submission), a student's lessons are shared out between
the idle workers instead, each share in its own nbgrader process. The parent merges each finished
process into grading/gradebook.db, one at a time (gradebook.merge_student).
Every grading process (and so its kernels) runs under an address-space limit (--memory-gib) and
a wall-clock limit (--student-timeout).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import (
    AUTOGRADED,
    CONFIG,
    GRADEBOOK,
    SOLUTIONS,
    SUBMITTED,
    GradingError,
    lesson_names,
    log,
    student_names,
)
from .gradebook import grades, merge_student
from .runner import nbgrader, tail

DATA_ENV = "MNIST_DATA"  # mnist_ref.data.DATA_ENV, not imported from there: that imports torch
DEFAULT_MEMORY_GIB = 6.0  # torch maps ~4 GiB of address space for a small CNN; see docs/INSTRUCTORS.md
DEFAULT_CELL_TIMEOUT = 120  # s, c.Execute.timeout in nbgrader_config.py: the default student timeout's unit


@dataclass
class StudentResult:
    student: str
    lessons: list[str]
    seconds: float
    ok: bool = True
    message: str = ""
    workdir: Path | None = None
    merged: list[str] = field(default_factory=list)


def autograde(
    course: Path,
    *,
    workers: int = 1,
    students: list[str] | None = None,
    lessons: list[str] | None = None,
    force: bool = False,
    memory_gib: float | None = DEFAULT_MEMORY_GIB,
    student_timeout: float | None = None,
    execute_timeout: int | None = None,
) -> list[StudentResult]:
    """Autograde every submitted lesson of every student, `workers` nbgrader processes at a time
    (one per student, or shares of a student's lessons when students are fewer than workers).

    Without --force, lessons already in grading/autograded are skipped (as nbgrader does).
    student_timeout defaults to (Execute.timeout + 60 s) x lessons: a hard stop per student
    (per share: its part of it). Returns one result per student."""
    lessons = lessons or lesson_names(course)
    plan = _to_grade(course, students or student_names(course), lessons, force)
    if not plan:
        log("nothing to autograde (use --force to regrade)")
        return []
    if not (course / GRADEBOOK).exists():
        raise GradingError("no gradebook: run `mnist-course release` first")
    # Kernels run in the workers' temporary folders: resolve the data folder once, here, for all of them.
    if DATA_ENV not in os.environ:
        from mnist_ref.data import data_root  # only then: it imports torch, which this process does not need

        os.environ[DATA_ENV] = str(data_root())
    # Share the cores between workers instead of letting each kernel's torch use all of them.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    results: list[StudentResult] = []
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        workroot = Path(tmp)
        snapshot = workroot / "gradebook-snapshot.db"
        shutil.copy2(course / GRADEBOOK, snapshot)  # read by workers; the main db is only written here
        per_cell = execute_timeout or DEFAULT_CELL_TIMEOUT
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [
                pool.submit(
                    _grade_student,
                    course,
                    snapshot,
                    student,
                    share,
                    workroot,
                    memory_gib,
                    # the hard stop scales with the share: a student split in two gets two halves
                    (student_timeout * len(share) / len(plan[student]) if student_timeout else None)
                    or (per_cell + 60) * len(share),
                    execute_timeout,
                )
                for student, share in shares(plan, workers)
            ]
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                # sequential: only this thread writes the main gradebook
                result.merged = merge_student(course, result.workdir, result.student, result.lessons)
                shutil.rmtree(result.workdir, ignore_errors=True)
                state = "ok" if result.ok else "ERRORS (graded what could be):\n" + result.message
                log(f"{result.student}: {len(result.merged)} lesson(s) in {result.seconds:.1f} s, {state}")
                results.append(result)
    return _per_student(results)


def shares(plan: dict[str, list[str]], workers: int) -> list[tuple[str, list[str]]]:
    """(student, lessons) for each nbgrader process: one per student, or, with fewer students than
    workers, each student's lessons cut into consecutive shares of (nearly) equal length, so no core
    idles while one learner is graded. Consecutive, because a share costs one more nbgrader start
    (its imports, torch included) and the course's lessons cost about the same to grade in either half."""
    parts = max(1, workers // max(1, len(plan)))
    result = []
    for student, lessons in plan.items():
        count = min(parts, len(lessons))
        size, extra = divmod(len(lessons), count)
        start = 0
        for part in range(count):
            end = start + size + (part < extra)
            result.append((student, lessons[start:end]))
            start = end
    return result


def _per_student(results: list[StudentResult]) -> list[StudentResult]:
    """One result per student, however many processes graded their shares (seconds add up)."""
    combined: dict[str, StudentResult] = {}
    for result in sorted(results, key=lambda r: (r.student, r.lessons)):
        if result.student not in combined:
            combined[result.student] = result
            continue
        whole = combined[result.student]
        whole.lessons = whole.lessons + result.lessons
        whole.merged = whole.merged + result.merged
        whole.seconds += result.seconds
        whole.ok = whole.ok and result.ok
        whole.message = "\n".join(filter(None, [whole.message, result.message]))
    return list(combined.values())


def _to_grade(course: Path, students: list[str], lessons: list[str], force: bool) -> dict[str, list[str]]:
    """student -> lessons submitted and (without --force) not graded yet."""
    recorded = set(grades(course)) if (course / GRADEBOOK).exists() else set()

    def graded(student: str, lesson: str) -> bool:  # a lesson without notebook has no autograded copy
        notebooks = any((course / SUBMITTED / student / lesson).glob("*.ipynb"))
        return (course / AUTOGRADED / student / lesson).exists() or (not notebooks and (student, lesson) in recorded)

    plan = {}
    for student in students:
        todo = [
            lesson
            for lesson in lessons
            if (course / SUBMITTED / student / lesson).is_dir() and (force or not graded(student, lesson))
        ]
        if todo:
            plan[student] = todo
    return plan


def _grade_student(
    course: Path,
    snapshot: Path,
    student: str,
    lessons: list[str],
    workroot: Path,
    memory_gib: float | None,
    timeout: float | None,
    execute_timeout: int | None,
) -> StudentResult:
    """Autograde one student's lessons in a private copy of the course (runs in a worker thread;
    the work happens in the nbgrader subprocess). The preprocessors of nbgrader_config.py come from
    the installed mnist_course, so the copy needs only the config, the sources and the submissions."""
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=workroot))
    shutil.copy2(course / CONFIG, work / CONFIG)
    for lesson in lessons:
        shutil.copytree(
            course / SOLUTIONS / lesson, work / SOLUTIONS / lesson, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
        shutil.copytree(course / SUBMITTED / student / lesson, work / SUBMITTED / student / lesson)
    shutil.copy2(snapshot, work / GRADEBOOK)
    args = ["autograde", "*", f"--student={student}", "--force"]
    if execute_timeout:
        args.append(f"--Execute.timeout={execute_timeout}")
    try:
        proc = nbgrader(work, *args, memory_gib=memory_gib, timeout=timeout, check=False)
        ok = proc.returncode == 0
        message = "" if ok else tail(proc.stdout, 15)
    except GradingError as err:
        ok, message = False, str(err)
    return StudentResult(student, lessons, time.perf_counter() - start, ok, message, work)
