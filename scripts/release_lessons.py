"""Regenerate lessons/ (the released notebooks) from solutions/ with `nbgrader generate_assignment`.

    python scripts/release_lessons.py          # from the project root (or anywhere)

Each lesson is generated with --force --no-db in a temporary copy of the course (nbgrader_config.py
and solutions/), then lessons/ is replaced by the result. So releasing needs no gradebook and
writes nothing but lessons/; tests/test_lessons.py uses generate_release() to check that the
committed lessons/ is exactly what nbgrader produces now. (Before autograding, the instructor
records the lessons in grading/gradebook.db with `nbgrader generate_assignment LESSON --force`,
which rewrites the same bytes into lessons/.)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, LESSONS = "solutions", "lessons"  # as in nbgrader_config.py


def lesson_names(root: Path = ROOT) -> list[str]:
    """Lessons in solutions/: folders <name> that hold <name>.ipynb, sorted."""
    return sorted(p.parent.name for p in (root / SOLUTIONS).glob("*/*.ipynb") if p.stem == p.parent.name)


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader with this interpreter in `course` (where it reads nbgrader_config.py)."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                          capture_output=True, text=True, check=True)


def generate_release(dest_dir: Path, root: Path = ROOT) -> Path:
    """Generate every lesson of root/solutions into dest_dir (as lessons/ would be); return dest_dir."""
    dest_dir = Path(dest_dir)
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp)
        shutil.copy2(root / "nbgrader_config.py", course)
        shutil.copytree(root / SOLUTIONS, course / SOLUTIONS, 
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for lesson in lesson_names(root):
            nbgrader(course, "generate_assignment", lesson, "--force", "--no-db")
        shutil.copytree(course / LESSONS, dest_dir, dirs_exist_ok=True)
    return dest_dir


def release(root: Path = ROOT) -> list[str]:
    """Replace root/lessons with a fresh release; lessons no longer in solutions/ disappear."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_release(Path(tmp) / LESSONS, root)
        shutil.rmtree(root / LESSONS, ignore_errors=True)
        shutil.copytree(fresh, root / LESSONS)
    return lesson_names(root)


def main() -> int:
    try:
        names = release()
    except subprocess.CalledProcessError as err:
        print(f"nbgrader failed: {' '.join(err.cmd)}\n{err.stderr}", file=sys.stderr)
        return 1
    print(f"Released {len(names)} lesson(s) into {ROOT / LESSONS}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
