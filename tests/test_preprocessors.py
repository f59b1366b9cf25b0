"""The grading preprocessors of mnist_course on small in-memory notebooks (no kernel), and the checks'
own handling of a correct answer's stderr (mnist_ref.checks.framework.quiet_stderr).

The end-to-end counterparts (a class graded by nbgrader) are in tests/test_autograde.py.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat import v4
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ComputeChecksums, Execute, OverwriteCells, SaveCells
from nbgrader.validator import Validator
from traitlets.config.loader import PyFileConfigLoader

from demo_lesson import CELLS, NAME
from mnist_course.preprocessors import STDERR_MARKER, ForgetUnknownCells, StderrAsStdout, relabel_stderr
from mnist_ref.checks import CheckFailed
from mnist_ref.checks.framework import call
from nbgrader_cells import code
from nbgrader_cells import tests as graded_cell

ROOT = Path(__file__).resolve().parents[1]


def stream(name: str, text: str):
    return v4.new_output("stream", name=name, text=text)


def error():
    return v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=["AssertionError: wrong"])


# --- StderrAsStdout ------------------------------------------------------------------------------


def test_stderr_of_a_test_cell_is_kept_as_stdout_and_no_longer_fails_it():
    cell = graded_cell("t", 2, "assert f() == 1")
    cell.outputs = [stream("stdout", "hello\n"), stream("stderr", "UserWarning: careful\n")]
    assert utils.determine_grade(cell) == (0, 2)  # nbgrader's verdict: stderr is a failure
    relabel_stderr(cell)
    assert cell.outputs == [stream("stdout", "hello\n"), stream("stdout", STDERR_MARKER + "UserWarning: careful\n")]
    assert utils.determine_grade(cell) == (2, 2)


def test_an_error_still_fails_the_graded_cell():
    cell = graded_cell("t", 1, "assert f() == 1")
    cell.outputs = [stream("stderr", "progress 100%\n"), error()]
    relabel_stderr(cell)
    assert utils.determine_grade(cell) == (0, 1)
    assert cell.outputs[1] == error()


def test_ungraded_cells_keep_their_stderr():
    plain = code("import warnings; warnings.warn('x')")
    plain.outputs = [stream("stderr", "UserWarning: x\n")]
    relabel_stderr(plain)
    assert plain.outputs == [stream("stderr", "UserWarning: x\n")]


def test_the_preprocessor_relabels_every_graded_cell_of_a_notebook():
    graded, plain = graded_cell("t", 1, "f()"), code("g()")
    for cell in (graded, plain):
        cell.outputs = [stream("stderr", "log line\n")]
    nb = v4.new_notebook(cells=[plain, graded])
    nb, _ = StderrAsStdout().preprocess(nb, {})
    assert [c.outputs[0].name for c in nb.cells] == ["stderr", "stdout"]


def test_the_learners_validate_kernel_sends_stderr_to_stdout():
    """nbgrader's Validator fails a test cell on stderr too and its preprocessors are not configurable;
    nbgrader_config.py gives ITS kernel (only its: c.Validator.Execute) a start-up line instead. Run for
    real by tests/test_autograde.py::test_demo_plain_nbgrader."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    validator = Validator(config=config)  # as the Validate button makes it
    assert Execute in validator.preprocessors
    assert Execute(parent=validator).extra_arguments == ["--IPKernelApp.exec_lines=import sys; sys.stderr = sys.stdout"]
    assert Execute(config=config).extra_arguments == []  # autograde's Execute: untouched


# --- ForgetUnknownCells --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resources(tmp_path_factory):
    """A gradebook that knows the 00_demo lesson, as generate_assignment records it (made once: the
    preprocessors only read it)."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('gradebook') / 'gradebook.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # alembic
        with Gradebook(db_url) as gradebook:
            gradebook.add_assignment(NAME)
    resources = {"nbgrader": {"db_url": db_url, "assignment": NAME, "notebook": NAME}}
    source = v4.new_notebook(cells=copy.deepcopy(CELLS))
    source, resources = ComputeChecksums().preprocess(source, resources)
    SaveCells().preprocess(source, resources)
    return resources


def submission():
    """The demo lesson as a learner hands it in (the source cells, checksums included)."""
    nb = v4.new_notebook(cells=copy.deepcopy(CELLS))
    return ComputeChecksums().preprocess(nb, {})[0]


def grade_ids(nb) -> list[str | None]:
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def overwrite(nb, resources):
    preprocessor = ForgetUnknownCells(add_missing_cells=True)
    return preprocessor.preprocess(nb, resources)[0]


def rename(nb, old: str, new: str) -> nbformat.NotebookNode:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == old)
    cell.metadata.nbgrader["grade_id"] = new
    return cell


def test_stock_overwritecells_loses_the_lesson_on_a_renamed_test_cell(resources):
    """Why ForgetUnknownCells exists (nbgrader 0.9.6): KeyError, the whole lesson scores 0."""
    nb = submission()
    rename(nb, "output_size_tests", "my_tests")
    with pytest.raises(KeyError, match="grade_id"):
        OverwriteCells(add_missing_cells=True).preprocess(nb, resources)


def test_a_renamed_test_cell_becomes_plain_and_the_original_is_restored_after_its_answer(resources):
    nb = submission()
    before = grade_ids(nb)
    renamed = rename(nb, "output_size_tests", "my_tests")
    renamed.source = "pass  # no tests here"
    nb = overwrite(nb, resources)
    assert "nbgrader" not in renamed.metadata  # an ordinary cell: it runs, it earns nothing
    ids = grade_ids(nb)
    assert [i for i in ids if i] == [i for i in before if i]
    restored = ids.index("output_size_tests")
    assert ids[restored - 1 : restored + 2] == ["output_size", "output_size_tests", None]
    assert "output_size(28, 2, stride=2) == 14" in nb.cells[restored].source  # the hidden tests are back
    assert utils.is_grade(nb.cells[restored]) and nb.cells[restored].metadata["nbgrader"]["points"] == 2


def test_a_test_cell_pasted_from_another_lesson_becomes_plain(resources):
    nb = submission()
    foreign = graded_cell("conv_tests", 3, "check.conv2d.hidden(conv2d)")
    nb.cells.insert(5, foreign)
    nb = overwrite(nb, resources)
    assert "nbgrader" not in foreign.metadata
    assert [i for i in grade_ids(nb) if i] == [i for i in grade_ids(submission()) if i]


def test_a_renamed_answer_and_test_cell_cost_only_that_exercise(resources):
    """Stock add_missing_grade_cells needs the cell before the missing one to be present (KeyError
    otherwise); here the test goes after the nearest earlier cell still there, before the renamed
    answer, so it fails and costs its own exercise only."""
    nb = submission()
    answer = rename(nb, "output_size", "mine")
    rename(nb, "output_size_tests", "my_tests")
    nb = overwrite(nb, resources)
    ids = grade_ids(nb)
    assert ids.index("output_size_tests") == ids.index("normalize_tests") + 1
    assert nb.cells.index(answer) > ids.index("output_size_tests")
    assert "nbgrader" not in answer.metadata


def test_a_missing_test_cell_with_no_earlier_lesson_cell_left_goes_to_the_top(resources):
    nb = submission()
    first = next(c for c in nb.cells if utils.is_grade(c))
    nb.cells = [c for c in nb.cells if c is not first and utils.is_grade(c)]  # only the later grade cells
    nb = overwrite(nb, resources)
    assert grade_ids(nb)[0] == first.metadata.nbgrader["grade_id"]


# --- the checks keep a correct answer's stderr out of the cell --------------------------------------


def noisy(value):
    """A correct answer that warns, logs and prints to stderr."""
    warnings.warn("this may take a while", stacklevel=2)
    logging.getLogger("learner").info("computing")
    print("progress 100%", file=sys.stderr)
    return value


@pytest.fixture
def learner_log(capsys):
    """A handler made before the check, as a learner's notebook makes it: it holds the sys.stderr of
    that time (made here in the test, where capsys's stream is in place)."""
    logger = logging.getLogger("learner")
    logger.setLevel(logging.INFO)
    handlers = []

    def make():
        handlers.append(logging.StreamHandler())
        logger.addHandler(handlers[-1])
        return handlers[-1]

    yield make
    for handler in handlers:
        logger.removeHandler(handler)


def test_call_swallows_warnings_logging_and_stderr(learner_log, capsys):
    handler = learner_log()
    assert handler.stream is sys.stderr
    assert call(noisy, 3) == 3
    assert capsys.readouterr().err == ""
    assert handler.stream is sys.stderr  # the handler is given its stream back
    logging.getLogger("learner").info("after the check")
    assert capsys.readouterr().err == "after the check\n"


def test_hidden_checks_swallow_stderr_while_answering_the_grader(learner_log, capsys):
    from mnist_ref.checks import lesson02

    def conv_output_size(n, k, padding=0, stride=1):  # correct, and noisy
        noisy(n)
        return (n + 2 * padding - k) // stride + 1

    learner_log()
    lesson02.conv_output_size.hidden(conv_output_size)  # request, answer and verdict, here in-process
    assert capsys.readouterr().err == ""
    with pytest.raises(CheckFailed):
        lesson02.conv_output_size.hidden(lambda n, k, padding=0, stride=1: noisy(n))  # a wrong answer still fails
