"""StderrAsStdout: what a correct answer writes to stderr no longer fails its test cell.

nbgrader scores a graded code cell 0 as soon as one of its outputs is a ``stream`` named
``stderr`` (nbgrader/utils.py, determine_grade, called by SaveAutoGrades). A correct answer
that warns, logs through ``logging`` or shows a tqdm bar while a test cell calls it would lose
the exercise. Run after execution and before SaveAutoGrades, this preprocessor relabels the
stderr outputs of graded code cells as stdout, behind a ``[stderr]`` line: the instructor and
the feedback still see the text, and only a raised error (a failed assert or check) fails the
cell. Ungraded cells keep their stderr, it costs nothing there.
"""

from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

STDERR_MARKER = "[stderr]\n"


def relabel_stderr(cell: NotebookNode) -> None:
    """Turn the stderr outputs of a graded code cell into stdout outputs that start with STDERR_MARKER."""
    if cell.cell_type != "code" or not utils.is_grade(cell):
        return
    for output in cell.outputs:
        if output.output_type == "stream" and output.name == "stderr":
            output.name = "stdout"
            output.text = STDERR_MARKER + output.text


class StderrAsStdout(NbGraderPreprocessor):
    """Relabel stderr as stdout in graded code cells, so that only errors fail them."""

    def preprocess_cell(self, cell, resources, cell_index):
        relabel_stderr(cell)
        return cell, resources
