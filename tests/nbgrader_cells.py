"""Build nbgrader notebooks from Python: one function per kind of cell, then write_notebook.
Test support (tests/demo_lesson.py writes the 00_demo fixture with it); pytest puts tests/ on the path.

    from nbgrader_cells import markdown, code, solution, tests, answer, write_notebook

    write_notebook("solutions/01_mnist_data/01_mnist_data.ipynb", [
        markdown("# MNIST data"),
        code("import torch"),                                      # provided, runs for learners
        solution("double", '''
            def double(x):
                ### BEGIN SOLUTION
                return 2 * x
                ### END SOLUTION
            '''),                                                  # learners see a stub
        tests("double_tests", 2, '''
            assert double(2) == 4
            ### BEGIN HIDDEN TESTS
            assert double(-1) == -2
            ### END HIDDEN TESTS
            '''),                                                  # autograded, locked
        answer("why_double", 1, "Because ..."),                     # graded by hand (markdown)
    ])

Sources are dedented and stripped, so triple-quoted strings can be indented freely.
grade_ids must be unique in a notebook and match [a-zA-Z0-9_-]+; they also become the
cell ids, which keeps generated notebooks byte-identical between runs (nbformat would
otherwise invent random ids). The metadata is nbgrader's schema version 3, as the
Create Assignment tool of JupyterLab writes it (nbgrader/nbgraderformat/v3.json).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat import v4

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _source(text: str) -> str:
    return textwrap.dedent(text).strip()


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(source: str):
    """Prose: learners may edit it, nbgrader ignores it."""
    return v4.new_markdown_cell(_source(source))


def code(source: str):
    """Provided code: released as is; it must run without the learner's answers."""
    return v4.new_code_cell(_source(source))


def solution(grade_id: str, source: str):
    """Autograded answer: code between ### BEGIN SOLUTION / ### END SOLUTION is replaced by
    `# YOUR CODE HERE / raise NotImplementedError()` (the whole cell, without the markers)."""
    cell = v4.new_code_cell(_source(source))
    cell.metadata = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    return cell


def tests(grade_id: str, points: float, source: str):
    """Autograded tests worth `points`: locked; lines between ### BEGIN HIDDEN TESTS /
    ### END HIDDEN TESTS are removed from the released notebook and restored when grading.
    The cell scores 0 if it raises. Stock nbgrader also fails it on any stderr output (a warning, a
    progress bar); the course's config relabels that as stdout (mnist_course.preprocessors.StderrAsStdout)."""
    cell = v4.new_code_cell(_source(source))
    cell.metadata = _nbgrader(grade_id, grade=True, solution=False, locked=True, points=points)
    return cell


def answer(grade_id: str, points: float, source: str):
    """Manually graded written answer (markdown): learners see `YOUR ANSWER HERE`."""
    cell = v4.new_markdown_cell(_source(source))
    cell.metadata = _nbgrader(grade_id, grade=True, solution=True, locked=False, points=points)
    return cell


def write_notebook(path: str | Path, cells: list) -> Path:
    """Write cells as a clean nbformat 4 notebook (no outputs, no execution counts, python3 kernel)."""
    metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    nb = v4.new_notebook(cells=cells, metadata=metadata)
    for index, cell in enumerate(nb.cells):
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell-{index}")
    nbformat.validate(nb)  # also rejects duplicate cell ids, i.e. duplicate grade_ids
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
