"""Lesson 04's graded checks: the visible cases, then named cases and one drawn from the seed.

``nll_loss`` is judged from what its public ask reports (values on the grader's cases, and the
gradient that flows back through the result: only the learner's kernel can see that the result
stays connected to its input). ``sgd_momentum_step``, ``train`` and ``test`` are replayed: the
spy models, synthetic loaders and counting optimizers cross as data, and the state the learner's
call leaves them in (weights, gradients, forward calls, optimizer steps and momentum buffers) is
put back into the grader's own objects before the check reads it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.sgd import sgd as functional_sgd

from mnist_ref import engine
from mnist_ref.checks.framework import CheckFailed, expect, expect_close
from mnist_ref.checks.lesson04.by_hand import (
    compare_sgd,
    judge_nll_case,
    nll_cases,
    nll_gradient_case,
    nll_inputs,
    raise_failure,
)
from mnist_ref.checks.lesson04.loops import compare_test, compare_train
from mnist_ref.recipes import classic_optimizer

from .graded import Asked, Replayed, refuse_library

# --- nll_loss -----------------------------------------------------------------------------------

NOT_CONNECTED = (
    "nll_loss must stay a tensor connected to log_probs (no .item(), float(...) or torch.tensor(...)): "
    "training calls loss.backward() on it."
)


def judge_nll_gradient(outcome, n: int, classes: int, seed: int) -> None:
    __tracebackhide__ = True
    expect(type(outcome) is dict, "nll_loss was not run on the grader's gradient case.")
    raise_failure(outcome)
    grad = outcome.get("grad")
    expect(outcome.get("requires_grad") is True and type(grad) is torch.Tensor, NOT_CONNECTED)
    log_probs, targets = nll_inputs(n, classes, seed)
    reference = log_probs.clone().requires_grad_(True)
    F.nll_loss(reference, targets).backward()
    expect_close(grad, reference.grad, "the gradient of nll_loss with respect to log_probs")


def judge_nll_loss(data, seed: int) -> None:
    __tracebackhide__ = True
    cases = nll_cases(seed)
    outcomes = data.get("cases") if type(data) is dict else None
    expect(
        type(outcomes) is list and len(outcomes) == len(cases),
        "nll_loss was not run on every case the grader asked for.",
    )
    for case, outcome in zip(cases, outcomes, strict=True):
        judge_nll_case(outcome, *case)
    judge_nll_gradient(data.get("gradient"), *nll_gradient_case(seed))


@dataclass(frozen=True)
class AskedByHand(Asked):
    """Asked, and a refusal of the library that says how the exercise wants it done."""

    how: str = ""

    def judge(self, name: str, request: dict, payload: dict) -> None:
        __tracebackhide__ = True
        try:
            refuse_library(payload.get("describe"), self.library, name)
        except CheckFailed as exc:
            raise CheckFailed(f"{exc} {self.how}") from None
        super().judge(name, request, payload)


# The exercise text: "by indexing, without calling PyTorch's losses".
LIBRARY_LOSSES = (
    F.nll_loss,
    F.cross_entropy,
    nn.NLLLoss,
    nn.CrossEntropyLoss,
    torch._C._nn.nll_loss,
    torch._C._nn.nll_loss_nd,
    torch._C._nn.cross_entropy_loss,
    torch.ops.aten.nll_loss,
    torch.ops.aten.nll_loss_nd,
    torch.ops.aten.cross_entropy_loss,
)

# --- sgd_momentum_step --------------------------------------------------------------------------


def reference_sgd_momentum_step(params, grads, velocities, lr, momentum):
    """PyTorch's form (dampening 0, no Nesterov): v = momentum * v + g (v = g the first time); p = p - lr * v."""
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = g.clone() if v is None else momentum * v + g
        new_params.append(p - lr * v)
        new_velocities.append(v)
    return new_params, new_velocities


SGD_CASES = [  # (seed of the problem, steps, lr, momentum)
    (0, 3, 0.05, 0.9),  # the visible case
    (1, 5, 0.01, 0.9),
    (2, 3, 0.5, 0.0),  # plain SGD: v = g
    (3, 4, 0.03, 0.5),
]


def seeded_sgd_case(seed: int) -> tuple[int, int, float, float]:
    draw = random.Random(seed)
    return (
        100 + seed % 100_000,
        draw.randint(1, 4),
        round(draw.uniform(0.001, 0.5), 4),
        round(draw.uniform(0, 0.99), 2),
    )


def check_sgd_momentum_step(answer, seed: int) -> None:
    __tracebackhide__ = True
    for case in [*SGD_CASES, seeded_sgd_case(seed)]:
        compare_sgd(answer, *case)


# The optimizer the exercise re-implements, its functional form, and the course's builder of it.
LIBRARY_SGD = (torch.optim.SGD, functional_sgd, classic_optimizer)

# --- train --------------------------------------------------------------------------------------


def reference_train(model, device, train_loader, optimizer):
    model.train()
    train_losses, correct, processed = [], 0, 0
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        train_losses.append(loss.item())
        correct += (output.argmax(dim=1) == target).sum().item()
        processed += len(target)
    return 100.0 * correct / processed, train_losses


TRAIN_CASES = [
    {},  # the visible case
    {"kind": "conv", "seed": 1, "lr": 0.02, "momentum": 0.9, "sizes": (6, 6, 6, 3)},
    {"kind": "linear", "seed": 2, "lr": 0.1, "momentum": 0.5, "sizes": (4,)},
]


def seeded_train_case(seed: int) -> dict:
    draw = random.Random(seed)
    return {
        "kind": draw.choice(("linear", "conv")),
        "seed": 10 + seed % 100_000,
        "lr": draw.choice((0.01, 0.02, 0.05)),
        "momentum": draw.choice((0.0, 0.5, 0.9)),
        "sizes": tuple(draw.randint(2, 8) for _ in range(draw.randint(2, 4))),
    }


def check_train(answer, seed: int) -> None:
    __tracebackhide__ = True
    for case in [*TRAIN_CASES, seeded_train_case(seed)]:
        compare_train(answer, **case)


# --- test ---------------------------------------------------------------------------------------


def reference_test(model, device, test_loader):
    model.eval()
    test_losses, correct, processed = [], 0, 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_losses.append(F.nll_loss(output, target).item())
            correct += (output.argmax(dim=1) == target).sum().item()
            processed += len(target)
    return 100.0 * correct / processed, test_losses


TEST_CASES = [
    {},  # the visible case
    {"kind": "conv", "seed": 4, "sizes": (5, 5, 2)},
    {"kind": "linear", "seed": 5, "sizes": (16,)},
]


def seeded_test_case(seed: int) -> dict:
    draw = random.Random(seed)
    return {
        "kind": draw.choice(("linear", "conv")),
        "seed": 10 + seed % 100_000,
        "sizes": tuple(draw.randint(2, 12) for _ in range(draw.randint(1, 3))),
    }


def check_test(answer, seed: int) -> None:
    __tracebackhide__ = True
    for case in [*TEST_CASES, seeded_test_case(seed)]:
        compare_test(answer, **case)


GRADED = {
    "lesson04.nll_loss": AskedByHand(
        judge_nll_loss,
        library=LIBRARY_LOSSES,
        how="Write nll_loss by indexing (log_probs[torch.arange(N), targets]), not by calling PyTorch's loss.",
    ),
    "lesson04.sgd_momentum_step": Replayed(
        check_sgd_momentum_step, reference=reference_sgd_momentum_step, library=LIBRARY_SGD
    ),
    # mnist_ref's epoch (and fit, which runs it) is the exercise's answer; F.nll_loss is fine inside it.
    "lesson04.train": Replayed(check_train, reference=reference_train, library=(engine.train, engine.fit)),
    "lesson04.test": Replayed(check_test, reference=reference_test, library=(engine.test,)),
}
