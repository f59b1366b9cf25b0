"""The self-checks of lesson 07 accept right answers and explain typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mnist_ref
from check_helpers import assert_not_attempted, fails, passes
from mnist_course.checks import grade_in_process
from mnist_ref.checks import lesson07 as check


@pytest.mark.parametrize(
    "exercise",
    [check.confusion_matrix, check.per_class_accuracy, check.most_confused_pairs, check.misclassified_indices],
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


# --- confusion_matrix ------------------------------------------------------------------------------


def cm_loop(targets, predictions, num_classes=10):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        cm[t, p] += 1
    return cm


def cm_bincount(targets, predictions, num_classes=10):
    return torch.bincount(targets * num_classes + predictions, minlength=num_classes**2).view(num_classes, -1)


def test_confusion_matrix_right_answers():
    passes(check.confusion_matrix, cm_loop)
    passes(check.confusion_matrix, cm_bincount)
    passes(check.confusion_matrix, lambda t, p, n=10: cm_loop(t, p, n).int())


def test_confusion_matrix_transposed():
    fails(check.confusion_matrix, lambda t, p, n=10: cm_loop(p, t, n), "transposed", "cm[true, predicted]")


def test_confusion_matrix_only_seen_classes():
    def too_small(t, p, n=10):
        k = int(max(t.max(), p.max())) + 1
        return cm_loop(t, p, k)

    check.confusion_matrix(too_small)  # the visible cases use every class ...
    fails(check.confusion_matrix, too_small, "shape", "never occur", hidden=True)


def test_confusion_matrix_float_counts():
    answer = lambda t, p, n=10: cm_loop(t, p, n).float()  # noqa: E731
    check.confusion_matrix(answer)
    fails(check.confusion_matrix, answer, "integer dtype", hidden=True)


def test_confusion_matrix_set_instead_of_add():
    def assign(t, p, n=10):
        cm = torch.zeros(n, n, dtype=torch.long)
        cm[t, p] = 1
        return cm

    fails(check.confusion_matrix, assign, "add up to")


def test_confusion_matrix_numpy():
    fails(check.confusion_matrix, lambda t, p, n=10: cm_loop(t, p, n).numpy(), "torch.Tensor")


# --- per_class_accuracy ----------------------------------------------------------------------------


def accuracy(cm):
    return 100 * cm.diagonal().float() / cm.sum(dim=1).clamp(min=1)


def test_per_class_accuracy_right_answers():
    passes(check.per_class_accuracy, accuracy)
    passes(check.per_class_accuracy, lambda cm: (100.0 * cm.diagonal() / cm.sum(dim=1).clamp(min=1)).double())
    passes(
        check.per_class_accuracy,
        lambda cm: [100 * float(cm[c, c]) / max(float(cm[c].sum()), 1) for c in range(len(cm))],
    )


def test_per_class_accuracy_fraction():
    fails(check.per_class_accuracy, lambda cm: accuracy(cm) / 100, "fractions", "percent")


def test_per_class_accuracy_by_column():
    fails(check.per_class_accuracy, lambda cm: 100 * cm.diagonal().float() / cm.sum(dim=0), "column", "precision")


def test_per_class_accuracy_integer_division():
    fails(check.per_class_accuracy, lambda cm: 100 * cm.diagonal() // cm.sum(dim=1), "integer division")


def test_per_class_accuracy_nan_for_absent_class():
    answer = lambda cm: 100 * cm.diagonal().float() / cm.sum(dim=1)  # noqa: E731
    check.per_class_accuracy(answer)
    fails(check.per_class_accuracy, answer, "nan", "0.0", hidden=True)


def test_per_class_accuracy_overall():
    fails(
        check.per_class_accuracy,
        lambda cm: 100 * cm.diagonal().sum().float() / cm.sum(),
        "shape",
        "one accuracy per class",
    )


# --- most_confused_pairs ---------------------------------------------------------------------------


def pairs(cm, k=5):
    found = [(t, p, int(cm[t, p])) for t in range(len(cm)) for p in range(len(cm)) if t != p and cm[t, p] > 0]
    return sorted(found, key=lambda x: (-x[2], x[0], x[1]))[:k]


def pairs_stable_sort(cm, k=5):
    off = cm.clone()
    off.fill_diagonal_(0)
    counts, order = off.flatten().sort(descending=True, stable=True)
    n = len(cm)
    return [(int(i) // n, int(i) % n, int(c)) for c, i in zip(counts, order) if c > 0][:k]


def test_most_confused_pairs_right_answers():
    passes(check.most_confused_pairs, pairs)
    passes(check.most_confused_pairs, pairs_stable_sort)
    passes(check.most_confused_pairs, lambda cm, k=5: [[torch.tensor(t), p, c] for t, p, c in pairs(cm, k)])


def test_most_confused_pairs_with_diagonal():
    def with_diagonal(cm, k=5):
        found = [(t, p, int(cm[t, p])) for t in range(len(cm)) for p in range(len(cm))]
        return sorted(found, key=lambda x: (-x[2], x[0], x[1]))[:k]

    fails(check.most_confused_pairs, with_diagonal, "diagonal")


def test_most_confused_pairs_transposed():
    fails(check.most_confused_pairs, lambda cm, k=5: pairs(cm.T, k), "swapped", "ROW is the true digit")


def test_most_confused_pairs_ascending():
    fails(check.most_confused_pairs, lambda cm, k=5: sorted(pairs(cm, 100), key=lambda x: x[2])[-k:], "wrong order")


def test_most_confused_pairs_unstable_ties():
    def reverse_ties(cm, k=5):
        found = [(t, p, int(cm[t, p])) for t in range(len(cm)) for p in range(len(cm)) if t != p and cm[t, p] > 0]
        return sorted(found, key=lambda x: (x[2], x[0], x[1]), reverse=True)[:k]

    check.most_confused_pairs(reverse_ties)  # no ties in the visible case
    fails(check.most_confused_pairs, reverse_ties, "(true, predicted) ascending", hidden=True)


def test_most_confused_pairs_keeps_zeros():
    def zeros(cm, k=5):
        found = [(t, p, int(cm[t, p])) for t in range(len(cm)) for p in range(len(cm)) if t != p]
        return sorted(found, key=lambda x: (-x[2], x[0], x[1]))[:k]

    check.most_confused_pairs(zeros)
    fails(check.most_confused_pairs, zeros, "count 0", hidden=True)


def test_most_confused_pairs_returns_tensor():
    fails(check.most_confused_pairs, lambda cm, k=5: torch.tensor(pairs(cm, k)), "list")


# --- misclassified_indices -------------------------------------------------------------------------


def test_misclassified_indices_right_answers():
    passes(check.misclassified_indices, lambda t, p: (t != p).nonzero().flatten())
    passes(check.misclassified_indices, lambda t, p: torch.where(t != p)[0])
    passes(check.misclassified_indices, lambda t, p: [i for i in range(len(t)) if t[i] != p[i]])


def test_misclassified_indices_mask():
    fails(check.misclassified_indices, lambda t, p: t != p, "boolean mask")


def test_misclassified_indices_not_flattened():
    fails(check.misclassified_indices, lambda t, p: (t != p).nonzero(), "flatten")


def test_misclassified_indices_correct_ones():
    fails(check.misclassified_indices, lambda t, p: (t == p).nonzero().flatten(), "CORRECTLY classified")


def test_misclassified_indices_float():
    fails(check.misclassified_indices, lambda t, p: (t != p).nonzero().flatten().float(), "integers")


# --- graded in the grader's process: seeds, exact types, the library's own answers -----------------


def indices_numpy(targets, predictions):
    return torch.from_numpy(np.flatnonzero(targets.numpy() != predictions.numpy()))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("exercise", "answer"),
    [
        (check.confusion_matrix, cm_loop),
        (check.confusion_matrix, cm_bincount),
        (check.per_class_accuracy, accuracy),
        (check.most_confused_pairs, pairs),
        (check.most_confused_pairs, pairs_stable_sort),
        (check.misclassified_indices, lambda t, p: (t != p).nonzero().flatten()),
        (check.misclassified_indices, indices_numpy),
    ],
)
def test_right_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


@pytest.mark.parametrize(
    ("exercise", "library"),
    [
        (check.confusion_matrix, mnist_ref.confusion_matrix),
        (check.confusion_matrix, check.reference_confusion_matrix),
        (check.per_class_accuracy, check.reference_per_class_accuracy),
        (check.most_confused_pairs, check.reference_most_confused_pairs),
        (check.misclassified_indices, check.reference_misclassified_indices),
    ],
)
def test_library_answers_are_refused(exercise, library):
    message = fails(exercise, library, "the library's own version", hidden=True)
    assert f"mnist_ref.evaluation.{exercise.title}" in message


def test_answers_calling_the_library_are_refused():
    fails(check.confusion_matrix, lambda t, p, n=10: mnist_ref.confusion_matrix(t, p, n), "library", hidden=True)
    fails(
        check.per_class_accuracy,
        lambda cm: check.reference_per_class_accuracy(cm) + 0,
        "mnist_ref.evaluation.per_class_accuracy",
        hidden=True,
    )


class AlwaysEqual(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_exact_types_only():
    fails(
        check.most_confused_pairs,
        lambda cm, k=5: [(AlwaysEqual(t), p, c) for t, p, c in pairs(cm, k)],
        "returned a",
        hidden=True,
    )
    fails(check.misclassified_indices, lambda t, p: [AlwaysEqual(0)], "returned a", hidden=True)

    class Tensorish(torch.Tensor):
        pass

    fails(check.confusion_matrix, lambda t, p, n=10: cm_loop(t, p, n).as_subclass(Tensorish), "returned", hidden=True)


# --- the self-checked questions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer", "fragment"),
    [
        (check.q_choose_on, "a", "luckiest"),
        (check.q_choose_on, "c", "memorizing"),
        (check.q_validation_mistakes, 70, "10,000 TEST"),
        (check.q_validation_mistakes, 4965, "gets right"),
        (check.q_validation_mistakes, 420, "60,000"),
        (check.q_validation_mistakes, 7, "100 - 99.30"),
        (check.q_first_mistake, "b", "hesitant"),
    ],
)
def test_questions_name_each_wrong_answer(question, answer, fragment):
    with pytest.raises(mnist_ref.checks.CheckFailed, match=fragment):
        question.check(answer)


@pytest.mark.parametrize("question", [check.q_choose_on, check.q_validation_mistakes, check.q_first_mistake])
def test_questions_accept_the_right_answer(question, capsys):
    question.check(question.right)
    question(None)
    out = capsys.readouterr().out
    assert "✅" in out and "not attempted yet" in out


def test_the_first_mistake_question_agrees_with_the_browser_order():
    from mnist_ref.evaluation import mistakes_by_loss

    targets = torch.tensor([4, 4])
    probabilities = torch.zeros(2, 10)
    probabilities[0, 9], probabilities[0, 4] = 0.99, 0.01  # (a)
    probabilities[1, 9], probabilities[1, 4], probabilities[1, 0] = 0.51, 0.45, 0.04  # (b)
    assert mistakes_by_loss(targets, probabilities).tolist() == [0, 1]
