"""Self-checks of lesson 07 · Evaluation, and the reference analysis the notebook's provided cells use.

Convention everywhere: ``cm[true, predicted]`` counts (rows: the true digit, columns: the
model's answer), as :func:`mnist_ref.engine.confusion_matrix`.
"""

from __future__ import annotations

import torch

from ..engine import confusion_matrix as reference_confusion_matrix
from . import CheckFailed, Exercise, call, expect, expect_close

# --- reference analysis (provided cells use these, so the notebook runs without the exercises) ---


def reference_per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Percent of each true class predicted correctly: ``100 * cm[c, c] / cm[c, :].sum()`` (0 for an absent class)."""
    cm = torch.as_tensor(cm).double()
    return (100.0 * cm.diagonal() / cm.sum(dim=1).clamp(min=1)).float()


def reference_most_confused_pairs(cm: torch.Tensor, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal counts as ``(true, predicted, count)``, count descending, ties by (true, predicted)."""
    cm = torch.as_tensor(cm)
    pairs = [(t, p, int(cm[t, p])) for t in range(cm.shape[0]) for p in range(cm.shape[1]) if t != p and cm[t, p] > 0]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))[:k]


def reference_misclassified_indices(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """Positions where the prediction is wrong, ascending, as a 1-D int64 tensor."""
    return (torch.as_tensor(targets) != torch.as_tensor(predictions)).nonzero().flatten()


# --- hand-made cases -----------------------------------------------------------------------------

# 3 classes; every off-diagonal count differs from its mirror, so a transposed matrix shows.
HAND_TARGETS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
HAND_PREDICTIONS = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1, 2, 2])
HAND_CM = torch.tensor([[2, 1, 0], [0, 2, 0], [2, 1, 2]])


def _random_case(seed: int, n: int, num_classes: int = 10):
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, num_classes, (n,), generator=generator)
    wrong = torch.rand(n, generator=generator) < 0.3
    predictions = torch.where(wrong, torch.randint(0, num_classes, (n,), generator=generator), targets)
    return targets, predictions


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
        raise CheckFailed(f"{what}: your matrix is transposed. Rows are the TRUE labels and columns the PREDICTIONS: cm[true, predicted] += 1.")
    if int(cm.sum()) != len(targets):
        raise CheckFailed(f"{what}: the counts add up to {int(cm.sum())}, but there are {len(targets)} examples — every example adds exactly 1 to one cell.")
    raise CheckFailed(f"{what}: the matrix is wrong, expected\n{expected}\ngot\n{cm}")


def _confusion_matrix_visible(answer):
    __tracebackhide__ = True
    _expect_cm(answer, HAND_TARGETS, HAND_PREDICTIONS, 3, "3 classes, 10 examples")
    targets, predictions = _random_case(7, 200)
    _expect_cm(answer, targets, predictions, 10, "10 classes, 200 examples")
    return "cm[true, predicted]."


def _confusion_matrix_strict(answer):
    __tracebackhide__ = True
    cm = _expect_cm(answer, torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), 5, "5 classes, only 0 and 1 occur")
    expect(not cm.is_floating_point(), f"the counts are {cm.dtype}; a confusion matrix holds whole numbers — use an integer dtype (torch.long).")
    targets, predictions = _random_case(70, 3000)
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
        values = torch.as_tensor(result.detach().cpu() if isinstance(result, torch.Tensor) else result, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(f"per_class_accuracy should return a tensor of numbers, got {type(result).__name__}") from None
    expect(
        tuple(values.shape) == (num_classes,),
        f"per_class_accuracy returned shape {tuple(values.shape)}; expected ({num_classes},): one accuracy per class (per row of cm).",
    )
    return values


def _per_class_visible(answer):
    __tracebackhide__ = True
    cm = torch.tensor([[8, 2, 0], [1, 3, 0], [1, 0, 5]])
    expected = reference_per_class_accuracy(cm)  # 80, 75, 83.33
    values = _accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    if torch.allclose(values, expected.double() / 100, atol=1e-4):
        raise CheckFailed("per_class_accuracy returned fractions (0.8, ...); the course reports accuracy in percent: multiply by 100.")
    by_column = 100 * cm.diagonal().double() / cm.sum(dim=0).double()
    if torch.allclose(values, by_column, atol=1e-3) or torch.allclose(values, by_column / 100, atol=1e-4):
        raise CheckFailed(
            "per_class_accuracy divided by the column sums (how often each digit was PREDICTED — that is precision). "
            "Accuracy of a class divides by its row sum: how many examples of that digit there are."
        )
    if torch.allclose(values, torch.floor(expected.double()), atol=1e-4):
        raise CheckFailed("per_class_accuracy lost the decimals (83 instead of 83.33): integer division — convert the counts to float first.")
    expect_close(values, expected, "per_class_accuracy(cm)", hint="row c: 100 * cm[c, c] / cm[c].sum().", atol=1e-3)
    return "percent of each digit's examples recognized."


def _per_class_strict(answer):
    __tracebackhide__ = True
    targets, predictions = _random_case(17, 1000)
    cm = reference_confusion_matrix(targets, predictions)
    expect_close(call(answer, cm.clone(), what="per_class_accuracy"), reference_per_class_accuracy(cm), "per_class_accuracy of a 10-class matrix", atol=1e-3)
    cm = torch.tensor([[5, 0, 1], [0, 0, 0], [2, 0, 3]])
    values = _accuracies(call(answer, cm.clone(), what="per_class_accuracy"), 3)
    expect(not torch.isnan(values).any(), "a class without any example (an all-zero row) gave nan: report 0.0 for it (e.g. divide by cm.sum(dim=1).clamp(min=1)).")
    expect_close(values, reference_per_class_accuracy(cm), "per_class_accuracy with an absent class", atol=1e-3, hint="an absent class gets 0.0.")


per_class_accuracy = Exercise(
    title="per_class_accuracy",
    visible=_per_class_visible,
    strict=_per_class_strict,
    hint_text="100 * cm.diagonal() / cm.sum(dim=1), in float; clamp the row sums to at least 1 so an absent class gives 0, not nan.",
)

# --- Exercise 3: most_confused_pairs -------------------------------------------------------------


def _as_pairs(result, what):
    __tracebackhide__ = True
    expect(isinstance(result, (list, tuple)), f"{what} should return a list of (true, predicted, count) tuples, got {type(result).__name__}")
    pairs = []
    for item in result:
        expect(isinstance(item, (list, tuple)) and len(item) == 3, f"{what}: each entry should be a (true, predicted, count) tuple, got {item!r}")
        try:
            pairs.append(tuple(int(v) for v in item))
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"{what}: each entry should hold three whole numbers, got {item!r}") from None
    return pairs


def _expect_pairs(answer, cm, k, what):
    __tracebackhide__ = True
    expected = reference_most_confused_pairs(cm, k)
    pairs = _as_pairs(call(answer, cm.clone(), k, what="most_confused_pairs"), what)
    if pairs == expected:
        return
    diagonal = [pair for pair in pairs if pair[0] == pair[1]]
    if diagonal:
        raise CheckFailed(f"{what} includes {diagonal[0]}: a digit predicted as itself is a correct answer, not a confusion — skip the diagonal.")
    expect(len(pairs) <= k, f"{what} returned {len(pairs)} pairs; expected at most k={k}.")
    if sorted(pairs) == sorted((p, t, c) for t, p, c in expected):
        raise CheckFailed(f"{what}: true and predicted are swapped — in cm[true, predicted] the ROW is the true digit.")
    zeros = [p for p in pairs if p[2] == 0]
    expect(not zeros, f"{what} includes pairs with count 0 ({zeros[:2]}): only digits that were actually confused belong in the list.")
    if sorted(pairs) == sorted(expected):
        raise CheckFailed(f"{what}: right pairs, wrong order. Sort by count (largest first), and break ties by (true, predicted) ascending. Expected {expected}, got {pairs}.")
    if sorted(p[2] for p in pairs) == sorted(p[2] for p in expected) and [p[2] for p in pairs] == [p[2] for p in expected]:
        raise CheckFailed(f"{what}: on equal counts the order must be by (true, predicted) ascending, so it never depends on the sort algorithm. Expected {expected}, got {pairs}.")
    raise CheckFailed(f"{what}: expected {expected}, got {pairs}.")


def _most_confused_visible(answer):
    __tracebackhide__ = True
    cm = torch.tensor([[50, 7, 0, 1], [2, 60, 0, 0], [0, 9, 40, 4], [0, 0, 3, 70]])
    _expect_pairs(answer, cm, 3, "most_confused_pairs(cm, 3)")
    return "the off-diagonal counts, largest first."


def _most_confused_strict(answer):
    __tracebackhide__ = True
    ties = torch.tensor([[9, 2, 5], [5, 9, 0], [2, 5, 9]])
    _expect_pairs(answer, ties, 4, "most_confused_pairs with tied counts, k=4")
    _expect_pairs(answer, torch.tensor([[5, 1, 0], [0, 5, 0], [0, 0, 5]]), 5, "most_confused_pairs with only one confusion, k=5")
    targets, predictions = _random_case(27, 2000)
    _expect_pairs(answer, reference_confusion_matrix(targets, predictions), 10, "most_confused_pairs of a 10-class matrix, k=10")


most_confused_pairs = Exercise(
    title="most_confused_pairs",
    visible=_most_confused_visible,
    strict=_most_confused_strict,
    hint_text=(
        "Collect (t, p, int(cm[t, p])) for every t != p with a count above 0, then "
        "sorted(pairs, key=lambda x: (-x[2], x[0], x[1]))[:k]."
    ),
)

# --- Exercise 4: misclassified_indices -----------------------------------------------------------


def _expect_indices(answer, targets, predictions, what):
    __tracebackhide__ = True
    expected = reference_misclassified_indices(targets, predictions)
    result = call(answer, targets.clone(), predictions.clone(), what="misclassified_indices")
    if isinstance(result, (list, tuple)):
        result = torch.tensor([int(i) for i in result], dtype=torch.long)
    expect(isinstance(result, torch.Tensor), f"misclassified_indices should return a tensor of positions, got {type(result).__name__}")
    expect(result.dtype != torch.bool, "misclassified_indices returned a boolean mask; return the POSITIONS where target != prediction (e.g. with .nonzero()).")
    expect(not result.is_floating_point(), f"misclassified_indices returned {result.dtype}; indices are integers (torch.long).")
    expect(result.dim() == 1, f"{what}: the result has shape {tuple(result.shape)}; expected ({len(expected)},) — .nonzero() gives (K, 1): flatten it.")
    result = result.cpu()
    correct = (targets == predictions).nonzero().flatten()
    expect(
        torch.equal(result, expected) or not torch.equal(result, correct),
        f"{what}: these are the CORRECTLY classified examples; we want those where target != prediction.",
    )
    expect(torch.equal(result, expected), f"{what}: expected {expected.tolist()[:12]}, got {result.tolist()[:12]} (ascending order).")


def _misclassified_visible(answer):
    __tracebackhide__ = True
    _expect_indices(answer, HAND_TARGETS, HAND_PREDICTIONS, "misclassified_indices on 10 examples")
    return "positions where target != prediction."


def _misclassified_strict(answer):
    __tracebackhide__ = True
    targets, predictions = _random_case(37, 500)
    _expect_indices(answer, targets, predictions, "misclassified_indices on 500 examples")
    _expect_indices(answer, torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), "misclassified_indices with no mistakes")


misclassified_indices = Exercise(
    title="misclassified_indices",
    visible=_misclassified_visible,
    strict=_misclassified_strict,
    hint_text="(targets != predictions) is a boolean mask; .nonzero() turns it into positions of shape (K, 1); .flatten() makes it (K,).",
)
