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

On a class hub (as root; docs/HUB.md):
    mnist-course roster ROSTER.csv                    # the learners as system users, first passwords
    mnist-course hub --instructor NAME                # JupyterHub on 127.0.0.1:8000: make hub
    mnist-course exchange release|collect|autograde|feedback   # nbgrader's exchange, then autograde

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
from .collect import collect, zip_collect
from .course import GRADING, LESSONS, GradingError, find_course, log
from .formgrader import formgrader
from .hub import config as hub_config
from .hub.exchange import run_step
from .hub.roster import create_learners
from .release import release, release_lessons
from .report import export, feedback

PROG = "mnist-course"
STEPS_IN_ORDER = (
    "steps, in order: lessons (after editing solutions/), then for a class: release, "
    "collect or zip_collect, autograde, formgrader, feedback, export, report; `all` chains release to export; "
    "on a class hub: roster, hub, exchange release, collect, autograde, feedback"
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
    from .class_report import write_class_report  # here: nbformat's jsonschema takes ~1.7 s CPU to import

    write_class_report(course, args.output)


def _all(course: Path, args: argparse.Namespace) -> None:
    release(course)
    if args.source:
        collect(course, args.source, args.force)
    _autograde(course, args)
    feedback(course, args.force)
    export(course)


def _roster(course: Path, args: argparse.Namespace) -> None:
    create_learners(args.roster, args.group, args.passwords)


def _hub_settings(course: Path, args: argparse.Namespace, instructor: str = "") -> hub_config.HubSettings:
    return hub_config.HubSettings(
        course=course, instructor=instructor, exchange=args.exchange, course_id=args.course_id, group=args.group
    )


def _hub(course: Path, args: argparse.Namespace) -> int:
    from .hub.serve import default_instructor, start_hub  # here: it imports mnist_ref, so torch (seconds)

    instructor = args.instructor or default_instructor((course / "nbgrader_config.py").stat().st_uid)
    if not instructor:
        raise GradingError(f"{course} belongs to root: pass --instructor NAME (an ordinary account) or chown it")
    settings = _hub_settings(course, args, instructor)
    settings.state, settings.ip, settings.port = args.state, args.ip, args.port
    settings.ssl_cert, settings.ssl_key = args.ssl_cert, args.ssl_key
    return start_hub(settings)


def _exchange(course: Path, args: argparse.Namespace) -> int:
    options = {"due": args.due, "workers": args.workers, "force": args.force}
    problems = run_step(_hub_settings(course, args), args.action, args.lesson, **options)
    return 1 if problems else 0


def _exchange_options(step: argparse.ArgumentParser) -> None:
    step.add_argument("--exchange", type=Path, default=hub_config.DEFAULT_EXCHANGE, help="nbgrader's Exchange.root")
    step.add_argument("--course-id", default=hub_config.DEFAULT_COURSE_ID, help="nbgrader's course id")
    step.add_argument("--group", default=hub_config.DEFAULT_GROUP, help="the learners' group (see roster)")


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
    sub.add_argument("--output", type=Path, help=f"where to write the page (default: {GRADING}/class_report.html)")
    sub = step("all", _all, "release, collect SOURCE, autograde, feedback, export")
    sub.add_argument("source", type=Path, nargs="?", help="folder of per-student files to collect first")
    _autograde_options(sub)
    sub = step("roster", _roster, "as root: create the learners of ROSTER.csv (username,full name) as system users")
    sub.add_argument("roster", type=Path)
    sub.add_argument("--group", default=hub_config.DEFAULT_GROUP, help="the course's learners' group")
    sub.add_argument("--passwords", type=Path, help="where first passwords go (default: ROSTER-passwords.csv)")
    sub = step("hub", _hub, "as root: JupyterHub for the class (PAM login, the course's lab, nbgrader's exchange)")
    sub.add_argument("--instructor", help="the account with the formgrader (default: the course folder's owner)")
    sub.add_argument("--ip", default=hub_config.LOOPBACK, help="address to listen on (default: loopback only)")
    sub.add_argument("--port", type=int, default=hub_config.DEFAULT_PORT)
    sub.add_argument("--state", type=Path, default=hub_config.DEFAULT_STATE, help="hub database, cookie secret")
    sub.add_argument("--ssl-cert", type=Path, help="TLS certificate (with --ssl-key): see docs/HUB.md")
    sub.add_argument("--ssl-key", type=Path)
    _exchange_options(sub)
    sub = step("exchange", _exchange, "as root: release, collect, autograde or feedback through nbgrader's exchange")
    sub.add_argument("action", choices=["release", "collect", "autograde", "feedback"])
    sub.add_argument("--lesson", action="append", help="only these lessons (repeatable; default: all)")
    sub.add_argument("--due", help="release: due date, e.g. '2026-12-01 17:00:00 UTC'; later submissions are late")
    sub.add_argument(
        "--workers",
        type=int,
        default=max(1, os.cpu_count() or 2),
        help="autograde: nbgrader processes at a time (students, or shares of one student's lessons)",
    )
    sub.add_argument("--force", action="store_true", help="autograde/feedback: redo what is done")
    _exchange_options(sub)
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
