"""Lesson 02's graded checks: the visible cases, then named edge cases with seeded values and one
case of seeded shape (the seed varies per grading run).

The convolutions are compared with ``F.conv2d`` here, in the grader's process; the references
below compute them another way because the checks switch the library convolution off while
they call the answer (and so the reference, when the grader learns which calls to make).
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref import model
from mnist_ref.checks.fixtures import seeded
from mnist_ref.checks.lesson02.convolution import compare_loops, compare_unfold, loops_visible, unfold_visible
from mnist_ref.checks.lesson02.sizes import compare_parameters, compare_size, parameters_visible, size_visible

from .graded import Replayed

# What the exercise text forbids: F.conv2d (the same object as torch.conv2d and as the binding
# that `from torch.nn.functional import conv2d` takes), nn.Conv2d, and the lower-level entries.
LIBRARY_CONVOLUTION = (
    F.conv2d,
    nn.Conv2d,
    torch.convolution,
    torch._convolution,
    torch.ops.aten.conv2d,
    torch.ops.aten.convolution,
)

# --- conv2d_loops -------------------------------------------------------------------------------


def reference_conv2d_loops(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """One channel, no padding, stride 1, no flip: windows[i, j, a, b] = image[i + a, j + b]."""
    kh, kw = kernel.shape
    return (image.unfold(0, kh, 1).unfold(1, kw, 1) * kernel).sum(dim=(-1, -2))


def check_conv2d_loops(answer, seed: int) -> None:
    __tracebackhide__ = True
    loops_visible(answer)
    compare_loops(answer, seeded(seed + 2, 6, 5), seeded(seed + 3, 2, 3))  # kernel not square
    compare_loops(answer, seeded(seed + 4, 4, 4), seeded(seed + 5, 1, 1))
    compare_loops(answer, seeded(seed + 6, 3, 3), seeded(seed + 7, 3, 3))  # one position only
    compare_loops(answer, seeded(seed + 8, 28, 28), seeded(seed + 9, 3, 3))  # an MNIST-sized image: 26 x 26
    draw = random.Random(seed)
    kh, kw = draw.randint(1, 5), draw.randint(1, 5)
    compare_loops(
        answer, seeded(seed + 10, kh + draw.randint(0, 9), kw + draw.randint(0, 9)), seeded(seed + 11, kh, kw)
    )


# --- conv2d_unfold ------------------------------------------------------------------------------


def reference_conv2d_unfold(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    columns = F.unfold(x, (kh, kw))  # (N, C_in*kh*kw, L), ordered as weight.view(C_out, -1)
    out = weight.reshape(c_out, -1) @ columns + bias.view(1, -1, 1)
    return out.view(n, c_out, h - kh + 1, w - kw + 1)


def check_conv2d_unfold(answer, seed: int) -> None:
    __tracebackhide__ = True
    unfold_visible(answer)
    s = seed
    compare_unfold(answer, seeded(s + 10, 1, 32, 5, 5), seeded(s + 11, 64, 32, 3, 3), seeded(s + 12, 64))  # conv2's
    compare_unfold(answer, seeded(s + 13, 3, 2, 9, 5), seeded(s + 14, 5, 2, 3, 3), seeded(s + 15, 5))  # not square
    compare_unfold(answer, seeded(s + 16, 2, 3, 4, 4), seeded(s + 17, 2, 3, 1, 1), seeded(s + 18, 2))  # 1x1 kernels
    compare_unfold(answer, seeded(s + 19, 2, 2, 7, 6), seeded(s + 20, 3, 2, 5, 5), seeded(s + 21, 3))  # 5x5 kernels
    compare_unfold(answer, seeded(s + 22, 4, 1, 3, 3), seeded(s + 23, 6, 1, 3, 3), torch.zeros(6))  # 1 position, 0 bias
    draw = random.Random(seed)
    n, c_in, c_out, kh, kw = (
        draw.randint(1, 3),
        draw.randint(1, 4),
        draw.randint(1, 5),
        *draw.choices(range(1, 5), k=2),
    )
    h, w = kh + draw.randint(0, 7), kw + draw.randint(0, 7)
    compare_unfold(answer, seeded(s + 24, n, c_in, h, w), seeded(s + 25, c_out, c_in, kh, kw), seeded(s + 26, c_out))


# --- conv_output_size ---------------------------------------------------------------------------


def reference_output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    return (n + 2 * padding - k) // stride + 1


def check_conv_output_size(answer, seed: int) -> None:
    __tracebackhide__ = True
    size_visible(answer)
    for n in (1, 4, 5, 12, 24, 28, 31, 32, 2 + seed % 61):
        for k in (1, 2, 3, 5):
            for padding in (0, 1, 2):
                for stride in (1, 2, 3):
                    if n + 2 * padding >= k:
                        expected = reference_output_size(n, k, padding, stride)
                        compare_size(answer, expected, n, k, padding=padding, stride=stride)


# --- conv_parameters ----------------------------------------------------------------------------


def reference_parameters(c_in: int, c_out: int, k: int) -> int:
    """Counted on the layer itself (on the meta device: shapes without memory)."""
    return sum(p.numel() for p in nn.Conv2d(c_in, c_out, k, device="meta").parameters())


def check_conv_parameters(answer, seed: int) -> None:
    __tracebackhide__ = True
    parameters_visible(answer)
    draw = random.Random(seed)
    seeded_layer = (draw.randint(1, 512), draw.randint(1, 512), draw.randint(1, 7))
    for c_in, c_out, k in [
        (64, 128, 3),
        (128, 256, 3),
        (3, 16, 5),
        (16, 3, 5),
        (1, 1, 1),
        (7, 2, 1),
        (2, 7, 7),
        seeded_layer,
    ]:
        compare_parameters(answer, reference_parameters(c_in, c_out, k), c_in, c_out, k)


# Each exercise also refuses its reference here (importable wherever mnist_course is installed).
GRADED = {
    "lesson02.conv2d_loops": Replayed(
        check_conv2d_loops, reference_conv2d_loops, library=(reference_conv2d_loops, *LIBRARY_CONVOLUTION)
    ),
    "lesson02.conv2d_unfold": Replayed(
        check_conv2d_unfold, reference_conv2d_unfold, library=(reference_conv2d_unfold, *LIBRARY_CONVOLUTION)
    ),
    # mnist_ref's own layer reports (a layer's output shape, its parameter count) do the exercise.
    "lesson02.conv_output_size": Replayed(
        check_conv_output_size, reference_output_size, library=(reference_output_size, model.layer_table)
    ),
    "lesson02.conv_parameters": Replayed(
        check_conv_parameters,
        reference_parameters,
        library=(reference_parameters, model.count_parameters, model.layer_table),
    ),
}
