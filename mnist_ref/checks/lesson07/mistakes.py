"""Lesson 07's checks of finding the mistakes: ``most_confused_pairs`` and ``misclassified_indices``."""

from __future__ import annotations

import torch

from mnist_ref.evaluation import confusion_matrix as reference_confusion_matrix
from mnist_ref.evaluation import misclassified_indices as reference_misclassified_indices
from mnist_ref.evaluation import most_confused_pairs as reference_most_confused_pairs

from ..fixtures import HAND_PREDICTIONS, HAND_TARGETS, seeded_predictions
from ..framework import CheckFailed, Exercise, call, expect

# --- Exercise 3: most_confused_pairs -------------------------------------------------------------


def _as_pairs(result, what):
    __tracebackhide__ = True
    expect(
        isinstance(result, (list, tuple)),
        f"{what} should return a list of (true, predicted, count) tuples, got {type(result).__name__}",
    )
    pairs = []
    for item in result:
        expect(
            isinstance(item, (list, tuple)) and len(item) == 3,
            f"{what}: each entry should be a (true, predicted, count) tuple, got {item!r}",
        )
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
        raise CheckFailed(
            f"{what} includes {diagonal[0]}: a digit predicted as itself is a correct answer, not a confusion — skip "
            "the diagonal."
        )
    expect(len(pairs) <= k, f"{what} returned {len(pairs)} pairs; expected at most k={k}.")
    if sorted(pairs) == sorted((p, t, c) for t, p, c in expected):
        raise CheckFailed(f"{what}: true and predicted are swapped — in cm[true, predicted] the ROW is the true digit.")
    zeros = [p for p in pairs if p[2] == 0]
    expect(
        not zeros,
        f"{what} includes pairs with count 0 ({zeros[:2]}): "
        "only digits that were actually confused belong in the list.",
    )
    if sorted(pairs) == sorted(expected):
        raise CheckFailed(
            f"{what}: right pairs, wrong order. Sort by count (largest first), and break ties by (true, predicted) "
            f"ascending. Expected {expected}, got {pairs}."
        )
    if sorted(p[2] for p in pairs) == sorted(p[2] for p in expected) and [p[2] for p in pairs] == [
        p[2] for p in expected
    ]:
        raise CheckFailed(
            f"{what}: on equal counts the order must be by (true, predicted) ascending, so it never depends on the "
            f"sort algorithm. Expected {expected}, got {pairs}."
        )
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
    _expect_pairs(
        answer, torch.tensor([[5, 1, 0], [0, 5, 0], [0, 0, 5]]), 5, "most_confused_pairs with only one confusion, k=5"
    )
    targets, predictions = seeded_predictions(27, 2000)
    _expect_pairs(
        answer, reference_confusion_matrix(targets, predictions), 10, "most_confused_pairs of a 10-class matrix, k=10"
    )


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
    expect(
        isinstance(result, torch.Tensor),
        f"misclassified_indices should return a tensor of positions, got {type(result).__name__}",
    )
    expect(
        result.dtype != torch.bool,
        "misclassified_indices returned a boolean mask; return the POSITIONS where target != prediction (e.g. with "
        ".nonzero()).",
    )
    expect(
        not result.is_floating_point(),
        f"misclassified_indices returned {result.dtype}; indices are integers (torch.long).",
    )
    expect(
        result.dim() == 1,
        f"{what}: the result has shape {tuple(result.shape)}; expected ({len(expected)},) — .nonzero() gives (K, 1): "
        "flatten it.",
    )
    result = result.cpu()
    correct = (targets == predictions).nonzero().flatten()
    expect(
        torch.equal(result, expected) or not torch.equal(result, correct),
        f"{what}: these are the CORRECTLY classified examples; we want those where target != prediction.",
    )
    expect(
        torch.equal(result, expected),
        f"{what}: expected {expected.tolist()[:12]}, got {result.tolist()[:12]} (ascending order).",
    )


def _misclassified_visible(answer):
    __tracebackhide__ = True
    _expect_indices(answer, HAND_TARGETS, HAND_PREDICTIONS, "misclassified_indices on 10 examples")
    return "positions where target != prediction."


def _misclassified_strict(answer):
    __tracebackhide__ = True
    targets, predictions = seeded_predictions(37, 500)
    _expect_indices(answer, targets, predictions, "misclassified_indices on 500 examples")
    _expect_indices(answer, torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), "misclassified_indices with no mistakes")


misclassified_indices = Exercise(
    title="misclassified_indices",
    visible=_misclassified_visible,
    strict=_misclassified_strict,
    hint_text=(
        "(targets != predictions) is a boolean mask; .nonzero() turns it into positions of shape (K, 1); "
        ".flatten() makes it (K,)."
    ),
)
