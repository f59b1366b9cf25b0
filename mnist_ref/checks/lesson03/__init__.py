"""Checks of lesson 03 · Pooling, deeper convs and the classifier head.

Exercises: ``max_pool_2x2`` (pooling by hand) and ``flatten_size`` (the shape walk), in
:mod:`.pooling`; ``ClassifierHead`` (flatten -> fc1 -> ReLU -> fc2 -> log_softmax) and ``Net``
(the whole model), in :mod:`.networks`, which finds the learner's layers with :mod:`.layers`
and compares them with the course architecture (:mod:`mnist_ref.checks.architecture`). The
graded checks are the grader's (``mnist_course.checks.lesson03``).
"""

from .networks import ClassifierHead, Net, check_log_probs
from .pooling import flatten_size, max_pool_2x2

__all__ = ["ClassifierHead", "Net", "check_log_probs", "flatten_size", "max_pool_2x2"]
