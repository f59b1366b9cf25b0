"""Two nbgrader 0.9.6 preprocessors made robust against hostile submissions.

nbgrader_config.py puts them in place of nbgrader's own (Autograde.sanitize_preprocessors and
Autograde.autograde_preprocessors), so `nbgrader autograde` uses them whoever runs it.

* DropDuplicateIds: nbgrader's DeduplicateIds keeps the LAST cell with a given grade_id and turns
  the earlier copies into plain cells by setting their metadata to ``nbgrader: {}``. The
  CheckCellMetadata step after it reads that empty dict as "schema version 0" and raises
  SchemaTooOldError, which aborts autograde for the whole class, not just this learner.
  Here the earlier copies lose the ``nbgrader`` key altogether: they run as ordinary cells and
  earn nothing; only the last copy (restored from the gradebook by OverwriteCells) is graded,
  so a duplicated test cell can never earn its points twice.
* RobustExecute: nbgrader's Execute aborts the notebook when the kernel dies (os._exit(),
  a segfault, the OOM killer): nbclient raises DeadKernelError, nbgrader records nothing and
  the learner gets zero for the whole lesson. Here the cell that killed the kernel gets an
  error output, so do all the code cells after it (their kernel state is gone), and grading
  goes on: tests that passed before the death keep their points.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode

from nbgrader import utils
from nbgrader.preprocessors import DeduplicateIds, Execute

KERNEL_DIED = "KernelDied"


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


def _error_output(evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=KERNEL_DIED, evalue=evalue,
                        traceback=[f"{KERNEL_DIED}: {evalue}"])


class RobustExecute(Execute):
    """Execute that survives a dying kernel: that cell and every later code cell fail, the rest is kept."""

    def preprocess(self, nb, resources=None, km=None):
        self._dead = None
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            # setup_kernel() shut the dead kernel down on the way out; the cells were marked.
            if self._dead is None:
                raise
            self.log.warning("The kernel died in cell %s; later cells were not run.", self._dead)
            return self.nb, self.resources

    def preprocess_cell(self, cell, resources, index):
        if self._dead is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error_output(f"not run: the kernel died in cell {self._dead}")]
            return cell, self.resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = index
            cell.outputs.append(_error_output("the kernel died while running this cell"))
            return cell, self.resources
