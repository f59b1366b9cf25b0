"""Checks of lesson 03 · Pooling, deeper convs and the classifier head.

Exercises: ``max_pool_2x2`` (pooling by hand) and ``flatten_size`` (the shape walk), in
:mod:`.pooling`; ``ClassifierHead`` (flatten -> fc1 -> ReLU -> fc2 -> log_softmax) and ``Net``
(the whole model), in :mod:`.networks`, which finds the learner's layers with :mod:`.layers`
and compares them with the course architecture (:mod:`mnist_ref.checks.architecture`).
"""

from ..architecture import reference_flatten_size, reference_forward, side_lengths, walk_text
from .networks import ClassifierHead, Net, check_log_probs
from .pooling import flatten_size, max_pool_2x2

__all__ = [
    "ClassifierHead",
    "Net",
    "check_log_probs",
    "flatten_size",
    "max_pool_2x2",
    "reference_flatten_size",
    "reference_forward",
    "side_lengths",
    "walk_text",
]
