"""The course model as the checks see it, read off :class:`mnist_ref.model.Net`.

One forward pass of the reference model on a dummy digit records every step in the order
``forward`` takes it: the layers (``conv1`` ... ``fc2`` and ``pool``, named as in ``Net``) and
the functions ``forward`` calls itself (ReLU, flatten, log_softmax). The pass runs on the
``meta`` device: shapes only, no weights computed, no random numbers drawn. Everything the
checks know about the architecture (its layers and their shapes, the side-length walk, the
order of operations, a reference forward pass that can leave out a ReLU) is derived from that
record, so it cannot drift from the model. (The side lengths of other image sizes, the answer of
lesson 03's ``flatten_size``, are the grader's: ``mnist_course.checks.lesson03``.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from mnist_ref.model import INPUT_SHAPE
from mnist_ref.model import Net as ReferenceNet

from .fixtures import private_seed

# How the messages name the functions forward calls itself.
FUNCTION_NAMES = {F.relu: "ReLU", torch.relu: "ReLU", torch.flatten: "flatten", F.log_softmax: "log_softmax"}


@dataclass(frozen=True)
class Step:
    """One step of the reference forward pass; shapes are per image (without the batch dimension)."""

    name: str  # the layer's attribute name in Net ("conv1", "pool"), or the function's ("ReLU")
    module: nn.Module | None  # the layer, or None for a function that forward calls itself
    function: Callable | None  # that function, called as function(x, *args, **kwargs)
    args: tuple
    kwargs: dict
    in_shape: tuple
    out_shape: tuple

    @property
    def has_weights(self) -> bool:
        return self.module is not None and any(True for _ in self.module.parameters(recurse=False))

    @property
    def label(self) -> str:
        """The step in the order of operations: "conv1", "ReLU", "max-pool", ..."""
        return "max-pool" if isinstance(self.module, nn.MaxPool2d) else self.name


class _FunctionRecorder(TorchFunctionMode):
    """Sees every torch function call; keeps those forward makes itself, not those inside a layer."""

    def __init__(self):
        super().__init__()
        self.steps: list[Step] = []
        self.inside_layer = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not self.inside_layer and isinstance(out, torch.Tensor) and args and isinstance(args[0], torch.Tensor):
            name = FUNCTION_NAMES.get(func, getattr(func, "__name__", repr(func)))
            self.steps.append(Step(name, None, func, args[1:], kwargs, tuple(args[0].shape[1:]), tuple(out.shape[1:])))
        return out


def record_steps(model: nn.Module, x: torch.Tensor) -> tuple[Step, ...]:
    """The steps of ``model(x)``: every leaf layer call and every torch function forward calls itself."""
    recorder = _FunctionRecorder()
    names = {module: name for name, module in model.named_modules()}

    def enter(module, args):
        recorder.inside_layer += 1

    def leave(module, args, output):
        recorder.inside_layer -= 1
        shapes = tuple(args[0].shape[1:]), tuple(output.shape[1:])
        recorder.steps.append(Step(names[module], module, None, (), {}, *shapes))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_pre_hook(enter) for m in leaves] + [m.register_forward_hook(leave) for m in leaves]
    try:
        with recorder:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return tuple(recorder.steps)


with private_seed(0), torch.device("meta"):
    _NET = ReferenceNet()
STEPS = record_steps(_NET, torch.zeros(1, *INPUT_SHAPE, device="meta"))

# --- what the record says --------------------------------------------------------------------------

LAYERS = {step.name: step for step in STEPS if step.has_weights}  # the layers with weights, in call order
ROLES = tuple(LAYERS)  # ("conv1", "conv2", "conv3", "conv4", "fc1", "fc2")


def in_out(module: nn.Module) -> tuple[int, int]:
    """Channels of a conv, features of a linear layer."""
    if isinstance(module, nn.Conv2d):
        return module.in_channels, module.out_channels
    return module.in_features, module.out_features


SPEC = {role: (type(step.module), *in_out(step.module)) for role, step in LAYERS.items()}  # role -> (type, in, out)
# per-image shapes (without N) going into / coming out of each layer for a 28x28 digit
IN_SHAPE = {role: step.in_shape for role, step in LAYERS.items()}
OUT_SHAPE = {role: step.out_shape for role, step in LAYERS.items()}


def _roles_followed_by(kind: Callable[[Step], bool]) -> tuple[str, ...]:
    """The layers with weights whose next step (before any other layer with weights) is of ``kind``."""
    found, last = [], None
    for step in STEPS:
        if step.has_weights:
            last = step.name
        elif last is not None and kind(step):
            found.append(last)
            last = None
    return tuple(found)


POOLED_AFTER = _roles_followed_by(lambda step: isinstance(step.module, nn.MaxPool2d))  # ("conv2", "conv4")
RELU_AFTER = _roles_followed_by(lambda step: step.name == "ReLU")

_FLATTEN = next(i for i, step in enumerate(STEPS) if len(step.in_shape) > 1 and len(step.out_shape) == 1)
BODY_STEPS, HEAD_STEPS = STEPS[:_FLATTEN], STEPS[_FLATTEN:]  # features; flatten -> ... -> log-probabilities
FEATURE_SHAPE = STEPS[_FLATTEN].in_shape  # (256, 4, 4): what the head receives
HEAD_ROLES = tuple(step.name for step in HEAD_STEPS if step.has_weights)  # ("fc1", "fc2")
PARAM_SHAPES = [tuple(p.shape) for step in LAYERS.values() for p in step.module.parameters(recurse=False)]
HEAD_PARAM_SHAPES = [tuple(p.shape) for role in HEAD_ROLES for p in LAYERS[role].module.parameters(recurse=False)]
HEAD_PARAMETERS = sum(torch.Size(shape).numel() for shape in HEAD_PARAM_SHAPES)  # 205,360
# "(4096 x 50 + 50) + (50 x 10 + 10)": how the head's parameters add up
HEAD_PARAMETERS_SUM = " + ".join(f"({n_in} x {n_out} + {n_out})" for n_in, n_out in (SPEC[r][1:] for r in HEAD_ROLES))
ORDER = " → ".join(step.label for step in STEPS)  # conv1 → ReLU → conv2 → ReLU → max-pool → ... → log_softmax
HEAD_ORDER = " → ".join(step.label for step in HEAD_STEPS)  # flatten → fc1 → ReLU → fc2 → log_softmax

# --- side lengths ---------------------------------------------------------------------------------

SPATIAL_STEPS = tuple(step for step in STEPS if hasattr(step.module, "kernel_size"))  # the convs and pools

# "28 -conv1-> 26 -conv2-> 24 -pool-> 12 -conv3-> 10 -conv4-> 8 -pool-> 4"
WALK = " ".join([str(INPUT_SHAPE[-1])] + [f"-{s.name}-> {s.out_shape[-1]}" for s in SPATIAL_STEPS])

# --- the reference forward pass ------------------------------------------------------------------


def reference_params(seed: int) -> list[torch.Tensor]:
    """The weights and biases of a ``Net`` made under ``seed``, in the order forward uses them."""
    with private_seed(seed):
        modules = dict(ReferenceNet().named_modules())
    return [p.detach().clone() for role in ROLES for p in modules[role].parameters(recurse=False)]


def reference_forward(
    params: list[torch.Tensor],
    x: torch.Tensor,
    head_only: bool = False,
    without_relu_after=(),
    pool=F.max_pool2d,
    relu_on_scores: bool = False,
) -> torch.Tensor:
    """Replay the recorded steps with ``params`` (or only the head's, from the flatten on), with
    switches for typical mistakes: no ReLU after the layers ``without_relu_after``, another
    ``pool`` function, a ReLU on the scores before log_softmax."""
    weights = iter(params)
    previous = None
    for step in HEAD_STEPS if head_only else STEPS:
        module = step.module
        if isinstance(module, nn.Conv2d):
            weight, bias = next(weights), next(weights) if module.bias is not None else None
            x = F.conv2d(x, weight, bias, module.stride, module.padding, module.dilation, module.groups)
        elif isinstance(module, nn.Linear):
            weight, bias = next(weights), next(weights) if module.bias is not None else None
            x = F.linear(x, weight, bias)
        elif isinstance(module, nn.MaxPool2d):
            x = pool(x, module.kernel_size, module.stride)
        elif module is not None:
            raise NotImplementedError(f"the checks cannot replay a {type(module).__name__} layer")
        elif not (step.name == "ReLU" and previous in without_relu_after):
            if relu_on_scores and step.function is F.log_softmax:
                x = F.relu(x)
            x = step.function(x, *step.args, **step.kwargs)
        previous = step.name
    return x
