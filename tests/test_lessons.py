"""The nbgrader lessons: solutions/ (source) and lessons/ (released, generated, committed).

Fast checks: lessons/ is what `nbgrader generate_assignment` makes now, nothing secret leaked into
it, no notebook carries outputs. Slow checks (marked slow and notebooks) execute each notebook
exactly once, through `nbgrader validate`: two nbclient hooks (config of nbgrader's Execute) log
which cells ran and which raised, so the same run answers "which cells fail" and "what does
validate report".
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from mnist_course.course import lesson_names
from mnist_course.release import generate_release

ROOT = Path(__file__).resolve().parents[1]
LESSONS = lesson_names(ROOT)
NOTEBOOKS = [*ROOT.glob("solutions/*/*.ipynb"), *ROOT.glob("lessons/*/*.ipynb")]
COMMITTED = sorted(p.relative_to(ROOT).as_posix() for p in NOTEBOOKS)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# What nbgrader/validator.py prints (Validator._print_num_failed / _print_num_passed).
ALL_PASS = "Success! Your notebook passes all the tests."
NONE_PASS = "Success! The notebook does not pass any tests."
# Extra config for `nbgrader validate`: nbclient hooks that log each cell run and each error.
CELL_LOG_CONFIG = """
import json
def log(**event):
    with open({path!r}, "a") as file:
        file.write(json.dumps(event) + "\\n")
c.Execute.on_cell_complete = lambda cell, cell_index: log(ran=cell_index)
c.Execute.on_cell_error = lambda cell, cell_index, execute_reply: log(
    failed=cell_index, error="{{ename}}: {{evalue}}".format(**execute_reply["content"]))
"""


def source_path(lesson: str) -> Path:
    return ROOT / "solutions" / lesson / f"{lesson}.ipynb"


def released_path(lesson: str) -> Path:
    return ROOT / "lessons" / lesson / f"{lesson}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_graded_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def is_exercise(cell) -> bool:
    return nbgrader_meta(cell).get("solution", False)


def files(folder: Path) -> dict[str, bytes]:
    """The files in `folder` by relative path, without hidden ones: JupyterLab writes .ipynb_checkpoints/
    (git-ignored) beside any lesson someone opened, and studying in the clone must not fail the tests."""
    found = {path.relative_to(folder): path for path in folder.rglob("*") if path.is_file()}
    visible = {name: path for name, path in found.items() if not any(part.startswith(".") for part in name.parts)}
    return {name.as_posix(): path.read_bytes() for name, path in visible.items()}


def secret_lines(cell) -> set[str]:
    """Lines nbgrader must strip: solution/hidden-test blocks, or a whole solution cell without markers."""
    lines = cell.source.splitlines()
    if is_exercise(cell) and not any("BEGIN SOLUTION" in line for line in lines):
        return {line.strip() for line in lines if line.strip()}
    inside, hidden, shown = False, set(), set()
    for line in lines:
        text = line.strip()
        if any(marker in text for marker in MARKERS):
            inside = "BEGIN" in text
        elif text:
            (hidden if inside else shown).add(text)
    return hidden - shown


# --- fast: the committed files ----------------------------------------------------------------


@pytest.fixture(scope="session")
def fresh_release(tmp_path_factory) -> Path:
    """lessons/ as `nbgrader generate_assignment` produces it now (once per session)."""
    return generate_release(ROOT, tmp_path_factory.mktemp("release") / "lessons")


def test_lessons_folder_has_exactly_the_lessons_in_solutions():
    released = sorted(p.name for p in (ROOT / "lessons").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert released == LESSONS, "run: mnist-course lessons"


@pytest.mark.parametrize("lesson", LESSONS)
def test_released_lesson_is_what_generate_assignment_makes(lesson, fresh_release):
    committed, fresh = files(ROOT / "lessons" / lesson), files(fresh_release / lesson)
    differ = sorted(name for name in committed.keys() | fresh.keys() if committed.get(name) != fresh.get(name))
    assert not differ, f"lessons/{lesson}: {differ} differ from nbgrader's; run mnist-course lessons"


@pytest.mark.parametrize("lesson", LESSONS)
def test_released_lesson_hides_solutions_and_hidden_tests(lesson):
    text = released_path(lesson).read_text(encoding="utf-8")
    assert not [marker for marker in MARKERS if marker in text]
    released = {nbgrader_meta(cell).get("grade_id"): cell for cell in read(released_path(lesson)).cells}
    for cell in read(source_path(lesson)).cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id:
            assert grade_id in released, f"{grade_id} is missing from the released notebook"
            shown = {line.strip() for line in released[grade_id].source.splitlines()}
            assert not secret_lines(cell) & shown, f"{grade_id}: solution or hidden test released"


@pytest.mark.parametrize("path", COMMITTED)
def test_committed_notebook_has_no_outputs(path):
    dirty = [
        i
        for i, cell in enumerate(read(ROOT / path).cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert dirty == [], f"cells {dirty} have outputs or execution counts: clear them before committing"


# --- slow: every notebook executed once, by `nbgrader validate` --------------------------------


class Validation(NamedTuple):
    returncode: int
    report: str  # what `nbgrader validate` printed: stdout (the verdict), then stderr (its log)
    ran: list[int]  # indices of the code cells it executed
    failed: dict[int, str]  # index -> "Error: message" of the cells that raised


@pytest.fixture(scope="session")
def validate(tmp_path_factory):
    """validate(notebook, invert) -> Validation; runs `nbgrader validate` once per notebook and flag."""
    env = {**os.environ, "MNIST_BUDGET": "quick"}

    @functools.cache
    def run(notebook: Path, *, invert: bool = False) -> Validation:
        work = tmp_path_factory.mktemp(notebook.stem)
        log, config = work / "cells.jsonl", work / "cell_log_config.py"
        config.write_text(CELL_LOG_CONFIG.format(path=str(log)))
        flags = ["--invert"] if invert else []
        # cwd=ROOT: nbgrader also reads the course's nbgrader_config.py (Execute.timeout) there.
        # config_file is given without .py, as nbgrader appends .py to it for a presence check.
        command = [
            sys.executable,
            "-m",
            "nbgrader",
            "validate",
            *flags,
            f"--ValidateApp.config_file={config.with_suffix('')}",
            str(notebook),
        ]
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        ran = [e["ran"] for e in events if "ran" in e]
        failed = {e["failed"]: e["error"] for e in events if "failed" in e}
        return Validation(proc.returncode, proc.stdout + proc.stderr, ran, failed)

    return run


def code_cells(nb) -> list[int]:
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()]


def test_kernel_python3_runs_this_interpreter():
    # jupyter_client replaces argv[0] "python" of the ipykernel spec by sys.executable of the
    # process that starts the kernel, and nbgrader runs as `sys.executable -m nbgrader`.
    assert KernelManager(kernel_name="python3").format_kernel_cmd()[0] == sys.executable


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_runs_without_errors(lesson, validate):
    result = validate(source_path(lesson))
    assert result.ran == code_cells(read(source_path(lesson))), result.report
    assert result.failed == {}


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_passes_nbgrader_validate(lesson, validate):
    result = validate(source_path(lesson))
    assert result.returncode == 0, result.report
    assert ALL_PASS in result.report, result.report


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("lesson", LESSONS)
def test_released_lesson_fails_only_in_exercises_and_tests(lesson, validate):
    nb, result = read(released_path(lesson)), validate(released_path(lesson), invert=True)
    assert result.ran == code_cells(nb), result.report
    unexpected = {
        i: error for i, error in result.failed.items() if not (is_exercise(nb.cells[i]) or is_graded_test(nb.cells[i]))
    }
    assert unexpected == {}, "provided code fails without the learner's answers"


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("lesson", LESSONS)
def test_released_lesson_fails_every_graded_test(lesson, validate):
    nb, result = read(released_path(lesson)), validate(released_path(lesson), invert=True)
    graded = [i for i, cell in enumerate(nb.cells) if is_graded_test(cell)]
    assert graded, "a lesson needs at least one autograded test cell"
    assert result.returncode == 0, result.report
    assert NONE_PASS in result.report, result.report
    assert [i for i in graded if i not in result.failed] == []


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_lesson_runs_to_the_end_for_a_learner(lesson, tmp_path):
    """Run All in the learner's own kernel (no nbgrader): every check prints its verdict and the lesson
    goes on to the last cell, without one error output; the unfinished exercises say so."""
    from nbclient import NotebookClient

    nb = read(released_path(lesson))
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"} | {"MNIST_BUDGET": "quick"}
    NotebookClient(nb, timeout=600, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    errors = {
        i: f"{output.ename}: {output.evalue}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    }
    assert errors == {}
    verdicts = "".join(o.get("text", "") for cell in nb.cells if is_graded_test(cell) for o in cell.outputs)
    assert verdicts.count("not attempted yet") >= sum(is_graded_test(cell) for cell in nb.cells), verdicts
