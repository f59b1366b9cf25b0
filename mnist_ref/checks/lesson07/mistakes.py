"""Lesson 07's checks of finding the mistakes: ``most_confused_pairs`` and ``misclassified_indices``.

The visible cases carry their expected values written out; the grader's cases, with the
reference, live on the instructor's side (``mnist_course.checks.lesson07``), which reuses the
comparisons and messages below.
"""

from __future__ import annotations

import torch

from ..fixtures import HAND_PREDICTIONS, HAND_TARGETS
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


def expect_pairs(answer, cm, k, expected, what):
    """The learner's ``most_confused_pairs(cm, k)`` must be ``expected``; names the usual slips."""
    __tracebackhide__ = True
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


def most_confused_visible(answer):
    __tracebackhide__ = True
    cm = torch.tensor([[50, 7, 0, 1], [2, 60, 0, 0], [0, 9, 40, 4], [0, 0, 3, 70]])
    expect_pairs(answer, cm, 3, [(2, 1, 9), (0, 1, 7), (2, 3, 4)], "most_confused_pairs(cm, 3)")
    return "the off-diagonal counts, largest first."


most_confused_pairs = Exercise(
    title="most_confused_pairs",
    visible=most_confused_visible,
    key="lesson07.most_confused_pairs",
    hint_text=(
        "Collect (t, p, int(cm[t, p])) for every t != p with a count above 0, then "
        "sorted(pairs, key=lambda x: (-x[2], x[0], x[1]))[:k]."
    ),
)

# --- Exercise 4: misclassified_indices -----------------------------------------------------------


def expect_indices(answer, targets, predictions, expected: list[int], what):
    """The learner's positions of the mistakes must be ``expected``; names a mask, a (K, 1) result and
    the positions of the right answers instead."""
    __tracebackhide__ = True
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
    mistakes = set(expected)
    correct = torch.tensor([i for i in range(len(targets)) if i not in mistakes], dtype=torch.long)
    expected = torch.tensor(expected, dtype=torch.long)
    expect(
        torch.equal(result, expected) or not torch.equal(result, correct),
        f"{what}: these are the CORRECTLY classified examples; we want those where target != prediction.",
    )
    expect(
        torch.equal(result, expected),
        f"{what}: expected {expected.tolist()[:12]}, got {result.tolist()[:12]} (ascending order).",
    )


def misclassified_visible(answer):
    __tracebackhide__ = True
    expect_indices(answer, HAND_TARGETS, HAND_PREDICTIONS, [2, 5, 6, 7], "misclassified_indices on 10 examples")
    return "positions where target != prediction."


misclassified_indices = Exercise(
    title="misclassified_indices",
    visible=misclassified_visible,
    key="lesson07.misclassified_indices",
    hint_text=(
        "(targets != predictions) is a boolean mask; .nonzero() turns it into positions of shape (K, 1); "
        ".flatten() makes it (K,)."
    ),
)
