"""Checks of lesson 03 · Pooling, deeper convs and the classifier head.

Exercises: ``max_pool_2x2`` (pooling by hand) and ``flatten_size`` (the shape walk), in
:mod:`.pooling`; ``ClassifierHead`` (flatten -> fc1 -> ReLU -> fc2 -> log_softmax) and ``Net``
(the whole model), in :mod:`.networks`, which finds the learner's layers with :mod:`.layers`
and compares them with the course architecture (:mod:`mnist_ref.checks.architecture`). The
graded checks are the grader's (``mnist_course.checks.lesson03``). The end-of-lesson questions that
check themselves are in :mod:`.questions`.
"""

from .networks import ClassifierHead, Net, check_log_probs
from .pooling import flatten_size, max_pool_2x2
from .questions import conv_parameters_question, missing_pool_question, shift_question

__all__ = [
    "ClassifierHead",
    "Net",
    "check_log_probs",
    "conv_parameters_question",
    "flatten_size",
    "max_pool_2x2",
    "missing_pool_question",
    "shift_question",
]
