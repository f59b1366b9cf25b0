"""nbgrader 0.9.6 preprocessors made robust against hostile submissions and honest output.

nbgrader_config.py puts them in place of nbgrader's own or next to them
(Autograde.sanitize_preprocessors and Autograde.autograde_preprocessors), so `nbgrader autograde`
uses them whoever runs it.
"""

from .drop_duplicate_ids import DropDuplicateIds
from .forget_unknown_cells import ForgetUnknownCells
from .grading_requests import PrepareRequests
from .robust_execute import KERNEL_DIED, RobustExecute
from .stderr_as_stdout import STDERR_MARKER, StderrAsStdout, relabel_stderr
from .trusted_verdicts import TrustedVerdicts

__all__ = [
    "KERNEL_DIED",
    "STDERR_MARKER",
    "DropDuplicateIds",
    "ForgetUnknownCells",
    "PrepareRequests",
    "RobustExecute",
    "StderrAsStdout",
    "TrustedVerdicts",
    "relabel_stderr",
]
