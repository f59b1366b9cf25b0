"""`mnist-course exchange STEP`: the instructor's side of nbgrader's exchange on the class hub, as root.

    release [LESSON ...] [--due TIME]   generate_assignment (gradebook) + release_assignment to the learners
    collect                              the latest submission of each learner -> grading/submitted, checked
    autograde [--workers N]              the project's parallel, sandboxed autograde (mnist-course autograde)
    feedback                             generate_feedback + release_feedback: learners fetch it in their lab

Root, because the autograde sandbox needs it and the exchange's course folder is root's (below); every
step ends by handing grading/ back to the owner of the course folder, the instructor, whose formgrader
on the hub grades by hand in it.

The exchange (nbgrader's permissions, docs/HUB.md): EXCHANGE/ 1777 (anyone may make a course folder:
nbgrader's 0777 plus the sticky bit, so nobody can rename another's), EXCHANGE/COURSE/ 0755 root,
outbound/ 0755, inbound/ 3733 (learners drop submissions in but cannot list it; the sticky bit stops
them deleting one another's), feedback/ 0711 (files are found by the hash of the learner's notebook).
They are made here, as root, before any learner could make them first.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
from pathlib import Path

from ..autograde import autograde
from ..course import GRADING, SOLUTIONS, SUBMITTED, GradingError, db_url, lesson_names, log
from ..release import release
from ..report import feedback
from ..runner import nbgrader
from .config import BIN, HUB_JUPYTER_CONFIG, HubSettings

EXCHANGE_MODES = {"": 0o1777, "{course}": 0o755, "{course}/outbound": 0o755, "{course}/inbound": 0o3733}
EXCHANGE_MODES["{course}/feedback"] = 0o711
GRADER_CHECKS = Path(__file__).resolve().parents[1] / "checks"  # mnist_course/checks
QUARANTINE = "quarantine"  # EXCHANGE/COURSE/quarantine (0700): submissions made under another learner's name


def prepare_exchange(exchange: Path, course_id: str) -> None:
    """Create (or repair the modes of) the exchange folders of `course_id`, owned by root."""
    for relative, mode in EXCHANGE_MODES.items():
        folder = exchange / relative.format(course=course_id)
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, 0, 0)
        folder.chmod(mode)


def exchange_env(settings: HubSettings) -> None:
    """nbgrader in this process's children finds the hub's course id and exchange (as the servers do); the
    gradebook in this process finds the `alembic` executable it runs (the environment's bin/ first on PATH)."""
    os.environ.update(settings.exchange_environment())
    os.environ["PATH"] = os.pathsep.join(filter(None, [str(BIN), os.environ.get("PATH")]))
    path = os.environ.get("JUPYTER_CONFIG_PATH")
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(HUB_JUPYTER_CONFIG), path]))


def release_lessons(course: Path, lessons: list[str], due: str | None) -> None:
    """Gradebook entries and the released notebooks, then each lesson into outbound/."""
    release(course, lessons)
    for lesson in lessons:
        if due:  # nbgrader marks a submission after it late (and AssignLatePenalties applies its policy)
            nbgrader(course, "db", "assignment", "add", lesson, f"--duedate={due}")
        nbgrader(course, "release_assignment", lesson, "--force")
        log(f"{lesson} is in the exchange: learners fetch it from their Assignments tab")


def collect(course: Path, lessons: list[str], exchange: Path, course_id: str) -> list[str]:
    """Each learner's latest submission of each lesson -> grading/submitted; returns the problems found."""
    problems = quarantine_forged(exchange / course_id)
    for lesson in lessons:
        nbgrader(course, "collect", lesson, "--update")
    problems += submission_problems(course, lessons)
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return problems


def register_learners(course: Path, group: str) -> list[str]:
    """Every member of the learners' group into the gradebook (with their full name), so the class report
    lists those who never fetched or submitted."""
    from nbgrader.api import Gradebook

    try:
        members = sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []
    with Gradebook(db_url(course)) as gradebook:
        for name in members:
            first, _, last = pwd.getpwnam(name).pw_gecos.split(",")[0].partition(" ")
            gradebook.update_or_create_student(name, first_name=first, last_name=last)
    return members


def quarantine_forged(course_exchange: Path) -> list[str]:
    """Move aside inbound submissions named after someone other than their owner (nbgrader's collect
    only warns, and would grade them as the named learner)."""
    inbound, problems = course_exchange / "inbound", []
    for entry in sorted(inbound.iterdir()):
        claimed = entry.name.split("+", 1)[0]
        owner = _user_name(entry.stat().st_uid)
        if owner != claimed:
            target = course_exchange / QUARANTINE
            target.mkdir(mode=0o700, exist_ok=True)
            shutil.move(entry, target / entry.name)
            problems.append(f"{entry.name} claims to be {claimed}'s but belongs to {owner}: moved to {target}")
    return problems


def submission_problems(course: Path, lessons: list[str]) -> list[str]:
    """Submissions that cannot earn their points as they are: a renamed notebook, another lesson's notebook.

    Either is graded as submitted (the missing notebook scores 0; other learners are not affected); the
    message says what the learner should do."""
    problems = []
    for folder in sorted((course / SUBMITTED).glob("*/*")):
        student, lesson = folder.parent.name, folder.name
        if lesson not in lessons:
            continue
        expected = folder / f"{lesson}.ipynb"
        others = sorted(p.name for p in folder.glob("*.ipynb") if p != expected)
        if not expected.exists():
            problems.append(
                f"{student} submitted {lesson} without {expected.name} (found: {', '.join(others) or 'no notebook'}): "
                f"it scores 0 until they rename it back and submit again"
            )
        elif (found := _lesson_number_of(expected)) not in (None, lesson.split("_", 1)[0]):
            problems.append(
                f"{student}'s {expected.name} holds the exercises of lesson {found}: it scores 0 for {lesson}"
            )
    return problems


def _lesson_number_of(notebook: Path) -> str | None:
    """The lesson whose graded cells the notebook holds: their grade ids are l<NN>_... (None: no graded cell)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    ids = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") for cell in cells]
    return next((m.group(1) for grade_id in ids if (m := re.match(r"l(\d+)_", grade_id))), None)


def grade(course: Path, workers: int, force: bool) -> None:
    """The project's parallel autograde (sandboxed as root), every collected submission."""
    results = autograde(course, workers=workers, force=force)
    log(f"autograded {len(results)} learner(s)")


def release_feedback(course: Path, lessons: list[str], force: bool) -> None:
    feedback(course, force)
    for lesson in lessons:
        if any((course / GRADING / "feedback").glob(f"*/{lesson}")):
            nbgrader(course, "release_feedback", lesson)
    log("feedback released: learners fetch it from their Assignments tab")


def instructor_only(course: Path) -> list[Path]:
    """What learners on the machine must not read: the solutions and hidden tests, the gradebook and
    everyone's submissions, and the grader's strict checks and reference answers (when the course runs
    from this checkout). The rest of the course (jupyter-config/, mnist_ref) stays readable: learners'
    servers use it."""
    folders = [course / SOLUTIONS, course / GRADING]
    return folders + [GRADER_CHECKS] if GRADER_CHECKS.is_relative_to(course) else folders


def hand_back(course: Path) -> None:
    """grading/ to the owner of the course folder (the instructor), after root wrote in it; the
    instructor-only folders closed to everyone else (0700)."""
    owner = (course / "nbgrader_config.py").stat()
    if owner.st_uid != 0:
        for folder, dirs, files in os.walk(course / GRADING):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.lchown(name, owner.st_uid, owner.st_gid)
    for folder in instructor_only(course):
        folder.chmod(0o700)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def run_step(settings: HubSettings, step: str, lessons: list[str] | None, **options) -> list[str]:
    """One instructor step on the hub's exchange; returns the problems found (collect)."""
    if os.geteuid() != 0:
        raise GradingError("the exchange steps run as root (the autograde sandbox needs it): sudo mnist-course ...")
    course = settings.course
    lessons = lessons or lesson_names(course)
    prepare_exchange(settings.exchange, settings.course_id)
    exchange_env(settings)
    problems: list[str] = []
    try:
        if step == "release":
            release_lessons(course, lessons, options.get("due"))
        elif step == "collect":
            register_learners(course, settings.group)
            problems = collect(course, lessons, settings.exchange, settings.course_id)
        elif step == "autograde":
            grade(course, options.get("workers", 2), options.get("force", False))
        elif step == "feedback":
            release_feedback(course, lessons, options.get("force", False))
        else:
            raise GradingError(f"unknown exchange step {step!r}")
    finally:
        hand_back(course)
    return problems
