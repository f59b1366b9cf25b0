"""Checks of lesson 05, *Learning-rate schedules and curves*: ``step_lr``, ``run_training``, ``diagnose``.

The schedule and the loop that steps it are checked in :mod:`.schedule`, the reading of the
curves in :mod:`.diagnosis`.
"""

from .diagnosis import EXAMPLES, LABELS, VISIBLE_CASES, diagnose, synthetic_history
from .questions import q_best_epoch, q_momentum_step
from .schedule import VISIBLE_RUN, Run, run_training, step_lr

__all__ = [
    "EXAMPLES",
    "LABELS",
    "VISIBLE_CASES",
    "VISIBLE_RUN",
    "Run",
    "diagnose",
    "q_best_epoch",
    "q_momentum_step",
    "run_training",
    "step_lr",
    "synthetic_history",
]
