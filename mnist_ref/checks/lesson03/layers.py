"""Finding the layers of a learner's model and saying how they differ from the course model.

A learner may write ``self.conv1``, ``self.features = nn.Sequential(...)`` or anything else, so
nothing here relies on attribute or state_dict names: a forward pass with hooks (:class:`Trace`)
finds the layers with weights *in the order forward calls them*, and they are compared with the
course architecture (:mod:`..architecture`) one by one, shapes going in and out included.

The learner's kernel reports a trace as plain data (:func:`trace_data`); the grader rebuilds it
(:class:`ReportedTrace`, layers as weightless stand-ins) and runs the same comparisons on it.
"""

from __future__ import annotations

import builtins

import torch
from torch import nn

from ..architecture import IN_SHAPE, LAYERS, POOLED_AFTER, ROLES, SPEC, WALK
from ..framework import CheckFailed, NotAttempted, expect


def fmt(shape) -> str:
    """('N', 64, 12, 12) style, for messages."""
    return "(" + ", ".join(["N"] + [str(s) for s in shape]) + ")"


def module_params(module: nn.Module) -> list[torch.Tensor]:
    return list(module.parameters(recurse=False))


class Trace:
    """What one forward pass did: param layers in call order, their input/output shapes, the error if any."""

    def __init__(self, model: nn.Module, x: torch.Tensor, what: str):
        self.names = {module: name or type(module).__name__ for name, module in model.named_modules()}
        self.layers = [m for m in model.modules() if module_params(m)]  # the layers with weights
        self.records: list[dict] = []
        self.output, self.error = None, None
        watched = [m for m in model.modules() if module_params(m) or not list(m.children())]
        handles = []

        def before(module, args):
            if module_params(module):
                shape = tuple(args[0].shape) if args and isinstance(args[0], torch.Tensor) else None
                self.records.append({"module": module, "in": shape, "out": None})

        def after(module, _args, output):
            if module_params(module):
                for record in reversed(self.records):
                    if record["module"] is module and record["out"] is None:
                        record["out"] = tuple(output.shape) if isinstance(output, torch.Tensor) else None
                        break

        for module in watched:
            handles.append(module.register_forward_pre_hook(before))
            handles.append(module.register_forward_hook(after))
        try:
            self.output = model(x)
        except NotImplementedError:
            raise NotAttempted(
                f"{what} is not attempted yet: replace `raise NotImplementedError()` with your code."
            ) from None
        except CheckFailed:
            raise
        except Exception as exc:  # diagnosed from the shapes seen so far; reported if nothing explains it
            self.error = exc
        finally:
            for handle in handles:
                handle.remove()
        called = []
        for record in self.records:
            if not any(record["module"] is m for m in called):
                called.append(record["module"])
        self.called = called
        self.uncalled = [m for m in model.modules() if module_params(m) and not any(m is c for c in called)]

    def name(self, module) -> str:
        return self.names.get(module, type(module).__name__)

    def first_record(self, module):
        return next(r for r in self.records if r["module"] is module)


# --- a trace as plain data ----------------------------------------------------------------------


def _layer_data(module: nn.Module, name: str) -> dict:
    if isinstance(module, nn.Conv2d):
        padding = module.padding if isinstance(module.padding, str) else list(module.padding)
        return {
            "name": name,
            "kind": "Conv2d",
            "in_channels": module.in_channels,
            "out_channels": module.out_channels,
            "kernel_size": list(module.kernel_size),
            "stride": list(module.stride),
            "padding": padding,
            "dilation": list(module.dilation),
            "groups": module.groups,
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.Linear):
        return {
            "name": name,
            "kind": "Linear",
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
        }
    return {"name": name, "kind": type(module).__name__}


def plain_tensor(value):
    """A detached copy of a tensor output (None for anything else): what crosses to the grader."""
    return value.detach().cpu().clone().as_subclass(torch.Tensor) if isinstance(value, torch.Tensor) else None


def _shape_data(shape):
    return None if shape is None else [int(d) for d in shape]


def trace_data(trace: Trace) -> dict:
    """The trace as plain data: the layers with weights, which ones forward called, the shapes, the output."""
    index = {id(module): i for i, module in enumerate(trace.layers)}
    return {
        "layers": [_layer_data(m, trace.name(m)) for m in trace.layers],
        "called": [index[id(m)] for m in trace.called],
        "records": [
            {"layer": index[id(r["module"])], "in": _shape_data(r["in"]), "out": _shape_data(r["out"])}
            for r in trace.records
        ],
        "error": None if trace.error is None else {"raised": type(trace.error).__name__, "message": str(trace.error)},
        "output": plain_tensor(trace.output),
        "output_type": type(trace.output).__name__,
    }


def need(condition: bool, what: str) -> None:
    """Refuse a malformed report (the learner's kernel made it: it is checked before it is used)."""
    if not condition:
        raise CheckFailed(f"the answer could not be examined: its report is malformed ({what}).")


def _ints(value, length: int | None = None, low: int = 0, high: int = 10**6) -> bool:
    return (
        type(value) is list
        and (length is None or len(value) == length)
        and len(value) <= 8
        and all(type(v) is int and low <= v <= high for v in value)
    )


def _is_int(value, low: int = 0, high: int = 10**6) -> bool:
    return type(value) is int and low <= value <= high


def _stand_in(layer) -> nn.Module:
    """A weightless module with the reported type and configuration."""
    need(type(layer) is dict and type(layer.get("name")) is str and type(layer.get("kind")) is str, "a layer")
    kind = layer["kind"]
    need(0 < len(kind) <= 100 and len(layer["name"]) <= 200, "a layer's name")
    if kind == "Conv2d":
        padding = layer.get("padding")
        need(
            _is_int(layer.get("in_channels"), 1)
            and _is_int(layer.get("out_channels"), 1)
            and _ints(layer.get("kernel_size"), 2)
            and _ints(layer.get("stride"), 2)
            and _ints(layer.get("dilation"), 2)
            and (padding in ("same", "valid") or _ints(padding, 2))
            and _is_int(layer.get("groups"), 1)
            and type(layer.get("bias")) is bool,
            "a Conv2d",
        )
        try:
            return nn.Conv2d(
                layer["in_channels"],
                layer["out_channels"],
                tuple(layer["kernel_size"]),
                stride=tuple(layer["stride"]),
                padding=padding if isinstance(padding, str) else tuple(padding),
                dilation=tuple(layer["dilation"]),
                groups=layer["groups"],
                bias=layer["bias"],
                device="meta",
            )
        except (ValueError, RuntimeError) as exc:
            raise CheckFailed(f"the answer could not be examined: its report is malformed ({exc}).") from None
    if kind == "Linear":
        need(
            _is_int(layer.get("in_features"), 1)
            and _is_int(layer.get("out_features"), 1)
            and type(layer.get("bias")) is bool,
            "a Linear",
        )
        return nn.Linear(layer["in_features"], layer["out_features"], bias=layer["bias"], device="meta")
    return type(kind, (nn.Module,), {})()


def rebuilt_error(data) -> Exception | None:
    """The exception forward raised, rebuilt from its name and message (built-in types stay themselves)."""
    if data is None:
        return None
    need(type(data) is dict and type(data.get("raised")) is str and type(data.get("message")) is str, "an error")
    name, message = data["raised"], data["message"]
    known = getattr(builtins, name, None)
    if isinstance(known, type) and issubclass(known, Exception):
        return known(message)
    return type(name if name.isidentifier() else "Error", (Exception,), {})(message)


class ReportedTrace(Trace):
    """A :class:`Trace` rebuilt from :func:`trace_data`, on the grader's side."""

    def __init__(self, data):
        need(type(data) is dict, "a trace")
        layers_data = data.get("layers")
        need(type(layers_data) is list and len(layers_data) <= 1000, "the layers")
        self.layers = [_stand_in(layer) for layer in layers_data]
        self.names = {module: layer["name"] for module, layer in zip(self.layers, layers_data)}
        called, records = data.get("called"), data.get("records")
        need(
            type(called) is list
            and all(_is_int(i, 0, len(self.layers) - 1) for i in called)
            and len(set(called)) == len(called),
            "the called layers",
        )
        need(type(records) is list and len(records) <= 10_000, "the records")
        self.records = []
        for record in records:
            need(type(record) is dict and _is_int(record.get("layer"), 0, len(self.layers) - 1), "a record")
            shapes = [record.get("in"), record.get("out")]
            need(all(s is None or _ints(s, high=10**9) for s in shapes), "a recorded shape")
            self.records.append(
                {"module": self.layers[record["layer"]], "in": _tuple(shapes[0]), "out": _tuple(shapes[1])}
            )
        self.called = [self.layers[i] for i in called]
        self.uncalled = [m for m in self.layers if not any(m is c for c in self.called)]
        self.error = rebuilt_error(data.get("error"))
        output = data.get("output")
        need(output is None or type(output) is torch.Tensor, "the output")
        self.output = output
        self.output_type = str(data.get("output_type"))[:100]


def _tuple(shape):
    return None if shape is None else tuple(shape)


def describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"Conv2d({module.in_channels}, {module.out_channels}, kernel_size={module.kernel_size[0]})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    return type(module).__name__


def expected_layer(role: str) -> str:
    return describe(LAYERS[role].module)


def fc1_inputs_story(n: int) -> str:
    stories = {
        9216: (
            "9216 = 64 x 12 x 12 is what conv2 + one max-pool give (pytorch/examples' network); ours goes on with "
            "conv3, conv4 and a second max-pool"
        ),
        16384: "16384 = 256 x 8 x 8, the features before the second max-pool: did you forget the max-pool after conv4?",
        25600: "25600 = 256 x 10 x 10, as if the first max-pool were missing: did you forget the max-pool after conv2?",
        102400: "102400 = 256 x 20 x 20, as if there were no pooling at all: did you forget both max-pools?",
        36864: "36864 = 64 x 24 x 24, conv2's output without pooling: did you forget a max-pool, and conv3 and conv4?",
        12544: "12544 = 256 x 7 x 7 is what padding=1 convs would give; the course convs have no padding",
    }
    return stories.get(n, f"the features after conv4 and the second max-pool are 256 x 4 x 4 = 4096 ({WALK})")


def check_layer(role: str, module: nn.Module, where: str) -> None:
    __tracebackhide__ = True
    kind, n_in, n_out = SPEC[role]
    expect(
        isinstance(module, kind),
        f"{role} should be {expected_layer(role)}, but your layer {where} is {describe(module)}. "
        f"The layers with weights, in the order forward uses them, must be {', '.join(ROLES)}.",
    )
    if kind is nn.Conv2d:
        expect(
            module.in_channels == n_in and module.out_channels == n_out,
            f"{role} maps {module.in_channels} -> {module.out_channels} channels; expected {n_in} -> {n_out} "
            f"({expected_layer(role)}).",
        )
        reference = LAYERS[role].module
        expect(
            tuple(module.kernel_size) == tuple(reference.kernel_size),
            f"{role} has kernel_size={module.kernel_size}; all course convs are 3x3.",
        )
        padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
        shown = (
            repr(padding) if isinstance(padding, str) else (str(padding[0]) if len(set(padding)) == 1 else str(padding))
        )
        expect(
            padding in (tuple(reference.padding), "valid"),
            f"{role} uses padding={shown}; the course convs use none (padding=0), so each 3x3 conv takes 2 pixels "
            f"off the side length ({WALK}). With padding the shapes, and fc1's 4096 inputs, no longer fit.",
        )
        expect(
            tuple(module.stride) == tuple(reference.stride),
            f"{role} has stride={module.stride}; the course convs use stride 1 (the max-pools do the downsampling).",
        )
        expect(
            tuple(module.dilation) == tuple(reference.dilation) and module.groups == reference.groups,
            f"{role} uses dilation or groups; the course convs are plain 3x3 convolutions.",
        )
    else:
        if role == "fc1" and module.in_features != n_in:
            raise CheckFailed(
                f"fc1 takes {module.in_features} inputs; expected {n_in}: {fc1_inputs_story(module.in_features)}."
            )
        expect(
            module.in_features == n_in and module.out_features == n_out,
            f"{role} maps {module.in_features} -> {module.out_features} features; expected {n_in} -> {n_out} "
            f"({expected_layer(role)}).",
        )
    expect(
        getattr(module, "bias", None) is not None,
        f"{role} has no bias; the course layers all have one (bias=True is the default).",
    )


def check_layers(trace: Trace, roles: tuple[str, ...], what: str) -> list[nn.Module]:
    """The param layers (call order, then any never called) must be exactly `roles`; returns them."""
    __tracebackhide__ = True
    layers = trace.called + (trace.uncalled if trace.error is not None else [])
    if trace.error is None and trace.uncalled:
        unused = ", ".join(f"`{trace.name(m)}` {describe(m)}" for m in trace.uncalled)
        raise CheckFailed(
            f"{what} defines {unused} but forward never uses it: its parameters would still count. Use it or remove it."
        )
    listing = ", ".join(f"`{trace.name(m)}` {describe(m)}" for m in layers) or "none"
    others = [m for m in layers if not isinstance(m, (nn.Conv2d, nn.Linear))]
    expect(
        not others,
        f"{what} has a {type(others[0]).__name__ if others else ''} layer "
        f"(`{trace.name(others[0]) if others else ''}`); "
        f"the course {what} has only Conv2d and Linear layers with weights. Remove it.",
    )
    for kind, word in ((nn.Conv2d, "Conv2d"), (nn.Linear, "Linear")):
        wanted = [r for r in roles if SPEC[r][0] is kind]
        have = [m for m in layers if isinstance(m, kind)]
        if len(have) < len(wanted):
            missing = ", ".join(f"{r} = {expected_layer(r)}" for r in wanted[len(have) :])
            raise CheckFailed(
                f"{what} uses {len(have)} {word} layer(s) ({listing}); the course {what} has {len(wanted)}: "
                f"{', '.join(f'{r} = {expected_layer(r)}' for r in wanted)}. Missing: {missing}."
            )
        if len(have) > len(wanted):
            raise CheckFailed(
                f"{what} uses {len(have)} {word} layers ({listing}); the course {what} has {len(wanted)}: "
                f"{', '.join(f'{r} = {expected_layer(r)}' for r in wanted)}. Remove the extra ones."
            )
    for role, module in zip(roles, layers):
        check_layer(role, module, f"`{trace.name(module)}`")
    expected = ", ".join(roles)
    if len(layers) < len(roles):
        missing = ", ".join(f"{r} = {expected_layer(r)}" for r in roles[len(layers) :])
        raise CheckFailed(
            f"{what} uses {len(layers)} layer(s) with weights ({listing}); the course {what} has {len(roles)}: "
            f"{expected}. Missing: {missing}."
        )
    if len(layers) > len(roles):
        extra = ", ".join(f"`{trace.name(m)}` {describe(m)}" for m in layers[len(roles) :])
        raise CheckFailed(
            f"{what} has more layers with weights than the course {what} ({expected}): {extra}. Remove them."
        )
    return layers


def input_story(role: str, got, previous: str | None, prev_out) -> str:
    """Why `role` receives per-image shape `got` instead of IN_SHAPE[role]."""
    expected = IN_SHAPE[role]
    head = f"{role} receives {fmt(got)}; expected {fmt(expected)}"
    if role == "fc1":
        if len(got) == 3:
            n = got[0] * got[1] * got[2]
            also = "" if n == 4096 else f" Flattened, they would be {n} features, not 4096: {fc1_inputs_story(n)}"
            return (
                f"{head}: flatten the (N, {got[0]}, {got[1]}, {got[2]}) features to (N, {n}) first, with "
                f"torch.flatten(x, 1) or nn.Flatten().{also}"
            )
        n = got[0] if got else 0
        return f"fc1 expects 4096 inputs but got {n}: {fc1_inputs_story(n)}"
    if prev_out is None:
        return head + "."
    pooled = previous in POOLED_AFTER
    c, h, w = prev_out
    if pooled and tuple(got) == tuple(prev_out):
        return (
            f"{previous} output is {fmt(prev_out)} and reaches {role} unchanged; expected {fmt(expected)} after "
            "pooling — "
            f"did you apply max-pool after {previous}?"
        )
    if pooled and tuple(got) == (c, h - 1, w - 1):
        return (
            f"{role} receives {fmt(got)}: the pool after {previous} went from {h}x{w} to {h - 1}x{w - 1}, a 2x2 "
            "window with stride 1. "
            f"Use stride 2 (nn.MaxPool2d(2) or F.max_pool2d(x, 2)) to get {fmt(expected)}."
        )
    if not pooled and tuple(got) == (c, h // 2, w // 2):
        return (
            f"{role} receives {fmt(got)}: you max-pool after {previous}, but the course Net pools only after conv2 "
            "and conv4, "
            f"so {role} should receive {previous}'s {fmt(prev_out)}."
        )
    return f"{head} ({previous} output was {fmt(prev_out)}; the course walk is {WALK})."


def check_walk(trace: Trace, layers: list[nn.Module], roles: tuple[str, ...], batch: int) -> None:
    """Follow the recorded shapes layer by layer and explain the first one that is off."""
    __tracebackhide__ = True
    previous, prev_out = None, None
    for role, module in zip(roles, layers):
        calls = [r for r in trace.records if r["module"] is module]
        if not calls:
            break
        record = calls[0]
        got = record["in"]
        if got is not None:
            numel = 1
            for d in got:
                numel *= d
            if role == "fc1" and numel % batch == 0 and numel // batch != 4096:
                raise CheckFailed(
                    input_story(role, got[1:] if got[0] == batch else (numel // batch,), previous, prev_out)
                )
            if len(got) < 2 or got[0] != batch:
                raise CheckFailed(
                    f"{role} receives a tensor of shape {got} for a batch of {batch} images: the batch dimension got "
                    "lost. "
                    "Flatten with torch.flatten(x, 1) (or x.view(x.size(0), -1)), which keeps dim 0."
                )
            if tuple(got[1:]) != IN_SHAPE[role]:
                raise CheckFailed(input_story(role, tuple(got[1:]), previous, prev_out))
        if record["out"] is not None:
            previous, prev_out = role, record["out"][1:]
