"""Lesson 04's checks of the two formulas written by hand: ``nll_loss`` and ``sgd_momentum_step``.

Both are compared with PyTorch's own (``F.nll_loss``, ``torch.optim.SGD``) on seeded inputs; a
wrong answer is matched against the usual slips (sign, sum instead of mean, lr in the velocity...).
The grader's stricter cases live on the instructor's side (``mnist_course.checks.lesson04``), which
reuses the comparisons and messages below. ``nll_loss`` is graded from what :func:`ask_nll_loss`
reports (its values on seeded cases and the gradient that flows back through it), because whether
a result stays connected to its input shows only where the answer runs.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

from ..framework import CheckFailed, Exercise, NotAttempted, call, expect, expect_tensor

# --- 1. nll_loss -------------------------------------------------------------------------------


def nll_inputs(n: int, classes: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(n, classes, generator=g)
    targets = torch.randint(0, classes, (n,), generator=g)
    return F.log_softmax(logits, dim=1), targets


NLL_VISIBLE_CASE = (5, 10, 0)  # (samples, classes, seed of the inputs)


def nll_cases(seed: int) -> list[tuple[int, int, int]]:
    """The cases the grader runs ``nll_loss`` on: the visible one, named edge cases, one drawn from ``seed``."""
    draw = random.Random(seed)
    seeded_case = (draw.randint(2, 100), draw.randint(2, 12), 1000 + seed % 100_000)
    return [NLL_VISIBLE_CASE, (1, 3, 1), (64, 10, 2), (7, 2, 3), seeded_case]


def nll_gradient_case(seed: int) -> tuple[int, int, int]:
    """The case whose gradient the grader asks for."""
    return (6, 10, 4 + seed % 1000)


def _failed(exc: CheckFailed) -> dict:
    return {"error": str(exc), "not_attempted": isinstance(exc, NotAttempted)}


def nll_outcome(answer, n: int, classes: int, seed: int) -> dict:
    """What the answer does on one case, as data: its result (a tensor, or the type it was) and
    whether it changed its input."""
    log_probs, targets = nll_inputs(n, classes, seed)
    given = log_probs.clone()
    try:
        out = call(answer, given, targets.clone(), what="nll_loss")
    except CheckFailed as exc:
        return _failed(exc)
    tensor = type(out) is torch.Tensor
    return {
        "out": out.detach().clone() if tensor else None,
        "type": "Tensor" if tensor else type(out).__name__,
        "changed": not torch.equal(given, log_probs),
    }


def nll_gradient(answer, n: int, classes: int, seed: int) -> dict:
    """Whether the answer's result on a case requires grad, and the gradient ``backward()`` leaves on its input."""
    log_probs, targets = nll_inputs(n, classes, seed)
    mine = log_probs.clone().requires_grad_(True)
    try:
        out = call(answer, mine, targets, what="nll_loss")
        connected = type(out) is torch.Tensor and out.requires_grad
        if connected:
            call(out.backward, what="loss.backward() on the result of nll_loss")
    except CheckFailed as exc:
        return _failed(exc)
    grad = mine.grad
    return {"requires_grad": connected, "grad": grad.detach().clone() if type(grad) is torch.Tensor else None}


def ask_nll_loss(answer, seed: int) -> dict:
    """The grader's questions: the answer on every case of :func:`nll_cases`, and its gradient."""
    return {
        "cases": [nll_outcome(answer, *case) for case in nll_cases(seed)],
        "gradient": nll_gradient(answer, *nll_gradient_case(seed)),
    }


def raise_failure(outcome: dict) -> None:
    """Raise the failure an outcome reports (the answer was not attempted, or raised), if any."""
    __tracebackhide__ = True
    if "error" in outcome:
        message = str(outcome["error"])
        raise NotAttempted(message) if outcome.get("not_attempted") is True else CheckFailed(message)


def judge_nll_case(outcome, n: int, classes: int, seed: int) -> None:
    """The answer's outcome on one case against F.nll_loss; names the usual slips."""
    __tracebackhide__ = True
    expect(type(outcome) is dict, "nll_loss was not run on the grader's inputs.")
    raise_failure(outcome)
    log_probs, targets = nll_inputs(n, classes, seed)
    what = f"nll_loss(log_probs, targets) for {n} samples and {classes} classes"
    out = outcome.get("out")
    if type(out) is not torch.Tensor:
        raise CheckFailed(f"{what} should be a torch.Tensor, got {str(outcome.get('type'))[:80]}")
    expect(
        outcome.get("changed") is False,
        "nll_loss changed its input log_probs in place; compute a new tensor instead.",
    )
    shape = tuple(out.shape)
    if shape == (n, n) and n > 1:
        raise CheckFailed(
            f"{what} has shape {shape}: log_probs[:, targets] picks whole columns. "
            "Pick ONE entry per row with log_probs[torch.arange(N), targets], then average."
        )
    if shape == (n,) and n > 1:
        raise CheckFailed(
            f"{what} has shape {shape}: that is the loss of every sample. "
            "The loss is one number, the MEAN over the batch (.mean())."
        )
    expect(out.dim() == 0, f"{what} has shape {shape}; expected a single number (a 0-d tensor).")
    expected = F.nll_loss(log_probs, targets)
    value = out.double()
    close = lambda a, b: math.isclose(float(a), float(b), rel_tol=1e-4, abs_tol=1e-5)  # noqa: E731
    if not close(value, expected):
        picked = log_probs[torch.arange(n), targets]
        if close(value, -expected):
            hint = "The sign is flipped: the loss is the NEGATIVE log-probability of the target (it is >= 0)."
        elif close(value, expected * n) and n > 1:
            hint = "That is the SUM over the batch; the loss is the MEAN (divide by N)."
        elif close(value, -log_probs.mean()) or close(value, log_probs.mean()):
            hint = "You averaged over all classes; only the log-probability of each sample's TARGET class counts."
        elif close(value, -picked.exp().mean()):
            hint = "log_probs are already logarithms: do not exponentiate them, just pick and negate."
        else:
            hint = "Expected -mean(log_probs[i, targets[i]]) over the samples i."
        raise CheckFailed(f"{what} is {float(value):.6g}, expected {float(expected):.6g}. {hint}")


def _nll_visible(answer) -> str:
    __tracebackhide__ = True
    judge_nll_case(nll_outcome(answer, *NLL_VISIBLE_CASE), *NLL_VISIBLE_CASE)
    return "It matches F.nll_loss."


nll_loss = Exercise(
    "nll_loss",
    _nll_visible,
    "pick each row's target entry with log_probs[torch.arange(len(targets)), targets], negate, and take the mean.",
    key="lesson04.nll_loss",
    ask=ask_nll_loss,
)


# --- 2. sgd_momentum_step ----------------------------------------------------------------------


def _sgd_problem(seed: int, steps: int):
    """Two parameters of different shapes (float64) and `steps` sets of gradients for them."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    grads = [[torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params] for _ in range(steps)]
    return params, grads


def _torch_sgd_trace(params, grads, lr, momentum):
    """[(params, velocities)] after every step, as torch.optim.SGD computes them."""
    tensors = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.SGD(tensors, lr=lr, momentum=momentum)
    trace = []
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = g.clone()
        opt.step()
        velocities = [opt.state[t]["momentum_buffer"].clone() if momentum else t.grad.clone() for t in tensors]
        trace.append(([t.detach().clone() for t in tensors], velocities))
    return trace


def _as_pair_of_lists(result, n: int, step: int):
    __tracebackhide__ = True
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2 and all(isinstance(r, (tuple, list)) for r in result),
        "sgd_momentum_step should return a pair (new_params, new_velocities) of two lists (one tensor per parameter "
        f"in each); step {step} returned a {type(result).__name__}"
        + (f" of {', '.join(type(r).__name__ for r in result)}" if isinstance(result, (tuple, list)) else "")
        + ".",
    )
    new_params, new_velocities = result
    for name, value in (("new_params", new_params), ("new_velocities", new_velocities)):
        expect(
            isinstance(value, (tuple, list)) and len(value) == n,
            f"{name} should be a list with one tensor per parameter ({n}); got {type(value).__name__}"
            + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
            + ".",
        )
        for item in value:
            expect_tensor(item, f"each entry of {name}")
    return list(new_params), list(new_velocities)


def _allclose(a, b) -> bool:
    return all(torch.allclose(x.detach().double(), y.double(), atol=1e-10, rtol=1e-9) for x, y in zip(a, b))


def compare_sgd(answer, seed: int, steps: int, lr: float, momentum: float) -> None:
    """``steps`` steps of ``answer`` against torch.optim.SGD. Every step starts from torch's state after
    the step before (not from the answer's), so each call's inputs are the grader's own."""
    __tracebackhide__ = True
    params, grads = _sgd_problem(seed, steps)
    trace = _torch_sgd_trace(params, grads, lr, momentum)
    previous, old_velocities = params, [None] * len(params)
    for step, (step_grads, (want_params, want_velocities)) in enumerate(zip(grads, trace), start=1):
        result = call(
            answer,
            [p.clone() for p in previous],
            [g.clone() for g in step_grads],
            [None if v is None else v.clone() for v in old_velocities],
            lr,
            momentum,
            what="sgd_momentum_step",
        )
        current, velocities = _as_pair_of_lists(result, len(params), step)
        for got, want in zip(current, want_params):
            expect(
                tuple(got.shape) == tuple(want.shape),
                f"after step {step} a parameter has shape {tuple(got.shape)}; expected {tuple(want.shape)}.",
            )
        where = f"(lr={lr}, momentum={momentum}, step {step})"
        if not _allclose(velocities, want_velocities):
            if step == 1:
                hint = (
                    "At the first step there is no velocity yet (None): PyTorch starts with v = g, the gradient "
                    "itself (the same as v = momentum * 0 + g)."
                )
            else:
                hint = "The velocity is v = momentum * v + g: the old velocity times momentum, plus the new gradient."
            if lr not in (0, 1) and _allclose(velocities, [lr * v for v in want_velocities]):
                hint = (
                    "Your velocity is lr times PyTorch's: in PyTorch's form the velocity collects raw gradients, "
                    "v = momentum * v + g, and lr only multiplies it in the parameter update p = p - lr * v."
                )
            raise CheckFailed(
                f"the velocities after the step differ from torch.optim.SGD's momentum buffers {where}. {hint}"
            )
        if not _allclose(current, want_params):
            up = [2 * p - w for p, w in zip(previous, want_params)]  # p + lr * v instead of p - lr * v
            stale = [torch.zeros_like(p) if v is None else v for p, v in zip(previous, old_velocities)]
            late = [p - lr * v for p, v in zip(previous, stale)]
            if _allclose(current, up):
                hint = "The parameters moved UP the gradient: the update is p = p - lr * v."
            elif _allclose(current, late):
                hint = (
                    "You moved the parameters with the OLD velocity: first update v = momentum * v + g, "
                    "then p = p - lr * v."
                )
            else:
                hint = "After updating the velocity, move each parameter by p = p - lr * v."
            raise CheckFailed(f"the parameters after the step differ from torch.optim.SGD's {where}. {hint}")
        previous, old_velocities = want_params, want_velocities


def _sgd_visible(answer) -> str:
    __tracebackhide__ = True
    compare_sgd(answer, seed=0, steps=3, lr=0.05, momentum=0.9)
    return "Three steps match torch.optim.SGD(lr=0.05, momentum=0.9), parameters and velocities."


sgd_momentum_step = Exercise(
    "sgd_momentum_step",
    _sgd_visible,
    "for each (p, g, v): v = g.clone() if v is None else momentum * v + g; then p = p - lr * v. Return both lists.",
    key="lesson04.sgd_momentum_step",
)
