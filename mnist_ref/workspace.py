"""The learner's own copy of the lessons: ``python -m mnist_ref.workspace [FOLDER]`` (run by `make lab`).

The course's released files, START-HERE.md and lessons/, are copied into a workspace folder (default
my-work/, git-ignored) where the learner works; JupyterLab opens there. Nothing in the workspace is
ever overwritten, so a course update (git pull) cannot collide with the learner's work:

* a file the course changed since the learner got it arrives beside the learner's copy, dated
  (``01_mnist_data.update-2026-11-25.ipynb``), with a note;
* a file the learner deleted is copied again, as released now: deleting a lesson starts it over;
* a file of the learner's own at a released file's path is the learner's copy: it stays.

Which version of each file the learner was given is recorded, by SHA-256, in the workspace's
.course-versions.json.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import sys
from datetime import date
from pathlib import Path

PROG = "python -m mnist_ref.workspace"
DEFAULT_FOLDER = "my-work"
INDEX, LESSONS = "START-HERE.md", "lessons"
VERSIONS = ".course-versions.json"


class WorkspaceError(RuntimeError):
    """The workspace cannot be made or updated; the command line prints the message and exits with 1."""


def released_files(course: Path) -> dict[str, Path]:
    """The course's files a learner works in, by their path relative to the course: START-HERE.md and
    everything in lessons/ except hidden files (JupyterLab's .ipynb_checkpoints/ when someone opened a
    lesson there)."""
    lessons = course / LESSONS
    if not lessons.is_dir():
        raise WorkspaceError(
            f"{course} has no {LESSONS}/ folder, so there is nothing to copy: start from the course folder "
            f"(the one with {INDEX} and {LESSONS}/), e.g. `make lab` there"
        )
    lesson_files = sorted(
        path
        for path in lessons.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(course).parts)
    )
    if not lesson_files:
        raise WorkspaceError(f"{lessons} holds no lessons: regenerate them with `mnist-course lessons`")
    index = [course / INDEX] if (course / INDEX).is_file() else []
    return {path.relative_to(course).as_posix(): path for path in index + lesson_files}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def free_name_beside(path: Path, day: date) -> Path:
    """A name next to ``path`` that is not taken: NAME.update-DAY.SUFFIX, then -2, -3, ... the same day."""
    for n in itertools.count(1):
        tag = f"update-{day.isoformat()}" + (f"-{n}" if n > 1 else "")
        candidate = path.with_name(f"{path.stem}.{tag}{path.suffix}")
        if not candidate.exists():
            return candidate


def copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def update_workspace(course: Path, workspace: Path, today: date | None = None) -> list[str]:
    """Make or bring up to date ``workspace`` from the ``course``'s released files without overwriting
    anything in it; return a note for the learner per file that arrived after the first start."""
    released = released_files(course)
    versions_file = workspace / VERSIONS
    given: dict[str, str] = json.loads(versions_file.read_text()) if versions_file.is_file() else {}
    first_start = not given
    notes = []
    for name, source in released.items():
        version, target = sha256(source), workspace / name
        if not target.exists():
            copy(source, target)
            if not first_start:
                why = "you deleted your copy" if name in given else "new in the course"
                notes.append(f"{name}: copied ({why})")
        elif version != given.get(name) and sha256(target) != version:
            offered = free_name_beside(target, today or date.today())
            copy(source, offered)
            notes.append(
                f"{offered.relative_to(workspace).as_posix()}: the course's new version of {name}, "
                "beside your copy (which is unchanged)"
            )
        given[name] = version
    versions_file.write_text(json.dumps(given, indent=1, sort_keys=True) + "\n")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=Path(DEFAULT_FOLDER), help="the workspace")
    parser.add_argument(
        "--course", type=Path, default=Path.cwd(), help="the folder holding lessons/ (default: the current one)"
    )
    args = parser.parse_args(argv)
    made = not (args.folder / VERSIONS).exists()
    try:
        notes = update_workspace(args.course.resolve(), args.folder.resolve())
    except (WorkspaceError, OSError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 1
    what = "made from the course's lessons/" if made else "your work is kept; nothing in it is overwritten"
    print(f"Your workspace: {args.folder.resolve()} ({what})")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
