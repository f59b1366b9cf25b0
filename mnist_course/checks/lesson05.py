"""Lesson 05's graded checks: the visible cases, then more schedules, runs and histories, some seed-varied.

The references are here; the visible checks (``mnist_ref.checks.lesson05``) compare with StepLR and
``mnist_ref.engine.fit`` themselves, and with the labels written out next to their histories.
"""

from __future__ import annotations

import random
import time

import torch

from mnist_ref import engine
from mnist_ref.checks.fixtures import CPU, weights_of
from mnist_ref.checks.lesson05.diagnosis import VISIBLE_CASES, check_diagnosis, synthetic_history
from mnist_ref.checks.lesson05.schedule import VISIBLE_RUN, Run, _check_step_lr, _step_lr_visible, check_run
from mnist_ref.engine import History
from mnist_ref.recipes import classic_scheduler, step_lr_schedule

from .graded import Replayed

# --- step_lr ------------------------------------------------------------------------------------


def reference_step_lr(epoch: int, base_lr: float, step_size: int, gamma: float) -> float:
    """The learning rate during epoch ``epoch`` (1, 2, ...) under StepLR stepped once per epoch."""
    return base_lr * gamma ** ((epoch - 1) // step_size)


STEP_LR_CASES = [  # (base_lr, step_size, gamma, epochs)
    (0.01, 1, 0.1, 5),
    (1.0, 3, 0.5, 10),
    (0.05, 5, 0.3, 21),
    (0.2, 7, 0.9, 30),
    (0.01, 100, 0.1, 20),
    (0.3, 4, 1.0, 9),
]


def seeded_step_lr_cases(seed: int) -> list[tuple]:
    rng = random.Random(seed)
    cases = []
    for _ in range(2):
        step_size = rng.randint(1, 12)
        base_lr, gamma = round(rng.uniform(0.001, 1.0), 4), round(rng.uniform(0.05, 0.95), 2)
        cases.append((base_lr, step_size, gamma, rng.randint(step_size + 1, 3 * step_size + 4)))
    return cases


def check_step_lr(answer, seed: int) -> None:
    __tracebackhide__ = True
    _step_lr_visible(answer)
    for case in [*STEP_LR_CASES, *seeded_step_lr_cases(seed)]:
        _check_step_lr(answer, *case)


# --- run_training -------------------------------------------------------------------------------


def reference_run_training(
    model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=False
) -> History:
    """The classic loop: for each epoch, note the rate, train, step the schedule once, evaluate on the
    validation loader, record."""
    history = History()
    for _ in range(epochs):
        began = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=progress, leave=False)
        scheduler.step()
        val = engine.test(model, device, validation_loader, progress=progress, leave=False)
        history.append_epoch(train_acc, train_losses, None, None, lr, time.perf_counter() - began, val)
    return history


def reference_run(run: Run) -> tuple[dict, dict]:
    """(final weights, history as a dict) of the run under the reference loop."""
    model, train_loader, validation_loader, optimizer, scheduler = run.fixtures()
    history = reference_run_training(model, CPU, train_loader, validation_loader, optimizer, scheduler, run.epochs)
    return weights_of(model), history.to_dict()


STRICT_RUNS = [
    Run(kind="conv", seed=1, lr=0.02, step_size=2, gamma=0.1, epochs=3),
    Run(kind="linear", seed=2, lr=0.02, step_size=1, gamma=0.3, epochs=1),
    Run(kind="linear", seed=3, lr=0.005, step_size=15, gamma=0.1, epochs=2),
]


def seeded_run(seed: int) -> Run:
    rng = random.Random(seed)
    return Run(
        kind=rng.choice(("linear", "conv")),
        seed=10 + seed % 10_000,
        lr=rng.choice((0.005, 0.01, 0.02)),
        step_size=rng.randint(1, 2),
        gamma=rng.choice((0.1, 0.3, 0.5)),
        epochs=rng.randint(2, 3),
    )


def check_run_training(answer, seed: int) -> None:
    __tracebackhide__ = True
    for run in [VISIBLE_RUN, *STRICT_RUNS, seeded_run(seed)]:
        check_run(answer, reference_run, run)


# --- diagnose -----------------------------------------------------------------------------------

UNDERFIT_TRAIN_ACC = 97.0  # percent: below it, the model has not even learned the images it trains on
OVERFIT_GAP = 1.5  # percentage points of train accuracy above validation accuracy
OVERFIT_LOSS_RISE = 1.2  # final validation loss more than 20 % above the lowest validation loss of the run


def reference_diagnose(history) -> str:
    """The lesson's rules, checked in this order, on the LAST epoch:

    1. final train accuracy < 97 %                                           -> 'underfitting'
    2. final train acc - final validation acc > 1.5 points, or
       final validation loss > 1.2 * lowest validation loss of the run       -> 'overfitting'
    3. otherwise                                                             -> 'good fit'
    """
    train_acc, val_acc, val_loss = history.train_acc[-1], history.val_acc[-1], history.val_loss[-1]
    if train_acc < UNDERFIT_TRAIN_ACC:
        return "underfitting"
    if train_acc - val_acc > OVERFIT_GAP or val_loss > OVERFIT_LOSS_RISE * min(history.val_loss):
        return "overfitting"
    return "good fit"


STRICT_HISTORIES = [
    # just below 97 % is underfitting, even with the validation accuracy above it
    synthetic_history([96.9, 96.99], [97.5, 97.9], val_loss=[0.2, 0.1]),
    # the last epoch decides: an early gap that closed is a good fit
    synthetic_history([99.0, 99.2], [96.0, 98.8], val_loss=[0.2, 0.05]),
    # one epoch
    synthetic_history([98.0], [97.9]),
    synthetic_history([60.0], [75.0]),
]


def seeded_histories(seed: int, count: int = 6) -> list[History]:
    """Histories whose last epoch lies near the rules' thresholds, but never so near that rounding
    (``a - b > 1.5`` against ``a > b + 1.5``) could change the label."""
    rng = random.Random(seed)
    histories = []
    while len(histories) < count:
        epochs = rng.randint(1, 5)
        train = round(rng.uniform(95.5, 99.9), 2)
        val = round(train - rng.uniform(-1.0, 3.0), 2)
        best = round(rng.uniform(0.02, 0.3), 4)
        rise = 1.0 if epochs == 1 or rng.random() < 0.4 else rng.uniform(1.0, 1.5)
        last = round(best * rise, 4)
        if val > 100 or abs(train - val - OVERFIT_GAP) < 0.01 or abs(last / best - OVERFIT_LOSS_RISE) < 0.01:
            continue
        earlier = [round(rng.uniform(best, 3 * best), 4) for _ in range(epochs - 1)]
        if earlier and last > best:
            earlier[rng.randrange(len(earlier))] = best  # the lowest validation loss came before the last epoch
        histories.append(
            synthetic_history(
                [*(round(rng.uniform(80.0, train), 2) for _ in earlier), train],
                [*(round(rng.uniform(80.0, val), 2) for _ in earlier), val],
                val_loss=[*earlier, last],
            )
        )
    return histories


def check_diagnose(answer, seed: int) -> None:
    __tracebackhide__ = True
    for history, want in VISIBLE_CASES:
        check_diagnosis(answer, history, want)
    for history in [*STRICT_HISTORIES, *seeded_histories(seed)]:
        check_diagnosis(answer, history, reference_diagnose(history))


GRADED = {
    # The exercise is the arithmetic of the schedule: a StepLR stepped epoch by epoch answers it for you.
    "lesson05.step_lr": Replayed(
        check_step_lr,
        reference=reference_step_lr,
        library=(torch.optim.lr_scheduler.StepLR, step_lr_schedule, classic_scheduler),
    ),
    # mnist_ref.fit runs this very loop.
    "lesson05.run_training": Replayed(check_run_training, reference=reference_run_training, library=(engine.fit,)),
    # mnist_ref has no diagnosis of its own to delegate to.
    "lesson05.diagnose": Replayed(check_diagnose, reference=reference_diagnose),
}
