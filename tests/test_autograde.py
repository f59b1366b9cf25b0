"""End to end: the instructor pipeline of mnist_course with nbgrader, in a temporary course.

In the manner of nbgrader's own tests (nbgrader/tests/apps/test_nbgrader_autograde.py): copy the
course (nbgrader_config.py, solutions/) into tmp, release, let fictional students
submit, autograde, then read the scores through nbgrader's Gradebook API and the exported CSV.

* test_demo_class: the 00_demo fixture (tests/demo_lesson.py; seconds per student), a class of ordinary
  and hostile students, graded with 2 workers and a 5 s cell timeout; then regraded -> the same grades,
  every student kept.
* test_demo_plain_nbgrader: some of them graded by plain `nbgrader autograde` (the same grades), and the
  honest noisy answers through the learner's `nbgrader validate`.
* test_whole_course: every lesson, read from the session's graded class (tests/course_class.py); the
  solutions score full marks, the untouched lessons zero; plain `nbgrader autograde` agrees.
"""

from __future__ import annotations

import copy
import csv
import os
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_class import SOLUTIONS, UNTOUCHED, make_course, subset
from demo_lesson import NAME as DEMO
from mnist_course.autograde import autograde
from mnist_course.collect import collect, zip_collect
from mnist_course.course import FEEDBACK, SUBMITTED, db_url, lesson_names
from mnist_course.report import export, feedback
from mnist_course.runner import nbgrader

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]
CELL_TIMEOUT = 5  # seconds per cell in the demo class (the course default is c.Execute.timeout)
# Worker wall-clock bound: nbgrader start-up and a kernel (~10 s on a loaded 2-core machine) plus
# one cell timeout per hostile cell.
DEMO_BOUND = 60


def cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def demo_submissions(released: Path) -> dict[str, nbformat.NotebookNode | None]:
    """student -> the 00_demo notebook they hand in (None: a folder without the notebook)."""
    blank = nbformat.read(released, as_version=4)

    def answered(
        normalize="def normalize(pixel):\n    return (pixel / 255 - MEAN) / STD",
        output_size="def output_size(size, kernel, padding=0, stride=1):\n"
        "    return (size + 2 * padding - kernel) // stride + 1",
    ):
        nb = copy.deepcopy(blank)
        cell(nb, "normalize").source = normalize
        cell(nb, "output_size").source = output_size
        return nb

    size_src = cell(answered(), "output_size").source
    subs: dict[str, nbformat.NotebookNode | None] = {
        "full": answered(),
        "untouched": blank,
        "wrong_size": answered(
            output_size="def output_size(size, kernel, padding=0, stride=1):\n    return size - kernel + 1"
        ),  # ignores padding, stride
        "alternative": answered(
            normalize="import numpy as np\n\ndef normalize(pixel):\n"
            "    return float(np.subtract(np.divide(pixel, 255.0), MEAN) / STD)",
            output_size="import math\n\ndef output_size(size, kernel, padding=0, stride=1):\n"
            "    return math.floor((size - kernel + 2 * padding) / stride) + 1",
        ),
        "raises": answered(normalize="raise ValueError('I give up')"),
        "infinite_loop": answered(normalize="while True:\n    pass"),
        "stubborn_loop": answered(
            normalize="while True:\n    try:\n        pass\n    except BaseException:\n        pass"
        ),
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
    nb.cells[index + 1 : index + 1] = [fixed, copy.deepcopy(tests), copy.deepcopy(tests)]
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    subs["duplicated_test"] = nb
    # A renamed test cell (new grade_id, its tests removed) and a wrong answer: the renamed cell runs
    # as an ordinary cell, the original comes back from the gradebook and fails.
    nb = answered(output_size="def output_size(*args, **kwargs):\n    return 0")
    renamed = cell(nb, "output_size_tests")
    renamed.metadata.nbgrader["grade_id"] = "my_tests"
    renamed.source = "pass  # tests? what tests?"
    subs["renamed_test"] = nb
    # Answer AND test cell renamed, a right answer: the original test goes back after the nearest
    # earlier cell of the lesson, before the renamed answer, and fails: that exercise only.
    nb = answered()
    cell(nb, "output_size").metadata.nbgrader["grade_id"] = "my_answer"
    cell(nb, "output_size_tests").metadata.nbgrader["grade_id"] = "my_tests"
    subs["renamed_cells"] = nb
    # A test cell pasted from another lesson (a grade_id this one does not know; it fails here).
    nb = answered()
    pasted = copy.deepcopy(cell(nb, "normalize_tests"))
    pasted.metadata.nbgrader.update(grade_id="conv2d_tests", points=3)
    pasted.source, pasted.id = "check.conv2d.hidden(conv2d)", "pasted"
    nb.cells.insert(nb.cells.index(cell(nb, "normalize_tests")) + 1, pasted)
    subs["pasted_test"] = nb
    subs.update(honest_noise(answered))
    subs["missing_notebook"] = None
    return subs


def honest_noise(answered) -> dict[str, nbformat.NotebookNode]:
    """Right answers that write to stderr while the test cells call them: full marks."""
    right_size = "    return (size + 2 * padding - kernel) // stride + 1"
    return {
        "stderr_and_logging": answered(
            normalize="import sys\nimport warnings\n\ndef normalize(pixel):\n"
            "    print('normalizing', file=sys.stderr)\n    warnings.warn('floats ahead')\n"
            "    return (pixel / 255 - MEAN) / STD",
            # a logging handler made before the test cell: it holds the kernel's sys.stderr
            output_size="import logging\n\nlog = logging.getLogger('mine')\nlog.addHandler(logging.StreamHandler())\n"
            "log.setLevel(logging.INFO)\n\ndef output_size(size, kernel, padding=0, stride=1):\n"
            f"    log.info('size %s', size)\n{right_size}",
        ),
        "progress_bar": answered(
            normalize="from tqdm import tqdm\n\ndef normalize(pixel):\n    for _ in tqdm(range(3)):\n        pass\n"
            "    return (pixel / 255 - MEAN) / STD",
            # what a C library prints: straight to file descriptor 2
            output_size="import os\n\ndef output_size(size, kernel, padding=0, stride=1):\n"
            f"    os.write(2, b'computing\\n')\n{right_size}",
        ),
    }


# student -> (normalize_tests, output_size_tests) autograded points expected
EXPECTED = {
    "full": (1, 2),
    "untouched": (0, 0),
    "wrong_size": (1, 0),
    "alternative": (1, 2),
    "raises": (0, 2),
    "infinite_loop": (0, 2),
    "stubborn_loop": (0, 2),
    "sys_exit": (1, 2),
    "os_exit": (1, 0),
    "memory_bomb": (1, 0),
    "deleted_test": (1, 2),
    "edited_test": (1, 0),
    "duplicated_test": (1, 2),
    "renamed_test": (1, 0),
    "renamed_cells": (1, 0),
    "pasted_test": (1, 2),
    "stderr_and_logging": (1, 2),
    "progress_bar": (1, 2),
    "missing_notebook": (0, 0),
    "zipped": (1, 2),
}


def autograded_points(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    points = {}
    with Gradebook(db_url(course)) as gb:
        for student in gb.students:
            scores = {
                g: gb.find_grade(g, DEMO, DEMO, student.id).score for g in ("normalize_tests", "output_size_tests")
            }
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
    collected = collect(course, inbox)
    assert len(collected) == len(EXPECTED) - 1
    # An LMS download: a zip of <student>_attempt_<timestamp>_<file>, through nbgrader zip_collect.
    lms_zip = tmp_path / "lms.zip"
    with zipfile.ZipFile(lms_zip, "w") as archive:
        archive.write(inbox / "full" / DEMO / f"{DEMO}.ipynb", f"zipped_attempt_2025-01-31-23-59-00_{DEMO}.ipynb")
    zip_collect(course, DEMO, [lms_zip])
    assert (course / SUBMITTED / "zipped" / DEMO / f"{DEMO}.ipynb").exists()
    # collect does not overwrite without --force
    assert collect(course, inbox) == {}

    start = time.perf_counter()
    results = autograde(course, workers=2, execute_timeout=CELL_TIMEOUT)
    first_run = time.perf_counter() - start
    assert sorted(r.student for r in results) == sorted(EXPECTED)
    slow = {r.student: round(r.seconds) for r in results if r.seconds > DEMO_BOUND}
    assert slow == {}, f"students over the {DEMO_BOUND} s bound: {slow}"
    first = autograded_points(course)
    assert first == {s: (float(a), float(b)) for s, (a, b) in EXPECTED.items()}

    # Rerun: nothing to do without --force; with --force (a few students) the same grades, nobody lost.
    assert autograde(course, workers=2) == []
    again = ["full", "os_exit", "duplicated_test", "deleted_test", "renamed_test", "progress_bar", "missing_notebook"]
    autograde(course, workers=2, students=again, force=True, execute_timeout=CELL_TIMEOUT)
    assert autograded_points(course) == first

    feedback(course)
    graded = [s for s in EXPECTED if s != "missing_notebook"]
    no_html = [s for s in graded if not (course / FEEDBACK / s / DEMO / f"{DEMO}.html").exists()]
    assert no_html == []
    with open(export(course), newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    assert sorted(rows) == sorted(EXPECTED)
    assert {s: float(row["raw_score"]) for s, row in rows.items()} == {
        s: float(a + b) for s, (a, b) in EXPECTED.items()
    }
    print(f"\ndemo class of {len(EXPECTED)} graded in {first_run:.1f} s with 2 workers")


def test_demo_plain_nbgrader(tmp_path):
    """Plain `nbgrader autograde` over the project's nbgrader_config.py grades as mnist-course does (the
    preprocessors are in the config), and the learner's `nbgrader validate` passes the honest noisy answers."""
    course = make_course(tmp_path, [DEMO])
    subs = demo_submissions(course / "lessons" / DEMO / f"{DEMO}.ipynb")
    noisy = ["stderr_and_logging", "progress_bar"]
    students = ["full", "renamed_test", "renamed_cells", "pasted_test", *noisy]
    for student in students:
        (course / SUBMITTED / student / DEMO).mkdir(parents=True)
        nbformat.write(subs[student], course / SUBMITTED / student / DEMO / f"{DEMO}.ipynb")
    nbgrader(course, "autograde", DEMO, f"--Execute.timeout={CELL_TIMEOUT}")
    assert autograded_points(course) == {s: tuple(map(float, EXPECTED[s])) for s in students}

    for student in noisy:
        nb = subs[student]
        cell(nb, "why_smaller").source = "The filter has to fit inside the image."  # the written answer
        nbformat.write(nb, tmp_path / f"{student}.ipynb")
        report = nbgrader(course, "validate", str(tmp_path / f"{student}.ipynb"), check=False).stdout
        assert "Success! Your notebook passes all the tests." in report, report


def test_whole_course(graded_class, tmp_path):
    """The solutions earn every autograded point of every lesson, on the project's path and with plain
    `nbgrader autograde`; the untouched lessons none."""
    lessons = graded_class.lessons
    if os.environ.get("REDTEAM_LESSON") is None:
        assert lessons == lesson_names(ROOT)
    # The two students alone, in a copy: feedback and the plain grading below change the course.
    course = subset(graded_class, tmp_path, [SOLUTIONS, UNTOUCHED], lessons)
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        scores = {
            (s.student.id, s.assignment.name): (s.code_score, s.max_code_score)
            for a in gb.assignments
            for s in a.submissions
        }
    assert {k: v[0] for k, v in scores.items() if k[0] == SOLUTIONS} == {
        (SOLUTIONS, lesson): scores[(SOLUTIONS, lesson)][1] for lesson in lessons
    }
    assert all(scores[(SOLUTIONS, lesson)][1] > 0 for lesson in lessons)
    assert {k: v[0] for k, v in scores.items() if k[0] == UNTOUCHED} == {(UNTOUCHED, lesson): 0 for lesson in lessons}
    # Plain `nbgrader autograde` over the project's config decides with the same trusted checks, here on
    # the instructor's source notebooks themselves.
    for lesson in lessons:
        dest = course / SUBMITTED / "plain" / lesson
        dest.mkdir(parents=True)
        shutil.copy2(course / "solutions" / lesson / f"{lesson}.ipynb", dest)
    nbgrader(course, "autograde", "*", "--student=plain")
    with Gradebook(db_url(course)) as gb:
        plain = {a.name: gb.find_submission(a.name, "plain") for a in gb.assignments}
        assert {k: (s.code_score, s.max_code_score) for k, s in plain.items()} == {
            lesson: (scores[(SOLUTIONS, lesson)][1],) * 2 for lesson in lessons
        }
    feedback(course)
    for student in (SOLUTIONS, UNTOUCHED):
        for lesson in lessons:
            assert (course / FEEDBACK / student / lesson / f"{lesson}.html").exists()
    results = graded_class.results
    print(
        f"\nclass of {len(results)} ({len(lessons)} lessons each for {SOLUTIONS}, {UNTOUCHED}): "
        f"{graded_class.seconds:.1f} s with 2 workers; "
        + ", ".join(f"{s} {results[s].seconds:.0f} s" for s in (SOLUTIONS, UNTOUCHED))
    )
