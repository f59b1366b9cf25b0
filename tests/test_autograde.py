"""End to end: the instructor pipeline of scripts/grade_class.py with nbgrader, in a temporary course.

In the manner of nbgrader's own tests (nbgrader/tests/apps/test_nbgrader_autograde.py): copy the
course (nbgrader_config.py, grading_tools/, solutions/) into tmp, release, let fictional students
submit, autograde, then read the scores through nbgrader's Gradebook API and the exported CSV.

* test_demo_class: the 00_demo fixture (tests/demo_lesson.py; seconds per student), a class of ordinary and hostile students,
  graded with 2 workers and a 5 s cell timeout; then regraded -> the same grades, every student kept.
* test_whole_course: every lesson; the solutions score full marks, the untouched lessons zero.
"""

from __future__ import annotations

import copy
import csv
import shutil
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import grade_class  # noqa: E402
from demo_lesson import NAME as DEMO, write_demo_lesson  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]
CELL_TIMEOUT = 5  # seconds per cell in the demo class (the course default is c.Execute.timeout)
# Worker wall-clock bound: nbgrader start-up and a kernel (~10 s on a loaded 2-core machine) plus
# one cell timeout per hostile cell.
DEMO_BOUND = 60


def make_course(tmp: Path, lessons: list[str]) -> Path:
    """A released course of `lessons` (names in solutions/, or DEMO: the test fixture)."""
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "grading_tools", course / "grading_tools", ignore=shutil.ignore_patterns("__pycache__"))
    for lesson in lessons:
        if lesson == DEMO:
            write_demo_lesson(course / "solutions")
            continue
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    grade_class.release(course)
    return course


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def demo_submissions(released: Path) -> dict[str, nbformat.NotebookNode | None]:
    """student -> the 00_demo notebook they hand in (None: a folder without the notebook)."""
    blank = nbformat.read(released, as_version=4)

    def answered(normalize="def normalize(pixel):\n    return (pixel / 255 - MEAN) / STD",
                 output_size="def output_size(size, kernel, padding=0, stride=1):\n"
                             "    return (size + 2 * padding - kernel) // stride + 1"):
        nb = copy.deepcopy(blank)
        cell(nb, "normalize").source = normalize
        cell(nb, "output_size").source = output_size
        return nb

    size_src = cell(answered(), "output_size").source
    subs: dict[str, nbformat.NotebookNode | None] = {
        "full": answered(),
        "untouched": blank,
        "wrong_size": answered(output_size="def output_size(size, kernel, padding=0, stride=1):\n"
                                           "    return size - kernel + 1"),  # ignores padding, stride
        "alternative": answered(
            normalize="import numpy as np\n\ndef normalize(pixel):\n"
                      "    return float(np.subtract(np.divide(pixel, 255.0), MEAN) / STD)",
            output_size="import math\n\ndef output_size(size, kernel, padding=0, stride=1):\n"
                        "    return math.floor((size - kernel + 2 * padding) / stride) + 1"),
        "raises": answered(normalize="raise ValueError('I give up')"),
        "infinite_loop": answered(normalize="while True:\n    pass"),
        "stubborn_loop": answered(normalize="while True:\n    try:\n        pass\n"
                                            "    except BaseException:\n        pass"),
        "sys_exit": answered(output_size=size_src + "\nimport sys\nsys.exit(1)"),
        "os_exit": answered(output_size="import os\nos._exit(1)"),
        "memory_bomb": answered(output_size="hog = []\nwhile True:\n    hog.append(b'x' * 2**28)"),
    }
    nb = answered()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "output_size_tests"]
    subs["deleted_test"] = nb
    nb = answered(output_size="def output_size(*args, **kwargs):\n    return 0")
    cell(nb, "output_size_tests").source = "pass  # tests? what tests?"
    subs["edited_test"] = nb
    # Wrong normalize, then a copy of its test cell after a correct one: only one copy is graded,
    # and the test cell is worth 1 point however often it appears.
    nb = answered(normalize="def normalize(pixel):\n    return pixel")
    tests = cell(nb, "normalize_tests")
    fixed = nbformat.v4.new_code_cell("def normalize(pixel):\n    return (pixel / 255 - MEAN) / STD")
    index = nb.cells.index(tests)
    nb.cells[index + 1:index + 1] = [fixed, copy.deepcopy(tests), copy.deepcopy(tests)]
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    subs["duplicated_test"] = nb
    subs["missing_notebook"] = None
    return subs


# student -> (normalize_tests, output_size_tests) autograded points expected
EXPECTED = {
    "full": (1, 2), "untouched": (0, 0), "wrong_size": (1, 0), "alternative": (1, 2),
    "raises": (0, 2), "infinite_loop": (0, 2), "stubborn_loop": (0, 2), "sys_exit": (1, 2),
    "os_exit": (1, 0), "memory_bomb": (1, 0), "deleted_test": (1, 2), "edited_test": (1, 0),
    "duplicated_test": (1, 2), "missing_notebook": (0, 0), "zipped": (1, 2),
}


def autograded_points(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    points = {}
    with Gradebook(grade_class.db_url(course)) as gb:
        for student in gb.students:
            scores = {g: gb.find_grade(g, DEMO, DEMO, student.id).score
                      for g in ("normalize_tests", "output_size_tests")}
            points[student.id] = (scores["normalize_tests"], scores["output_size_tests"])
    return points


def test_demo_class(tmp_path):
    course = make_course(tmp_path, [DEMO])
    released = course / "lessons" / DEMO / f"{DEMO}.ipynb"
    inbox = tmp_path / "inbox"  # a folder of per-student files, as collect expects
    for student, nb in demo_submissions(released).items():
        folder = inbox / student / DEMO
        folder.mkdir(parents=True)
        if nb is None:
            (folder / "notes.txt").write_text("forgot the notebook")
        else:
            nbformat.write(nb, folder / f"{DEMO}.ipynb")
    collected = grade_class.collect(course, inbox)
    assert len(collected) == len(EXPECTED) - 1
    # An LMS download: a zip of <student>_attempt_<timestamp>_<file>, through nbgrader zip_collect.
    lms_zip = tmp_path / "lms.zip"
    with zipfile.ZipFile(lms_zip, "w") as archive:
        archive.write(inbox / "full" / DEMO / f"{DEMO}.ipynb", f"zipped_attempt_2025-01-31-23-59-00_{DEMO}.ipynb")
    grade_class.zip_collect(course, DEMO, [lms_zip])
    assert (course / grade_class.SUBMITTED / "zipped" / DEMO / f"{DEMO}.ipynb").exists()
    # collect does not overwrite without --force
    assert grade_class.collect(course, inbox) == {}

    start = time.perf_counter()
    results = grade_class.autograde(course, workers=2, execute_timeout=CELL_TIMEOUT)
    first_run = time.perf_counter() - start
    assert sorted(r.student for r in results) == sorted(EXPECTED)
    slow = {r.student: round(r.seconds) for r in results if r.seconds > DEMO_BOUND}
    assert slow == {}, f"students over the {DEMO_BOUND} s bound: {slow}"
    first = autograded_points(course)
    assert first == {s: (float(a), float(b)) for s, (a, b) in EXPECTED.items()}

    # Rerun: nothing to do without --force; with --force (a few students) the same grades, nobody lost.
    assert grade_class.autograde(course, workers=2) == []
    again = ["full", "os_exit", "duplicated_test", "deleted_test", "missing_notebook"]
    grade_class.autograde(course, workers=2, students=again, force=True, execute_timeout=CELL_TIMEOUT)
    assert autograded_points(course) == first

    grade_class.feedback(course)
    graded = [s for s in EXPECTED if s != "missing_notebook"]
    no_html = [s for s in graded if not (course / grade_class.FEEDBACK / s / DEMO / f"{DEMO}.html").exists()]
    assert no_html == []
    with open(grade_class.export(course), newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    assert sorted(rows) == sorted(EXPECTED)
    assert {s: float(row["raw_score"]) for s, row in rows.items()} == {s: float(a + b) for s, (a, b) in EXPECTED.items()}
    print(f"\ndemo class of {len(EXPECTED)} graded in {first_run:.1f} s with 2 workers")


def test_whole_course(tmp_path):
    """The solutions earn every autograded point of every lesson; the untouched lessons none."""
    lessons = grade_class.lesson_names(ROOT)
    course = make_course(tmp_path, lessons)
    for lesson in lessons:
        for student, folder in (("solutions", "solutions"), ("untouched", "lessons")):
            dest = course / grade_class.SUBMITTED / student / lesson
            dest.mkdir(parents=True)
            shutil.copy2(course / folder / lesson / f"{lesson}.ipynb", dest)
    start = time.perf_counter()
    results = grade_class.autograde(course, workers=2)
    elapsed = time.perf_counter() - start
    from nbgrader.api import Gradebook

    with Gradebook(grade_class.db_url(course)) as gb:
        scores = {(s.student.id, s.assignment.name): (s.code_score, s.max_code_score)
                  for a in gb.assignments for s in a.submissions}
    assert {k: v[0] for k, v in scores.items() if k[0] == "solutions"} == \
        {("solutions", l): scores[("solutions", l)][1] for l in lessons}
    assert all(scores[("solutions", l)][1] > 0 for l in lessons)
    assert {k: v[0] for k, v in scores.items() if k[0] == "untouched"} == {("untouched", l): 0 for l in lessons}
    grade_class.feedback(course)
    for student in ("solutions", "untouched"):
        for lesson in lessons:
            assert (course / grade_class.FEEDBACK / student / lesson / f"{lesson}.html").exists()
    print(f"\nwhole course ({len(lessons)} lessons) x 2 students: {elapsed:.1f} s with 2 workers; "
          + ", ".join(f"{r.student} {r.seconds:.0f} s" for r in results))
