"""DropDuplicateIds: a duplicated test cell is graded once, and no longer aborts the class's autograde.

nbgrader's DeduplicateIds keeps the LAST cell with a given grade_id and turns the earlier copies
into plain cells by setting their metadata to ``nbgrader: {}``. The CheckCellMetadata step after
it reads that empty dict as "schema version 0" and raises SchemaTooOldError, which aborts
autograde for the whole class, not just this learner. Here the earlier copies lose the
``nbgrader`` key altogether: they run as ordinary cells and earn nothing; only the last copy
(restored from the gradebook by OverwriteCells) is graded, so a duplicated test cell can never
earn its points twice.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds


class DropDuplicateIds(DeduplicateIds):
    """DeduplicateIds that removes the nbgrader metadata of earlier duplicates instead of emptying it."""

    def preprocess_cell(self, cell, resources, cell_index):
        if not (utils.is_grade(cell) or utils.is_solution(cell) or utils.is_locked(cell)):
            return cell, resources
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id in self.grade_ids:
            self.log.warning("Cell with id '%s' exists multiple times! Only the last one is graded.", grade_id)
            del cell.metadata["nbgrader"]
        else:
            self.grade_ids.add(grade_id)
        return cell, resources
