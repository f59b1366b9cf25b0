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
from mnist_ref.checks.lesson02.backward import backward_visible, compare_backward
from mnist_ref.checks.lesson02.convolution import compare_loops, compare_unfold, loops_visible, unfold_visible
from mnist_ref.checks.lesson02.sizes import compare_parameters, compare_size, parameters_visible, size_visible
from mnist_ref.checks.lesson02.strided import compare_strided, strided_visible

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

# The answers of conv2d_backward: autograd, and the convolutions that compute a conv's gradients.
LIBRARY_BACKWARD = (
    torch.autograd.grad,
    torch.autograd.backward,
    torch.Tensor.backward,
    F.conv_transpose2d,
    torch.nn.grad.conv2d_input,
    torch.nn.grad.conv2d_weight,
    torch.ops.aten.convolution_backward,
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


# --- conv2d_strided -----------------------------------------------------------------------------


def reference_conv2d_strided(image: torch.Tensor, kernel: torch.Tensor, padding: int = 0, stride: int = 1):
    """Zero-padded, then the windows taken every ``stride`` pixels by Tensor.unfold's step."""
    kh, kw = kernel.shape
    padded = F.pad(image, (padding,) * 4)
    return (padded.unfold(0, kh, stride).unfold(1, kw, stride) * kernel).sum(dim=(-1, -2))


def check_conv2d_strided(answer, seed: int) -> None:
    __tracebackhide__ = True
    strided_visible(answer)
    s = seed
    compare_strided(answer, seeded(s + 30, 28, 28), seeded(s + 31, 3, 3), 1, 1)  # conv1 with padding: 28 x 28
    compare_strided(answer, seeded(s + 32, 28, 28), seeded(s + 33, 3, 3), 1, 2)  # 14 x 14
    compare_strided(answer, seeded(s + 34, 7, 5), seeded(s + 35, 3, 2), 0, 2)  # not square, rounds down
    compare_strided(answer, seeded(s + 36, 4, 4), seeded(s + 37, 1, 1), 2, 3)  # padding wider than the kernel
    compare_strided(answer, seeded(s + 38, 5, 5), seeded(s + 39, 5, 5), 0, 1)  # one position
    draw = random.Random(seed)
    kh, kw, padding, stride = draw.randint(1, 4), draw.randint(1, 4), draw.randint(0, 2), draw.randint(1, 3)
    h, w = kh + draw.randint(0, 8), kw + draw.randint(0, 8)
    compare_strided(answer, seeded(s + 40, h, w), seeded(s + 41, kh, kw), padding, stride)


# --- conv2d_backward ----------------------------------------------------------------------------


def reference_conv2d_backward(image: torch.Tensor, kernel: torch.Tensor, grad_out: torch.Tensor):
    """dL/dkernel: the image's windows weighted by grad_out and summed; dL/dimage: grad_out[i, j] * kernel
    scattered back onto each window (F.fold adds the overlaps)."""
    kh, kw = kernel.shape
    windows = image.unfold(0, kh, 1).unfold(1, kw, 1)  # (H', W', kh, kw)
    grad_kernel = (windows * grad_out[:, :, None, None]).sum(dim=(0, 1))
    columns = kernel.reshape(-1, 1) * grad_out.reshape(1, -1)  # (kh*kw, L)
    grad_image = F.fold(columns[None], tuple(image.shape), (kh, kw))[0, 0]
    return grad_image, grad_kernel


def check_conv2d_backward(answer, seed: int) -> None:
    __tracebackhide__ = True
    backward_visible(answer)
    s = seed
    compare_backward(answer, seeded(s + 50, 28, 28), seeded(s + 51, 3, 3), seeded(s + 52, 26, 26))  # conv1's size
    compare_backward(answer, seeded(s + 53, 5, 6), seeded(s + 54, 2, 3), seeded(s + 55, 4, 4))  # not square
    compare_backward(answer, seeded(s + 56, 4, 3), seeded(s + 57, 1, 1), seeded(s + 58, 4, 3))  # 1x1 kernel
    compare_backward(answer, seeded(s + 59, 3, 3), seeded(s + 60, 3, 3), seeded(s + 61, 1, 1))  # one position
    compare_backward(  # float64, as a numerical gradient check would use
        answer, seeded(s + 62, 6, 6).double(), seeded(s + 63, 3, 3).double(), seeded(s + 64, 4, 4).double()
    )
    draw = random.Random(seed)
    kh, kw = draw.randint(1, 4), draw.randint(1, 4)
    h, w = kh + draw.randint(0, 7), kw + draw.randint(0, 7)
    compare_backward(answer, seeded(s + 65, h, w), seeded(s + 66, kh, kw), seeded(s + 67, h - kh + 1, w - kw + 1))


# Each exercise also refuses its reference here (importable wherever mnist_course is installed).
GRADED = {
    "lesson02.conv2d_loops": Replayed(
        check_conv2d_loops, reference_conv2d_loops, library=(reference_conv2d_loops, *LIBRARY_CONVOLUTION)
    ),
    "lesson02.conv2d_unfold": Replayed(
        check_conv2d_unfold, reference_conv2d_unfold, library=(reference_conv2d_unfold, *LIBRARY_CONVOLUTION)
    ),
    "lesson02.conv2d_strided": Replayed(
        check_conv2d_strided, reference_conv2d_strided, library=(reference_conv2d_strided, *LIBRARY_CONVOLUTION)
    ),
    # Autograd and the library's own backward convolutions are the answer itself.
    "lesson02.conv2d_backward": Replayed(
        check_conv2d_backward,
        reference_conv2d_backward,
        library=(reference_conv2d_backward, *LIBRARY_CONVOLUTION, *LIBRARY_BACKWARD),
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
