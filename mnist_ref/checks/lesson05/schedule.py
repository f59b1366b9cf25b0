"""Lesson 05's checks of the schedule and the loop that steps it: ``step_lr`` and ``run_training``.

``step_lr`` is compared with StepLR itself (:func:`mnist_ref.recipes.step_lr_schedule`);
``run_training`` runs on a tiny synthetic loader for a few epochs and is compared, weights and
history, with the library's loop (:func:`mnist_ref.engine.fit`, which the exercise rewrites).
The grader's stricter cases and references live on the instructor's side (``mnist_course``).

Epochs are counted from 1, as the training loop prints them. StepLR is stepped once per
epoch after the epoch's training, and the learning rate recorded for an epoch is the one
its batches were trained with, i.e. read *before* ``scheduler.step()``. The loop evaluates on the
validation loader and records ``val_acc``/``val_loss``, the columns ``fit`` writes for it.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mnist_ref import engine
from mnist_ref.engine import History
from mnist_ref.recipes import classic_scheduler, step_lr_schedule

from ..fixtures import CPU, CountingSGD, make_model, same_weights, synthetic_batches, weights_of
from ..framework import CheckFailed, Exercise, call, expect

# --- 1. step_lr --------------------------------------------------------------------------------


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


step_lr = Exercise(
    "step_lr",
    _step_lr_visible,
    "count the decays that happened before this epoch, k = (epoch - 1) // step_size, and return base_lr * gamma ** k.",
    key="lesson05.step_lr",
)


# --- 2. run_training ---------------------------------------------------------------------------

HISTORY_KEYS = ("train_acc", "train_loss", "val_acc", "val_loss", "lr")
# An older version of the lesson recorded the validation numbers under the test set's names.
OLD_NAMES = {"test_acc": "val_acc", "test_loss": "val_loss"}
N_TRAIN_BATCHES = 3


@dataclass(frozen=True)
class Run:
    """One run the check makes: a fresh spy model, tiny loaders, SGD with momentum and a StepLR."""

    kind: str = "linear"
    seed: int = 0
    lr: float = 0.005
    step_size: int = 1
    gamma: float = 0.5
    epochs: int = 3

    def fixtures(self) -> tuple:
        """(model, train_loader, validation_loader, optimizer, scheduler), the same for the same run."""
        batches = synthetic_batches(self.seed, (8, 8, 5, 8, 4), noise=1.5)  # one set of class prototypes
        model = make_model(self.kind, self.seed)
        optimizer = CountingSGD(model.parameters(), lr=self.lr, momentum=0.9)
        return (
            model,
            batches[:N_TRAIN_BATCHES],
            batches[N_TRAIN_BATCHES:],
            optimizer,
            classic_scheduler(optimizer, self.step_size, self.gamma),
        )

    def __str__(self) -> str:
        return f"(StepLR step_size={self.step_size}, gamma={self.gamma}, base lr {self.lr}, {self.epochs} epochs)"


VISIBLE_RUN = Run()


def library_run(run: Run) -> tuple[dict, dict]:
    """(final weights, history as a dict) of the run under :func:`mnist_ref.engine.fit`, the library's loop."""
    model, train_loader, validation_loader, optimizer, scheduler = run.fixtures()
    history = engine.fit(
        model,
        CPU,
        train_loader,
        validation_loader=validation_loader,
        epochs=run.epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )
    return weights_of(model), history.to_dict()


def _as_history(result) -> dict:
    __tracebackhide__ = True
    if isinstance(result, History):
        values = result.to_dict()
    elif isinstance(result, dict):
        values = result
    else:
        raise CheckFailed(f"run_training should return a History (or a dict of lists); got {type(result).__name__}.")
    if not any(_filled(values, new) for new in OLD_NAMES.values()) and any(_filled(values, old) for old in OLD_NAMES):
        raise CheckFailed(
            "run_training recorded its evaluation as test_acc/test_loss, the names an older version of this lesson "
            "used. The loader it evaluates on is the VALIDATION set, so the columns are val_acc and val_loss (as "
            "mnist_ref.fit writes them): history.append(train_acc=..., train_loss=..., val_acc=..., val_loss=..., "
            "lr=...). test_acc/test_loss are for the test set, used once, at the end of lesson 07."
        )
    for key in HISTORY_KEYS:
        expect(key in values, f"the history has no '{key}': it needs per-epoch lists {', '.join(HISTORY_KEYS)}.")
    return values


def _filled(values: dict, key: str) -> bool:
    column = values.get(key)
    return isinstance(column, (list, tuple)) and len(column) > 0


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


def _quiet_kwargs(fn) -> dict:
    """``progress=False`` if the learner's function takes it: no progress bars in the visible check's output."""
    try:
        return {"progress": False} if "progress" in inspect.signature(fn).parameters else {}
    except (TypeError, ValueError):
        return {}


def check_run(answer, expected: Callable[[Run], tuple[dict, dict]], run: Run, quiet: bool = False) -> None:
    """Run ``answer`` on ``run``'s fixtures and compare weights and history with ``expected(run)``.

    ``quiet`` (the visible check only) passes ``progress=False`` when the answer takes it; the grader
    calls the answer exactly as the exercise's signature allows, with the seven positional arguments.
    """
    __tracebackhide__ = True
    ref_weights, ref = expected(run)
    model, train_loader, validation_loader, optimizer, scheduler = run.fixtures()
    result = call(
        answer,
        model,
        CPU,
        train_loader,
        validation_loader,
        optimizer,
        scheduler,
        run.epochs,
        what="run_training",
        **(_quiet_kwargs(answer) if quiet else {}),
    )
    values = _as_history(result)
    epochs, lr, gamma, step_size = run.epochs, run.lr, run.gamma, run.step_size
    mine = {key: _numbers(values, key, epochs) for key in HISTORY_KEYS}
    expected_lr = ref["lr"]
    expect(
        optimizer.steps == N_TRAIN_BATCHES * epochs,
        f"the optimizer stepped {optimizer.steps} times; {epochs} epochs of {N_TRAIN_BATCHES} batches make "
        f"{N_TRAIN_BATCHES * epochs}: "
        "call train(...) once per epoch.",
    )
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
        raise CheckFailed(f"history['lr'] is {got_lr}, but the epochs trained with {expected_lr} {run}. {hint}")
    if not same_weights(weights_of(model), ref_weights):
        raise CheckFailed(
            f"the weights after run_training differ from the reference loop {run}: each epoch is "
            "train(...) with the current rate, then scheduler.step() once, then test(...) on the validation loader. "
            "Calling "
            "scheduler.step() before training (or per batch) trains with the wrong rate."
        )
    for key, hint in (
        ("train_acc", "the accuracy train(...) returns for that epoch (in percent)"),
        ("train_loss", "the MEAN of the per-batch losses train(...) returns for that epoch"),
        ("val_acc", "the accuracy test(...) returns on the validation loader, AFTER that epoch's training"),
        (
            "val_loss",
            "the MEAN of the per-batch losses test(...) returns on the validation loader, after that epoch's training",
        ),
    ):
        for epoch, (g, e) in enumerate(zip(mine[key], ref[key]), start=1):
            if not math.isclose(g, e, rel_tol=1e-5, abs_tol=1e-6):
                extra = ""
                if "loss" in key and math.isclose(g, e * (N_TRAIN_BATCHES if key == "train_loss" else 2), rel_tol=1e-5):
                    extra = " You recorded the SUM of the batch losses; take their mean."
                raise CheckFailed(
                    f"history['{key}'] of epoch {epoch} is {g:.6g}, expected {e:.6g}: it should be {hint}.{extra}"
                )


def _run_training_visible(answer) -> str:
    __tracebackhide__ = True
    check_run(answer, library_run, VISIBLE_RUN, quiet=True)
    return "3 epochs on a tiny synthetic loader: same weights and history as the reference loop."


run_training = Exercise(
    "run_training",
    _run_training_visible,
    "history = History(); for each epoch: lr = optimizer.param_groups[0]['lr']; train_acc, train_losses = train(...); "
    "scheduler.step(); val_acc, val_losses = test(model, device, validation_loader, ...); history.append(..., "
    "train_loss=statistics.fmean(train_losses), ..., lr=lr).",
    key="lesson05.run_training",
)
