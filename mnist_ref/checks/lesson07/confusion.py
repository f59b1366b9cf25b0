"""Lesson 07's checks of the confusion matrix and what its rows say: ``confusion_matrix`` and
``per_class_accuracy``.

The visible cases carry their expected values written out; the grader's cases, with the
reference, live on the instructor's side (``mnist_course.checks.lesson07``), which reuses the
comparisons and messages below.
"""

from __future__ import annotations

import torch

from ..fixtures import HAND_PREDICTIONS, HAND_TARGETS, seeded_predictions
from ..framework import CheckFailed, Exercise, call, expect, expect_close

# --- Exercise 1: confusion_matrix ----------------------------------------------------------------

HAND_CM = torch.tensor([[2, 1, 0], [0, 2, 0], [2, 1, 2]])  # of HAND_TARGETS, HAND_PREDICTIONS
SEEDED_7_CM = torch.tensor(  # of seeded_predictions(7, 200)
    [
        [17, 1, 0, 0, 2, 0, 0, 1, 1, 0],
        [2, 15, 0, 0, 1, 0, 0, 2, 0, 1],
        [0, 0, 13, 4, 1, 0, 1, 0, 1, 3],
        [0, 0, 1, 14, 0, 0, 0, 1, 1, 0],
        [2, 0, 0, 1, 6, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 14, 0, 1, 2, 1],
        [0, 0, 1, 0, 0, 0, 15, 1, 1, 0],
        [0, 0, 1, 1, 0, 0, 2, 17, 0, 1],
        [1, 0, 0, 1, 1, 0, 1, 0, 18, 0],
        [0, 0, 2, 1, 0, 1, 2, 1, 1, 17],
    ]
)


def expect_cm(answer, targets, predictions, num_classes, expected, what):
    """The learner's matrix of ``(targets, predictions)`` must be ``expected``; names a transposed or
    miscounted one. Returns the matrix (on the CPU)."""
    __tracebackhide__ = True
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


def expect_integer_counts(cm) -> None:
    __tracebackhide__ = True
    expect(
        not cm.is_floating_point(),
        f"the counts are {cm.dtype}; a confusion matrix holds whole numbers — use an integer dtype (torch.long).",
    )


def confusion_matrix_visible(answer):
    __tracebackhide__ = True
    expect_cm(answer, HAND_TARGETS, HAND_PREDICTIONS, 3, HAND_CM, "3 classes, 10 examples")
    targets, predictions = seeded_predictions(7, 200)
    expect_cm(answer, targets, predictions, 10, SEEDED_7_CM, "10 classes, 200 examples")
    return "cm[true, predicted]."


confusion_matrix = Exercise(
    title="confusion_matrix",
    visible=confusion_matrix_visible,
    key="lesson07.confusion_matrix",
    hint_text=(
        "Start from torch.zeros(num_classes, num_classes, dtype=torch.long) and add 1 at [t, p] for every pair "
        "(a loop over zip(targets.tolist(), predictions.tolist()) is fine). Vectorized: torch.bincount of "
        "targets * num_classes + predictions with minlength=num_classes**2, reshaped."
    ),
)

# --- Exercise 2: per_class_accuracy --------------------------------------------------------------


def accuracies(result, num_classes: int) -> torch.Tensor:
    """The learner's result as float64 values, one per class."""
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


def per_class_visible(answer):
    __tracebackhide__ = True
    cm = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 0, 5]])
    expected = torch.tensor([80.0, 75.0, 500 / 6], dtype=torch.float64)
    values = accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    if torch.allclose(values, expected / 100, atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy returned fractions (0.8, ...); the course reports accuracy in percent: multiply by 100."
        )
    by_column = 100 * cm.diagonal().double() / cm.sum(dim=0).double()
    if torch.allclose(values, by_column, atol=1e-3) or torch.allclose(values, by_column / 100, atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy divided by the column sums (how often each digit was PREDICTED — that is precision). "
            "Accuracy of a class divides by its row sum: how many examples of that digit there are."
        )
    if torch.allclose(values, torch.floor(expected), atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy lost the decimals (83 instead of 83.33): integer division — convert the counts to "
            "float first."
        )
    expect_close(values, expected, "per_class_accuracy(cm)", hint="row c: 100 * cm[c, c] / cm[c].sum().", atol=1e-3)
    return "percent of each digit's examples recognized."


per_class_accuracy = Exercise(
    title="per_class_accuracy",
    visible=per_class_visible,
    key="lesson07.per_class_accuracy",
    hint_text=(
        "100 * cm.diagonal() / cm.sum(dim=1), in float; clamp the row sums to at least 1 so an absent class "
        "gives 0, not nan."
    ),
)
