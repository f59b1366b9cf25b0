"""Lesson 05's check of reading training curves: ``diagnose``.

``diagnose`` is tried on synthetic histories whose label the lesson's three rules fix, applied to
the training and validation columns (the test set's columns are empty, as in every history of the
lesson: the course uses the test set once, at the end of lesson 07). The
examples the notebook plots are :data:`EXAMPLES`; the visible check adds the histories that tell
the order of the rules and the strictness of their comparisons apart (:data:`VISIBLE_CASES`, their
labels written out). The grader's further cases live on the instructor's side (``mnist_course``).
"""

from __future__ import annotations

from mnist_ref.engine import History

from ..framework import CheckFailed, Exercise, call, expect

# --- 3. diagnose -------------------------------------------------------------------------------

LABELS = ("underfitting", "overfitting", "good fit")
RULES = {  # the rule that gives each label, as the lesson states it (applied in this order, last epoch)
    "underfitting": "rule 1 (train accuracy below 97 %)",
    "overfitting": "rule 2 (gap above 1.5 points, or validation loss more than 20 % above its lowest)",
    "good fit": "rule 3 (neither rule 1 nor rule 2 applies)",
}


def synthetic_history(train_acc, val_acc, train_loss=None, val_loss=None) -> History:
    """A History from per-epoch train and validation accuracies (and losses; made up from the accuracies
    if not given)."""
    n = len(train_acc)
    train_loss = train_loss or [round((100 - a) / 40, 4) for a in train_acc]
    val_loss = val_loss or [round((100 - a) / 40, 4) for a in val_acc]
    return History(
        train_acc=list(train_acc),
        train_loss=list(train_loss),
        val_acc=list(val_acc),
        val_loss=list(val_loss),
        lr=[0.01] * n,
        epoch_seconds=[1.0] * n,
    )


# (description, history) -> the rules decide the label
EXAMPLES = {
    "good": synthetic_history([94.1, 97.9, 98.6, 98.9, 99.1], [97.6, 98.4, 98.8, 98.9, 99.0]),
    "overfit": synthetic_history(
        [90.2, 97.5, 99.3, 99.9, 100.0], [93.1, 95.8, 96.4, 96.3, 96.1], val_loss=[0.22, 0.14, 0.12, 0.13, 0.15]
    ),
    "underfit": synthetic_history([40.3, 62.8, 74.0, 79.5, 82.6], [55.2, 70.1, 77.3, 81.0, 83.9]),
}

# (history, its label): the examples, then the cases a wrong order or a non-strict comparison gets wrong
VISIBLE_CASES = [
    (EXAMPLES["good"], "good fit"),
    (EXAMPLES["overfit"], "overfitting"),
    (EXAMPLES["underfit"], "underfitting"),
    # rule 1 comes first: a big gap with a low train accuracy is still underfitting...
    (synthetic_history([70.0, 85.0, 90.0], [60.0, 75.0, 80.0]), "underfitting"),
    # ... and so is a low train accuracy whose validation loss rose from its best
    (synthetic_history([90.0, 94.0, 95.0], [94.0, 95.5, 95.0], val_loss=[0.30, 0.10, 0.20]), "underfitting"),
    # rule 2 before rule 3: a high train accuracy far above the validation accuracy is overfitting
    (synthetic_history([98.0, 99.5], [97.5, 97.8], val_loss=[0.1, 0.09]), "overfitting"),
    # the loss half of rule 2: a small gap, but the validation loss rose well above its best
    (
        synthetic_history([98.0, 99.0, 99.4, 99.6], [98.5, 98.9, 98.9, 98.8], val_loss=[0.5, 0.2, 0.1, 0.15]),
        "overfitting",
    ),
    # ... but a rise of less than 20 % from the best is not
    (
        synthetic_history([98.0, 99.0, 99.3, 99.4], [98.6, 98.9, 99.0, 99.0], val_loss=[0.3, 0.1, 0.09, 0.095]),
        "good fit",
    ),
    # the last epoch decides, not the best one
    (synthetic_history([99.5, 99.9, 100.0], [99.0, 98.6, 98.2], val_loss=[0.05, 0.05, 0.05]), "overfitting"),
    # strict comparisons: exactly 97 % is not below 97; a gap of exactly 1.5 is not above 1.5
    (synthetic_history([95.0, 97.0], [96.0, 96.5], val_loss=[0.2, 0.1]), "good fit"),
    (synthetic_history([98.0, 99.0], [97.0, 97.5], val_loss=[0.2, 0.1]), "good fit"),
]


READ_TEST_COLUMNS = (
    "test_acc and test_loss, the names an older version of this lesson used, are the test set's columns and empty "
    "in these histories (the course uses the test set once, at the end of lesson 07): diagnose reads the "
    "validation columns, history.val_acc[-1], history.val_loss[-1] and min(history.val_loss)."
)


def _explain(history) -> str:
    train_acc, val_acc, val_loss = history.train_acc[-1], history.val_acc[-1], history.val_loss[-1]
    return (
        f"final train acc {train_acc}%, final validation acc {val_acc}% (gap {train_acc - val_acc:.2f} points), "
        f"final validation loss {val_loss} vs lowest {min(history.val_loss)}"
    )


def check_diagnosis(answer, history: History, want: str) -> None:
    """``answer(history)`` must leave the history as it was and return ``want``, a str of LABELS exactly."""
    __tracebackhide__ = True
    copy = History.from_dict(history.to_dict())
    try:
        got = call(answer, copy, what="diagnose")
    except CheckFailed as failure:
        # [-1] or min() of an empty list: in these histories, the test columns read under the lesson's old names
        if isinstance(failure.__cause__, (IndexError, ValueError)) and not (history.test_acc or history.test_loss):
            raise CheckFailed(f"{failure}. {READ_TEST_COLUMNS}") from failure.__cause__
        raise
    expect(copy.to_dict() == history.to_dict(), "diagnose changed the history it was given; only read it.")
    expect(
        type(got) is str and got in LABELS,
        f"diagnose should return exactly one of {', '.join(repr(x) for x in LABELS)}; got {got!r}.",
    )
    if got != want:
        raise CheckFailed(
            f"for the history with {_explain(history)} you answered {got!r}, but {RULES[want]} gives {want!r}. "
            "Apply the rules in order to the LAST epoch; comparisons are strict (< and >)."
        )


def _diagnose_visible(answer) -> str:
    __tracebackhide__ = True
    for history, want in VISIBLE_CASES:
        check_diagnosis(answer, history, want)
    return (
        f"Right on the three example histories and {len(VISIBLE_CASES) - 3} that test the order of the rules and "
        "their boundaries; more are checked when graded."
    )


diagnose = Exercise(
    "diagnose",
    _diagnose_visible,
    "read history.train_acc[-1], history.val_acc[-1], history.val_loss[-1] and min(history.val_loss); "
    "test rule 1, then rule 2, else return 'good fit'.",
    key="lesson05.diagnose",
)
