"""The lesson 05 checks against right answers and the typical wrong ones."""

from __future__ import annotations

import statistics

import pytest

from check_helpers import not_attempted
from mnist_ref import engine
from mnist_ref.checks import CheckFailed, NotAttempted
from mnist_ref.checks import lesson05 as check
from mnist_ref.engine import History

# --- step_lr -----------------------------------------------------------------------------------


def step_lr_loop(epoch, base_lr, step_size, gamma):  # also right: multiply as StepLR does
    lr = base_lr
    for e in range(2, epoch + 1):
        if (e - 1) % step_size == 0:
            lr *= gamma
    return lr


@pytest.mark.parametrize("answer", [check.reference_step_lr, step_lr_loop])
def test_step_lr_accepts_right_answers(answer):
    check.step_lr(answer)
    check.step_lr.hidden(answer)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda e, lr, s, g: lr * g ** (e // s), "one epoch too early"),
        (lambda e, lr, s, g: lr * g ** max(0, (e - 2) // s), "one epoch too late"),
        (lambda e, lr, s, g: lr * g ** ((e - 1) / s), "k = \\(epoch - 1\\) // step_size"),
        (lambda e, lr, s, g: lr * g * ((e - 1) // s) if e > s else lr, "base_lr \\* gamma \\*\\* k"),
        (lambda e, lr, s, g: lr * g, "Epoch 1 always"),
        (lambda e, lr, s, g: str(lr), "a number"),
    ],
)
def test_step_lr_explains_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check.step_lr.hidden(answer)


def test_step_lr_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.step_lr(not_attempted)


# --- run_training ------------------------------------------------------------------------------


def run_training_right(model, device, train_loader, test_loader, optimizer, scheduler, epochs, progress=True):
    history = History()
    for _ in range(epochs):
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=progress)
        test_acc, test_losses = engine.test(model, device, test_loader, progress=progress)
        scheduler.step()  # after test: also right, the test does not use the rate
        history.append(
            train_acc=train_acc,
            train_loss=statistics.fmean(train_losses),
            test_acc=test_acc,
            test_loss=statistics.fmean(test_losses),
            lr=lr,
        )
    return history


def run_training_dict(
    model, device, train_loader, test_loader, optimizer, scheduler, epochs
):  # dict, no progress argument
    h = {"train_acc": [], "train_loss": [], "test_acc": [], "test_loss": [], "lr": []}
    for _ in range(epochs):
        h["lr"].append(scheduler.get_last_lr()[0])
        acc, losses = engine.train(model, device, train_loader, optimizer, progress=False)
        h["train_acc"].append(acc)
        h["train_loss"].append(sum(losses) / len(losses))
        scheduler.step()
        acc, losses = engine.test(model, device, test_loader, progress=False)
        h["test_acc"].append(acc)
        h["test_loss"].append(sum(losses) / len(losses))
    return h


def run_variant(**bugs):
    def answer(model, device, train_loader, test_loader, optimizer, scheduler, epochs, progress=True):
        history = History()
        for _ in range(epochs):
            if bugs.get("step_first"):
                scheduler.step()
            lr = optimizer.param_groups[0]["lr"]
            if bugs.get("test_first"):
                test_acc, test_losses = engine.test(model, device, test_loader, progress=False)
            if bugs.get("per_batch"):
                train_acc, train_losses = engine.train(
                    model, device, train_loader, optimizer, scheduler=scheduler, progress=False
                )
            else:
                train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=False)
            if not (bugs.get("no_step") or bugs.get("per_batch") or bugs.get("step_first")):
                scheduler.step()
            if bugs.get("lr_after"):
                lr = optimizer.param_groups[0]["lr"]
            if not bugs.get("test_first"):
                test_acc, test_losses = engine.test(model, device, test_loader, progress=False)
            loss = (
                train_losses
                if bugs.get("loss_lists")
                else sum(train_losses)
                if bugs.get("loss_sum")
                else train_losses[-1]
                if bugs.get("last_loss")
                else statistics.fmean(train_losses)
            )
            history.append(
                train_acc=train_acc, train_loss=loss, test_acc=test_acc, test_loss=statistics.fmean(test_losses), lr=lr
            )
        if bugs.get("list_only"):
            return history.test_acc
        return history

    return answer


@pytest.mark.parametrize("answer", [check.reference_run_training, run_training_right, run_training_dict])
def test_run_training_accepts_right_answers(answer):
    check.run_training(answer)
    check.run_training.hidden(answer)


@pytest.mark.parametrize(
    "bug, message",
    [
        ("lr_after", "AFTER scheduler.step\\(\\)"),
        ("no_step", "never changed"),
        ("per_batch", "once per epoch"),
        ("step_first", "AFTER scheduler.step\\(\\)"),
        ("test_first", "AFTER that epoch's training"),
        ("loss_lists", "holds lists"),
        ("loss_sum", "SUM of the batch losses"),
        ("last_loss", "MEAN of the per-batch losses"),
        ("list_only", "History"),
    ],
)
def test_run_training_explains_wrong_answers(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check.run_training(run_variant(**{bug: True}))


def test_run_training_step_first_with_lr_read_before_is_caught():
    def answer(model, device, train_loader, test_loader, optimizer, scheduler, epochs):
        history = History()
        for _ in range(epochs):
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            acc, losses = engine.train(model, device, train_loader, optimizer, progress=False)
            t_acc, t_losses = engine.test(model, device, test_loader, progress=False)
            history.append(
                train_acc=acc,
                train_loss=statistics.fmean(losses),
                test_acc=t_acc,
                test_loss=statistics.fmean(t_losses),
                lr=lr,
            )
        return history

    with pytest.raises(CheckFailed, match="before training"):
        check.run_training(answer)


def test_run_training_wrong_epoch_count():
    def answer(model, device, train_loader, test_loader, optimizer, scheduler, epochs):
        return check.reference_run_training(
            model, device, train_loader, test_loader, optimizer, scheduler, epochs + 1, progress=False
        )

    with pytest.raises(CheckFailed, match="one per epoch"):
        check.run_training(answer)


def test_run_training_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.run_training(not_attempted)


# --- diagnose ----------------------------------------------------------------------------------


def diagnose_right(history):
    train_acc, test_acc = history.train_acc[-1], history.test_acc[-1]
    if train_acc < 97:
        return "underfitting"
    overfit = train_acc - test_acc > 1.5 or history.test_loss[-1] > 1.2 * min(history.test_loss)
    return "overfitting" if overfit else "good fit"


@pytest.mark.parametrize("answer", [check.reference_diagnose, diagnose_right])
def test_diagnose_accepts_right_answers(answer):
    check.diagnose(answer)
    check.diagnose.hidden(answer)


def diagnose_overfit_first(history):
    if history.train_acc[-1] - history.test_acc[-1] > 1.5:
        return "overfitting"
    return check.reference_diagnose(history)


def diagnose_first_loss(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    if history.train_acc[-1] - history.test_acc[-1] > 1.5 or history.test_loss[-1] > 1.2 * history.test_loss[0]:
        return "overfitting"
    return "good fit"


def diagnose_any_rise(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    if history.train_acc[-1] - history.test_acc[-1] > 1.5 or history.test_loss[-1] > min(history.test_loss):
        return "overfitting"
    return "good fit"


def diagnose_non_strict(history):
    if history.train_acc[-1] <= 97:
        return "underfitting"
    if history.train_acc[-1] - history.test_acc[-1] >= 1.5 or history.test_loss[-1] > 1.2 * min(history.test_loss):
        return "overfitting"
    return "good fit"


def diagnose_best_epoch(history):
    best = max(range(len(history)), key=lambda i: history.test_acc[i])
    h = History(
        *(
            getattr(history, k)[: best + 1]
            for k in ("train_acc", "train_loss", "test_acc", "test_loss", "lr", "epoch_seconds")
        )
    )
    return check.reference_diagnose(h)


def diagnose_mutating(history):
    history.train_acc.append(0)
    return check.reference_diagnose(history)


@pytest.mark.parametrize(
    "answer, message",
    [
        (diagnose_overfit_first, "rule 1"),
        (diagnose_first_loss, "rule 2"),
        (diagnose_any_rise, "rule 3"),
        (diagnose_non_strict, "strict"),
        (diagnose_best_epoch, "LAST epoch"),
        (diagnose_mutating, "changed the history"),
        (lambda h: "Overfitting", "exactly one of"),
        (lambda h: "good", "exactly one of"),
    ],
)
def test_diagnose_explains_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check.diagnose.hidden(answer)


def test_diagnose_visible_examples_cover_every_label():
    assert sorted(check.reference_diagnose(h) for h in check.EXAMPLES.values()) == sorted(check.LABELS)


def test_diagnose_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.diagnose(not_attempted)
