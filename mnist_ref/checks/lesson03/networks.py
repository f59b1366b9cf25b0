"""Lesson 03's checks of whole models: ``ClassifierHead`` and ``Net``.

The learner's class is described as data (:func:`report_model`, the exercises' ``ask``): a model
made under a seed, a traced forward pass on seeded inputs, the outputs after the grader's weights
are loaded, the gradients of a seeded loss. :func:`judge_model` decides from such a report: the
layers and the shape walk (:mod:`.layers`), then the outputs with the reference weights against the
course model's (:func:`~mnist_ref.checks.architecture.reference_forward`); when they differ, the
reference pass is replayed with typical mistakes (a ReLU left out, average pooling, a ReLU on the
scores) to name the one that matches. The visible check runs both here on its one case; the grader
asks the kernel for more cases (:func:`head_cases`, :func:`net_cases`) and judges in its own process.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref.model import INPUT_SHAPE, NUM_CLASSES, NUM_PARAMETERS

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
    record_steps,
    reference_forward,
    reference_params,
)
from ..fixtures import private_seed, seeded
from ..framework import CheckFailed, Exercise, call, expect, expect_tensor, quiet_stderr
from ..transcript import qualified
from .layers import ReportedTrace, Trace, check_layers, check_walk, module_params, need, plain_tensor, trace_data

REFERENCE_NET = "mnist_ref.model.Net"


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


# --- the cases: which model, which inputs, which weights -------------------------------------------


@dataclass(frozen=True)
class Case:
    """One model of the learner's class, made under ``seed``: its inputs, and the reference weights
    (those of a course Net made under ``seed``) loaded into it, are seeded by it too."""

    batch: int
    seed: int
    eval_mode: bool = False
    gradients: bool = False  # then also the gradients of a seeded loss, in train mode


def head_cases(seed: int) -> list[Case]:
    """The visible case, then a single image and a large batch (seed-varied), all with the gradients."""
    return [Case(3, 0, gradients=True), Case(1, 1 + seed), Case(64, 2 + seed, gradients=True)]


def net_cases(seed: int) -> list[Case]:
    """The visible case, then a single image, and a batch of 5 in eval mode (seed-varied), with the gradients."""
    return [Case(2, 0, gradients=True), Case(1, 1 + seed), Case(5, 2 + seed, eval_mode=True, gradients=True)]


@dataclass(frozen=True)
class Model:
    """What the checks of one model exercise need to know: its name and role in the course model."""

    what: str  # "Net", "ClassifierHead"
    roles: tuple[str, ...]
    head_only: bool

    def inputs(self, case: Case) -> torch.Tensor:
        if self.head_only:
            return seeded(case.seed + 100, case.batch, *FEATURE_SHAPE).relu()
        return seeded(case.seed + 200, case.batch, *INPUT_SHAPE)

    def gradient_inputs(self, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
        """Two inputs, and the weights of the loss (weights * output).sum()."""
        shape = FEATURE_SHAPE if self.head_only else INPUT_SHAPE
        return seeded(case.seed + 300, 2, *shape), seeded(case.seed + 400, 2, NUM_CLASSES)

    def params(self, case: Case) -> list[torch.Tensor]:
        """The reference weights loaded into the learner's layers, in the order forward uses them."""
        params = reference_params(case.seed)
        return params[-len(HEAD_PARAM_SHAPES) :] if self.head_only else params


HEAD = Model("ClassifierHead", HEAD_ROLES, head_only=True)
NET = Model("Net", ROLES, head_only=False)


def _directions(case: Case, shapes) -> list[torch.Tensor]:
    """Seeded directions: a gradient crosses as its projections on them, not as 593,200 numbers."""
    return [seeded(case.seed + 500 + i, *shape) for i, shape in enumerate(shapes)]


# --- the learner's side: a model described as data -----------------------------------------------


def _as_model(answer, what: str) -> nn.Module:
    __tracebackhide__ = True
    model = call(answer, what=f"{what}()")
    expect(
        isinstance(model, nn.Module),
        f"{what}() should create an nn.Module (class {what}(nn.Module)), got {type(model).__name__}",
    )
    return model


def _loaded_outputs(model: nn.Module, order: list[nn.Module], x: torch.Tensor, params, what: str) -> dict:
    """The outputs, twice, after the reference weights are copied into the layers in call order."""
    own = [p for module in order for p in module_params(module)]
    shapes = [list(p.shape) for p in own]
    if shapes != [list(t.shape) for t in params]:
        return {"shapes": shapes}
    try:
        with torch.no_grad():
            for p, t in zip(own, params):
                p.copy_(t)
            out = call(model, x, what=what)
            again = call(model, x, what=what)
    except CheckFailed as failure:
        return {"error": str(failure)}
    return {"out": plain_tensor(out), "again": plain_tensor(again)}


def _gradients(model: nn.Module, order: list[nn.Module], spec: Model, case: Case) -> dict:
    """In train mode: does the output require grad, and the projections of each parameter's gradient."""
    x, weights = spec.gradient_inputs(case)
    model.train()
    model.zero_grad()
    try:
        out = call(model, x, what=spec.what)
    except CheckFailed as failure:
        return {"error": str(failure)}
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(weights.shape):
        return {"error": f"{spec.what} returned {type(out).__name__} {tuple(getattr(out, 'shape', ()))} for 2 inputs"}
    if not out.requires_grad:
        return {"requires_grad": False}
    try:
        (out * weights).sum().backward()
    except Exception as exc:
        return {"error": f"backward() raised {type(exc).__name__}: {exc}"}
    names = {id(p): name for name, p in model.named_parameters()}
    own = [p for module in order for p in module_params(module)]
    grads = []
    for p, direction in zip(own, _directions(case, [p.shape for p in own])):
        grad = p.grad
        usable = isinstance(grad, torch.Tensor) and grad.shape == direction.shape
        grads.append(
            {
                "name": names.get(id(p), "?"),
                "none": grad is None,
                "abs_sum": float(grad.abs().sum()) if usable else 0.0,
                "projection": float((grad.double() * direction.double()).sum()) if usable else 0.0,
            }
        )
    return {"requires_grad": True, "grads": grads}


def _steps(model: nn.Module, x: torch.Tensor) -> list | None:
    """The forward steps (layers and functions, with per-image shapes), or None if they cannot be recorded."""
    try:
        with torch.no_grad():
            return [[step.name, list(step.in_shape), list(step.out_shape)] for step in record_steps(model, x)]
    except Exception:
        return None


def report_model(answer, spec: Model, case: Case) -> dict:
    """One model of the learner's class, made, traced and run on the case's inputs, as plain data."""
    __tracebackhide__ = True
    with quiet_stderr():  # what forward writes to stderr (outside call()) is not the check's verdict
        return _report_model(answer, spec, case)


def _report_model(answer, spec: Model, case: Case) -> dict:
    __tracebackhide__ = True
    with private_seed(case.seed):
        model = _as_model(answer, spec.what)
    model.train(not case.eval_mode)
    x = spec.inputs(case)
    trace = Trace(model, x, spec.what)
    report = {
        "type": qualified(type(model)),
        "bases": [qualified(base) for base in type(model).__mro__[1:]],
        "modules": sorted({qualified(type(m)) for m in model.modules()}),
        "parameters": [[name, list(p.shape)] for name, p in model.named_parameters()],
        "trace": trace_data(trace),
    }
    order = trace.called + (trace.uncalled if trace.error is not None else [])
    report["loaded"] = _loaded_outputs(model, order, x, spec.params(case), spec.what)
    report["steps"] = _steps(model, x)
    if case.gradients:
        report["gradients"] = _gradients(model, order, spec, case)
    return report


def ask_head(answer, seed: int) -> dict:
    return {"cases": [report_model(answer, HEAD, case) for case in head_cases(seed)]}


def ask_net(answer, seed: int) -> dict:
    return {"cases": [report_model(answer, NET, case) for case in net_cases(seed)]}


# --- the judge: the same checks, on a report -----------------------------------------------------


def _refuse_reference(report: dict, what: str) -> None:
    __tracebackhide__ = True
    kinds = [report.get("type"), *report.get("bases", []), *report.get("modules", [])]
    expect(
        REFERENCE_NET not in kinds,
        f"{what} is or contains mnist_ref's reference Net: build your own from nn.Conv2d, nn.Linear and the "
        "functions of this lesson.",
    )


def _valid_report(report) -> dict:
    need(type(report) is dict, "a model")
    need(type(report.get("type")) is str, "the model's type")
    for key in ("bases", "modules"):
        need(type(report.get(key)) is list and all(type(k) is str for k in report[key]), key)
    parameters = report.get("parameters")
    need(
        type(parameters) is list
        and all(
            type(p) is list
            and len(p) == 2
            and type(p[0]) is str
            and type(p[1]) is list
            and len(p[1]) <= 8
            and all(type(d) is int and 0 <= d <= 10**9 for d in p[1])
            for p in parameters
        ),
        "the parameters",
    )
    need(type(report.get("loaded")) is dict, "the outputs with the reference weights")
    return report


def _number_of_parameters(report: dict) -> int:
    return sum(int(torch.Size(shape).numel()) for _, shape in report["parameters"])


def _head_error(trace: ReportedTrace) -> None:
    """ClassifierHead's forward raised: say why, from the shape fc1 received."""
    __tracebackhide__ = True
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


def _output(trace: ReportedTrace, what: str, batch: int, in_shape: tuple) -> torch.Tensor:
    __tracebackhide__ = True
    expect(trace.output is not None, f"{what}'s output should be a torch.Tensor, got {trace.output_type}")
    out = expect_tensor(trace.output, f"{what}'s output")
    if what == "ClassifierHead":
        expect(
            tuple(out.shape) == (batch, NUM_CLASSES),
            f"ClassifierHead turned features of shape {(batch, *in_shape)} into {tuple(out.shape)}; expected "
            f"({batch}, {NUM_CLASSES}).",
        )
    else:
        expect(
            tuple(out.shape) == (batch, NUM_CLASSES),
            f"{what} returned shape {tuple(out.shape)} for a batch of {batch}; expected ({batch}, {NUM_CLASSES}): "
            "one score per class.",
        )
    return out


def _steps_text(steps) -> str:
    """The learner's forward, step by step, for the last message (empty if it was not recorded)."""
    if type(steps) is not list or not all(type(s) is list and s and type(s[0]) is str for s in steps):
        return ""
    return f" Yours: {' → '.join(s[0][:40] for s in steps[:60])}."


def _compare_with_reference(loaded: dict, spec: Model, case: Case, steps=None) -> None:
    __tracebackhide__ = True
    what, head_only = spec.what, spec.head_only
    params, x = spec.params(case), spec.inputs(case)
    if "shapes" in loaded:
        shapes = [tuple(s) for s in loaded["shapes"]] if type(loaded["shapes"]) is list else loaded["shapes"]
        raise CheckFailed(f"the parameter shapes are {shapes}; expected {[tuple(t.shape) for t in params]}")
    if "error" in loaded:
        raise CheckFailed(str(loaded["error"]))
    out, again = loaded.get("out"), loaded.get("again")
    expected = reference_forward(params, x, head_only=head_only)
    for value in (out, again):
        expect(
            type(value) is torch.Tensor and value.shape == expected.shape,
            f"With the reference weights loaded, {what} returned no tensor of shape {tuple(expected.shape)}.",
        )
    out, again, expected = out.double(), again.double(), expected.double()  # any float dtype the learner chose
    if torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
        return
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
        mistaken = reference_forward(params, x, head_only=head_only, **switches).double()
        if torch.allclose(out, mistaken, atol=1e-4, rtol=1e-4):
            raise CheckFailed(
                f"With the reference weights loaded, {what} gives other outputs than the reference: {story}. "
                f"The order is {HEAD_ORDER if head_only else ORDER}."
            )
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"With the reference weights loaded, {what}'s outputs differ from the reference by up to {worst:.3g}. "
        f"Check the order of operations: {HEAD_ORDER if head_only else ORDER}." + _steps_text(steps)
    )


def _reference_gradients(spec: Model, case: Case) -> list[float]:
    params = [p.clone().requires_grad_(True) for p in spec.params(case)]
    x, weights = spec.gradient_inputs(case)
    (reference_forward(params, x, head_only=spec.head_only) * weights).sum().backward()
    directions = _directions(case, [p.shape for p in params])
    return [float((p.grad.double() * d.double()).sum()) for p, d in zip(params, directions)]


def _check_gradients(gradients, spec: Model, case: Case) -> None:
    __tracebackhide__ = True
    what = spec.what
    need(type(gradients) is dict, "the gradients")
    if "error" in gradients:
        raise CheckFailed(str(gradients["error"]))
    expect(
        gradients.get("requires_grad") is True,
        f"{what}'s output does not require grad: don't use torch.no_grad() or .detach() inside forward.",
    )
    grads = gradients.get("grads")
    need(type(grads) is list and all(type(g) is dict for g in grads), "the gradients")
    expected = _reference_gradients(spec, case)
    need(len(grads) == len(expected), "the number of gradients")
    for grad, reference in zip(grads, expected):
        name, none, abs_sum, projection = (grad.get(k) for k in ("name", "none", "abs_sum", "projection"))
        need(
            type(name) is str and type(none) is bool and type(abs_sum) is float and type(projection) is float,
            "a gradient",
        )
        expect(
            not none and abs_sum > 0,
            f"no gradient reaches `{name}`: don't use torch.no_grad(), .detach() or .data inside forward.",
        )
        expect(
            abs(projection - reference) <= 1e-3 * (1 + abs(reference)),
            f"the gradient that reaches `{name}` is not the reference model's for the same weights and loss: "
            "backward must go through the same operations as forward (no custom autograd, no .data).",
        )


def judge_model(report, spec: Model, case: Case) -> None:
    """Decide one case from the learner's report, with the messages of the course's checks."""
    __tracebackhide__ = True
    report = _valid_report(report)
    what = spec.what
    _refuse_reference(report, what)
    trace = ReportedTrace(report.get("trace"))
    layers = check_layers(trace, spec.roles, what)
    if spec.head_only:
        if trace.error is not None:
            _head_error(trace)
    else:
        check_walk(trace, layers, spec.roles, case.batch)
        if trace.error is not None:
            raise CheckFailed(f"{what} raised {type(trace.error).__name__}: {trace.error}") from trace.error
    out = _output(trace, what, case.batch, FEATURE_SHAPE)
    n_params, expected_params = _number_of_parameters(report), HEAD_PARAMETERS if spec.head_only else NUM_PARAMETERS
    if spec.head_only:
        expect(
            n_params == HEAD_PARAMETERS,
            f"ClassifierHead has {n_params:,} parameters; expected {HEAD_PARAMETERS:,} = {HEAD_PARAMETERS_SUM}.",
        )
    else:
        expect(n_params == expected_params, f"Net has {n_params:,} parameters; the course Net has {NUM_PARAMETERS:,}.")
    check_log_probs(out, f"{what}'s outputs")
    _compare_with_reference(report["loaded"], spec, case, report.get("steps"))
    if case.gradients:
        _check_gradients(report.get("gradients"), spec, case)


def judge_cases(data, spec: Model, cases: list[Case]) -> None:
    """Decide every case, in order (the grader's judge, and the visible check on its first case)."""
    __tracebackhide__ = True
    reports = data.get("cases") if type(data) is dict else None
    expect(
        type(reports) is list and len(reports) == len(cases),
        f"{spec.what} was not run on the grader's inputs (did the lesson stop early?).",
    )
    for report, case in zip(reports, cases):
        judge_model(report, spec, case)


# --- exercise 3: ClassifierHead ----------------------------------------------------------------


def _head_visible(answer) -> str:
    __tracebackhide__ = True
    case = head_cases(0)[0]
    judge_model(report_model(answer, HEAD, case), HEAD, case)
    return (
        f"(N, 256, 4, 4) -> (N, 4096) -> (N, 50) -> (N, 10) log-probabilities; {HEAD_PARAMETERS:,} parameters; "
        "same outputs and gradients as the reference with its weights."
    )


ClassifierHead = Exercise(
    title="ClassifierHead",
    visible=_head_visible,
    key="lesson03.ClassifierHead",
    ask=ask_head,
    hint_text="In __init__: self.fc1 = nn.Linear(4096, 50) and self.fc2 = nn.Linear(50, 10). In forward: "
    "x = torch.flatten(x, 1); x = F.relu(self.fc1(x)); return F.log_softmax(self.fc2(x), dim=1).",
)


# --- exercise 4: Net ---------------------------------------------------------------------------


def _net_visible(answer) -> str:
    __tracebackhide__ = True
    case = net_cases(0)[0]
    judge_model(report_model(answer, NET, case), NET, case)
    return (
        f"{WALK}, 4,096 features, (N, 10) log-probabilities, {NUM_PARAMETERS:,} parameters, "
        "and with the reference weights it computes exactly what mnist_ref.Net computes, gradients included."
    )


Net = Exercise(
    title="Net",
    visible=_net_visible,
    key="lesson03.Net",
    ask=ask_net,
    hint_text="Four nn.Conv2d(in, out, 3) (1->32, 32->64, 64->128, 128->256) and the two linear layers of "
    "ClassifierHead; "
    f"in forward: {ORDER}. Use F.max_pool2d(x, 2) (or your max_pool_2x2) after conv2 and conv4.",
)
