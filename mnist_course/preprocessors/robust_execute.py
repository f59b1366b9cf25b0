"""RobustExecute: a dying kernel costs the cells from its death on, not the whole notebook.

nbgrader's Execute aborts the notebook when the kernel dies (os._exit(), a segfault, the OOM
killer): nbclient raises DeadKernelError, nbgrader records nothing and the learner gets zero for
the whole lesson. Here the cell that killed the kernel gets an error output, so do all the code
cells after it (their kernel state is gone), and grading goes on: tests that passed before the
death keep their points.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute

KERNEL_DIED = "KernelDied"


def _error_output(evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=KERNEL_DIED, evalue=evalue, traceback=[f"{KERNEL_DIED}: {evalue}"])


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
