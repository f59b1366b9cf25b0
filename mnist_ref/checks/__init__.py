"""Learner self-checks, in the spirit of Kaggle's learntools.

Each exercise of the course has one :class:`Exercise` object in the module of its lesson
(``mnist_ref.checks.lesson03`` ...). The same object serves three readers:

* the learner's visible test cell: ``check.output_size(output_size)`` prints a short
  success line, or stops with a message that says *what* is wrong and hints *why*;
* the hidden test cell of the grader: ``check.output_size.hidden(output_size)`` runs the
  visible checks and then stricter ones (other shapes, seeds, the reference);
* ``pytest``, which runs both against correct and typical wrong answers.

An untouched exercise (its body still ``raise NotImplementedError()``) is reported as
"not attempted yet" instead of a traceback.

Layout: :mod:`.framework` holds the machinery (``Exercise``, ``expect``, ``call``, ``forbid``...),
re-exported here; :mod:`.fixtures` the inputs several lessons share (seeded tensors, synthetic
batches, spy models); :mod:`.architecture` the course model as read off ``mnist_ref.model.Net``;
``lessonNN`` what the notebook of lesson NN imports as ``check``.
"""

from .framework import (
    CheckFailed,
    Exercise,
    NotAttempted,
    UsedLibraryFunction,
    call,
    expect,
    expect_close,
    expect_shape,
    expect_tensor,
    forbid,
    shape_of,
    single_thread,
)

__all__ = [
    "CheckFailed",
    "Exercise",
    "NotAttempted",
    "UsedLibraryFunction",
    "call",
    "expect",
    "expect_close",
    "expect_shape",
    "expect_tensor",
    "forbid",
    "shape_of",
    "single_thread",
]
