"""The instructor's steps with nbgrader, one subcommand each (mnist-course STEP --help for its options):

    mnist-course lessons                              # solutions/ -> lessons/ (no gradebook): make lessons
    mnist-course release                              # generate_assignment L --force: lessons/ + gradebook
    mnist-course collect SUBMISSIONS_DIR              # SUBMISSIONS_DIR/<student>/<lesson>.ipynb
    mnist-course zip_collect LESSON LMS.zip           # nbgrader zip_collect LESSON
    mnist-course autograde --workers 2 [--force]      # in parallel, memory- and time-bounded
    mnist-course formgrader                           # JupyterLab on the formgrader: grade by hand
    mnist-course feedback [--force]                   # generate_feedback -> grading/feedback
    mnist-course export                               # grading/grades.csv
    mnist-course report                               # grading/class_report.html: what the class got wrong
    mnist-course all SUBMISSIONS_DIR --workers 2      # release, collect, autograde, feedback, export

Runs from any folder: the course is --course, else the nearest folder upward from the current one
that holds nbgrader_config.py and solutions/, else the checkout mnist_course is installed from.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .autograde import DEFAULT_MEMORY_GIB, autograde
from .class_report import CLASS_REPORT, write_class_report
from .collect import collect, zip_collect
from .course import GRADING, LESSONS, GradingError, find_course, log
from .formgrader import formgrader
from .release import release, release_lessons
from .report import export, feedback

PROG = "mnist-course"
STEPS_IN_ORDER = (
    "steps, in order: lessons (after editing solutions/), then for a class: release, "
    "collect or zip_collect, autograde, formgrader, feedback, export, report; `all` chains release to export"
)


def _lessons(course: Path, args: argparse.Namespace) -> None:
    names = release_lessons(course)
    print(f"Released {len(names)} lesson(s) into {course / LESSONS}: {', '.join(names)}")


def _release(course: Path, args: argparse.Namespace) -> None:
    release(course)


def _collect(course: Path, args: argparse.Namespace) -> None:
    collect(course, args.source, args.force)


def _zip_collect(course: Path, args: argparse.Namespace) -> None:
    zip_collect(course, args.lesson, args.archives, args.force)


def _autograde(course: Path, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    results = autograde(
        course,
        workers=args.workers,
        students=args.student,
        lessons=args.lesson,
        force=args.force,
        memory_gib=args.memory_gib or None,
        student_timeout=args.student_timeout,
        execute_timeout=args.execute_timeout,
    )
    log(f"autograded {len(results)} student(s) in {time.perf_counter() - start:.1f} s with {args.workers} worker(s)")


def _formgrader(course: Path, args: argparse.Namespace) -> int:
    return formgrader(course)


def _feedback(course: Path, args: argparse.Namespace) -> None:
    feedback(course, args.force)


def _export(course: Path, args: argparse.Namespace) -> None:
    export(course)


def _report(course: Path, args: argparse.Namespace) -> None:
    write_class_report(course, args.output)


def _all(course: Path, args: argparse.Namespace) -> None:
    release(course)
    if args.source:
        collect(course, args.source, args.force)
    _autograde(course, args)
    feedback(course, args.force)
    export(course)


def _autograde_options(step: argparse.ArgumentParser) -> None:
    step.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 2)),
        help="students graded at a time (default: the number of cores)",
    )
    step.add_argument("--student", action="append", help="only these students (repeatable)")
    step.add_argument("--lesson", action="append", help="only these lessons (repeatable)")
    step.add_argument("--force", action="store_true", help="regrade / overwrite existing results")
    step.add_argument(
        "--memory-gib",
        type=float,
        default=DEFAULT_MEMORY_GIB,
        help="address-space limit per grading process and kernel (0: none)",
    )
    step.add_argument(
        "--student-timeout",
        type=float,
        help="hard wall-clock limit per student, seconds (default: (cell timeout + 60) x lessons)",
    )
    step.add_argument("--execute-timeout", type=int, help="override c.Execute.timeout (seconds per cell)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--course",
        type=Path,
        help="course folder (default: found from the current folder, else the checkout mnist_course is installed from)",
    )
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    def step(name: str, run, help: str) -> argparse.ArgumentParser:
        sub = steps.add_parser(name, help=help, description=help, epilog=STEPS_IN_ORDER)
        sub.set_defaults(run=run)
        return sub

    step("lessons", _lessons, "regenerate lessons/ from solutions/ (generate_assignment --no-db; no gradebook)")
    step("release", _release, "nbgrader generate_assignment L --force for each lesson: lessons/ and the gradebook")
    sub = step("collect", _collect, "copy a folder <student>/<lesson>.ipynb into grading/submitted")
    sub.add_argument("source", type=Path)
    sub.add_argument("--force", action="store_true", help="overwrite submissions already collected")
    sub = step("zip_collect", _zip_collect, "nbgrader zip_collect from an LMS download")
    sub.add_argument("lesson")
    sub.add_argument("archives", type=Path, nargs="+")
    sub.add_argument("--force", action="store_true", help="overwrite submissions already collected")
    _autograde_options(step("autograde", _autograde, "autograde every submission in parallel"))
    step("formgrader", _formgrader, "open JupyterLab on the course (Nbgrader > Formgrader): grade the written answers")
    sub = step("feedback", _feedback, "nbgrader generate_feedback for each lesson -> grading/feedback")
    sub.add_argument("--force", action="store_true", help="regenerate existing feedback")
    step("export", _export, "nbgrader export -> grading/grades.csv")
    sub = step("report", _report, "an HTML page of the class: scores, pass rates, frequent check messages")
    sub.add_argument("--output", type=Path, help=f"where to write the page (default: {CLASS_REPORT})")
    sub = step("all", _all, "release, collect SOURCE, autograde, feedback, export")
    sub.add_argument("source", type=Path, nargs="?", help="folder of per-student files to collect first")
    _autograde_options(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        course = find_course(args.course)
        if args.step != "lessons":  # every grading step reads or writes the gradebook in grading/
            (course / GRADING).mkdir(exist_ok=True)
        return args.run(course, args) or 0
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
