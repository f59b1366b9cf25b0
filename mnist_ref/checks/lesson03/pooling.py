"""Lesson 03's visible checks of pooling by hand and of the shape walk: ``max_pool_2x2`` and ``flatten_size``.

The graded checks (more shapes, more sizes, seed-varied) are the grader's (``mnist_course.checks.lesson03``);
they reuse the comparisons and messages defined here.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from ..architecture import FEATURE_SHAPE, WALK
from ..fixtures import seeded
from ..framework import CheckFailed, Exercise, UsedLibraryFunction, call, expect, expect_tensor, forbid

# --- exercise 1: max_pool_2x2 ------------------------------------------------------------------


def _no_library_pooling():
    """F.max_pool2d / nn.MaxPool2d / torch.max_pool2d raise inside the learner's function."""
    return forbid(
        (F, "max_pool2d"),
        (F, "max_pool2d_with_indices"),
        (F, "adaptive_max_pool2d"),
        (torch, "max_pool2d"),
        (torch, "adaptive_max_pool2d"),
        (torch, "max_pool2d_with_indices"),
    )


def _pool(answer, x: torch.Tensor) -> torch.Tensor:
    __tracebackhide__ = True
    original = x.clone()
    try:
        with _no_library_pooling():
            out = call(answer, x, what="max_pool_2x2")
    except CheckFailed as failure:
        if isinstance(failure.__cause__, UsedLibraryFunction):
            raise CheckFailed(
                "max_pool_2x2 calls F.max_pool2d (or nn.MaxPool2d): write the pooling yourself, with "
                "reshape + amax, Tensor.unfold + amax, or loops. F.max_pool2d is what we compare your result with."
            ) from None
        raise
    expect(torch.equal(x, original), "max_pool_2x2 changed its input tensor in place; compute a new tensor instead.")
    return expect_tensor(out, "max_pool_2x2(x)")


def compare_pool(answer, x: torch.Tensor) -> None:
    __tracebackhide__ = True
    out = _pool(answer, x)
    n, c, h, w = x.shape
    expected = F.max_pool2d(x, 2)
    got = tuple(out.shape)
    name = f"max_pool_2x2 of a {tuple(x.shape)} tensor"
    if got != tuple(expected.shape) and got == (n, c, h - 1, w - 1):
        raise CheckFailed(
            f"{name} returned shape {got}: the 2x2 windows overlap (stride 1). "
            "Use stride 2, so that each window starts 2 pixels after the previous one and H, W are halved to "
            f"{(n, c, h // 2, w // 2)}."
        )
    if got != tuple(expected.shape) and got == (n, c, w // 2, h // 2):
        raise CheckFailed(
            f"{name} returned shape {got}: height and width are swapped. Keep (N, C, H/2, W/2) = "
            f"{(n, c, h // 2, w // 2)}."
        )
    expect(
        got == tuple(expected.shape),
        f"{name} returned shape {got}; expected {tuple(expected.shape)}: "
        "a 2x2 pool with stride 2 keeps N and C and halves H and W.",
    )
    expect(out.dtype == x.dtype, f"max_pool_2x2 returned dtype {out.dtype}; keep the input's dtype {x.dtype}.")
    if torch.allclose(out, expected, atol=1e-6):
        return
    if torch.allclose(out, F.avg_pool2d(x, 2), atol=1e-5):
        raise CheckFailed(
            "max_pool_2x2 returns the MEAN of each 2x2 window: that is average pooling. Take the maximum (amax / max)."
        )
    if torch.allclose(out, F.max_pool2d(x, 2).clamp(min=0), atol=1e-6):
        raise CheckFailed(
            "max_pool_2x2 gives 0 where a whole 2x2 window is negative: the running maximum probably starts at 0. "
            "Start from the window's first value (or -inf)."
        )
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"{name}: values differ from F.max_pool2d by up to {worst:.3g}. Each output pixel (i, j) must be the "
        "maximum of the window x[..., 2i:2i+2, 2j:2j+2]; if you reshape, use (N, C, H//2, 2, W//2, 2) and take the "
        "max over dims 3 and 5."
    )


def max_pool_visible(answer) -> str:
    __tracebackhide__ = True
    compare_pool(answer, seeded(0, 2, 3, 6, 8))
    compare_pool(answer, torch.arange(16.0).reshape(1, 1, 4, 4))
    return "(2, 3, 6, 8) -> (2, 3, 3, 4), the same values as F.max_pool2d."


max_pool_2x2 = Exercise(
    title="max_pool_2x2",
    visible=max_pool_visible,
    key="lesson03.max_pool_2x2",
    hint_text="x.reshape(N, C, H // 2, 2, W // 2, 2) puts every 2x2 window on dims 3 and 5; .amax(dim=(3, 5)) "
    "takes their maxima. (x.unfold(2, 2, 2).unfold(3, 2, 2) gives the windows on the last two dims instead.)",
)


# --- exercise 2: flatten_size ------------------------------------------------------------------

_FLATTEN_DIAGNOSES = {
    16384: "that is 256 x 8 x 8: the second max-pool (after conv4) is missing",
    25600: "that is 256 x 10 x 10: the first max-pool (after conv2) is missing",
    102400: "that is 256 x 20 x 20: both max-pools are missing",
    9216: (
        "that is 64 x 12 x 12, the network of pytorch/examples (conv1, conv2, one pool); ours goes on with conv3, "
        "conv4 and a second pool"
    ),
    36864: "that is 64 x 24 x 24: pytorch/examples' network without its pool; ours has conv3, conv4 and two pools",
    12544: (
        "that is 256 x 7 x 7: the convs kept the size (padding=1); the course convs have no padding, so each one "
        "loses 2 pixels"
    ),
    6400: (
        "that is 256 x 5 x 5: a 3x3 conv without padding takes 2 pixels off the side length (28 -> 26), not 1 (or "
        "did a pool round up?)"
    ),
    2048: "that is 128 x 4 x 4: conv4 has 256 output channels",
    4: "that is the side length of conv4's pooled output; multiply 256 channels x 4 x 4",
    16: "that is the area of one pooled feature map (4 x 4); multiply by the 256 channels",
}


def _flatten_value(answer, size: int) -> int:
    __tracebackhide__ = True
    value = call(answer, size, what=f"flatten_size({size})")
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    expect(
        isinstance(value, numbers.Number), f"flatten_size({size}) should return a number, got {type(value).__name__}"
    )
    if not isinstance(value, numbers.Integral) and not isinstance(value, bool):
        expect(
            float(value).is_integer(),
            f"flatten_size({size}) returned {value}, which is not a whole number: a pool rounds DOWN, use // for "
            "division.",
        )
        raise CheckFailed(
            f"flatten_size({size}) returned the float {value}: a number of features is an int. Use // (integer "
            "division) for the pools."
        )
    return int(value)


def flatten_compare(answer, size: int, side: int, walk: str, rounded_up: int | None = None) -> None:
    """``answer(size)`` must be 256 x side x side; ``walk`` shows the side lengths, ``rounded_up`` is
    what pools that round an odd side length up would give."""
    __tracebackhide__ = True
    value, expected = _flatten_value(answer, size), FEATURE_SHAPE[0] * side * side
    if value == expected:
        return
    why = _FLATTEN_DIAGNOSES.get(value) if size == 28 else None
    if why is None and value == rounded_up:
        why = "a pool rounded UP; max-pooling an odd side length rounds DOWN (13 -> 6, 25 -> 12), use //"
    raise CheckFailed(
        f"flatten_size({size}) returned {value:,}; expected {expected:,} = {FEATURE_SHAPE[0]} x {side} x {side}"
        + (f": {why}." if why else ".")
        + f" The side lengths go {walk}."
    )


# The sizes the exercise text names, with their side lengths written out (a constant 4096 fails the second).
VISIBLE_SIZES = {28: (4, "28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4"), 32: (5, "32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5")}


def flatten_visible(answer) -> str:
    __tracebackhide__ = True
    for size, (side, walk) in VISIBLE_SIZES.items():
        flatten_compare(answer, size, side, walk)
    return (
        f"{WALK}: {' x '.join(map(str, FEATURE_SHAPE))} = 4,096 features; a 32x32 image gives 6,400. "
        "(Sizes 28 and 32 checked here; other sizes, odd ones too, are checked when graded.)"
    )


flatten_size = Exercise(
    title="flatten_size",
    visible=flatten_visible,
    key="lesson03.flatten_size",
    hint_text="Apply conv_output_size four times and pool_output_size twice, in the order of the Net "
    "(conv, conv, pool, conv, conv, pool), then multiply 256 channels by side x side.",
)
