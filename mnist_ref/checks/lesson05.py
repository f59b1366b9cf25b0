"""Checks of lesson 05, *Learning-rate schedules and curves*: ``step_lr``, ``run_training``, ``diagnose``.

``step_lr`` is compared with ``torch.optim.lr_scheduler.StepLR`` itself; ``run_training`` runs
on a tiny synthetic loader (lesson 04's) for a few epochs and is compared, weights and
history, with :func:`reference_run_training`; ``diagnose`` is tried on synthetic histories
whose answer the documented rules (:func:`reference_diagnose`) fix.

Epochs are counted from 1, as the training loop prints them. StepLR is stepped once per
epoch after the epoch's training, and the learning rate recorded for an epoch is the one
its batches were trained with, i.e. read *before* ``scheduler.step()``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import statistics
import time
import warnings

import torch

from mnist_ref import engine
from mnist_ref.checks import CheckFailed, Exercise, call, expect
from mnist_ref.checks.lesson04 import CPU, CountingSGD, _same_weights, _weights, make_model, synthetic_batches
from mnist_ref.engine import History

# --- 1. step_lr --------------------------------------------------------------------------------


def reference_step_lr(epoch: int, base_lr: float, step_size: int, gamma: float) -> float:
    """The learning rate during epoch ``epoch`` (1, 2, ...) under StepLR stepped once per epoch."""
    return base_lr * gamma ** ((epoch - 1) // step_size)


def steplr_schedule(base_lr: float, step_size: int, gamma: float, epochs: int) -> list[float]:
    """What torch.optim.lr_scheduler.StepLR gives: the rate of epochs 1..epochs, read before each scheduler.step()."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no gradients here; nothing to warn about
        for _ in range(epochs):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    return rates


def _check_step_lr(answer, base_lr: float, step_size: int, gamma: float, epochs: int) -> None:
    __tracebackhide__ = True
    expected = steplr_schedule(base_lr, step_size, gamma, epochs)
    got = []
    for epoch in range(1, epochs + 1):
        value = call(answer, epoch, base_lr, step_size, gamma, what="step_lr")
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = value.item()
        expect(isinstance(value, numbers.Real), f"step_lr should return a number (the learning rate); got {type(value).__name__}.")
        got.append(float(value))
    for epoch, (g, e) in enumerate(zip(got, expected), start=1):
        if math.isclose(g, e, rel_tol=1e-6, abs_tol=1e-15):
            continue
        where = f"step_lr({epoch}, base_lr={base_lr}, step_size={step_size}, gamma={gamma}) is {g:.6g}, but StepLR trains epoch {epoch} with {e:.6g}"
        if epoch < epochs and math.isclose(g, expected[epoch], rel_tol=1e-6) and g != e:
            hint = ("Your rate decays one epoch too early: epochs count from 1, and StepLR decays only after step_size "
                    "full epochs. Use the number of COMPLETED steps, (epoch - 1) // step_size.")
        elif epoch > 1 and math.isclose(g, expected[epoch - 2], rel_tol=1e-6):
            hint = "Your rate decays one epoch too late: epoch step_size + 1 is the first with the smaller rate."
        elif epoch == 1:
            hint = "Epoch 1 always trains with base_lr."
        else:
            hint = "The rate is base_lr * gamma ** k, where k counts the decays so far: k = (epoch - 1) // step_size."
        raise CheckFailed(f"{where}. {hint}")


def _step_lr_visible(answer) -> str:
    __tracebackhide__ = True
    _check_step_lr(answer, 0.01, 15, 0.1, 20)
    _check_step_lr(answer, 0.1, 2, 0.5, 7)
    return "It matches StepLR for the course schedule (0.01 for epochs 1-15, 0.001 for 16-20) and one more."


STEP_LR_CASES = [(0.01, 1, 0.1, 5), (1.0, 3, 0.5, 10), (0.05, 5, 0.3, 21), (0.2, 7, 0.9, 30), (0.01, 100, 0.1, 20), (0.3, 4, 1.0, 9)]


def _step_lr_strict(answer) -> None:
    __tracebackhide__ = True
    for case in STEP_LR_CASES:
        _check_step_lr(answer, *case)


step_lr = Exercise(
    "step_lr",
    _step_lr_visible,
    "count the decays that happened before this epoch, k = (epoch - 1) // step_size, and return base_lr * gamma ** k.",
    strict=_step_lr_strict,
)


# --- 2. run_training ---------------------------------------------------------------------------

HISTORY_KEYS = ("train_acc", "train_loss", "test_acc", "test_loss", "lr")


def reference_run_training(model, device, train_loader, test_loader, optimizer, scheduler, epochs, progress=True) -> History:
    """The classic loop: for each epoch, note the rate, train, step the schedule once, test, record."""
    history = History()
    for _ in range(epochs):
        began = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=progress, leave=False)
        scheduler.step()
        test_acc, test_losses = engine.test(model, device, test_loader, progress=progress, leave=False)
        history.append(train_acc=train_acc, train_loss=statistics.fmean(train_losses), test_acc=test_acc,
                       test_loss=statistics.fmean(test_losses), lr=lr, epoch_seconds=time.perf_counter() - began)
    return history


def _as_history(result) -> dict:
    __tracebackhide__ = True
    if isinstance(result, History):
        values = result.to_dict()
    elif isinstance(result, dict):
        values = result
    else:
        raise CheckFailed(f"run_training should return a History (or a dict of lists); got {type(result).__name__}.")
    for key in HISTORY_KEYS:
        expect(key in values, f"the history has no '{key}': it needs per-epoch lists {', '.join(HISTORY_KEYS)}.")
    return values


def _numbers(values: dict, key: str, epochs: int) -> list[float]:
    __tracebackhide__ = True
    column = values[key]
    expect(isinstance(column, (list, tuple)), f"history['{key}'] should be a list with one number per epoch; got {type(column).__name__}.")
    expect(len(column) == epochs, f"history['{key}'] has {len(column)} entries after {epochs} epochs: append one per epoch.")
    out = []
    for value in column:
        if isinstance(value, (list, tuple)):
            raise CheckFailed(f"history['{key}'] holds lists: record ONE number per epoch "
                              + ("(the mean of that epoch's batch losses, e.g. statistics.fmean(losses))." if "loss" in key else "."))
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = value.item()
        expect(isinstance(value, numbers.Real), f"history['{key}'] should hold numbers; found a {type(value).__name__}.")
        out.append(float(value))
    return out


def _run(fn, kind, seed, lr, step_size, gamma, epochs, variant=None):
    """Run fn (learner's or reference) on fresh model, tiny loaders, SGD + StepLR; return (model, result)."""
    batches = synthetic_batches(seed, (8, 8, 5, 8, 4), noise=1.5)  # one set of class prototypes
    train_loader, test_loader = batches[:3], batches[3:]
    model = make_model(kind, seed)
    optimizer = CountingSGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    kwargs = {}
    try:
        if "progress" in inspect.signature(fn).parameters:
            kwargs["progress"] = False
    except (TypeError, ValueError):
        pass
    torch.manual_seed(seed)
    result = call(fn, model, CPU, train_loader, test_loader, optimizer, scheduler, epochs, what="run_training", **kwargs)
    return model, optimizer, result


def _check_run_training(answer, kind="linear", seed=0, lr=0.005, step_size=1, gamma=0.5, epochs=3) -> None:
    __tracebackhide__ = True
    setup = (kind, seed, lr, step_size, gamma, epochs)
    ref_model, _, ref = _run(reference_run_training, *setup)
    ref = ref.to_dict()
    model, optimizer, result = _run(answer, *setup)
    values = _as_history(result)
    mine = {key: _numbers(values, key, epochs) for key in HISTORY_KEYS}
    expected_lr = ref["lr"]
    n_batches = 3
    expect(optimizer.steps == n_batches * epochs,
           f"the optimizer stepped {optimizer.steps} times; {epochs} epochs of {n_batches} batches make {n_batches * epochs}: "
           "call train(...) once per epoch.")
    where = f"(StepLR step_size={step_size}, gamma={gamma}, base lr {lr}, {epochs} epochs)"
    got_lr = mine["lr"]
    if not all(math.isclose(g, e, rel_tol=1e-6) for g, e in zip(got_lr, expected_lr)):
        following = expected_lr[1:] + [lr * gamma ** (epochs // step_size)]
        if all(math.isclose(g, e, rel_tol=1e-6) for g, e in zip(got_lr, following)):
            hint = ("You recorded the rate AFTER scheduler.step(): that is the next epoch's rate. Read "
                    "optimizer.param_groups[0]['lr'] at the start of the epoch, before training.")
        elif all(math.isclose(g, lr, rel_tol=1e-6) for g in got_lr) and any(e != lr for e in expected_lr):
            hint = "The rate never changed: call scheduler.step() once at the end of every epoch."
        elif any(g < e * (1 - 1e-6) for g, e in zip(got_lr, expected_lr)) and min(got_lr) < min(expected_lr) * (1 - 1e-6):
            hint = ("The rate decays much too fast: StepLR counts EPOCHS here, so call scheduler.step() once per epoch, "
                    "not once per batch (and do not pass the scheduler to train()).")
        else:
            hint = "Record optimizer.param_groups[0]['lr'] at the start of every epoch."
        raise CheckFailed(f"history['lr'] is {got_lr}, but the epochs trained with {expected_lr} {where}. {hint}")
    if not _same_weights(_weights(model), _weights(ref_model)):
        raise CheckFailed(f"the weights after run_training differ from the reference loop {where}: each epoch is "
                          "train(...) with the current rate, then scheduler.step() once, then test(...). Calling "
                          "scheduler.step() before training (or per batch) trains with the wrong rate.")
    for key, hint in (
        ("train_acc", "the accuracy train(...) returns for that epoch (in percent)"),
        ("train_loss", "the MEAN of the per-batch losses train(...) returns for that epoch"),
        ("test_acc", "the accuracy test(...) returns, tested AFTER that epoch's training"),
        ("test_loss", "the MEAN of the per-batch losses test(...) returns, tested after that epoch's training"),
    ):
        for epoch, (g, e) in enumerate(zip(mine[key], ref[key]), start=1):
            if not math.isclose(g, e, rel_tol=1e-5, abs_tol=1e-6):
                extra = ""
                if "loss" in key and math.isclose(g, e * (n_batches if key == "train_loss" else 2), rel_tol=1e-5):
                    extra = " You recorded the SUM of the batch losses; take their mean."
                raise CheckFailed(f"history['{key}'] of epoch {epoch} is {g:.6g}, expected {e:.6g}: it should be {hint}.{extra}")


def _run_training_visible(answer) -> str:
    __tracebackhide__ = True
    _check_run_training(answer)
    return "3 epochs on a tiny synthetic loader: same weights and history as the reference loop."


def _run_training_strict(answer) -> None:
    __tracebackhide__ = True
    _check_run_training(answer, kind="conv", seed=1, lr=0.02, step_size=2, gamma=0.1, epochs=3)
    _check_run_training(answer, kind="linear", seed=2, lr=0.02, step_size=1, gamma=0.3, epochs=1)
    _check_run_training(answer, kind="linear", seed=3, lr=0.005, step_size=15, gamma=0.1, epochs=2)


run_training = Exercise(
    "run_training",
    _run_training_visible,
    "history = History(); for each epoch: lr = optimizer.param_groups[0]['lr']; train_acc, train_losses = train(...); "
    "scheduler.step(); test_acc, test_losses = test(...); history.append(..., train_loss=statistics.fmean(train_losses), ..., lr=lr).",
    strict=_run_training_strict,
)


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
    "overfit": synthetic_history([90.2, 97.5, 99.3, 99.9, 100.0], [93.1, 95.8, 96.4, 96.3, 96.1],
                                 test_loss=[0.22, 0.14, 0.12, 0.13, 0.15]),
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
    return (f"final train acc {train_acc}%, final test acc {test_acc}% (gap {train_acc - test_acc:.2f} points), "
            f"final test loss {test_loss} vs lowest {min(history.test_loss)}")


def _check_diagnose(answer, history) -> None:
    __tracebackhide__ = True
    copy = History.from_dict(history.to_dict())
    got = call(answer, copy, what="diagnose")
    expect(copy.to_dict() == history.to_dict(), "diagnose changed the history it was given; only read it.")
    expect(isinstance(got, str) and got in LABELS,
           f"diagnose should return exactly one of {', '.join(repr(x) for x in LABELS)}; got {got!r}.")
    want = reference_diagnose(history)
    if got != want:
        rule = {"underfitting": "rule 1 (train accuracy below 97 %)",
                "overfitting": "rule 2 (gap above 1.5 points, or test loss more than 20 % above its lowest)",
                "good fit": "rule 3 (neither rule 1 nor rule 2 applies)"}[want]
        raise CheckFailed(f"for the history with {_explain(history)} you answered {got!r}, but {rule} gives {want!r}. "
                          "Apply the rules in order to the LAST epoch; comparisons are strict (< and >).")


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
