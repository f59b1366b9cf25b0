"""Grade a class with nbgrader: release, collect, autograde (in parallel), feedback, export.

Run from anywhere; the course is the project root unless --course says otherwise. Each step is
one nbgrader command (shown by --dry-run-free logging, see docs/INSTRUCTORS.md); `all` chains them.

    python scripts/grade_class.py release                      # generate_assignment L --force (+ gradebook)
    python scripts/grade_class.py collect SUBMISSIONS_DIR      # SUBMISSIONS_DIR/<student>/<lesson>.ipynb
    python scripts/grade_class.py zip_collect LESSON LMS.zip   # nbgrader zip_collect LESSON
    python scripts/grade_class.py autograde --workers 2 [--force]
    python scripts/grade_class.py feedback [--force]           # generate_feedback -> grading/feedback
    python scripts/grade_class.py export                       # grading/grades.csv
    python scripts/grade_class.py all SUBMISSIONS_DIR --workers 2 [--force]

Parallel autograde (nbgrader grades one submission at a time, its issue #174): one process per
student, each in its own temporary copy of the course (config, solutions/, that student's
submissions, a snapshot of the gradebook). The parent merges each finished student into
grading/gradebook.db, one at a time, through nbgrader's Gradebook API, and moves the autograded
notebooks into grading/autograded/. Every grading process (and so its kernels) runs under an
address-space limit (RLIMIT_AS, --memory-gib) and a wall-clock limit (--student-timeout).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRADING = "grading"
SUBMITTED = f"{GRADING}/submitted"
AUTOGRADED = f"{GRADING}/autograded"
FEEDBACK = f"{GRADING}/feedback"
DOWNLOADED = f"{GRADING}/downloaded"
GRADEBOOK = f"{GRADING}/gradebook.db"
GRADES_CSV = f"{GRADING}/grades.csv"
COURSE_FILES = ("nbgrader_config.py", "grading_tools")  # what a worker's course copy needs besides solutions/
DEFAULT_MEMORY_GIB = 6.0  # torch maps ~4 GiB of address space for a small CNN; see docs/INSTRUCTORS.md


class GradingError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[grade_class] {message}", flush=True)


def lesson_names(course: Path) -> list[str]:
    """Lessons in solutions/: folders <name> that hold <name>.ipynb, sorted (as release_lessons.py)."""
    return sorted(p.parent.name for p in (course / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


def student_names(course: Path) -> list[str]:
    folder = course / SUBMITTED
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def db_url(course: Path) -> str:
    return f"sqlite:///{course / GRADEBOOK}"


def _limit_memory(limit_bytes: int | None):
    if not limit_bytes:
        return None

    def preexec() -> None:  # runs in the child before exec: the kernels it starts inherit it
        os.setsid()  # own process group, so a timeout can kill nbgrader and its kernels together
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return preexec


def nbgrader(course: Path, *args: str, memory_gib: float | None = None, timeout: float | None = None,
             check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m nbgrader ARGS` in `course` (where nbgrader reads nbgrader_config.py).

    The venv's bin/ goes first on PATH: the gradebook runs the `alembic` executable from PATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [sys.executable, "-m", "nbgrader", *args]
    limit = int(memory_gib * 2**30) if memory_gib else None
    proc = subprocess.Popen(command, cwd=course, env=env, text=True, start_new_session=limit is None,
                            stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
                            preexec_fn=_limit_memory(limit))
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # nbgrader and its kernels
        out, _ = proc.communicate()
        raise GradingError(f"timed out after {timeout:.0f} s: nbgrader {' '.join(args)}") from None
    result = subprocess.CompletedProcess(command, proc.returncode, out or "", "")
    if check and proc.returncode != 0:
        raise GradingError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n{_tail(out)}")
    return result


def _tail(text: str | None, lines: int = 40) -> str:
    return "\n".join((text or "").splitlines()[-lines:])


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


# --- release ----------------------------------------------------------------------------------


def release(course: Path, lessons: list[str] | None = None) -> list[str]:
    """`nbgrader generate_assignment L --force` for every lesson: lessons/ plus the gradebook entries.

    Rewrites lessons/ with the bytes scripts/release_lessons.py produces; needed before autograde."""
    (course / GRADING).mkdir(exist_ok=True)
    lessons = lessons or lesson_names(course)
    for lesson in lessons:
        nbgrader(course, "generate_assignment", lesson, "--force")
        log(f"released {lesson} (gradebook: {course / GRADEBOOK})")
    return lessons


# --- collect ----------------------------------------------------------------------------------


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
        students |= {m.group(1) for n in names if (m := re.match(r"(?:.*/)?([^/]+)_attempt_", n))}
    targets = [course / SUBMITTED / s / lesson for s in sorted(students)]
    extracted = course / DOWNLOADED / lesson / "extracted"
    if not confirm_overwrite(targets + [extracted], force):
        raise GradingError("zip_collect would overwrite existing submissions; pass --force")
    nbgrader(course, "zip_collect", lesson, "--force")
    log(f"zip_collect {lesson}: {len(students)} student(s)")


# --- autograde --------------------------------------------------------------------------------


@dataclass
class StudentResult:
    student: str
    lessons: list[str]
    seconds: float
    ok: bool = True
    message: str = ""
    workdir: Path | None = None
    merged: list[str] = field(default_factory=list)


def _to_grade(course: Path, students: list[str], lessons: list[str], force: bool) -> dict[str, list[str]]:
    """student -> lessons submitted and (without --force) not graded yet."""
    recorded = set(grades(course)) if (course / GRADEBOOK).exists() else set()

    def graded(student: str, lesson: str) -> bool:  # a lesson without notebook has no autograded copy
        notebooks = any((course / SUBMITTED / student / lesson).glob("*.ipynb"))
        return (course / AUTOGRADED / student / lesson).exists() or (not notebooks and (student, lesson) in recorded)

    plan = {}
    for student in students:
        todo = [l for l in lessons if (course / SUBMITTED / student / l).is_dir()
                and (force or not graded(student, l))]
        if todo:
            plan[student] = todo
    return plan


def _grade_student(course: Path, snapshot: Path, student: str, lessons: list[str], workroot: Path,
                   memory_gib: float | None, timeout: float | None, execute_timeout: int | None) -> StudentResult:
    """Autograde one student's lessons in a private copy of the course (runs in a worker thread;
    the work happens in the nbgrader subprocess)."""
    start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=workroot))
    for name in COURSE_FILES:
        src = course / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, work / name)
    for lesson in lessons:
        shutil.copytree(course / "solutions" / lesson, work / "solutions" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        shutil.copytree(course / SUBMITTED / student / lesson, work / SUBMITTED / student / lesson)
    shutil.copy2(snapshot, work / GRADEBOOK)
    args = ["autograde", "*", f"--student={student}", "--force"]
    if execute_timeout:
        args.append(f"--Execute.timeout={execute_timeout}")
    try:
        proc = nbgrader(work, *args, memory_gib=memory_gib, timeout=timeout, check=False)
        ok = proc.returncode == 0
        message = "" if ok else _tail(proc.stdout, 15)
    except GradingError as err:
        ok, message = False, str(err)
    return StudentResult(student, lessons, time.perf_counter() - start, ok, message, work)


def merge_student(course: Path, result: StudentResult) -> list[str]:
    """Copy one worker's grades into grading/gradebook.db (Gradebook API) and its autograded notebooks
    into grading/autograded/. Manual scores already in the main gradebook are kept, as nbgrader does."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    merged = []
    with warnings.catch_warnings(), Gradebook(db_url(result.workdir)) as worker, Gradebook(db_url(course)) as main:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission autoflush noise
        main.update_or_create_student(result.student)
        for lesson in result.lessons:
            try:
                theirs = worker.find_submission(lesson, result.student)
            except MissingEntry:  # nbgrader never got to it (no notebook at all): the lesson scores 0
                theirs = None
            kwargs = {"timestamp": theirs.timestamp} if theirs is not None and theirs.timestamp else {}
            ours = main.update_or_create_submission(lesson, result.student, **kwargs)
            for their_nb in theirs.notebooks if theirs is not None else []:
                our_nb = main.find_submission_notebook(their_nb.name, lesson, result.student)
                our_nb.flagged = their_nb.flagged
                our_nb.late_submission_penalty = their_nb.late_submission_penalty
                for grade in their_nb.grades:
                    mine = main.find_grade(grade.name, their_nb.name, lesson, result.student)
                    mine.auto_score = grade.auto_score
                    mine.needs_manual_grade = grade.needs_manual_grade or mine.manual_score is not None
                for comment in their_nb.comments:
                    main.find_comment(comment.name, their_nb.name, lesson, result.student).auto_comment = \
                        comment.auto_comment
            # nbgrader's rule for a missing notebook (auto_score 0, nothing to grade by hand), also
            # when it was the only one: autograde then stops before applying it.
            for our_nb in ours.notebooks:
                if not (course / SUBMITTED / result.student / lesson / f"{our_nb.name}.ipynb").exists():
                    for grade in our_nb.grades:
                        grade.auto_score, grade.needs_manual_grade = 0.0, False
            main.db.commit()
            dest = course / AUTOGRADED / result.student / lesson
            shutil.rmtree(dest, ignore_errors=True)
            src = result.workdir / AUTOGRADED / result.student / lesson
            if src.is_dir():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(src, dest)
            merged.append(lesson)
    return merged


def autograde(course: Path, *, workers: int = 1, students: list[str] | None = None,
              lessons: list[str] | None = None, force: bool = False,
              memory_gib: float | None = DEFAULT_MEMORY_GIB, student_timeout: float | None = None,
              execute_timeout: int | None = None) -> list[StudentResult]:
    """Autograde every submitted lesson of every student, `workers` students at a time.

    Without --force, lessons already in grading/autograded are skipped (as nbgrader does).
    student_timeout defaults to (Execute.timeout + 60 s) x lessons: a hard stop per student."""
    lessons = lessons or lesson_names(course)
    plan = _to_grade(course, students or student_names(course), lessons, force)
    if not plan:
        log("nothing to autograde (use --force to regrade)")
        return []
    if not (course / GRADEBOOK).exists():
        raise GradingError("no gradebook: run `python scripts/grade_class.py release` first")
    # Kernels run in the workers' temporary folders: make the default ./data absolute.
    os.environ.setdefault("MNIST_DATA", str(course / "data"))
    # Share the cores between workers instead of letting each kernel's torch use all of them.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    results: list[StudentResult] = []
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        workroot = Path(tmp)
        snapshot = workroot / "gradebook-snapshot.db"
        shutil.copy2(course / GRADEBOOK, snapshot)  # read by workers; the main db is only written here
        per_cell = execute_timeout or 120
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(_grade_student, course, snapshot, student, todo, workroot, memory_gib,
                                   student_timeout or (per_cell + 60) * len(todo), execute_timeout)
                       for student, todo in plan.items()]
            for future in concurrent.futures.as_completed(futures):
                result = future.result()
                result.merged = merge_student(course, result)  # sequential: only this thread writes
                shutil.rmtree(result.workdir, ignore_errors=True)
                state = "ok" if result.ok else "ERRORS (graded what could be):\n" + result.message
                log(f"{result.student}: {len(result.merged)} lesson(s) in {result.seconds:.1f} s, {state}")
                results.append(result)
    return sorted(results, key=lambda r: r.student)


# --- feedback, export -------------------------------------------------------------------------


def feedback(course: Path, force: bool = False) -> None:
    """`nbgrader generate_feedback L` per lesson -> grading/feedback/<student>/<lesson>/<lesson>.html."""
    for lesson in lesson_names(course):
        if not any((course / AUTOGRADED).glob(f"*/{lesson}")):
            continue
        args = ["generate_feedback", lesson] + (["--force"] if force else [])
        proc = nbgrader(course, *args, check=False)
        if proc.returncode != 0:
            log(f"generate_feedback {lesson} reported errors:\n{_tail(proc.stdout, 15)}")
    log(f"feedback in {course / FEEDBACK}")


def export(course: Path) -> Path:
    """`nbgrader export` -> grading/grades.csv (one row per student and lesson)."""
    nbgrader(course, "export")
    log(f"grades in {course / GRADES_CSV}")
    return course / GRADES_CSV


def grades(course: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """(student, lesson) -> (score, max_score), read with nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(db_url(course)) as gb:
        for student in gb.students:
            for submission in student.submissions:
                table[(student.id, submission.assignment.name)] = (submission.score, submission.max_score)
    return table


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", type=Path, default=ROOT, help="course folder (default: this project)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("release", help="nbgrader generate_assignment L --force for each lesson")
    p = steps.add_parser("collect", help="copy a folder <student>/<lesson>.ipynb into grading/submitted")
    p.add_argument("source", type=Path)
    p.add_argument("--force", action="store_true")
    p = steps.add_parser("zip_collect", help="nbgrader zip_collect from an LMS download")
    p.add_argument("lesson")
    p.add_argument("archives", type=Path, nargs="+")
    p.add_argument("--force", action="store_true")
    for name in ("autograde", "all"):
        p = steps.add_parser(name, help="autograde in parallel" if name == "autograde" else
                             "release, collect SOURCE, autograde, feedback, export")
        if name == "all":
            p.add_argument("source", type=Path, nargs="?", help="folder of per-student files to collect first")
        p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)))
        p.add_argument("--student", action="append", help="only these students (repeatable)")
        p.add_argument("--lesson", action="append", help="only these lessons (repeatable)")
        p.add_argument("--force", action="store_true", help="regrade / overwrite existing results")
        p.add_argument("--memory-gib", type=float, default=DEFAULT_MEMORY_GIB,
                       help="address-space limit per grading process and kernel (0: none)")
        p.add_argument("--student-timeout", type=float, help="hard wall-clock limit per student, seconds")
        p.add_argument("--execute-timeout", type=int, help="override c.Execute.timeout (seconds per cell)")
    p = steps.add_parser("feedback", help="nbgrader generate_feedback for each lesson")
    p.add_argument("--force", action="store_true")
    steps.add_parser("export", help="nbgrader export -> grading/grades.csv")
    steps.add_parser("formgrader", help="open JupyterLab on the course (Nbgrader > Formgrader)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    (course / GRADING).mkdir(exist_ok=True)
    try:
        if args.step == "release":
            release(course)
        elif args.step == "collect":
            collect(course, args.source, args.force)
        elif args.step == "zip_collect":
            zip_collect(course, args.lesson, args.archives, args.force)
        elif args.step in ("autograde", "all"):
            if args.step == "all":
                release(course)
                if args.source:
                    collect(course, args.source, args.force)
            start = time.perf_counter()
            results = autograde(course, workers=args.workers, students=args.student, lessons=args.lesson,
                                force=args.force, memory_gib=args.memory_gib or None,
                                student_timeout=args.student_timeout, execute_timeout=args.execute_timeout)
            log(f"autograded {len(results)} student(s) in {time.perf_counter() - start:.1f} s "
                f"with {args.workers} worker(s)")
            if args.step == "all":
                feedback(course, args.force)
                export(course)
        elif args.step == "feedback":
            feedback(course, args.force)
        elif args.step == "export":
            export(course)
        elif args.step == "formgrader":
            # The course's JupyterLab settings (jupyter-config/, as `make lab`), opened on the formgrader
            config_path = os.pathsep.join(filter(None, [str(course / "jupyter-config"), os.environ.get("JUPYTER_CONFIG_PATH")]))
            return subprocess.call([sys.executable, "-m", "jupyter", "lab", "--LabApp.default_url=/formgrader"],
                                   cwd=course, env={**os.environ, "JUPYTER_CONFIG_PATH": config_path})
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
