"""`mnist-course report`: the class report page, from a gradebook and autograded notebooks.

The fast tests build the course state the report reads (a gradebook through nbgrader's Gradebook API,
autograded notebooks with TrustedVerdicts' outputs) without running nbgrader; the slow one reads a
real autograde of lesson 03.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mnist_course import cli
from mnist_course.class_report import CLASS_REPORT, check_messages, message_groups, read_class, render
from mnist_course.course import AUTOGRADED, GRADEBOOK, SUBMITTED, GradingError, db_url

HOSTILE = "conv_output_size: <script>alert('owned')</script> & more"
FLATTEN_16384 = "flatten_size(28) returned 16384, expected 4096: did you forget the max-pool after conv4?"
FLATTEN_9216 = "flatten_size(28) returned 9216, expected 4096: did you forget the max-pool after conv4?"
# lesson -> test cells (points), answers graded by hand (points)
LESSONS = {
    "01_a": ({"a_one_test": 2, "a_two_test": 1}, {"a_question": 2}),
    "02_b": ({"b_test": 1}, {}),
}


def passed(name: str):
    return new_output("stream", name="stdout", text=f"✅ {name}: passed the grader's checks.\n")


def failed(*messages: str, ename: str = "CheckFailed"):
    text = "\n".join(messages)
    return new_output("error", ename=ename, evalue=text, traceback=[text])


def write_autograded(course: Path, student: str, lesson: str, outputs: dict[str, list]) -> None:
    """An autograded notebook: a markdown cell, then per test cell its verdict outputs."""
    cells = [new_markdown_cell("# a lesson")]
    for grade_id, cell_outputs in outputs.items():
        cell = new_code_cell(f"check.x.hidden(x)  # {grade_id}")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "solution": False, "points": 1}
        cell.outputs = cell_outputs
        cells.append(cell)
    path = course / AUTOGRADED / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)


def put_alembic_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new gradebook runs the `alembic` executable from PATH (seconds), as mnist_course.runner provides."""
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def make_course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    (course / GRADEBOOK).parent.mkdir()
    return course


def release(course: Path, lessons=LESSONS) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        for lesson, (tests, by_hand) in lessons.items():
            gb.add_assignment(lesson)
            gb.add_notebook(lesson, lesson)
            for name, points in tests.items():
                gb.add_grade_cell(name, lesson, lesson, max_score=points, cell_type="code")
            for name, points in by_hand.items():
                gb.add_grade_cell(name, lesson, lesson, max_score=points, cell_type="markdown")
                gb.add_solution_cell(name, lesson, lesson)


def grade(course: Path, student: str, lesson: str, auto: dict[str, float], manual: dict | None = None) -> None:
    """A graded submission; manual: answer -> points, or None while it waits to be graded by hand."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), Gradebook(db_url(course)) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission autoflush noise
        gb.update_or_create_student(student)
        gb.add_submission(lesson, student)
        for name, score in auto.items():
            g = gb.find_grade(name, lesson, lesson, student)
            g.auto_score, g.needs_manual_grade = score, False
        for name, score in (manual or {}).items():
            g = gb.find_grade(name, lesson, lesson, student)
            g.manual_score, g.needs_manual_grade = score, score is None
        gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A small class: alice right, bob and carol wrong in various ways, dave on the roster only, erin
    submitted but not autograded, frank graded without an autograded notebook. Built once: tests read it."""
    from nbgrader.api import Gradebook

    course = make_course(tmp_path_factory.mktemp("class"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        put_alembic_on_path(monkeypatch)
        release(course)
    with Gradebook(db_url(course)) as gb:
        gb.add_student("dave", first_name="<i>Dave</i>", last_name="Roster")
    grade(course, "alice", "01_a", {"a_one_test": 2, "a_two_test": 1}, {"a_question": 2})
    write_autograded(course, "alice", "01_a", {"a_one_test": [passed("one")], "a_two_test": [passed("two")]})
    grade(course, "bob", "01_a", {"a_one_test": 0, "a_two_test": 1}, {"a_question": None})
    write_autograded(course, "bob", "01_a", {"a_one_test": [failed(FLATTEN_16384)], "a_two_test": [passed("two")]})
    grade(course, "carol", "01_a", {"a_one_test": 0, "a_two_test": 0}, {"a_question": 0})
    write_autograded(course, "carol", "01_a", {"a_one_test": [failed(FLATTEN_9216)], "a_two_test": [failed(HOSTILE)]})
    grade(course, "frank", "01_a", {"a_one_test": 0, "a_two_test": 0}, {"a_question": 0})  # no notebook written
    grade(course, "alice", "02_b", {"b_test": 1})
    write_autograded(course, "alice", "02_b", {"b_test": [passed("b")]})
    grade(course, "bob", "02_b", {"b_test": 0})  # graded without TrustedVerdicts: a plain error
    write_autograded(course, "bob", "02_b", {"b_test": [failed("boom\nsecond line", ename="ValueError")]})
    (course / SUBMITTED / "erin" / "01_a").mkdir(parents=True)
    return course


def test_numbers_of_the_class(course):
    report = read_class(course)
    assert list(report.learners) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    first, second = report.lessons
    assert (first.name, first.auto_max, first.manual_max) == ("01_a", 3, 2)
    assert {n: (e.passed, e.graded) for n, e in first.exercises.items()} == {"a_one_test": (1, 4), "a_two_test": (2, 4)}
    assert list(first.exercises) == ["a_one_test", "a_two_test"]
    assert first.exercises["a_one_test"].messages == {FLATTEN_16384: {"bob"}, FLATTEN_9216: {"carol"}}
    assert first.exercises["a_two_test"].messages == {HOSTILE: {"carol"}}
    assert (first.not_submitted, first.not_autograded, first.missing_notebooks) == (["dave"], ["erin"], ["frank"])
    assert {s: (x.auto, x.manual, x.pending) for s, x in first.scores.items()} == {
        "alice": (3, 2, 0),
        "bob": (1, 0, 2),
        "carol": (0, 0, 0),
        "frank": (0, 0, 0),
    }
    assert second.exercises["b_test"].messages == {"ValueError: boom": {"bob"}}
    assert second.not_submitted == ["carol", "dave", "erin", "frank"]


def test_page_shows_rates_messages_and_who_is_missing(course):
    page = render(read_class(course))
    assert "1 of 4 (25%)" in page and "2 of 4 (50%)" in page and "1 of 2 (50%)" in page
    # The two flatten_size messages differ only in a number: one line, "2 of 4", both wordings below it.
    assert f'<b>2 of 4</b>: <span class="msg">{FLATTEN_16384}</span>' in page
    assert "2 wordings" in page and FLATTEN_9216 in page
    assert '<b>1 of 2</b>: <span class="msg">ValueError: boom</span>' in page
    assert "Did not submit (1): dave." in page and "Did not submit (4): carol, dave, erin, frank." in page
    assert "Submitted, not autograded yet (1): erin." in page
    assert "Autograded notebook missing (1): frank." in page
    assert "Learners per score — 0: 2 · 1: 1 · 3: 1." in page
    row = page.split("<tr><td>bob</td>", 1)[1].split("</tr>", 1)[0]
    assert row.split("\n") == [
        "<td></td>",
        "<td class=num>1/3 + pending</td>",
        "<td class=num>0/1</td>",
        "<td class=num>1/6 (+ pending)</td>",
    ]
    assert "<td class=num>3/3 + 2/2</td>" in page and "<td class=num>0/3 + 0/2</td>" in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)  # self-contained: inline figures, in-page links
    assert [s[:22] for s in sources if not s.startswith("#")] == ["data:image/png;base64,"] * 2


def test_everything_learners_control_is_escaped(course):
    page = render(read_class(course))
    assert "<script>" not in page and "<i>Dave</i>" not in page
    assert "conv_output_size: &lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; &amp; more" in page
    assert "&lt;i&gt;Dave&lt;/i&gt; Roster" in page


def test_messages_group_by_their_words_not_their_numbers():
    messages = {
        "f(28) returned 16384": {"a"},
        "f(28) returned 9216": {"b", "c"},
        "f(2.5) returned 1e-3": {"a"},  # a learner counted once in a group
        "missing the pool after conv4": {"d"},
        "missing the pool after conv2": {"e"},
    }
    groups = message_groups(messages)
    assert [(count, dict(wordings)) for count, wordings in groups] == [
        (3, {"f(28) returned 16384": 1, "f(28) returned 9216": 2, "f(2.5) returned 1e-3": 1}),
        (1, {"missing the pool after conv2": 1}),
        (1, {"missing the pool after conv4": 1}),
    ]


def test_messages_are_read_from_the_graded_cells(tmp_path):
    course = make_course(tmp_path)
    write_autograded(course, "s", "l", {"t1": [passed("x")], "t2": [passed("y"), failed("x: wrong", "y: wrong")]})
    assert check_messages(course / AUTOGRADED / "s" / "l" / "l.ipynb") == {"t1": [], "t2": ["x: wrong", "y: wrong"]}
    assert check_messages(course / AUTOGRADED / "s" / "l" / "missing.ipynb") is None
    (course / "broken.ipynb").write_text("not json")
    assert check_messages(course / "broken.ipynb") is None


def test_command_writes_the_page(course, capsys):
    assert cli.main(["--course", str(course), "report"]) == 0
    assert "1 of 4 (25%)" in (course / CLASS_REPORT).read_text(encoding="utf-8")
    assert str(course / CLASS_REPORT) in capsys.readouterr().out
    elsewhere = course / "out" / "class.html"
    assert cli.main(["--course", str(course), "report", "--output", str(elsewhere)]) == 0
    assert elsewhere.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_says_which_command_to_run_first(tmp_path, capsys, monkeypatch):
    put_alembic_on_path(monkeypatch)
    course = make_course(tmp_path)
    assert cli.main(["--course", str(course), "report"]) == 1
    assert "no gradebook" in capsys.readouterr().err and not (course / GRADEBOOK).exists()
    with pytest.raises(GradingError, match="mnist-course release"):
        read_class(course)
    release(course)
    with pytest.raises(GradingError, match="nothing autograded yet: run `mnist-course autograde`"):
        read_class(course)


@pytest.mark.slow
@pytest.mark.notebooks
def test_reads_a_real_autograde(graded_class, tmp_path):
    """Lesson 03 autograded for a right, a wrong (flatten_size without the second pool) and an untouched
    submission, plus a learner on the roster who submitted nothing: the three, taken from the session's
    graded class (tests/course_class.py)."""
    from nbgrader.api import Gradebook

    from course_class import FLATTEN_LESSON, SOLUTIONS, UNTOUCHED, WRONG_FLATTEN, subset

    if FLATTEN_LESSON not in graded_class.lessons:
        pytest.skip(f"REDTEAM_LESSON leaves {FLATTEN_LESSON} out of the graded class")
    right, wrong, untouched = SOLUTIONS, WRONG_FLATTEN, UNTOUCHED
    course = subset(graded_class, tmp_path, [right, wrong, untouched], [FLATTEN_LESSON])
    with Gradebook(db_url(course)) as gb:
        gb.add_student("absent")

    (report,) = read_class(course).lessons
    flatten = report.exercises["l03_flatten_size_test"]
    assert (flatten.passed, flatten.graded) == (1, 3)
    wrong_messages = [m for m, students in flatten.messages.items() if wrong in students]
    assert len(wrong_messages) == 1 and wrong_messages[0].startswith("flatten_size"), flatten.messages
    assert not any(right in students for e in report.exercises.values() for students in e.messages.values())
    assert (report.exercises["l03_max_pool_2x2_test"].passed, report.not_submitted) == (2, ["absent"])
    assert report.scores[right].auto == report.auto_max and report.scores[untouched].auto == 0
    assert report.scores[right].pending == report.manual_max > 0
    assert "1 of 3 (33%)" in render(read_class(course))
