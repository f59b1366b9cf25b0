"""Lesson 05's checks of the schedule and the loop that steps it: ``step_lr`` and ``run_training``.

``step_lr`` is compared with StepLR itself (:func:`mnist_ref.recipes.step_lr_schedule`);
``run_training`` runs on a tiny synthetic loader for a few epochs and is compared, weights and
history, with :func:`reference_run_training`.

Epochs are counted from 1, as the training loop prints them. StepLR is stepped once per
epoch after the epoch's training, and the learning rate recorded for an epoch is the one
its batches were trained with, i.e. read *before* ``scheduler.step()``.
"""

from __future__ import annotations

import inspect
import math
import numbers
import time

import torch

from mnist_ref import engine
from mnist_ref.engine import History
from mnist_ref.recipes import classic_scheduler, step_lr_schedule

from ..fixtures import CPU, CountingSGD, make_model, same_weights, synthetic_batches, weights_of
from ..framework import CheckFailed, Exercise, call, expect

# --- 1. step_lr --------------------------------------------------------------------------------


def reference_step_lr(epoch: int, base_lr: float, step_size: int, gamma: float) -> float:
    """The learning rate during epoch ``epoch`` (1, 2, ...) under StepLR stepped once per epoch."""
    return base_lr * gamma ** ((epoch - 1) // step_size)


def _check_step_lr(answer, base_lr: float, step_size: int, gamma: float, epochs: int) -> None:
    __tracebackhide__ = True
    expected = step_lr_schedule(base_lr, step_size, gamma, epochs)
    got = []
    for epoch in range(1, epochs + 1):
        value = call(answer, epoch, base_lr, step_size, gamma, what="step_lr")
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = value.item()
        expect(
            isinstance(value, numbers.Real),
            f"step_lr should return a number (the learning rate); got {type(value).__name__}.",
        )
        got.append(float(value))
    for epoch, (g, e) in enumerate(zip(got, expected), start=1):
        if math.isclose(g, e, rel_tol=1e-6, abs_tol=1e-15):
            continue
        where = (
            f"step_lr({epoch}, base_lr={base_lr}, step_size={step_size}, gamma={gamma}) is {g:.6g}, but StepLR "
            f"trains epoch {epoch} with {e:.6g}"
        )
        if epoch < epochs and math.isclose(g, expected[epoch], rel_tol=1e-6) and g != e:
            hint = (
                "Your rate decays one epoch too early: epochs count from 1, and StepLR decays only after step_size "
                "full epochs. Use the number of COMPLETED steps, (epoch - 1) // step_size."
            )
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


STEP_LR_CASES = [
    (0.01, 1, 0.1, 5),
    (1.0, 3, 0.5, 10),
    (0.05, 5, 0.3, 21),
    (0.2, 7, 0.9, 30),
    (0.01, 100, 0.1, 20),
    (0.3, 4, 1.0, 9),
]


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


def reference_run_training(
    model, device, train_loader, test_loader, optimizer, scheduler, epochs, progress=True
) -> History:
    """The classic loop: for each epoch, note the rate, train, step the schedule once, test, record."""
    history = History()
    for _ in range(epochs):
        began = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=progress, leave=False)
        scheduler.step()
        test_acc, test_losses = engine.test(model, device, test_loader, progress=progress, leave=False)
        history.append_epoch(train_acc, train_losses, test_acc, test_losses, lr, time.perf_counter() - began)
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
    expect(
        isinstance(column, (list, tuple)),
        f"history['{key}'] should be a list with one number per epoch; got {type(column).__name__}.",
    )
    expect(
        len(column) == epochs,
        f"history['{key}'] has {len(column)} entries after {epochs} epochs: append one per epoch.",
    )
    out = []
    for value in column:
        if isinstance(value, (list, tuple)):
            raise CheckFailed(
                f"history['{key}'] holds lists: record ONE number per epoch "
                + ("(the mean of that epoch's batch losses, e.g. statistics.fmean(losses))." if "loss" in key else ".")
            )
        if isinstance(value, torch.Tensor) and value.dim() == 0:
            value = value.item()
        expect(
            isinstance(value, numbers.Real), f"history['{key}'] should hold numbers; found a {type(value).__name__}."
        )
        out.append(float(value))
    return out


def _run(fn, kind, seed, lr, step_size, gamma, epochs, variant=None):
    """Run fn (learner's or reference) on fresh model, tiny loaders, SGD + StepLR; return (model, result)."""
    batches = synthetic_batches(seed, (8, 8, 5, 8, 4), noise=1.5)  # one set of class prototypes
    train_loader, test_loader = batches[:3], batches[3:]
    model = make_model(kind, seed)
    optimizer = CountingSGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = classic_scheduler(optimizer, step_size, gamma)
    kwargs = {}
    try:
        if "progress" in inspect.signature(fn).parameters:
            kwargs["progress"] = False
    except (TypeError, ValueError):
        pass
    torch.manual_seed(seed)
    result = call(
        fn, model, CPU, train_loader, test_loader, optimizer, scheduler, epochs, what="run_training", **kwargs
    )
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
    expect(
        optimizer.steps == n_batches * epochs,
        f"the optimizer stepped {optimizer.steps} times; {epochs} epochs of {n_batches} batches make "
        f"{n_batches * epochs}: "
        "call train(...) once per epoch.",
    )
    where = f"(StepLR step_size={step_size}, gamma={gamma}, base lr {lr}, {epochs} epochs)"
    got_lr = mine["lr"]
    if not all(math.isclose(g, e, rel_tol=1e-6) for g, e in zip(got_lr, expected_lr)):
        following = expected_lr[1:] + [lr * gamma ** (epochs // step_size)]
        if all(math.isclose(g, e, rel_tol=1e-6) for g, e in zip(got_lr, following)):
            hint = (
                "You recorded the rate AFTER scheduler.step(): that is the next epoch's rate. Read "
                "optimizer.param_groups[0]['lr'] at the start of the epoch, before training."
            )
        elif all(math.isclose(g, lr, rel_tol=1e-6) for g in got_lr) and any(e != lr for e in expected_lr):
            hint = "The rate never changed: call scheduler.step() once at the end of every epoch."
        elif any(g < e * (1 - 1e-6) for g, e in zip(got_lr, expected_lr)) and min(got_lr) < min(expected_lr) * (
            1 - 1e-6
        ):
            hint = (
                "The rate decays much too fast: StepLR counts EPOCHS here, so call scheduler.step() once per epoch, "
                "not once per batch (and do not pass the scheduler to train())."
            )
        else:
            hint = "Record optimizer.param_groups[0]['lr'] at the start of every epoch."
        raise CheckFailed(f"history['lr'] is {got_lr}, but the epochs trained with {expected_lr} {where}. {hint}")
    if not same_weights(weights_of(model), weights_of(ref_model)):
        raise CheckFailed(
            f"the weights after run_training differ from the reference loop {where}: each epoch is "
            "train(...) with the current rate, then scheduler.step() once, then test(...). Calling "
            "scheduler.step() before training (or per batch) trains with the wrong rate."
        )
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
                raise CheckFailed(
                    f"history['{key}'] of epoch {epoch} is {g:.6g}, expected {e:.6g}: it should be {hint}.{extra}"
                )


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
    "scheduler.step(); test_acc, test_losses = test(...); history.append(..., "
    "train_loss=statistics.fmean(train_losses), ..., lr=lr).",
    strict=_run_training_strict,
)
