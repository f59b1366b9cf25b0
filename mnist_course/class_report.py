"""`mnist-course report`: one self-contained HTML page of how the class did and what it got wrong.

It reads the gradebook (scores, through nbgrader's Gradebook API) and the autograded notebooks (the
checks' messages, which TrustedVerdicts writes into every graded test cell), so it works however the
submissions arrived: collect, zip_collect or nbgrader's exchange. Everything a learner controls (their
name, the messages their code led to) is escaped; the figures are inline PNGs.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from .course import AUTOGRADED, GRADEBOOK, GRADING, SUBMITTED, GradingError, db_url, log, student_names

CLASS_REPORT = f"{GRADING}/class_report.html"
TOP_MESSAGES = 5
LONGEST_MESSAGE = 400  # characters shown; a learner's exception can be long
NO_MESSAGE = "(failed, but the autograded notebook holds no message for this cell)"
# A number on its own (28, 0.5, 1e-3); digits inside names (conv4, l03, conv2d) are part of the words.
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w)")


@dataclass
class Exercise:
    """One graded test cell: how many passed, and what the checks said to the others."""

    name: str
    points: float
    passed: int = 0
    graded: int = 0
    messages: dict[str, set[str]] = field(default_factory=dict)  # exact message -> learners who got it


@dataclass
class Score:
    """A learner's points in one lesson, as the gradebook holds them."""

    auto: float  # the autograded test cells
    manual: float  # the answers graded by hand so far
    pending: float  # points of answers not graded by hand yet


@dataclass
class Lesson:
    name: str
    auto_max: float
    manual_max: float
    exercises: dict[str, Exercise]
    scores: dict[str, Score] = field(default_factory=dict)  # learner -> score, one per graded submission
    not_submitted: list[str] = field(default_factory=list)
    not_autograded: list[str] = field(default_factory=list)  # in grading/submitted/, not in the gradebook yet
    missing_notebooks: list[str] = field(default_factory=list)  # graded, but no autograded notebook to read


@dataclass
class ClassReport:
    learners: dict[str, str]  # id -> full name ("" when the gradebook has none)
    lessons: list[Lesson]


def write_class_report(course: Path, output: Path | None = None) -> Path:
    """Read the class and write the page (default grading/class_report.html)."""
    output = output or course / CLASS_REPORT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(read_class(course)), encoding="utf-8")
    log(f"class report in {output}")
    return output


def read_class(course: Path) -> ClassReport:
    """Every lesson of the gradebook, with every learner of the gradebook or of grading/submitted/."""
    if not (course / GRADEBOOK).is_file():  # Gradebook() would create an empty one
        raise GradingError(
            f"no gradebook at {course / GRADEBOOK}: run `mnist-course release`, then `mnist-course collect` "
            "(or zip_collect) and `mnist-course autograde` first"
        )
    from nbgrader.api import Gradebook

    with Gradebook(db_url(course)) as gb:
        if not gb.assignments:
            raise GradingError("the gradebook holds no lesson: run `mnist-course release` first")
        learners = {s.id: " ".join(filter(None, (s.first_name, s.last_name))) for s in gb.students}
        learners.update({s: "" for s in student_names(course) if s not in learners})
        learners = dict(sorted(learners.items()))
        lessons = [_read_lesson(course, a, learners) for a in sorted(gb.assignments, key=lambda a: a.name)]
    if not any(lesson.scores for lesson in lessons):
        raise GradingError("nothing autograded yet: run `mnist-course autograde` first (after collect or zip_collect)")
    return ClassReport(learners, lessons)


def _read_lesson(course: Path, assignment, learners: dict[str, str]) -> Lesson:
    exercises, manual_max = {}, 0.0
    for notebook in assignment.notebooks:
        by_hand = {cell.name for cell in notebook.solution_cells}  # a graded answer, not a test cell
        for cell in notebook.grade_cells:
            if cell.name in by_hand:
                manual_max += cell.max_score
            else:
                exercises[cell.name] = Exercise(cell.name, cell.max_score)
        manual_max += sum(cell.max_score for cell in notebook.task_cells)
    lesson = Lesson(assignment.name, sum(e.points for e in exercises.values()), manual_max, exercises)
    order: dict[str, int] = {}  # test cells in notebook order, as the first autograded notebook has them
    for submission in assignment.submissions:
        student, score = submission.student.id, Score(0.0, 0.0, 0.0)
        for notebook in submission.notebooks:
            path = course / AUTOGRADED / student / assignment.name / f"{notebook.name}.ipynb"
            messages = check_messages(path)
            if messages is None:
                lesson.missing_notebooks.append(student)
            for name in messages or {}:
                order.setdefault(name, len(order))
            for grade in notebook.grades:
                exercise = exercises.get(grade.name)
                if exercise is None:
                    if grade.needs_manual_grade:
                        score.pending += grade.max_score
                    else:
                        score.manual += grade.score
                    continue
                score.auto += grade.score  # as nbgrader's export counts it: a score set by hand wins
                exercise.graded += 1
                if (grade.auto_score or 0.0) >= exercise.points:
                    exercise.passed += 1
                elif messages is not None:
                    for message in messages.get(grade.name) or [NO_MESSAGE]:
                        exercise.messages.setdefault(message, set()).add(student)
        lesson.scores[student] = score
    lesson.exercises = dict(sorted(exercises.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
    for student in learners:
        if student not in lesson.scores:
            submitted = (course / SUBMITTED / student / assignment.name).is_dir()
            (lesson.not_autograded if submitted else lesson.not_submitted).append(student)
    return lesson


def check_messages(path: Path) -> dict[str, list[str]] | None:
    """grade_id -> the failure messages in that graded cell of an autograded notebook (None: no notebook).

    TrustedVerdicts writes a failed check as an error "CheckFailed" with one message per line; any other
    error (a notebook graded without it) counts as "<ename>: <first line>"."""
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError):  # missing, or not a notebook (nbformat's NotJSONError is a ValueError)
        return None
    found = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or not grade_id:
            continue
        lines = []
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            evalue = str(output.get("evalue", ""))
            if output.get("ename") == "CheckFailed":
                lines += evalue.splitlines()
            else:
                lines.append(f"{output.get('ename')}: {(evalue.splitlines() or [''])[0]}")
        found[grade_id] = [line.strip() for line in lines if line.strip()]
    return found


def message_groups(messages: dict[str, set[str]]) -> list[tuple[int, Counter]]:
    """Messages that differ only in their numbers, together: (learners who got one of them, learners per
    exact wording), the most frequent group first."""
    learners: dict[str, set[str]] = {}
    wordings: dict[str, Counter] = {}
    for message, students in messages.items():
        key = NUMBER.sub("#", message)
        learners.setdefault(key, set()).update(students)
        wordings.setdefault(key, Counter())[message] = len(students)
    groups = [(len(learners[key]), wordings[key]) for key in learners]
    return sorted(groups, key=lambda group: (-group[0], group[1].most_common(1)[0][0]))


# --- the page ------------------------------------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 1em; } td, th { border: 1px solid #ccc; padding: .2em .5em; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right; white-space: nowrap; }
.track { display: inline-block; width: 150px; background: #e6e6e6; }
.bar { display: block; height: .8em; background: #4a7ebb; }
.none { color: #999; } .note { color: #555; } code, .msg { font-family: ui-monospace, monospace; font-size: 90%; }
li { margin: .2em 0; } section { border-top: 2px solid #ddd; margin-top: 2em; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _names(students: list[str]) -> str:
    return ", ".join(_e(s) for s in students) or "none"


def histogram_png(scores: list[float], maximum: float) -> str:
    """A histogram of the lesson's autograded points, as a base64 PNG."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(5.5, 2.6), dpi=100)
    axes = figure.add_subplot()
    top = math.ceil(max([maximum, *scores]))
    axes.hist(scores, bins=[b - 0.5 for b in range(top + 2)], color="#4a7ebb", edgecolor="white")
    axes.set_xlabel(f"points of the autograded exercises (of {_points(maximum)})")
    axes.set_ylabel("learners")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _lesson_section(lesson: Lesson, learners: int) -> list[str]:
    graded = len(lesson.scores)
    out = [f'<section id="{_e(lesson.name)}"><h2>{_e(lesson.name)}</h2>']
    out.append(f"<p>Graded: {graded} of {learners} learners.")
    if lesson.not_submitted:
        out.append(f" Did not submit ({len(lesson.not_submitted)}): {_names(lesson.not_submitted)}.")
    if lesson.not_autograded:
        out.append(f" Submitted, not autograded yet ({len(lesson.not_autograded)}): {_names(lesson.not_autograded)}.")
    out.append("</p>")
    if lesson.missing_notebooks:
        out.append(
            f'<p class="note">Autograded notebook missing ({len(lesson.missing_notebooks)}): '
            f"{_names(lesson.missing_notebooks)}. Their scores come from the gradebook; their check messages "
            "are not in the counts below.</p>"
        )
    if not graded:
        return out + ["</section>"]
    autos = [score.auto for score in lesson.scores.values()]
    distribution = " · ".join(f"{_points(p)}: {n}" for p, n in sorted(Counter(autos).items()))
    out.append(
        f"<p>Autograded points (of {_points(lesson.auto_max)}): mean {statistics.mean(autos):.1f}, "
        f"median {_points(statistics.median(autos))}. Learners per score — {distribution}.</p>"
    )
    out.append(
        f'<img alt="Histogram of the autograded points in {_e(lesson.name)}" '
        f'src="data:image/png;base64,{histogram_png(autos, lesson.auto_max)}">'
    )
    out.append("<h3>Pass rate per exercise</h3><table><tr><th>exercise (test cell)</th><th>points</th>")
    out.append("<th>passed</th><th></th></tr>")
    for ex in lesson.exercises.values():
        rate = 100 * ex.passed / ex.graded if ex.graded else 0
        out.append(
            f"<tr><td><code>{_e(ex.name)}</code></td><td class=num>{_points(ex.points)}</td>"
            f"<td class=num>{ex.passed} of {ex.graded} ({rate:.0f}%)</td>"
            f'<td><span class="track"><span class="bar" style="width:{rate:.0f}%"></span></span></td></tr>'
        )
    out.append("</table>")
    failing = [ex for ex in lesson.exercises.values() if ex.messages]
    if failing:
        out.append("<h3>Most frequent check messages</h3>")
    for ex in failing:
        groups = message_groups(ex.messages)
        out.append(f"<h4><code>{_e(ex.name)}</code></h4><ul>")
        for count, wordings in groups[:TOP_MESSAGES]:
            example = wordings.most_common(1)[0][0]
            out.append(f'<li><b>{count} of {ex.graded}</b>: <span class="msg">{_e(_shorten(example))}</span>')
            if len(wordings) > 1:
                out.append(f"<details><summary>{len(wordings)} wordings</summary><ul>")
                out += [f'<li>{n}: <span class="msg">{_e(_shorten(m))}</span></li>' for m, n in wordings.most_common()]
                out.append("</ul></details>")
            out.append("</li>")
        rest = groups[TOP_MESSAGES:]
        if rest:
            out.append(f"<li>… {len(rest)} other messages ({sum(c for c, _ in rest)} in all)</li>")
        out.append("</ul>")
    return out + ["</section>"]


def _shorten(message: str) -> str:
    return message if len(message) <= LONGEST_MESSAGE else message[: LONGEST_MESSAGE - 1] + "…"


def _score_cell(lesson: Lesson, student: str) -> str:
    score = lesson.scores.get(student)
    if score is None:
        label = "not autograded yet" if student in lesson.not_autograded else "—"
        return f'<td class="num none">{label}</td>'
    text = f"{_points(score.auto)}/{_points(lesson.auto_max)}"
    if lesson.manual_max:
        if score.pending >= lesson.manual_max:
            text += " + pending"
        else:
            text += f" + {_points(score.manual)}/{_points(lesson.manual_max)}"
            text += f" ({_points(score.pending)} pending)" if score.pending else ""
    return f"<td class=num>{text}</td>"


def _learner_table(report: ClassReport) -> list[str]:
    out = ['<section id="learners"><h2>Learners</h2>']
    out.append(
        '<p class="note">Per lesson: points of the autograded exercises + points of the answers graded by hand '
        "(<i>pending</i>: not graded by hand yet); — : not submitted.</p>"
    )
    out.append("<table><tr><th>learner</th><th>name</th>")
    out += [f"<th>{_e(lesson.name)}</th>" for lesson in report.lessons]
    out.append("<th>total</th></tr>")
    maximum = sum(lesson.auto_max + lesson.manual_max for lesson in report.lessons)
    for student, name in report.learners.items():
        scores = [lesson.scores[student] for lesson in report.lessons if student in lesson.scores]
        total = sum(s.auto + s.manual for s in scores)
        pending = " (+ pending)" if any(s.pending for s in scores) else ""
        out.append(f"<tr><td>{_e(student)}</td><td>{_e(name)}</td>")
        out += [_score_cell(lesson, student) for lesson in report.lessons]
        out.append(f"<td class=num>{_points(total)}/{_points(maximum)}{pending}</td></tr>")
    return out + ["</table></section>"]


def render(report: ClassReport) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    contents = " · ".join(f'<a href="#{_e(lesson.name)}">{_e(lesson.name)}</a>' for lesson in report.lessons)
    page = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Class report</title><style>{STYLE}</style></head><body>",
        f"<h1>Class report: {len(report.learners)} learners, {len(report.lessons)} lessons</h1>",
        f'<p class="note">Made {when} by <code>mnist-course report</code> from the gradebook (scores) and '
        "the autograded notebooks (check messages). A learner fails an exercise when its test cell did not "
        "earn full points. Check messages are grouped after replacing every number by # (digits inside names "
        "such as conv4 stay): each line shows how many of the graded learners got one of the messages of the "
        "group and its most frequent wording; the others are under <i>wordings</i>.</p>",
        f'<p>{contents} · <a href="#learners">learners</a></p>',
    ]
    for lesson in report.lessons:
        page += _lesson_section(lesson, len(report.learners))
    page += _learner_table(report)
    return "\n".join(page + ["</body></html>"]) + "\n"
