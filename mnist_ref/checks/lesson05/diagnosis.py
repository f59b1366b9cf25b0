"""Lesson 05's check of reading training curves: ``diagnose``.

``diagnose`` is tried on synthetic histories whose answer the lesson's rules
(:func:`reference_diagnose`) fix; the examples the notebook shows are :data:`EXAMPLES`.
"""

from __future__ import annotations

from mnist_ref.engine import History

from ..framework import CheckFailed, Exercise, call, expect

# --- 3. diagnose -------------------------------------------------------------------------------

UNDERFIT_TRAIN_ACC = 97.0  # percent: below it, the model has not even learned the images it trains on
OVERFIT_GAP = 1.5  # percentage points of train accuracy above test accuracy
OVERFIT_LOSS_RISE = 1.2  # final test loss more than 20 % above the lowest test loss of the run
LABELS = ("underfitting", "overfitting", "good fit")


def reference_diagnose(history) -> str:
    """The lesson's rules, checked in this order, on the LAST epoch:

    1. final train accuracy < 97 %                                           -> 'underfitting'
    2. final train acc - final test acc > 1.5 points, or
       final test loss > 1.2 * lowest test loss of the run                   -> 'overfitting'
    3. otherwise                                                             -> 'good fit'
    """
    train_acc, test_acc, test_loss = history.train_acc[-1], history.test_acc[-1], history.test_loss[-1]
    if train_acc < UNDERFIT_TRAIN_ACC:
        return "underfitting"
    if train_acc - test_acc > OVERFIT_GAP or test_loss > OVERFIT_LOSS_RISE * min(history.test_loss):
        return "overfitting"
    return "good fit"


def synthetic_history(train_acc, test_acc, train_loss=None, test_loss=None) -> History:
    """A History from per-epoch accuracies (and losses; made up from the accuracies if not given)."""
    n = len(train_acc)
    train_loss = train_loss or [round((100 - a) / 40, 4) for a in train_acc]
    test_loss = test_loss or [round((100 - a) / 40, 4) for a in test_acc]
    return History(list(train_acc), list(train_loss), list(test_acc), list(test_loss), [0.01] * n, [1.0] * n)


# (description, history) -> the rules decide the label
EXAMPLES = {
    "good": synthetic_history([94.1, 97.9, 98.6, 98.9, 99.1], [97.6, 98.4, 98.8, 98.9, 99.0]),
    "overfit": synthetic_history(
        [90.2, 97.5, 99.3, 99.9, 100.0], [93.1, 95.8, 96.4, 96.3, 96.1], test_loss=[0.22, 0.14, 0.12, 0.13, 0.15]
    ),
    "underfit": synthetic_history([40.3, 62.8, 74.0, 79.5, 82.6], [55.2, 70.1, 77.3, 81.0, 83.9]),
}
STRICT_EXAMPLES = [
    # order matters: a big gap with a low train accuracy is still underfitting (rule 1 first)
    synthetic_history([70.0, 85.0, 90.0], [60.0, 75.0, 80.0]),
    # boundaries: exactly 97 % is not below 97; a gap of exactly 1.5 is not above 1.5
    synthetic_history([95.0, 97.0], [96.0, 96.5], test_loss=[0.2, 0.1]),
    synthetic_history([98.0, 99.0], [97.0, 97.5], test_loss=[0.2, 0.1]),
    synthetic_history([96.9, 96.99], [97.5, 97.9], test_loss=[0.2, 0.1]),
    # small gap but the test loss rose well above its best: overfitting
    synthetic_history([98.0, 99.0, 99.4, 99.6], [98.5, 98.9, 98.9, 98.8], test_loss=[0.5, 0.2, 0.1, 0.15]),
    # the test loss rose a little from its best (less than 20 %): good fit; and it is far below the first epoch's
    synthetic_history([98.0, 99.0, 99.3, 99.4], [98.6, 98.9, 99.0, 99.0], test_loss=[0.3, 0.1, 0.09, 0.095]),
    # the last epoch decides, not the best one
    synthetic_history([99.5, 99.9, 100.0], [99.0, 98.6, 98.2], test_loss=[0.05, 0.05, 0.05]),
    synthetic_history([99.0, 99.2], [96.0, 98.8], test_loss=[0.2, 0.05]),
    # one epoch
    synthetic_history([98.0], [97.9]),
]


def _explain(history) -> str:
    train_acc, test_acc, test_loss = history.train_acc[-1], history.test_acc[-1], history.test_loss[-1]
    return (
        f"final train acc {train_acc}%, final test acc {test_acc}% (gap {train_acc - test_acc:.2f} points), "
        f"final test loss {test_loss} vs lowest {min(history.test_loss)}"
    )


def _check_diagnose(answer, history) -> None:
    __tracebackhide__ = True
    copy = History.from_dict(history.to_dict())
    got = call(answer, copy, what="diagnose")
    expect(copy.to_dict() == history.to_dict(), "diagnose changed the history it was given; only read it.")
    expect(
        isinstance(got, str) and got in LABELS,
        f"diagnose should return exactly one of {', '.join(repr(x) for x in LABELS)}; got {got!r}.",
    )
    want = reference_diagnose(history)
    if got != want:
        rule = {
            "underfitting": "rule 1 (train accuracy below 97 %)",
            "overfitting": "rule 2 (gap above 1.5 points, or test loss more than 20 % above its lowest)",
            "good fit": "rule 3 (neither rule 1 nor rule 2 applies)",
        }[want]
        raise CheckFailed(
            f"for the history with {_explain(history)} you answered {got!r}, but {rule} gives {want!r}. "
            "Apply the rules in order to the LAST epoch; comparisons are strict (< and >)."
        )


def _diagnose_visible(answer) -> str:
    __tracebackhide__ = True
    for history in EXAMPLES.values():
        _check_diagnose(answer, history)
    return "Right on the three example histories."


def _diagnose_strict(answer) -> None:
    __tracebackhide__ = True
    for history in STRICT_EXAMPLES:
        _check_diagnose(answer, history)


diagnose = Exercise(
    "diagnose",
    _diagnose_visible,
    "read history.train_acc[-1], history.test_acc[-1], history.test_loss[-1] and min(history.test_loss); "
    "test rule 1, then rule 2, else return 'good fit'.",
    strict=_diagnose_strict,
)
