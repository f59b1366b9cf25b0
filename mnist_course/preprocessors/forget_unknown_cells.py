"""ForgetUnknownCells: a test cell with an unknown grade_id costs at most its exercise, not the lesson.

nbgrader's OverwriteCells looks every grade_id up in the gradebook. One it does not know (a test
cell whose grade_id the learner changed, or one pasted from another lesson) loses its
``grade_id`` but keeps ``grade: true``; with ``add_missing_cells = True`` the next step,
add_missing_grade_cells, reads ``cell.metadata.nbgrader["grade_id"]`` of every grade cell and
fails with ``KeyError: 'grade_id'``: the lesson scores 0. add_missing_grade_cells also inserts a
missing cell after the cell that precedes it in the source notebook, which must then be a grade
or solution cell present in the submission (KeyError otherwise, e.g. when that answer cell was
renamed too).

Here a cell with an unknown grade_id loses its nbgrader metadata altogether: it runs as an
ordinary cell and earns nothing. The missing original is put back from the gradebook, after the
nearest earlier source cell that is still in the notebook (at the top if there is none), and
graded as usual.
"""

from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class ForgetUnknownCells(OverwriteCells):
    """OverwriteCells that turns cells with unknown grade_ids into plain cells and restores the originals."""

    def preprocess_cell(self, cell, resources, cell_index):
        had_id = _grade_id(cell) is not None
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if had_id and _grade_id(cell) is None:  # OverwriteCells removed an id the gradebook does not know
            self.log.warning("Cell %s has an unknown grade_id: graded as an ordinary cell.", cell_index)
            del cell.metadata["nbgrader"]
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = source_nb.source_cells
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [_grade_id(cell) for cell in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", grade_cell.name)
            position = [cell.name for cell in source_cells].index(grade_cell.name)
            earlier = [cell.name for cell in source_cells[:position] if cell.name in present]
            index = present.index(earlier[-1]) + 1 if earlier else 0
            restored = self.missing_cell_transform(
                source_cells[position], grade_cell.max_score, is_solution=grade_cell.name in solution_ids
            )
            nb.cells.insert(index, restored)
        return nb, resources
