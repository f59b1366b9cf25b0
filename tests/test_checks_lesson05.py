"""The lesson 05 checks against right answers and the typical wrong ones."""

from __future__ import annotations

import statistics

import pytest
import torch

from check_helpers import fails, not_attempted
from mnist_course.checks import grade_in_process, requests_for
from mnist_course.checks.lesson05 import (
    STRICT_HISTORIES,
    reference_diagnose,
    reference_run,
    reference_run_training,
    reference_step_lr,
    seeded_histories,
    seeded_run,
    seeded_step_lr_cases,
)
from mnist_ref import engine
from mnist_ref.checks import CheckFailed, NotAttempted
from mnist_ref.checks import lesson05 as check
from mnist_ref.checks.lesson05.schedule import library_run
from mnist_ref.engine import History
from mnist_ref.recipes import step_lr_schedule

# --- step_lr -----------------------------------------------------------------------------------


def step_lr_loop(epoch, base_lr, step_size, gamma):  # also right: multiply as StepLR does
    lr = base_lr
    for e in range(2, epoch + 1):
        if (e - 1) % step_size == 0:
            lr *= gamma
    return lr


@pytest.mark.parametrize("answer", [reference_step_lr, step_lr_loop])
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


def run_training_right(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
    history = History()
    for _ in range(epochs):
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=progress)
        val_acc, val_losses = engine.test(model, device, validation_loader, progress=progress)
        scheduler.step()  # after evaluating: also right, the evaluation does not use the rate
        history.append(
            train_acc=train_acc,
            train_loss=statistics.fmean(train_losses),
            val_acc=val_acc,
            val_loss=statistics.fmean(val_losses),
            lr=lr,
        )
    return history


def run_training_dict(
    model, device, train_loader, validation_loader, optimizer, scheduler, epochs
):  # dict, no progress argument
    h = {"train_acc": [], "train_loss": [], "val_acc": [], "val_loss": [], "lr": []}
    for _ in range(epochs):
        h["lr"].append(scheduler.get_last_lr()[0])
        acc, losses = engine.train(model, device, train_loader, optimizer, progress=False)
        h["train_acc"].append(acc)
        h["train_loss"].append(sum(losses) / len(losses))
        scheduler.step()
        acc, losses = engine.test(model, device, validation_loader, progress=False)
        h["val_acc"].append(acc)
        h["val_loss"].append(sum(losses) / len(losses))
    return h


def run_variant(**bugs):
    def answer(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
        history = History()
        for _ in range(epochs):
            if bugs.get("step_first"):
                scheduler.step()
            lr = optimizer.param_groups[0]["lr"]
            if bugs.get("test_first"):
                val_acc, val_losses = engine.test(model, device, validation_loader, progress=False)
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
                val_acc, val_losses = engine.test(model, device, validation_loader, progress=False)
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
                train_acc=train_acc, train_loss=loss, val_acc=val_acc, val_loss=statistics.fmean(val_losses), lr=lr
            )
        if bugs.get("list_only"):
            return history.val_acc
        return history

    return answer


@pytest.mark.parametrize("answer", [reference_run_training, run_training_right, run_training_dict])
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
    with pytest.raises(CheckFailed, match=message):  # the grader, from the data the learner's kernel reports
        check.run_training.hidden(run_variant(**{bug: True}))


OLD_NAMES = {"val_acc": "test_acc", "val_loss": "test_loss"}  # what an older version of the lesson called them


def run_training_old_names(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
    """Right, but the validation numbers recorded under the test set's names."""
    history = History()
    for _ in range(epochs):
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = engine.train(model, device, train_loader, optimizer, progress=False)
        scheduler.step()
        test_acc, test_losses = engine.test(model, device, validation_loader, progress=False)
        history.append(
            train_acc=train_acc,
            train_loss=statistics.fmean(train_losses),
            test_acc=test_acc,
            test_loss=statistics.fmean(test_losses),
            lr=lr,
        )
    return history


def run_training_dict_old_names(*args):
    return {OLD_NAMES.get(key, key): column for key, column in run_training_dict(*args).items()}


@pytest.mark.parametrize("answer", [run_training_old_names, run_training_dict_old_names])
@pytest.mark.parametrize("hidden", [False, True])
def test_run_training_names_the_validation_columns_to_who_records_the_old_names(answer, hidden):
    fails(check.run_training, answer, "older version", "val_acc and val_loss", hidden=hidden)


def test_run_training_step_first_with_lr_read_before_is_caught():
    def answer(model, device, train_loader, validation_loader, optimizer, scheduler, epochs):
        history = History()
        for _ in range(epochs):
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            acc, losses = engine.train(model, device, train_loader, optimizer, progress=False)
            v_acc, v_losses = engine.test(model, device, validation_loader, progress=False)
            history.append(
                train_acc=acc,
                train_loss=statistics.fmean(losses),
                val_acc=v_acc,
                val_loss=statistics.fmean(v_losses),
                lr=lr,
            )
        return history

    with pytest.raises(CheckFailed, match="before training"):
        check.run_training(answer)


def test_run_training_wrong_epoch_count():
    def answer(model, device, train_loader, validation_loader, optimizer, scheduler, epochs):
        return reference_run_training(
            model, device, train_loader, validation_loader, optimizer, scheduler, epochs + 1, progress=False
        )

    with pytest.raises(CheckFailed, match="one per epoch"):
        check.run_training(answer)


def test_run_training_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.run_training(not_attempted)


# --- diagnose ----------------------------------------------------------------------------------


def diagnose_right(history):
    train_acc, val_acc = history.train_acc[-1], history.val_acc[-1]
    if train_acc < 97:
        return "underfitting"
    overfit = train_acc - val_acc > 1.5 or history.val_loss[-1] > 1.2 * min(history.val_loss)
    return "overfitting" if overfit else "good fit"


@pytest.mark.parametrize("answer", [reference_diagnose, diagnose_right])
def test_diagnose_accepts_right_answers(answer):
    check.diagnose(answer)
    check.diagnose.hidden(answer)


def diagnose_overfit_first(history):
    if history.train_acc[-1] - history.val_acc[-1] > 1.5:
        return "overfitting"
    return reference_diagnose(history)


def diagnose_first_loss(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    if history.train_acc[-1] - history.val_acc[-1] > 1.5 or history.val_loss[-1] > 1.2 * history.val_loss[0]:
        return "overfitting"
    return "good fit"


def diagnose_any_rise(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    if history.train_acc[-1] - history.val_acc[-1] > 1.5 or history.val_loss[-1] > min(history.val_loss):
        return "overfitting"
    return "good fit"


def diagnose_non_strict(history):
    if history.train_acc[-1] <= 97:
        return "underfitting"
    if history.train_acc[-1] - history.val_acc[-1] >= 1.5 or history.val_loss[-1] > 1.2 * min(history.val_loss):
        return "overfitting"
    return "good fit"


def diagnose_best_epoch(history):
    best = max(range(len(history)), key=lambda i: history.val_acc[i])
    h = History(**{k: column[: best + 1] for k, column in history.to_dict().items()})
    return reference_diagnose(h)


def diagnose_old_names(history):  # the columns an older version of the lesson read
    train_acc, test_acc = history.train_acc[-1], history.test_acc[-1]
    if train_acc < 97:
        return "underfitting"
    if train_acc - test_acc > 1.5 or history.test_loss[-1] > 1.2 * min(history.test_loss):
        return "overfitting"
    return "good fit"


def diagnose_old_loss_name(history):  # only the lowest loss read under its old name: min() of an empty list
    if history.train_acc[-1] < 97:
        return "underfitting"
    if history.train_acc[-1] - history.val_acc[-1] > 1.5 or history.val_loss[-1] > 1.2 * min(history.test_loss):
        return "overfitting"
    return "good fit"


@pytest.mark.parametrize("answer", [diagnose_old_names, diagnose_old_loss_name])
@pytest.mark.parametrize("hidden", [False, True])
def test_diagnose_names_the_validation_columns_to_who_reads_the_old_names(answer, hidden):
    fails(check.diagnose, answer, "older version", "history.val_acc[-1], history.val_loss[-1]", hidden=hidden)


def diagnose_mutating(history):
    history.train_acc.append(0)
    return reference_diagnose(history)


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
    assert sorted(reference_diagnose(h) for h in check.EXAMPLES.values()) == sorted(check.LABELS)


def test_diagnose_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.diagnose(not_attempted)


# --- what the visible checks catch: no typical wrong answer is called correct ---------------------


def diagnose_rule2_first(history):
    gap = history.train_acc[-1] - history.val_acc[-1]
    if gap > 1.5 or history.val_loss[-1] > 1.2 * min(history.val_loss):
        return "overfitting"
    return "underfitting" if history.train_acc[-1] < 97 else "good fit"


def diagnose_gap_only(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    return "overfitting" if history.train_acc[-1] - history.val_acc[-1] > 1.5 else "good fit"


def diagnose_loss_only(history):
    if history.train_acc[-1] < 97:
        return "underfitting"
    return "overfitting" if history.val_loss[-1] > 1.2 * min(history.val_loss) else "good fit"


def diagnose_validation_accuracy_rule1(history):
    if history.val_acc[-1] < 97:
        return "underfitting"
    return diagnose_right(history)


def diagnose_non_strict_train(history):
    return "underfitting" if history.train_acc[-1] <= 97 else diagnose_right(history)


def diagnose_non_strict_gap(history):
    if history.train_acc[-1] >= 97 and history.train_acc[-1] - history.val_acc[-1] >= 1.5:
        return "overfitting"
    return diagnose_right(history)


def diagnose_mean_accuracy(history):
    train, val = statistics.fmean(history.train_acc), statistics.fmean(history.val_acc)
    if train < 97:
        return "underfitting"
    if train - val > 1.5 or history.val_loss[-1] > 1.2 * min(history.val_loss):
        return "overfitting"
    return "good fit"


class AlwaysEqualStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


DIAGNOSE_WRONG = [
    diagnose_overfit_first,
    diagnose_rule2_first,
    diagnose_first_loss,
    diagnose_any_rise,
    diagnose_non_strict,
    diagnose_non_strict_train,
    diagnose_non_strict_gap,
    diagnose_gap_only,
    diagnose_loss_only,
    diagnose_validation_accuracy_rule1,
    diagnose_mean_accuracy,
    diagnose_best_epoch,
    diagnose_old_names,
    diagnose_mutating,
    lambda h: "good fit",
    lambda h: "Overfitting",
    lambda h: AlwaysEqualStr("?"),
]


@pytest.mark.parametrize("answer", DIAGNOSE_WRONG, ids=lambda a: a.__name__)
def test_diagnose_visible_check_calls_no_typical_wrong_answer_correct(answer):
    fails(check.diagnose, answer)
    fails(check.diagnose, answer, hidden=True)


STEP_LR_WRONG = [
    lambda e, lr, s, g: lr * g ** (e // s),
    lambda e, lr, s, g: lr * g ** max(0, (e - 2) // s),
    lambda e, lr, s, g: lr * g ** ((e - 1) / s),
    lambda e, lr, s, g: lr * g * ((e - 1) // s) if e > s else lr,
    lambda e, lr, s, g: lr * g,
    lambda e, lr, s, g: lr if e <= 15 else lr * g,  # the course schedule only
    lambda e, lr, s, g: str(lr),
]


@pytest.mark.parametrize("answer", STEP_LR_WRONG)
def test_step_lr_visible_check_calls_no_typical_wrong_answer_correct(answer):
    fails(check.step_lr, answer)


def test_diagnose_visible_labels_are_the_rules():
    assert [reference_diagnose(h) for h, _ in check.VISIBLE_CASES] == [want for _, want in check.VISIBLE_CASES]


def test_run_training_visible_expectation_is_the_reference():
    """The visible check compares with mnist_ref.fit; the grader with its own reference loop: the same numbers."""
    for run in (check.VISIBLE_RUN, seeded_run(0), seeded_run(1)):
        (fit_weights, fit_history), (ref_weights, ref_history) = library_run(run), reference_run(run)
        assert all(torch.equal(fit_weights[k], ref_weights[k]) for k in ref_weights)
        for key in ("train_acc", "train_loss", "val_acc", "val_loss", "lr"):
            assert fit_history[key] == ref_history[key]


def test_step_lr_reference_is_steplr():
    for base_lr, step_size, gamma, epochs in seeded_step_lr_cases(0) + [(0.01, 15, 0.1, 20)]:
        expected = step_lr_schedule(base_lr, step_size, gamma, epochs)
        got = [reference_step_lr(e, base_lr, step_size, gamma) for e in range(1, epochs + 1)]
        assert got == pytest.approx(expected, rel=1e-9)


# --- the grader's side: seeds, exact types, the library's own answers ------------------------------

CORRECT = [
    (check.step_lr, reference_step_lr),
    (check.step_lr, step_lr_loop),
    (check.run_training, run_training_right),
    (check.run_training, run_training_dict),
    (check.diagnose, diagnose_right),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("exercise", "answer"), CORRECT, ids=lambda v: getattr(v, "__name__", None) or v.title)
def test_correct_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


def test_grader_inputs_vary_with_the_seed():
    for exercise in (check.step_lr, check.run_training, check.diagnose):
        assert requests_for([exercise.key], 1) != requests_for([exercise.key], 2), exercise.title
    assert seeded_histories(1) != seeded_histories(2)


def test_strict_histories_cover_every_label():
    labels = [reference_diagnose(h) for s in range(3) for h in seeded_histories(s)] + [
        reference_diagnose(h) for h in STRICT_HISTORIES
    ]
    assert set(labels) == set(check.LABELS)


class Rate(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class MyHistory(History):
    pass


def test_exact_types_only_cross_to_the_grader():
    fails(check.step_lr, lambda e, lr, s, g: Rate(reference_step_lr(e, lr, s, g)), "Rate", hidden=True)
    fails(check.diagnose, lambda h: AlwaysEqualStr(reference_diagnose(h)), "AlwaysEqualStr", hidden=True)

    def run_training_subclass(*args, **kwargs):
        return MyHistory(**run_training_right(*args, **kwargs).to_dict())

    fails(check.run_training, run_training_subclass, "MyHistory", hidden=True)


def step_lr_with_steplr(epoch, base_lr, step_size, gamma):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)
    for _ in range(epoch - 1):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


def run_training_with_fit(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
    return engine.fit(
        model,
        device,
        train_loader,
        validation_loader=validation_loader,
        epochs=epochs,
        optimizer=optimizer,
        scheduler=scheduler,
        progress=False,
    )


@pytest.mark.parametrize(
    ("exercise", "answer", "used"),
    [
        (check.step_lr, step_lr_with_steplr, "torch.optim.lr_scheduler.StepLR"),
        (check.step_lr, lambda e, lr, s, g: step_lr_schedule(lr, s, g, e)[-1], "mnist_ref.recipes.step_lr_schedule"),
        (
            check.step_lr,
            lambda e, lr, s, g: __import__("mnist_ref").recipes.step_lr_schedule(lr, s, g, e)[-1],
            "step_lr_schedule",
        ),
        (check.run_training, run_training_with_fit, "mnist_ref.engine.fit"),
    ],
)
def test_library_counterparts_are_refused(exercise, answer, used):
    exercise(answer)  # the library's answer is right: the visible check says so...
    fails(exercise, answer, used, "write it yourself", hidden=True)  # ...but it earns nothing


# --- the self-checked questions (mnist_ref/checks/questions.py) -------------------------------------


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [("a", "memorizes"), ("b", "test set"), ("d", "turns back up"), ("e", "one of 'a', 'b', 'c', 'd'"), (3, "got 3")],
)
def test_best_epoch_question_names_each_wrong_choice(answer, fragment):
    fails(check.q_best_epoch.check, answer, fragment)


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [(0.01, "plain SGD's step"), (0.001, "dampening=0"), (0.019, "after two steps"), (1, "v = 0.9")],
)
def test_momentum_question_names_each_wrong_number(answer, fragment):
    fails(check.q_momentum_step.check, answer, fragment)


@pytest.mark.parametrize("question", [check.q_best_epoch, check.q_momentum_step])
def test_questions_accept_the_right_answer_and_never_stop_the_notebook(question, capsys):
    question.check(question.right)
    assert "✅" in capsys.readouterr().out
    question(None)  # unanswered: a line, not an exception (practice, under nbgrader too)
    assert "not attempted yet" in capsys.readouterr().out
    with pytest.raises(NotAttempted):
        question.check(None)
    question("zzz" if isinstance(question.right, str) else -1.0)
    assert "not yet correct" in capsys.readouterr().out
    question.solution()
    assert repr(question.right) in capsys.readouterr().out


def test_choice_answers_ignore_case_and_spaces_and_numbers_a_bool_is_no_number():
    check.q_best_epoch.check(" C ")
    fails(check.q_momentum_step.check, True, "answer with a number")
    check.q_momentum_step.check(0.10001)  # within the tolerance
