"""Lesson 04's checks of the training and the test loop: ``train`` and ``test``.

They never touch MNIST: they run the learner's function on a tiny synthetic loader (a list of a
few ``(data, target)`` batches of shape ``(B, 1, 28, 28)``) with a small spy model, and compare
with ``mnist_ref.engine.train`` / ``test`` started from the same weights. The spy model records,
at every forward pass, whether it was in training mode and whether autograd was on; a counting
optimizer records ``step`` calls. The grader runs :func:`compare_train` and :func:`compare_test`
on more cases (``mnist_course.checks.lesson04``): every call starts from a model, loader and
optimizer built afresh from the case, so the grader can replay it.

Decision on the per-batch losses: they must be **Python floats** (``loss.item()``). A list of
tensors, even 0-d ones, is refused with a message saying so: a loss tensor kept from every
batch keeps that batch's computation graph (and its activations) alive for the whole epoch.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from mnist_ref import engine

from ..fixtures import CPU, CountingSGD, SpyNet, make_model, same_weights, synthetic_batches, weights_of
from ..framework import CheckFailed, Exercise, call, expect

PRETRAIN = (8, 8, 8, 8)  # batches a test-check model trains on before it is evaluated
TEST_NOISE = 1.5


def trained_model_and_test_batches(kind: str, seed: int, sizes) -> tuple[SpyNet, list]:
    """A model after a few deterministic training steps, and fresh batches of the same classes to
    evaluate it on: its accuracy there is neither 0 nor 100 %, so every mistake shows."""
    batches = synthetic_batches(seed, PRETRAIN + tuple(sizes), noise=TEST_NOISE)
    model = make_model(kind, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    engine.train(model, CPU, batches[: len(PRETRAIN)], optimizer, progress=False)
    model.calls.clear()
    for p in model.parameters():
        p.grad = None
    return model, batches[len(PRETRAIN) :]


def _train_without_zero_grad(model, loader, optimizer) -> None:
    """The classic bug: gradients of all earlier batches pile up in .grad."""
    model.train()
    for data, target in loader:
        F.nll_loss(model(data), target).backward()
        optimizer.step()


def _expect_float_losses(losses, n_batches: int, who: str) -> None:
    __tracebackhide__ = True
    name = f"{who}_losses"
    if isinstance(losses, (numbers.Number, torch.Tensor)) and not (
        isinstance(losses, torch.Tensor) and losses.dim() == 1
    ):
        raise CheckFailed(
            f"{name} should be a list with the loss of EVERY batch ({n_batches} here), "
            "not a single number: append each batch's loss to a list."
        )
    expect(
        isinstance(losses, (list, tuple)),
        f"{name} should be a list of Python floats (one per batch); got {type(losses).__name__}.",
    )
    expect(
        len(losses) == n_batches,
        f"{name} has {len(losses)} entries for a loader of {n_batches} batches: append exactly one loss per batch.",
    )
    for value in losses:
        if isinstance(value, torch.Tensor):
            raise CheckFailed(
                f"{name} holds torch.Tensor values; store Python floats with loss.item(). "
                "(This course asks for floats: a loss tensor kept from every batch also keeps that "
                "batch's computation graph in memory for the whole epoch.)"
            )
        expect(
            isinstance(value, numbers.Real),
            f"{name} should hold Python floats (loss.item()); found a {type(value).__name__}.",
        )


def _expect_percent(acc, expected: float, who: str, hint: str) -> None:
    __tracebackhide__ = True
    name = f"{who}_acc"
    if isinstance(acc, torch.Tensor) and acc.dim() == 0:
        acc = acc.item()
    expect(isinstance(acc, numbers.Real), f"{name} should be a number (a percentage); got {type(acc).__name__}.")
    if expected > 1 and math.isclose(acc, expected / 100, rel_tol=1e-6, abs_tol=1e-9):
        raise CheckFailed(
            f"{name} is {acc:.4g}: that is a fraction. Report accuracy in PERCENT: 100 * correct / total."
        )
    if not math.isclose(acc, expected, rel_tol=1e-6, abs_tol=1e-6):
        raise CheckFailed(f"{name} is {acc:.4g}%, expected {expected:.4g}%. {hint}")


def _expect_result_pair(result, who: str):
    __tracebackhide__ = True
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"{who} should return a pair ({who}_acc, {who}_losses); got {type(result).__name__}"
        + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        + ".",
    )
    return result


# --- 3. train ----------------------------------------------------------------------------------


def compare_train(
    answer, kind: str = "linear", seed: int = 0, lr: float = 0.05, momentum: float = 0.9, sizes=(8, 8, 5)
) -> None:
    """One epoch of ``answer`` on a synthetic loader against ``mnist_ref.engine.train`` from the same weights."""
    __tracebackhide__ = True
    loader = synthetic_batches(seed, sizes)
    n = len(loader)

    def fresh():
        model = make_model(kind, seed)
        model.eval()  # start in eval mode: train() must switch it to training mode itself
        return model, CountingSGD(model.parameters(), lr=lr, momentum=momentum)

    ref_model, ref_opt = fresh()
    ref_acc, ref_losses = engine.train(ref_model, CPU, loader, ref_opt, progress=False)
    ref_weights = weights_of(ref_model)

    model, opt = fresh()
    start = weights_of(model)
    acc, losses = _expect_result_pair(call(answer, model, CPU, loader, opt, what="train"), "train")

    expect(model.calls, "train never called the model: run every batch through model(data).")
    expect(
        all(training for training, _ in model.calls),
        "the model was in evaluation mode while training: call model.train() at the start of train "
        "(the previous test() left it in eval mode; "
        "dropout and batch-norm layers behave differently in the two modes).",
    )
    expect(
        all(grad for _, grad in model.calls),
        "the forward pass ran without autograd (no_grad/inference_mode): "
        "training needs gradients, keep torch.no_grad() for test().",
    )
    expect(opt.steps == n, f"optimizer.step() was called {opt.steps} time(s) for {n} batches: call it once per batch.")
    _expect_float_losses(losses, n, "train")

    weights = weights_of(model)
    if not same_weights(weights, ref_weights):
        bug_model, bug_opt = fresh()
        _train_without_zero_grad(bug_model, loader, bug_opt)
        if same_weights(weights, weights_of(bug_model)):
            raise CheckFailed(
                "the weights after train differ from the reference: the gradients ACCUMULATED over the batches. "
                "Call optimizer.zero_grad() in every batch, before loss.backward()."
            )
        if same_weights(weights, start, atol=0):
            raise CheckFailed(
                "the weights did not change: compute the loss, call loss.backward() (after zero_grad, "
                "not between backward and step), then optimizer.step()."
            )
        raise CheckFailed(
            "the weights after train differ from mnist_ref.train started from the same weights: each batch "
            "is zero_grad -> output = model(data) -> loss = F.nll_loss(output, target) -> loss.backward() -> "
            "optimizer.step()."
        )
    for i, (got, want) in enumerate(zip(losses, ref_losses)):
        expect(
            math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5),
            f"train_losses[{i}] is {got:.6g}, expected {want:.6g}: "
            "record each batch's F.nll_loss(output, target).item(), "
            "computed on that batch before the step.",
        )
    _expect_percent(
        acc,
        ref_acc,
        "train",
        "Count output.argmax(dim=1) == target over the epoch and divide by the number of "
        "images seen (the last batch is smaller: do not assume batch_size * number of batches).",
    )


def _train_visible(answer) -> str:
    __tracebackhide__ = True
    compare_train(answer)
    return "Same weights, losses and accuracy as mnist_ref.train on a tiny synthetic loader."


train = Exercise(
    "train",
    _train_visible,
    "model.train(); then for every batch: move data and target to device, optimizer.zero_grad(), output = model(data), "
    "loss = F.nll_loss(output, target), loss.backward(), optimizer.step(); append loss.item() and count correct "
    "predictions.",
    key="lesson04.train",
)


# --- 4. test -----------------------------------------------------------------------------------


def compare_test(answer, kind: str = "linear", seed: int = 3, sizes=(8, 8, 5)) -> None:
    """``answer`` on fresh batches against ``mnist_ref.engine.test``, on a model trained a little."""
    __tracebackhide__ = True
    ref_model, loader = trained_model_and_test_batches(kind, seed, sizes)
    n = len(loader)
    ref_acc, ref_losses = engine.test(ref_model, CPU, loader, progress=False)

    model, _ = trained_model_and_test_batches(kind, seed, sizes)
    model.train()  # start in training mode: test() must switch to evaluation mode itself
    start = weights_of(model)
    acc, losses = _expect_result_pair(call(answer, model, CPU, loader, what="test"), "test")

    expect(model.calls, "test never called the model: run every batch through model(data).")
    expect(
        all(p.grad is None for p in model.parameters()),
        "test() computed gradients (the parameters have .grad): evaluation must not call loss.backward(); "
        "wrap the loop in torch.no_grad() (or torch.inference_mode()).",
    )
    expect(
        same_weights(weights_of(model), start, atol=0),
        "test() changed the weights: evaluation only measures the model, it must never update it.",
    )
    expect(
        not any(training for training, _ in model.calls),
        "the model was in training mode during test: call model.eval() at the start of test "
        "(dropout would drop units and batch-norm would use batch statistics).",
    )
    expect(
        not any(grad for _, grad in model.calls),
        "the test loop ran with autograd on: wrap it in `with torch.no_grad():` (or torch.inference_mode()) — "
        "no graph is needed, which saves memory and time. (model.eval() alone does not switch autograd off.)",
    )
    _expect_float_losses(losses, n, "test")
    for i, (got, want) in enumerate(zip(losses, ref_losses)):
        if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5):
            hint = (
                "that is the SUM over the batch: use the mean loss of the batch (F.nll_loss's default reduction)."
                if math.isclose(got, want * len(loader[i][1]), rel_tol=1e-4)
                else "record F.nll_loss(output, target).item() for every batch."
            )
            raise CheckFailed(f"test_losses[{i}] is {got:.6g}, expected {want:.6g}: {hint}")
    _expect_percent(
        acc,
        ref_acc,
        "test",
        "Count output.argmax(dim=1) == target over all batches and divide by the "
        "number of images (the last batch is smaller).",
    )


def _test_visible(answer) -> str:
    __tracebackhide__ = True
    compare_test(answer)
    return "Same accuracy and losses as mnist_ref.test; no weights changed, no gradients."


test = Exercise(
    "test",
    _test_visible,
    "model.eval(); with torch.no_grad(): for every batch compute output = model(data), append "
    "F.nll_loss(output, target).item() and count output.argmax(dim=1) == target; return (100 * correct / total, "
    "losses).",
    key="lesson04.test",
)
