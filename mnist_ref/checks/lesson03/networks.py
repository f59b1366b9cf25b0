"""Lesson 03's checks of whole models: ``ClassifierHead`` and ``Net``.

After the layers and the shape walk (:mod:`.layers`), the reference weights are copied into the
learner's layers by call order and the outputs compared with the course model's; when they
differ, the reference pass is replayed with typical mistakes (a ReLU left out, average pooling,
a ReLU on the scores) to name the one that matches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref.model import INPUT_SHAPE, NUM_CLASSES, NUM_PARAMETERS
from mnist_ref.model import Net as ReferenceNet

from ..architecture import (
    FEATURE_SHAPE,
    HEAD_ORDER,
    HEAD_PARAM_SHAPES,
    HEAD_PARAMETERS,
    HEAD_PARAMETERS_SUM,
    HEAD_ROLES,
    ORDER,
    RELU_AFTER,
    ROLES,
    WALK,
    reference_forward,
    reference_params,
)
from ..fixtures import private_seed, seeded
from ..framework import CheckFailed, Exercise, call, expect, expect_tensor
from .layers import Trace, check_layers, check_walk, module_params


def check_log_probs(out: torch.Tensor, what: str) -> None:
    """Rows of ``out`` (N, 10) must be log-probabilities: exp(row) sums to 1."""
    __tracebackhide__ = True
    out = out.detach().double()
    expect(
        bool(torch.isfinite(out).all()),
        f"{what} contains inf or nan; use F.log_softmax(x, dim=1), which is stable even for large scores.",
    )
    row_lse = torch.logsumexp(out, dim=1)
    if torch.allclose(row_lse, torch.zeros_like(row_lse), atol=1e-4):
        return
    if (
        (out >= 0).all()
        and (out <= 1).all()
        and torch.allclose(out.sum(dim=1), torch.ones(len(out), dtype=out.dtype), atol=1e-4)
    ):
        raise CheckFailed(
            f"{what} look like probabilities (each row is positive and sums to 1): that is softmax. "
            "The model must return log-probabilities: use F.log_softmax(x, dim=1) instead of F.softmax."
        )
    col_lse = torch.logsumexp(out, dim=0)
    if len(out) > 1 and torch.allclose(col_lse, torch.zeros_like(col_lse), atol=1e-4):
        raise CheckFailed(
            f"{what}: exp() of each COLUMN sums to 1, not each row: log_softmax ran over dim 0, the batch. "
            "Normalize over the 10 classes of each image: F.log_softmax(x, dim=1)."
        )
    if len(out) == 1 and torch.allclose(out, torch.zeros_like(out), atol=1e-6):
        raise CheckFailed(
            f"{what} is all zeros for a batch of one image: that is log_softmax over dim 0 (the batch). "
            "Normalize over the classes: F.log_softmax(x, dim=1)."
        )
    raise CheckFailed(
        f"{what} are not log-probabilities: exp() of a row should sum to 1 but sums to "
        f"{row_lse.exp()[0].item():.4g}. Finish with F.log_softmax(x, dim=1) on fc2's output."
    )


def _as_model(answer, what: str) -> nn.Module:
    __tracebackhide__ = True
    model = call(answer, what=f"{what}()")
    expect(
        isinstance(model, nn.Module),
        f"{what}() should create an nn.Module (class {what}(nn.Module)), got {type(model).__name__}",
    )
    return model


def _forward(
    model: nn.Module, x: torch.Tensor, what: str, roles: tuple[str, ...]
) -> tuple[torch.Tensor, list[nn.Module]]:
    """Trace a forward pass, check the layers and the shape walk; return (output, layers in call order)."""
    __tracebackhide__ = True
    trace = Trace(model, x, what)
    layers = check_layers(trace, roles, what)
    check_walk(trace, layers, roles, len(x))
    if trace.error is not None:
        raise CheckFailed(f"{what} raised {type(trace.error).__name__}: {trace.error}") from trace.error
    out = expect_tensor(trace.output, f"{what}'s output")
    expect(
        tuple(out.shape) == (len(x), NUM_CLASSES),
        f"{what} returned shape {tuple(out.shape)} for a batch of {len(x)}; expected ({len(x)}, {NUM_CLASSES}): one "
        "score per class.",
    )
    return out, layers


def load_reference_weights(layers: list[nn.Module], reference: list[torch.Tensor]) -> None:
    """Copy reference tensors into the layers' (weight, bias) in order; shapes were checked before."""
    params = [p for module in layers for p in module_params(module)]
    shapes = [tuple(p.shape) for p in params]
    expected = [tuple(t.shape) for t in reference]
    expect(shapes == expected, f"the parameter shapes are {shapes}; expected {expected}")
    with torch.no_grad():
        for p, t in zip(params, reference):
            p.copy_(t)


def _compare_with_reference(model, layers, x, params, what: str, head_only: bool) -> None:
    __tracebackhide__ = True
    params = params[-len(HEAD_PARAM_SHAPES) :] if head_only else params
    load_reference_weights(layers, params)
    with torch.no_grad():
        out = call(model, x, what=what)
        expected = reference_forward(params, x, head_only=head_only)
        if torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
            return
        again = call(model, x, what=what)
    expect(
        torch.allclose(out, again),
        f"{what} gives different outputs for the same input: the course model has no dropout or other randomness.",
    )
    relus = [role for role in RELU_AFTER if role in HEAD_ROLES]  # the head's ReLUs are tried first
    if not head_only:
        relus += [role for role in RELU_AFTER if role not in HEAD_ROLES]
    variants = [(f"the ReLU after {role} is missing", dict(without_relu_after={role})) for role in relus]
    if not head_only:
        variants.append(("there is no ReLU at all", dict(without_relu_after=set(RELU_AFTER))))
        variants.append(
            (
                "the pools take the average of each window instead of the maximum: use max-pooling",
                dict(pool=F.avg_pool2d),
            )
        )
    variants.append(
        (
            "a ReLU is applied to fc2's scores before log_softmax: scores must be free to be negative",
            dict(relu_on_scores=True),
        )
    )
    for story, switches in variants:
        if torch.allclose(out, reference_forward(params, x, head_only=head_only, **switches), atol=1e-4, rtol=1e-4):
            raise CheckFailed(
                f"With the reference weights loaded, {what} gives other outputs than the reference: {story}. "
                f"The order is {HEAD_ORDER if head_only else ORDER}."
            )
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"With the reference weights loaded, {what}'s outputs differ from the reference by up to {worst:.3g}. "
        f"Check the order of operations: {HEAD_ORDER if head_only else ORDER}."
    )


def _check_gradients(model: nn.Module, x: torch.Tensor, what: str) -> None:
    __tracebackhide__ = True
    model.zero_grad()
    out = call(model, x, what=what)
    expect(
        out.requires_grad,
        f"{what}'s output does not require grad: don't use torch.no_grad() or .detach() inside forward.",
    )
    out.sum().backward()
    for name, p in model.named_parameters():
        expect(
            p.grad is not None and bool(p.grad.abs().sum() > 0),
            f"no gradient reaches `{name}`: don't use torch.no_grad(), .detach() or .data inside forward.",
        )


# --- exercise 3: ClassifierHead ----------------------------------------------------------------


def _head_checks(answer, batch: int, seed: int) -> nn.Module:
    __tracebackhide__ = True
    with private_seed(seed):
        head = _as_model(answer, "ClassifierHead")
    features = seeded(seed + 100, batch, *FEATURE_SHAPE).relu()
    trace = Trace(head, features, "ClassifierHead")
    layers = check_layers(trace, HEAD_ROLES, "ClassifierHead")
    if trace.error is not None:
        shape_error = "cannot be multiplied" in str(trace.error) or "size mismatch" in str(trace.error)
        record = trace.records[0] if trace.records else None
        if record and record["in"] is not None and len(record["in"]) == 4:
            raise CheckFailed(
                f"fc1 receives the features unflattened, {record['in']}: flatten (N, 256, 4, 4) to (N, 4096) with "
                "torch.flatten(x, 1) or nn.Flatten()."
            )
        if record and record["in"] is not None and len(record["in"]) == 1:
            raise CheckFailed(
                f"fc1 receives shape {record['in']}: the batch dimension got lost. Use torch.flatten(x, 1), not "
                "torch.flatten(x)."
            )
        hint = " Did you flatten (N, 256, 4, 4) to (N, 4096) with torch.flatten(x, 1)?" if shape_error else ""
        raise CheckFailed(f"ClassifierHead raised {type(trace.error).__name__}: {trace.error}.{hint}") from trace.error
    out = expect_tensor(trace.output, "ClassifierHead's output")
    expect(
        tuple(out.shape) == (batch, NUM_CLASSES),
        f"ClassifierHead turned features of shape {(batch, *FEATURE_SHAPE)} into {tuple(out.shape)}; expected "
        f"({batch}, {NUM_CLASSES}).",
    )
    n_params = sum(p.numel() for p in head.parameters())
    expect(
        n_params == HEAD_PARAMETERS,
        f"ClassifierHead has {n_params:,} parameters; expected {HEAD_PARAMETERS:,} = {HEAD_PARAMETERS_SUM}.",
    )
    check_log_probs(out, "ClassifierHead's outputs")
    _compare_with_reference(head, layers, features, reference_params(seed), "ClassifierHead", head_only=True)
    return head


def _head_visible(answer) -> str:
    __tracebackhide__ = True
    _head_checks(answer, batch=3, seed=0)
    return (
        f"(N, 256, 4, 4) -> (N, 4096) -> (N, 50) -> (N, 10) log-probabilities; {HEAD_PARAMETERS:,} parameters; "
        "same outputs as the reference with its weights."
    )


def _head_strict(answer) -> None:
    __tracebackhide__ = True
    _head_checks(answer, batch=1, seed=1)
    head = _head_checks(answer, batch=64, seed=2)
    _check_gradients(head, seeded(5, 2, *FEATURE_SHAPE), "ClassifierHead")


ClassifierHead = Exercise(
    title="ClassifierHead",
    visible=_head_visible,
    strict=_head_strict,
    hint_text="In __init__: self.fc1 = nn.Linear(4096, 50) and self.fc2 = nn.Linear(50, 10). In forward: "
    "x = torch.flatten(x, 1); x = F.relu(self.fc1(x)); return F.log_softmax(self.fc2(x), dim=1).",
)


# --- exercise 4: Net ---------------------------------------------------------------------------


def _net_checks(answer, batch: int, seed: int, eval_mode: bool = False) -> nn.Module:
    __tracebackhide__ = True
    expect(
        not (isinstance(answer, type) and issubclass(answer, ReferenceNet)),
        "Net is mnist_ref's reference Net: build your own from nn.Conv2d, nn.Linear and the functions of this lesson.",
    )
    with private_seed(seed):
        model = _as_model(answer, "Net")
    model.train(not eval_mode)
    x = seeded(seed + 200, batch, *INPUT_SHAPE)
    out, layers = _forward(model, x, "Net", ROLES)
    n_params = sum(p.numel() for p in model.parameters())
    expect(n_params == NUM_PARAMETERS, f"Net has {n_params:,} parameters; the course Net has {NUM_PARAMETERS:,}.")
    check_log_probs(out, "Net's outputs")
    _compare_with_reference(model, layers, x, reference_params(seed), "Net", head_only=False)
    return model


def _net_visible(answer) -> str:
    __tracebackhide__ = True
    _net_checks(answer, batch=2, seed=0)
    return (
        f"{WALK}, 4,096 features, (N, 10) log-probabilities, {NUM_PARAMETERS:,} parameters, "
        "and with the reference weights it computes exactly what mnist_ref.Net computes."
    )


def _net_strict(answer) -> None:
    __tracebackhide__ = True
    _net_checks(answer, batch=1, seed=1)
    model = _net_checks(answer, batch=5, seed=2, eval_mode=True)
    model.train()
    _check_gradients(model, seeded(11, 2, *INPUT_SHAPE), "Net")


Net = Exercise(
    title="Net",
    visible=_net_visible,
    strict=_net_strict,
    hint_text="Four nn.Conv2d(in, out, 3) (1->32, 32->64, 64->128, 128->256) and the two linear layers of "
    "ClassifierHead; "
    f"in forward: {ORDER}. Use F.max_pool2d(x, 2) (or your max_pool_2x2) after conv2 and conv4.",
)
