"""Lesson 07's checks of the confusion matrix and what its rows say: ``confusion_matrix`` and
``per_class_accuracy``."""

from __future__ import annotations

import torch

from mnist_ref.evaluation import confusion_matrix as reference_confusion_matrix
from mnist_ref.evaluation import per_class_accuracy as reference_per_class_accuracy

from ..fixtures import HAND_PREDICTIONS, HAND_TARGETS, seeded_predictions
from ..framework import CheckFailed, Exercise, call, expect, expect_close

# --- Exercise 1: confusion_matrix ----------------------------------------------------------------


def _expect_cm(answer, targets, predictions, num_classes, what):
    __tracebackhide__ = True
    expected = reference_confusion_matrix(targets, predictions, num_classes)
    cm = call(answer, targets.clone(), predictions.clone(), num_classes, what="confusion_matrix")
    expect(isinstance(cm, torch.Tensor), f"confusion_matrix should return a torch.Tensor, got {type(cm).__name__}")
    expect(
        tuple(cm.shape) == (num_classes, num_classes),
        f"{what}: the matrix has shape {tuple(cm.shape)}; expected ({num_classes}, {num_classes}) — "
        "one row and one column per class, even for classes that never occur.",
    )
    cm = cm.detach().cpu()
    if torch.equal(cm.double(), expected.double()):
        return cm
    if torch.equal(cm.double(), expected.T.double()):
        raise CheckFailed(
            f"{what}: your matrix is transposed. Rows are the TRUE labels and columns the PREDICTIONS: "
            "cm[true, predicted] += 1."
        )
    if int(cm.sum()) != len(targets):
        raise CheckFailed(
            f"{what}: the counts add up to {int(cm.sum())}, but there are {len(targets)} examples — every example "
            "adds exactly 1 to one cell."
        )
    raise CheckFailed(f"{what}: the matrix is wrong, expected\n{expected}\ngot\n{cm}")


def _confusion_matrix_visible(answer):
    __tracebackhide__ = True
    _expect_cm(answer, HAND_TARGETS, HAND_PREDICTIONS, 3, "3 classes, 10 examples")
    targets, predictions = seeded_predictions(7, 200)
    _expect_cm(answer, targets, predictions, 10, "10 classes, 200 examples")
    return "cm[true, predicted]."


def _confusion_matrix_strict(answer):
    __tracebackhide__ = True
    cm = _expect_cm(answer, torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), 5, "5 classes, only 0 and 1 occur")
    expect(
        not cm.is_floating_point(),
        f"the counts are {cm.dtype}; a confusion matrix holds whole numbers — use an integer dtype (torch.long).",
    )
    targets, predictions = seeded_predictions(70, 3000)
    _expect_cm(answer, targets, predictions, 10, "10 classes, 3,000 examples")
    _expect_cm(answer, torch.tensor([3]), torch.tensor([3]), 4, "a single example")


confusion_matrix = Exercise(
    title="confusion_matrix",
    visible=_confusion_matrix_visible,
    strict=_confusion_matrix_strict,
    hint_text=(
        "Start from torch.zeros(num_classes, num_classes, dtype=torch.long) and add 1 at [t, p] for every pair "
        "(a loop over zip(targets.tolist(), predictions.tolist()) is fine). Vectorized: torch.bincount of "
        "targets * num_classes + predictions with minlength=num_classes**2, reshaped."
    ),
)

# --- Exercise 2: per_class_accuracy --------------------------------------------------------------


def _accuracies(result, num_classes: int) -> torch.Tensor:
    __tracebackhide__ = True
    try:
        values = torch.as_tensor(
            result.detach().cpu() if isinstance(result, torch.Tensor) else result, dtype=torch.float64
        )
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(
            f"per_class_accuracy should return a tensor of numbers, got {type(result).__name__}"
        ) from None
    expect(
        tuple(values.shape) == (num_classes,),
        f"per_class_accuracy returned shape {tuple(values.shape)}; expected ({num_classes},): one accuracy per class "
        "(per row of cm).",
    )
    return values


def _per_class_visible(answer):
    __tracebackhide__ = True
    cm = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 0, 5]])
    expected = reference_per_class_accuracy(cm)  # 80, 75, 83.33
    values = _accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    if torch.allclose(values, expected.double() / 100, atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy returned fractions (0.8, ...); the course reports accuracy in percent: multiply by 100."
        )
    by_column = 100 * cm.diagonal().double() / cm.sum(dim=0).double()
    if torch.allclose(values, by_column, atol=1e-3) or torch.allclose(values, by_column / 100, atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy divided by the column sums (how often each digit was PREDICTED — that is precision). "
            "Accuracy of a class divides by its row sum: how many examples of that digit there are."
        )
    if torch.allclose(values, torch.floor(expected.double()), atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy lost the decimals (83 instead of 83.33): integer division — convert the counts to "
            "float first."
        )
    expect_close(values, expected, "per_class_accuracy(cm)", hint="row c: 100 * cm[c, c] / cm[c].sum().", atol=1e-3)
    return "percent of each digit's examples recognized."


def _per_class_strict(answer):
    __tracebackhide__ = True
    targets, predictions = seeded_predictions(17, 1000)
    cm = reference_confusion_matrix(targets, predictions)
    expect_close(
        call(answer, cm.clone(), what="per_class_accuracy"),
        reference_per_class_accuracy(cm),
        "per_class_accuracy of a 10-class matrix",
        atol=1e-3,
    )
    cm = torch.tensor([[5, 0, 1], [0, 0, 0], [2, 0, 3]])
    values = _accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    expect(
        not torch.isnan(values).any(),
        "a class without any example (an all-zero row) gave nan: report 0.0 for it (e.g. divide by "
        "cm.sum(dim=1).clamp(min=1)).",
    )
    expect_close(
        values,
        reference_per_class_accuracy(cm),
        "per_class_accuracy with an absent class",
        atol=1e-3,
        hint="an absent class gets 0.0.",
    )


per_class_accuracy = Exercise(
    title="per_class_accuracy",
    visible=_per_class_visible,
    strict=_per_class_strict,
    hint_text=(
        "100 * cm.diagonal() / cm.sum(dim=1), in float; clamp the row sums to at least 1 so an absent class "
        "gives 0, not nan."
    ),
)
