"""Checks of lesson 03 · Pooling, deeper convs and the classifier head.

Exercises: ``max_pool_2x2`` (pooling by hand), ``flatten_size`` (the shape walk),
``ClassifierHead`` (flatten -> fc1 -> ReLU -> fc2 -> log_softmax) and ``Net`` (the whole model).

The model checks never rely on attribute or state_dict names: a learner may write
``self.conv1``, ``self.features = nn.Sequential(...)`` or anything else. Layers with weights
are found with forward hooks *in the order forward calls them*, compared with the course
architecture one by one (conv1, conv2, conv3, conv4, fc1, fc2), and the reference weights
are copied into them by that order after the shapes have been checked.
"""

from __future__ import annotations

import contextlib
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref.model import NUM_PARAMETERS
from mnist_ref.model import Net as ReferenceNet

from . import CheckFailed, Exercise, NotAttempted, UsedLibraryFunction, call, expect, expect_tensor, forbid

# --- the course architecture ------------------------------------------------------------------

ROLES = ("conv1", "conv2", "conv3", "conv4", "fc1", "fc2")
# role -> (type, in, out): channels for convs, features for linear layers
SPEC = {
    "conv1": (nn.Conv2d, 1, 32),
    "conv2": (nn.Conv2d, 32, 64),
    "conv3": (nn.Conv2d, 64, 128),
    "conv4": (nn.Conv2d, 128, 256),
    "fc1": (nn.Linear, 4096, 50),
    "fc2": (nn.Linear, 50, 10),
}
# per-image shapes (without N) going into / coming out of each layer for a 28x28 digit
IN_SHAPE = {"conv1": (1, 28, 28), "conv2": (32, 26, 26), "conv3": (64, 12, 12), "conv4": (128, 10, 10), "fc1": (4096,), "fc2": (50,)}
OUT_SHAPE = {"conv1": (32, 26, 26), "conv2": (64, 24, 24), "conv3": (128, 10, 10), "conv4": (256, 8, 8), "fc1": (50,), "fc2": (10,)}
POOLED_AFTER = ("conv2", "conv4")
PARAM_SHAPES = [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (128, 64, 3, 3), (128,), (256, 128, 3, 3), (256,),
                (50, 4096), (50,), (10, 50), (10,)]  # fmt: skip
HEAD_PARAM_SHAPES = PARAM_SHAPES[8:]
HEAD_PARAMETERS = 4096 * 50 + 50 + 50 * 10 + 10  # 205,360
WALK = "28 -conv1-> 26 -conv2-> 24 -pool-> 12 -conv3-> 10 -conv4-> 8 -pool-> 4"
ORDER = "conv1 → ReLU → conv2 → ReLU → max-pool → conv3 → ReLU → conv4 → ReLU → max-pool → flatten → fc1 → ReLU → fc2 → log_softmax"


def side_lengths(size: int) -> list[int]:
    """Side length after conv1, conv2, pool, conv3, conv4, pool for a size x size input."""
    sizes = []
    for step in ("conv", "conv", "pool", "conv", "conv", "pool"):
        size = size - 2 if step == "conv" else size // 2
        sizes.append(size)
    return sizes


def reference_flatten_size(size: int = 28) -> int:
    """Number of features fc1 would receive from a size x size input (4096 for 28)."""
    return 256 * side_lengths(size)[-1] ** 2


def walk_text(size: int) -> str:
    return " -> ".join(str(s) for s in [size] + side_lengths(size))


def fmt(shape) -> str:
    """('N', 64, 12, 12) style, for messages."""
    return "(" + ", ".join(["N"] + [str(s) for s in shape]) + ")"


def _seeded(seed: int, *shape) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator)


@contextlib.contextmanager
def _rng(seed: int):
    """Use a seed inside the check without disturbing the learner's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def check_log_probs(out: torch.Tensor, what: str) -> None:
    """Rows of ``out`` (N, 10) must be log-probabilities: exp(row) sums to 1."""
    __tracebackhide__ = True
    out = out.detach().double()
    expect(bool(torch.isfinite(out).all()), f"{what} contains inf or nan; use F.log_softmax(x, dim=1), which is stable even for large scores.")
    row_lse = torch.logsumexp(out, dim=1)
    if torch.allclose(row_lse, torch.zeros_like(row_lse), atol=1e-4):
        return
    if (out >= 0).all() and (out <= 1).all() and torch.allclose(out.sum(dim=1), torch.ones(len(out), dtype=out.dtype), atol=1e-4):
        raise CheckFailed(f"{what} look like probabilities (each row is positive and sums to 1): that is softmax. "
                          "The model must return log-probabilities: use F.log_softmax(x, dim=1) instead of F.softmax.")
    col_lse = torch.logsumexp(out, dim=0)
    if len(out) > 1 and torch.allclose(col_lse, torch.zeros_like(col_lse), atol=1e-4):
        raise CheckFailed(f"{what}: exp() of each COLUMN sums to 1, not each row: log_softmax ran over dim 0, the batch. "
                          "Normalize over the 10 classes of each image: F.log_softmax(x, dim=1).")
    if len(out) == 1 and torch.allclose(out, torch.zeros_like(out), atol=1e-6):
        raise CheckFailed(f"{what} is all zeros for a batch of one image: that is log_softmax over dim 0 (the batch). "
                          "Normalize over the classes: F.log_softmax(x, dim=1).")
    raise CheckFailed(f"{what} are not log-probabilities: exp() of a row should sum to 1 but sums to "
                      f"{row_lse.exp()[0].item():.4g}. Finish with F.log_softmax(x, dim=1) on fc2's output.")


# --- exercise 1: max_pool_2x2 ------------------------------------------------------------------


def _no_library_pooling():
    """F.max_pool2d / nn.MaxPool2d / torch.max_pool2d raise inside the learner's function."""
    return forbid(
        (F, "max_pool2d"), (F, "max_pool2d_with_indices"), (F, "adaptive_max_pool2d"),
        (torch, "max_pool2d"), (torch, "adaptive_max_pool2d"), (torch, "max_pool2d_with_indices"),
    )  # fmt: skip


def _pool(answer, x: torch.Tensor) -> torch.Tensor:
    __tracebackhide__ = True
    original = x.clone()
    try:
        with _no_library_pooling():
            out = call(answer, x, what="max_pool_2x2")
    except CheckFailed as failure:
        if isinstance(failure.__cause__, UsedLibraryFunction):
            raise CheckFailed("max_pool_2x2 calls F.max_pool2d (or nn.MaxPool2d): write the pooling yourself, with "
                              "reshape + amax, Tensor.unfold + amax, or loops. F.max_pool2d is what we compare your result with.") from None
        raise
    expect(torch.equal(x, original), "max_pool_2x2 changed its input tensor in place; compute a new tensor instead.")
    return expect_tensor(out, "max_pool_2x2(x)")


def _compare_pool(answer, x: torch.Tensor) -> None:
    __tracebackhide__ = True
    out = _pool(answer, x)
    n, c, h, w = x.shape
    expected = F.max_pool2d(x, 2)
    got = tuple(out.shape)
    name = f"max_pool_2x2 of a {tuple(x.shape)} tensor"
    if got != tuple(expected.shape) and got == (n, c, h - 1, w - 1):
        raise CheckFailed(f"{name} returned shape {got}: the 2x2 windows overlap (stride 1). "
                          f"Use stride 2, so that each window starts 2 pixels after the previous one and H, W are halved to {(n, c, h // 2, w // 2)}.")
    if got != tuple(expected.shape) and got == (n, c, w // 2, h // 2):
        raise CheckFailed(f"{name} returned shape {got}: height and width are swapped. Keep (N, C, H/2, W/2) = {(n, c, h // 2, w // 2)}.")
    expect(got == tuple(expected.shape), f"{name} returned shape {got}; expected {tuple(expected.shape)}: "
                                         "a 2x2 pool with stride 2 keeps N and C and halves H and W.")
    expect(out.dtype == x.dtype, f"max_pool_2x2 returned dtype {out.dtype}; keep the input's dtype {x.dtype}.")
    if torch.allclose(out, expected, atol=1e-6):
        return
    if torch.allclose(out, F.avg_pool2d(x, 2), atol=1e-5):
        raise CheckFailed("max_pool_2x2 returns the MEAN of each 2x2 window: that is average pooling. Take the maximum (amax / max).")
    if torch.allclose(out, F.max_pool2d(x, 2).clamp(min=0), atol=1e-6):
        raise CheckFailed("max_pool_2x2 gives 0 where a whole 2x2 window is negative: the running maximum probably starts at 0. "
                          "Start from the window's first value (or -inf).")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(f"{name}: values differ from F.max_pool2d by up to {worst:.3g}. Each output pixel (i, j) must be the "
                      "maximum of the window x[..., 2i:2i+2, 2j:2j+2]; if you reshape, use (N, C, H//2, 2, W//2, 2) and take the max over dims 3 and 5.")


def _max_pool_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_pool(answer, _seeded(0, 2, 3, 6, 8))
    _compare_pool(answer, torch.arange(16.0).reshape(1, 1, 4, 4))
    return "(2, 3, 6, 8) -> (2, 3, 3, 4), the same values as F.max_pool2d."


def _max_pool_strict(answer) -> None:
    __tracebackhide__ = True
    _compare_pool(answer, _seeded(1, 3, 5, 10, 4))  # not square
    _compare_pool(answer, -_seeded(2, 2, 2, 6, 6).abs() - 1.0)  # every value negative
    _compare_pool(answer, _seeded(3, 1, 1, 2, 2))  # one window
    _compare_pool(answer, _seeded(4, 4, 64, 24, 24))  # what conv2 hands to the pool
    ties = torch.zeros(1, 2, 4, 4)
    _compare_pool(answer, ties)


max_pool_2x2 = Exercise(
    title="max_pool_2x2",
    visible=_max_pool_visible,
    strict=_max_pool_strict,
    hint_text="x.reshape(N, C, H // 2, 2, W // 2, 2) puts every 2x2 window on dims 3 and 5; .amax(dim=(3, 5)) "
              "takes their maxima. (x.unfold(2, 2, 2).unfold(3, 2, 2) gives the windows on the last two dims instead.)",
)


# --- exercise 2: flatten_size ------------------------------------------------------------------

_FLATTEN_DIAGNOSES = {
    16384: "that is 256 x 8 x 8: the second max-pool (after conv4) is missing",
    25600: "that is 256 x 10 x 10: the first max-pool (after conv2) is missing",
    102400: "that is 256 x 20 x 20: both max-pools are missing",
    9216: "that is 64 x 12 x 12, the network of pytorch/examples (conv1, conv2, one pool); ours goes on with conv3, conv4 and a second pool",
    36864: "that is 64 x 24 x 24: pytorch/examples' network without its pool; ours has conv3, conv4 and two pools",
    12544: "that is 256 x 7 x 7: the convs kept the size (padding=1); the course convs have no padding, so each one loses 2 pixels",
    6400: "that is 256 x 5 x 5: a 3x3 conv without padding takes 2 pixels off the side length (28 -> 26), not 1 (or did a pool round up?)",
    2048: "that is 128 x 4 x 4: conv4 has 256 output channels",
    4: "that is the side length of conv4's pooled output; multiply 256 channels x 4 x 4",
    16: "that is the area of one pooled feature map (4 x 4); multiply by the 256 channels",
}


def _flatten_value(answer, size: int) -> int:
    __tracebackhide__ = True
    value = call(answer, size, what=f"flatten_size({size})")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    expect(isinstance(value, numbers.Number), f"flatten_size({size}) should return a number, got {type(value).__name__}")
    if not isinstance(value, numbers.Integral) and not isinstance(value, bool):
        expect(float(value).is_integer(), f"flatten_size({size}) returned {value}, which is not a whole number: a pool rounds DOWN, use // for division.")
        raise CheckFailed(f"flatten_size({size}) returned the float {value}: a number of features is an int. Use // (integer division) for the pools.")
    return int(value)


def _flatten_compare(answer, size: int) -> None:
    __tracebackhide__ = True
    value, expected = _flatten_value(answer, size), reference_flatten_size(size)
    if value == expected:
        return
    why = _FLATTEN_DIAGNOSES.get(value) if size == 28 else None
    if why is None and value == 256 * _ceil_walk(size) ** 2:
        why = "a pool rounded UP; max-pooling an odd side length rounds DOWN (13 -> 6, 25 -> 12), use //"
    raise CheckFailed(f"flatten_size({size}) returned {value:,}; expected {expected:,} = 256 x {side_lengths(size)[-1]} x {side_lengths(size)[-1]}"
                      + (f": {why}." if why else ".") + f" The side lengths go {walk_text(size)}.")


def _ceil_walk(size: int) -> int:
    for step in ("conv", "conv", "pool", "conv", "conv", "pool"):
        size = size - 2 if step == "conv" else -(-size // 2)
    return size


def _flatten_visible(answer) -> str:
    __tracebackhide__ = True
    _flatten_compare(answer, 28)
    return f"{WALK}: 256 x 4 x 4 = 4,096 features."


def _flatten_strict(answer) -> None:
    __tracebackhide__ = True
    for size in (32, 30, 29, 36, 40, 33):
        _flatten_compare(answer, size)


flatten_size = Exercise(
    title="flatten_size",
    visible=_flatten_visible,
    strict=_flatten_strict,
    hint_text="Apply conv_output_size four times and pool_output_size twice, in the order of the Net "
              "(conv, conv, pool, conv, conv, pool), then multiply 256 channels by side x side.",
)


# --- layers, hooks and reference weights -------------------------------------------------------


def _module_params(module: nn.Module) -> list[torch.Tensor]:
    return list(module.parameters(recurse=False))


class Trace:
    """What one forward pass did: param layers in call order, their input/output shapes, the error if any."""

    def __init__(self, model: nn.Module, x: torch.Tensor, what: str):
        self.names = {module: name or type(module).__name__ for name, module in model.named_modules()}
        self.records: list[dict] = []
        self.output, self.error = None, None
        watched = [m for m in model.modules() if _module_params(m) or not list(m.children())]
        handles = []

        def before(module, args):
            if _module_params(module):
                shape = tuple(args[0].shape) if args and isinstance(args[0], torch.Tensor) else None
                self.records.append({"module": module, "in": shape, "out": None})

        def after(module, _args, output):
            if _module_params(module):
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
            raise NotAttempted(f"{what} is not attempted yet: replace `raise NotImplementedError()` with your code.") from None
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
        self.uncalled = [m for m in model.modules() if _module_params(m) and not any(m is c for c in called)]

    def name(self, module) -> str:
        return self.names.get(module, type(module).__name__)

    def first_record(self, module):
        return next(r for r in self.records if r["module"] is module)


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return f"Conv2d({module.in_channels}, {module.out_channels}, kernel_size={module.kernel_size[0]})"
    if isinstance(module, nn.Linear):
        return f"Linear({module.in_features}, {module.out_features})"
    return type(module).__name__


def _expected(role: str) -> str:
    kind, n_in, n_out = SPEC[role]
    return f"Conv2d({n_in}, {n_out}, kernel_size=3)" if kind is nn.Conv2d else f"Linear({n_in}, {n_out})"


def _fc1_inputs_story(n: int) -> str:
    stories = {
        9216: "9216 = 64 x 12 x 12 is what conv2 + one max-pool give (pytorch/examples' network); ours goes on with conv3, conv4 and a second max-pool",
        16384: "16384 = 256 x 8 x 8, the features before the second max-pool: did you forget the max-pool after conv4?",
        25600: "25600 = 256 x 10 x 10, as if the first max-pool were missing: did you forget the max-pool after conv2?",
        102400: "102400 = 256 x 20 x 20, as if there were no pooling at all: did you forget both max-pools?",
        36864: "36864 = 64 x 24 x 24, conv2's output without pooling: did you forget a max-pool, and conv3 and conv4?",
        12544: "12544 = 256 x 7 x 7 is what padding=1 convs would give; the course convs have no padding",
    }
    return stories.get(n, f"the features after conv4 and the second max-pool are 256 x 4 x 4 = 4096 ({WALK})")


def _check_layer(role: str, module: nn.Module, where: str) -> None:
    __tracebackhide__ = True
    kind, n_in, n_out = SPEC[role]
    expect(isinstance(module, kind), f"{role} should be {_expected(role)}, but your layer {where} is {_describe(module)}. "
                                     f"The layers with weights, in the order forward uses them, must be conv1, conv2, conv3, conv4, fc1, fc2.")
    if kind is nn.Conv2d:
        expect(module.in_channels == n_in and module.out_channels == n_out,
               f"{role} maps {module.in_channels} -> {module.out_channels} channels; expected {n_in} -> {n_out} ({_expected(role)}).")
        expect(tuple(module.kernel_size) == (3, 3), f"{role} has kernel_size={module.kernel_size}; all course convs are 3x3.")
        padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
        shown = repr(padding) if isinstance(padding, str) else (str(padding[0]) if len(set(padding)) == 1 else str(padding))
        expect(padding in ((0, 0), "valid"),
               f"{role} uses padding={shown}; the course convs use none (padding=0), so each 3x3 conv takes 2 pixels "
               f"off the side length ({WALK}). With padding the shapes, and fc1's 4096 inputs, no longer fit.")
        expect(tuple(module.stride) == (1, 1), f"{role} has stride={module.stride}; the course convs use stride 1 (the max-pools do the downsampling).")
        expect(tuple(module.dilation) == (1, 1) and module.groups == 1, f"{role} uses dilation or groups; the course convs are plain 3x3 convolutions.")
    else:
        if role == "fc1" and module.in_features != n_in:
            raise CheckFailed(f"fc1 takes {module.in_features} inputs; expected 4096: {_fc1_inputs_story(module.in_features)}.")
        expect(module.in_features == n_in and module.out_features == n_out,
               f"{role} maps {module.in_features} -> {module.out_features} features; expected {n_in} -> {n_out} ({_expected(role)}).")
    expect(getattr(module, "bias", None) is not None, f"{role} has no bias; the course layers all have one (bias=True is the default).")


def _check_layers(trace: Trace, roles: tuple[str, ...], what: str) -> list[nn.Module]:
    """The param layers (call order, then any never called) must be exactly `roles`; returns them."""
    __tracebackhide__ = True
    layers = trace.called + (trace.uncalled if trace.error is not None else [])
    if trace.error is None and trace.uncalled:
        unused = ", ".join(f"`{trace.name(m)}` {_describe(m)}" for m in trace.uncalled)
        raise CheckFailed(f"{what} defines {unused} but forward never uses it: its parameters would still count. Use it or remove it.")
    listing = ", ".join(f"`{trace.name(m)}` {_describe(m)}" for m in layers) or "none"
    others = [m for m in layers if not isinstance(m, (nn.Conv2d, nn.Linear))]
    expect(not others, f"{what} has a {type(others[0]).__name__ if others else ''} layer (`{trace.name(others[0]) if others else ''}`); "
                       f"the course {what} has only Conv2d and Linear layers with weights. Remove it.")
    for kind, word in ((nn.Conv2d, "Conv2d"), (nn.Linear, "Linear")):
        wanted = [r for r in roles if SPEC[r][0] is kind]
        have = [m for m in layers if isinstance(m, kind)]
        if len(have) < len(wanted):
            missing = ", ".join(f"{r} = {_expected(r)}" for r in wanted[len(have):])
            raise CheckFailed(f"{what} uses {len(have)} {word} layer(s) ({listing}); the course {what} has {len(wanted)}: "
                              f"{', '.join(f'{r} = {_expected(r)}' for r in wanted)}. Missing: {missing}.")
        if len(have) > len(wanted):
            raise CheckFailed(f"{what} uses {len(have)} {word} layers ({listing}); the course {what} has {len(wanted)}: "
                              f"{', '.join(f'{r} = {_expected(r)}' for r in wanted)}. Remove the extra ones.")
    for role, module in zip(roles, layers):
        _check_layer(role, module, f"`{trace.name(module)}`")
    expected = ", ".join(roles)
    if len(layers) < len(roles):
        missing = ", ".join(f"{r} = {_expected(r)}" for r in roles[len(layers):])
        raise CheckFailed(f"{what} uses {len(layers)} layer(s) with weights ({listing}); the course {what} has {len(roles)}: {expected}. Missing: {missing}.")
    if len(layers) > len(roles):
        extra = ", ".join(f"`{trace.name(m)}` {_describe(m)}" for m in layers[len(roles):])
        raise CheckFailed(f"{what} has more layers with weights than the course {what} ({expected}): {extra}. Remove them.")
    return layers


def _input_story(role: str, got, previous: str | None, prev_out) -> str:
    """Why `role` receives per-image shape `got` instead of IN_SHAPE[role]."""
    expected = IN_SHAPE[role]
    head = f"{role} receives {fmt(got)}; expected {fmt(expected)}"
    if role == "fc1":
        if len(got) == 3:
            n = got[0] * got[1] * got[2]
            also = "" if n == 4096 else f" Flattened, they would be {n} features, not 4096: {_fc1_inputs_story(n)}"
            return f"{head}: flatten the (N, {got[0]}, {got[1]}, {got[2]}) features to (N, {n}) first, with torch.flatten(x, 1) or nn.Flatten().{also}"
        n = got[0] if got else 0
        return f"fc1 expects 4096 inputs but got {n}: {_fc1_inputs_story(n)}"
    if prev_out is None:
        return head + "."
    pooled = previous in POOLED_AFTER
    c, h, w = prev_out
    if pooled and tuple(got) == tuple(prev_out):
        return (f"{previous} output is {fmt(prev_out)} and reaches {role} unchanged; expected {fmt(expected)} after pooling — "
                f"did you apply max-pool after {previous}?")
    if pooled and tuple(got) == (c, h - 1, w - 1):
        return (f"{role} receives {fmt(got)}: the pool after {previous} went from {h}x{w} to {h - 1}x{w - 1}, a 2x2 window with stride 1. "
                f"Use stride 2 (nn.MaxPool2d(2) or F.max_pool2d(x, 2)) to get {fmt(expected)}.")
    if not pooled and tuple(got) == (c, h // 2, w // 2):
        return (f"{role} receives {fmt(got)}: you max-pool after {previous}, but the course Net pools only after conv2 and conv4, "
                f"so {role} should receive {previous}'s {fmt(prev_out)}.")
    return f"{head} ({previous} output was {fmt(prev_out)}; the course walk is {WALK})."


def _check_walk(trace: Trace, layers: list[nn.Module], roles: tuple[str, ...], batch: int) -> None:
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
                raise CheckFailed(_input_story(role, got[1:] if got[0] == batch else (numel // batch,), previous, prev_out))
            if len(got) < 2 or got[0] != batch:
                raise CheckFailed(f"{role} receives a tensor of shape {got} for a batch of {batch} images: the batch dimension got lost. "
                                  "Flatten with torch.flatten(x, 1) (or x.view(x.size(0), -1)), which keeps dim 0.")
            if tuple(got[1:]) != IN_SHAPE[role]:
                raise CheckFailed(_input_story(role, tuple(got[1:]), previous, prev_out))
        if record["out"] is not None:
            previous, prev_out = role, record["out"][1:]


def _as_model(answer, what: str) -> nn.Module:
    __tracebackhide__ = True
    model = call(answer, what=f"{what}()")
    expect(isinstance(model, nn.Module), f"{what}() should create an nn.Module (class {what}(nn.Module)), got {type(model).__name__}")
    return model


def _forward(model: nn.Module, x: torch.Tensor, what: str, roles: tuple[str, ...]) -> tuple[torch.Tensor, list[nn.Module]]:
    """Trace a forward pass, check the layers and the shape walk; return (output, layers in call order)."""
    __tracebackhide__ = True
    trace = Trace(model, x, what)
    layers = _check_layers(trace, roles, what)
    _check_walk(trace, layers, roles, len(x))
    if trace.error is not None:
        raise CheckFailed(f"{what} raised {type(trace.error).__name__}: {trace.error}") from trace.error
    out = expect_tensor(trace.output, f"{what}'s output")
    expect(tuple(out.shape) == (len(x), 10), f"{what} returned shape {tuple(out.shape)} for a batch of {len(x)}; expected ({len(x)}, 10): one score per class.")
    return out, layers


def load_reference_weights(layers: list[nn.Module], reference: list[torch.Tensor]) -> None:
    """Copy reference tensors into the layers' (weight, bias) in order; shapes were checked before."""
    params = [p for module in layers for p in _module_params(module)]
    shapes = [tuple(p.shape) for p in params]
    expected = [tuple(t.shape) for t in reference]
    expect(shapes == expected, f"the parameter shapes are {shapes}; expected {expected}")
    with torch.no_grad():
        for p, t in zip(params, reference):
            p.copy_(t)


def reference_forward(params: list[torch.Tensor], x: torch.Tensor, relu=(True,) * 5, relu_on_scores=False, head_only=False, pool=F.max_pool2d):
    """The course Net (or its head) written with F, with switches for typical mistakes."""
    if not head_only:
        x = F.conv2d(x, params[0], params[1])
        x = F.relu(x) if relu[0] else x
        x = F.conv2d(x, params[2], params[3])
        x = pool(F.relu(x) if relu[1] else x, 2)
        x = F.conv2d(x, params[4], params[5])
        x = F.relu(x) if relu[2] else x
        x = F.conv2d(x, params[6], params[7])
        x = pool(F.relu(x) if relu[3] else x, 2)
        params = params[8:]
    x = torch.flatten(x, 1)
    x = F.linear(x, params[0], params[1])
    x = F.relu(x) if relu[4] else x
    x = F.linear(x, params[2], params[3])
    x = F.relu(x) if relu_on_scores else x
    return F.log_softmax(x, dim=1)


def _reference_params(seed: int) -> list[torch.Tensor]:
    with _rng(seed):
        return [p.detach().clone() for p in ReferenceNet().parameters()]


def _compare_with_reference(model, layers, x, params, what: str, head_only: bool) -> None:
    __tracebackhide__ = True
    params = params[8:] if head_only else params
    load_reference_weights(layers, params)
    with torch.no_grad():
        out = call(model, x, what=what)
        expected = reference_forward(params, x, head_only=head_only)
        if torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
            return
        again = call(model, x, what=what)
    expect(torch.allclose(out, again), f"{what} gives different outputs for the same input: the course model has no dropout or other randomness.")
    roles = ("conv1", "conv2", "conv3", "conv4", "fc1")
    variants = [("the ReLU after fc1 is missing", dict(relu=(True,) * 4 + (False,)))]
    if not head_only:
        variants += [(f"the ReLU after {roles[i]} is missing", dict(relu=tuple(j != i for j in range(5)))) for i in range(4)]
        variants.append(("there is no ReLU at all", dict(relu=(False,) * 5)))
        variants.append(("the pools take the average of each window instead of the maximum: use max-pooling", dict(pool=F.avg_pool2d)))
    variants.append(("a ReLU is applied to fc2's scores before log_softmax: scores must be free to be negative", dict(relu_on_scores=True)))
    for story, switches in variants:
        if torch.allclose(out, reference_forward(params, x, head_only=head_only, **switches), atol=1e-4, rtol=1e-4):
            raise CheckFailed(f"With the reference weights loaded, {what} gives other outputs than the reference: {story}. "
                              f"The order is {ORDER if not head_only else 'flatten → fc1 → ReLU → fc2 → log_softmax'}.")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(f"With the reference weights loaded, {what}'s outputs differ from the reference by up to {worst:.3g}. "
                      f"Check the order of operations: {ORDER if not head_only else 'flatten → fc1 → ReLU → fc2 → log_softmax'}.")


def _check_gradients(model: nn.Module, x: torch.Tensor, what: str) -> None:
    __tracebackhide__ = True
    model.zero_grad()
    out = call(model, x, what=what)
    expect(out.requires_grad, f"{what}'s output does not require grad: don't use torch.no_grad() or .detach() inside forward.")
    out.sum().backward()
    for name, p in model.named_parameters():
        expect(p.grad is not None and bool(p.grad.abs().sum() > 0), f"no gradient reaches `{name}`: don't use torch.no_grad(), .detach() or .data inside forward.")


# --- exercise 3: ClassifierHead ----------------------------------------------------------------

HEAD_ROLES = ("fc1", "fc2")


def _head_checks(answer, batch: int, seed: int, compare: bool) -> nn.Module:
    __tracebackhide__ = True
    with _rng(seed):
        head = _as_model(answer, "ClassifierHead")
    features = _seeded(seed + 100, batch, 256, 4, 4).relu()
    trace = Trace(head, features, "ClassifierHead")
    layers = _check_layers(trace, HEAD_ROLES, "ClassifierHead")
    if trace.error is not None:
        shape_error = "cannot be multiplied" in str(trace.error) or "size mismatch" in str(trace.error)
        record = trace.records[0] if trace.records else None
        if record and record["in"] is not None and len(record["in"]) == 4:
            raise CheckFailed(f"fc1 receives the features unflattened, {record['in']}: flatten (N, 256, 4, 4) to (N, 4096) with torch.flatten(x, 1) or nn.Flatten().")
        if record and record["in"] is not None and len(record["in"]) == 1:
            raise CheckFailed(f"fc1 receives shape {record['in']}: the batch dimension got lost. Use torch.flatten(x, 1), not torch.flatten(x).")
        hint = " Did you flatten (N, 256, 4, 4) to (N, 4096) with torch.flatten(x, 1)?" if shape_error else ""
        raise CheckFailed(f"ClassifierHead raised {type(trace.error).__name__}: {trace.error}.{hint}") from trace.error
    out = expect_tensor(trace.output, "ClassifierHead's output")
    expect(tuple(out.shape) == (batch, 10), f"ClassifierHead turned features of shape {(batch, 256, 4, 4)} into {tuple(out.shape)}; expected ({batch}, 10).")
    n_params = sum(p.numel() for p in head.parameters())
    expect(n_params == HEAD_PARAMETERS, f"ClassifierHead has {n_params:,} parameters; expected {HEAD_PARAMETERS:,} = (4096 x 50 + 50) + (50 x 10 + 10).")
    check_log_probs(out, "ClassifierHead's outputs")
    if compare:
        _compare_with_reference(head, layers, features, _reference_params(seed), "ClassifierHead", head_only=True)
    return head


def _head_visible(answer) -> str:
    __tracebackhide__ = True
    _head_checks(answer, batch=3, seed=0, compare=True)
    return f"(N, 256, 4, 4) -> (N, 4096) -> (N, 50) -> (N, 10) log-probabilities; {HEAD_PARAMETERS:,} parameters; same outputs as the reference with its weights."


def _head_strict(answer) -> None:
    __tracebackhide__ = True
    _head_checks(answer, batch=1, seed=1, compare=True)
    head = _head_checks(answer, batch=64, seed=2, compare=True)
    _check_gradients(head, _seeded(5, 2, 256, 4, 4), "ClassifierHead")


ClassifierHead = Exercise(
    title="ClassifierHead",
    visible=_head_visible,
    strict=_head_strict,
    hint_text="In __init__: self.fc1 = nn.Linear(4096, 50) and self.fc2 = nn.Linear(50, 10). In forward: "
              "x = torch.flatten(x, 1); x = F.relu(self.fc1(x)); return F.log_softmax(self.fc2(x), dim=1).",
)


# --- exercise 4: Net ---------------------------------------------------------------------------


def _net_checks(answer, batch: int, seed: int, compare: bool, eval_mode: bool = False) -> nn.Module:
    __tracebackhide__ = True
    expect(not (isinstance(answer, type) and issubclass(answer, ReferenceNet)),
           "Net is mnist_ref's reference Net: build your own from nn.Conv2d, nn.Linear and the functions of this lesson.")
    with _rng(seed):
        model = _as_model(answer, "Net")
    model.train(not eval_mode)
    x = _seeded(seed + 200, batch, 1, 28, 28)
    out, layers = _forward(model, x, "Net", ROLES)
    n_params = sum(p.numel() for p in model.parameters())
    expect(n_params == NUM_PARAMETERS, f"Net has {n_params:,} parameters; the course Net has {NUM_PARAMETERS:,}.")
    check_log_probs(out, "Net's outputs")
    if compare:
        _compare_with_reference(model, layers, x, _reference_params(seed), "Net", head_only=False)
    return model


def _net_visible(answer) -> str:
    __tracebackhide__ = True
    _net_checks(answer, batch=2, seed=0, compare=True)
    return (f"{WALK}, 4,096 features, (N, 10) log-probabilities, {NUM_PARAMETERS:,} parameters, "
            "and with the reference weights it computes exactly what mnist_ref.Net computes.")


def _net_strict(answer) -> None:
    __tracebackhide__ = True
    _net_checks(answer, batch=1, seed=1, compare=True)
    model = _net_checks(answer, batch=5, seed=2, compare=True, eval_mode=True)
    model.train()
    _check_gradients(model, _seeded(11, 2, 1, 28, 28), "Net")


Net = Exercise(
    title="Net",
    visible=_net_visible,
    strict=_net_strict,
    hint_text="Four nn.Conv2d(in, out, 3) (1->32, 32->64, 64->128, 128->256) and the two linear layers of ClassifierHead; "
              f"in forward: {ORDER}. Use F.max_pool2d(x, 2) (or your max_pool_2x2) after conv2 and conv4.",
)
