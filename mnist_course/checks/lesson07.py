"""Lesson 07's graded checks: the visible cases, then absent classes, ties, a single example and
seeded predictions as many as a test set (the seed varies per grading run).

The references are the library's own functions (:mod:`mnist_ref.evaluation`), imported here in the
grader's process; an answer that is or calls them is refused.
"""

from __future__ import annotations

import torch

from mnist_ref import evaluation
from mnist_ref.checks.fixtures import seeded_predictions
from mnist_ref.checks.framework import call, expect, expect_close
from mnist_ref.checks.lesson07.confusion import (
    accuracies,
    confusion_matrix_visible,
    expect_cm,
    expect_integer_counts,
    per_class_visible,
)
from mnist_ref.checks.lesson07.mistakes import (
    expect_indices,
    expect_pairs,
    misclassified_visible,
    most_confused_visible,
)

from .graded import Replayed


def _cm(answer, targets, predictions, num_classes, what):
    __tracebackhide__ = True
    expected = evaluation.confusion_matrix(targets, predictions, num_classes)
    return expect_cm(answer, targets, predictions, num_classes, expected, what)


def check_confusion_matrix(answer, seed: int) -> None:
    __tracebackhide__ = True
    confusion_matrix_visible(answer)
    cm = _cm(answer, torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), 5, "5 classes, only 0 and 1 occur")
    expect_integer_counts(cm)
    _cm(answer, *seeded_predictions(70 + seed, 3000), 10, "10 classes, 3,000 examples")
    _cm(answer, *seeded_predictions(seed, 10_000), 10, "10 classes, 10,000 examples (a whole test set)")
    _cm(answer, torch.tensor([3]), torch.tensor([3]), 4, "a single example")


def check_per_class_accuracy(answer, seed: int) -> None:
    __tracebackhide__ = True
    per_class_visible(answer)
    cm = evaluation.confusion_matrix(*seeded_predictions(17 + seed, 1000))
    expect_close(
        call(answer, cm.clone(), what="per_class_accuracy"),
        evaluation.per_class_accuracy(cm),
        "per_class_accuracy of a 10-class matrix",
        atol=1e-3,
    )
    cm = torch.tensor([[5, 0, 1], [0, 0, 0], [2, 0, 3]])
    values = accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    expect(
        not torch.isnan(values).any(),
        "a class without any example (an all-zero row) gave nan: report 0.0 for it (e.g. divide by "
        "cm.sum(dim=1).clamp(min=1)).",
    )
    expect_close(
        values,
        evaluation.per_class_accuracy(cm),
        "per_class_accuracy with an absent class",
        atol=1e-3,
        hint="an absent class gets 0.0.",
    )


def _pairs(answer, cm, k, what):
    __tracebackhide__ = True
    expect_pairs(answer, cm, k, evaluation.most_confused_pairs(cm, k), what)


def check_most_confused_pairs(answer, seed: int) -> None:
    __tracebackhide__ = True
    most_confused_visible(answer)
    ties = torch.tensor([[9, 2, 5], [5, 9, 0], [2, 5, 9]])
    _pairs(answer, ties, 4, "most_confused_pairs with tied counts, k=4")
    one = torch.tensor([[5, 1, 0], [0, 5, 0], [0, 0, 5]])
    _pairs(answer, one, 5, "most_confused_pairs with only one confusion, k=5")
    cm = evaluation.confusion_matrix(*seeded_predictions(27 + seed, 2000))
    _pairs(answer, cm, 10, "most_confused_pairs of a 10-class matrix, k=10")


def _indices(answer, targets, predictions, what):
    __tracebackhide__ = True
    expected = evaluation.misclassified_indices(targets, predictions).tolist()
    expect_indices(answer, targets, predictions, expected, what)


def check_misclassified_indices(answer, seed: int) -> None:
    __tracebackhide__ = True
    misclassified_visible(answer)
    _indices(answer, *seeded_predictions(37 + seed, 500), "misclassified_indices on 500 examples")
    _indices(answer, *seeded_predictions(seed, 10_000), "misclassified_indices on 10,000 examples (a test set)")
    _indices(answer, torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), "misclassified_indices with no mistakes")


GRADED = {
    "lesson07.confusion_matrix": Replayed(
        check_confusion_matrix, reference=evaluation.confusion_matrix, library=(evaluation.confusion_matrix,)
    ),
    "lesson07.per_class_accuracy": Replayed(
        check_per_class_accuracy, reference=evaluation.per_class_accuracy, library=(evaluation.per_class_accuracy,)
    ),
    "lesson07.most_confused_pairs": Replayed(
        check_most_confused_pairs, reference=evaluation.most_confused_pairs, library=(evaluation.most_confused_pairs,)
    ),
    "lesson07.misclassified_indices": Replayed(
        check_misclassified_indices,
        reference=evaluation.misclassified_indices,
        library=(evaluation.misclassified_indices,),
    ),
}
