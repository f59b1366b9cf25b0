"""Checks of lesson 02 · Convolution.

Exercises: ``conv2d_loops`` (one channel, by hand), ``conv2d_unfold`` (batches and channels),
``conv_output_size`` (n + 2p - k) // s + 1 and ``conv_parameters`` (k*k*c_in + 1) * c_out.

Both convolution exercises are compared with ``F.conv2d`` and accept any way of computing
the result (loops, ``unfold``, ``einsum``, strides tricks), except calling the library
convolution itself: ``F.conv2d`` / ``nn.Conv2d`` raise inside the learner's function.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

from . import CheckFailed, Exercise, UsedLibraryFunction, call, expect, expect_tensor, forbid


def _seeded(seed: int, *shape, integers: bool = False) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if integers:  # small integers: exact sums, easy to read in messages
        return torch.randint(-3, 4, shape, generator=generator).float()
    return torch.randn(*shape, generator=generator)


# --- blocking the library convolution ------------------------------------------------------------


def _no_library_conv():
    """F.conv2d / torch.conv2d / torch.convolution (and so nn.Conv2d) raise inside the learner's code."""
    return forbid((F, "conv2d"), (torch, "conv2d"), (torch, "convolution"), (torch, "_convolution"))


def _call_own_conv(answer, *args, what: str, on_error=None):
    """Call the learner's convolution with the library one switched off; check the inputs stay unchanged.

    ``on_error(message)`` may return an extra hint for an exception raised by the learner's code."""
    __tracebackhide__ = True
    refused = CheckFailed(f"{what} calls F.conv2d (or nn.Conv2d): compute the convolution yourself (loops, or "
                          "unfold and a matrix product). F.conv2d is what we compare your result with.")
    if answer is F.conv2d or answer is torch.conv2d:
        raise refused
    originals = [a.clone() for a in args]
    try:
        with _no_library_conv():
            out = call(answer, *args, what=what)
    except CheckFailed as failure:
        cause = failure.__cause__
        if isinstance(cause, UsedLibraryFunction):
            raise refused from None
        hint = on_error(str(cause)) if on_error is not None and cause is not None else None
        if hint:
            raise CheckFailed(f"{failure}. {hint}") from None
        raise
    for name, a, original in zip(("first", "second", "third"), args, originals):
        expect(torch.equal(a, original), f"{what} changed its {name} argument in place; compute a new tensor instead.")
    return expect_tensor(out, f"{what}'s result")


# --- exercise 1: conv2d_loops ----------------------------------------------------------------------


def _reference_2d(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    return F.conv2d(image[None, None], kernel[None, None])[0, 0]


def _compare_loops(answer, image: torch.Tensor, kernel: torch.Tensor) -> None:
    __tracebackhide__ = True
    h, w = image.shape
    kh, kw = kernel.shape
    what = f"conv2d_loops on a {h}x{w} image with a {kh}x{kw} kernel"
    not_square = f"The kernel here is {kh}x{kw}, not square: use kh, kw = kernel.shape." if kh != kw else None
    out = _call_own_conv(answer, image, kernel, what=what, on_error=lambda message: not_square)
    expected = _reference_2d(image, kernel)
    got, want = tuple(out.shape), tuple(expected.shape)
    if got != want:
        if out.dim() == 4 and got[2:] == want:
            raise CheckFailed(f"{what} returned shape {got}; return the 2-D result {want} (no batch or channel dimensions).")
        if got == (h - kh, w - kw):
            why = f"off by one: a {kh}-row kernel fits in {h} - {kh} + 1 = {h - kh + 1} positions (use range(H - kh + 1))"
        elif got == (h, w):
            why = "the output has the size of the input, which needs padding; here there is none, so it shrinks to (H - kh + 1, W - kw + 1)"
        elif got == (w - kw + 1, h - kh + 1):
            why = "height and width are swapped"
        elif got == (h - kh + 1, w - kh + 1) or got == (h - kw + 1, w - kw + 1):
            why = "the kernel is not square here: use kh, kw = kernel.shape"
        else:
            why = "the output has H - kh + 1 rows and W - kw + 1 columns"
        raise CheckFailed(f"{what} returned shape {got}; expected {want}: {why}.")
    out = out.to(expected.dtype)
    if torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
        return
    if torch.allclose(out, _reference_2d(image, kernel.flip(0, 1)), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: your result is the true convolution, with the kernel flipped. PyTorch's conv2d computes "
                          "cross-correlation: out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b], without flipping.")
    if kh == kw and torch.allclose(out, _reference_2d(image, kernel.T), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: your result uses the transposed kernel: kernel[a, b] must multiply image[i + a, j + b] "
                          "(a: rows, b: columns).")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(f"{what}: values differ from F.conv2d by up to {worst:.3g}. Each output pixel is "
                      "out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b].")


def _loops_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_loops(answer, _seeded(0, 5, 6, integers=True), _seeded(1, 3, 3, integers=True))
    _compare_loops(answer, torch.arange(16.0).reshape(4, 4), torch.tensor([[1.0, 2.0], [0.0, -1.0]]))
    return "a 5x6 image and a 3x3 kernel give the same 3x4 result as F.conv2d."


def _loops_strict(answer) -> None:
    __tracebackhide__ = True
    _compare_loops(answer, _seeded(2, 6, 5), _seeded(3, 2, 3))  # kernel not square
    _compare_loops(answer, _seeded(4, 4, 4), _seeded(5, 1, 1))
    _compare_loops(answer, _seeded(6, 3, 3), _seeded(7, 3, 3))  # one position only
    _compare_loops(answer, _seeded(8, 28, 28), _seeded(9, 3, 3))  # an MNIST-sized image: 26 x 26


conv2d_loops = Exercise(
    title="conv2d_loops",
    visible=_loops_visible,
    strict=_loops_strict,
    hint_text="kh, kw = kernel.shape; out = torch.zeros(H - kh + 1, W - kw + 1); for every (i, j): "
              "out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum(). No flipping.",
)


# --- exercise 2: conv2d_unfold ---------------------------------------------------------------------


def _compare_unfold(answer, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> None:
    __tracebackhide__ = True
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    what = f"conv2d_unfold(x {tuple(x.shape)}, weight {tuple(weight.shape)}, bias {tuple(bias.shape)})"

    def on_error(message: str) -> str | None:
        hints = []
        if "size of tensor" in message:
            hints.append("If this happens when adding the bias: reshape it to (1, C_out, 1, 1) (bias.view(1, -1, 1, 1)) "
                         "so that each output channel gets its own bias.")
        if h != w or kh != kw:
            hints.append(f"Note that the input here is {h}x{w} and the kernels {kh}x{kw}: compute the output height and width separately.")
        if "view" in message and "stride" in message:
            hints.append("A permuted or transposed tensor must be made .contiguous() (or use .reshape) before .view.")
        return " ".join(hints) or None

    out = _call_own_conv(answer, x, weight, bias, what=what, on_error=on_error)
    expected = F.conv2d(x, weight, bias)
    got, want = tuple(out.shape), tuple(expected.shape)
    h_out, w_out = h - kh + 1, w - kw + 1
    if got != want:
        if got == (n, c_out, h - kh, w - kw):
            why = f"off by one: the output side is n - k + 1 ({h} -> {h_out})"
        elif got == (n, c_out, h, w):
            why = "the output has the size of the input, which needs padding; without padding it shrinks by k - 1"
        elif got == (n, c_out, w_out, h_out):
            why = "height and width are swapped: view the result as (N, C_out, H - k + 1, W - k + 1)"
        elif got == (n, c_out, h_out * w_out):
            why = "the positions are still flat: reshape (N, C_out, L) to (N, C_out, H - k + 1, W - k + 1)"
        elif got == (c_out, n, h_out, w_out):
            why = "N and C_out are swapped: the batch dimension comes first"
        elif len(got) == 4 and got[1] == c_in != c_out:
            why = "there is one output map per INPUT channel: sum over the input channels and make C_out output channels"
        else:
            why = "(N, C_out, H - k + 1, W - k + 1)"
        raise CheckFailed(f"{what} returned shape {got}; expected {want}: {why}.")
    out = out.to(expected.dtype)
    if torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
        return
    without_bias = F.conv2d(x, weight)
    if torch.allclose(out, without_bias, atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: the bias is missing: add bias.view(1, -1, 1, 1), one value per output channel.")
    if torch.allclose(out, F.conv2d(x, weight.flip(2, 3), bias), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: the kernels are flipped (true convolution). conv2d computes cross-correlation: no flip.")
    if torch.allclose(out, without_bias + bias.sum(), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: every output channel got the sum of all biases; output channel o gets bias[o] only.")
    if kh == kw and torch.allclose(out, F.conv2d(x, weight.transpose(2, 3), bias), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: the kernels are transposed: weight[o, c, a, b] multiplies x[n, c, i + a, j + b].")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(f"{what}: values differ from F.conv2d by up to {worst:.3g}. F.unfold(x, k) gives columns ordered "
                      "(C_in, kh, kw), the same order as weight.view(C_out, -1); multiply those, then reshape.")


def _unfold_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_unfold(answer, _seeded(0, 2, 3, 6, 7), _seeded(1, 4, 3, 3, 3), _seeded(2, 4))
    _compare_unfold(answer, _seeded(3, 2, 1, 12, 12), _seeded(4, 32, 1, 3, 3), _seeded(5, 32))  # conv1's kernels
    return "(2, 3, 6, 7) -> (2, 4, 4, 5), and with conv1's 32 kernels (2, 1, 12, 12) -> (2, 32, 10, 10): the same values as F.conv2d."


def _unfold_strict(answer) -> None:
    __tracebackhide__ = True
    _compare_unfold(answer, _seeded(10, 1, 32, 5, 5), _seeded(11, 64, 32, 3, 3), _seeded(12, 64))  # conv2's channels
    _compare_unfold(answer, _seeded(13, 3, 2, 9, 5), _seeded(14, 5, 2, 3, 3), _seeded(15, 5))  # not square
    _compare_unfold(answer, _seeded(16, 2, 3, 4, 4), _seeded(17, 2, 3, 1, 1), _seeded(18, 2))  # 1x1 kernels
    _compare_unfold(answer, _seeded(19, 2, 2, 7, 6), _seeded(20, 3, 2, 5, 5), _seeded(21, 3))  # 5x5 kernels
    _compare_unfold(answer, _seeded(22, 4, 1, 3, 3), _seeded(23, 6, 1, 3, 3), torch.zeros(6))  # one position, zero bias


conv2d_unfold = Exercise(
    title="conv2d_unfold",
    visible=_unfold_visible,
    strict=_unfold_strict,
    hint_text="cols = F.unfold(x, k) is (N, C_in*k*k, L) with L = (H-k+1)*(W-k+1); weight.view(C_out, -1) @ cols is "
              "(N, C_out, L); add bias.view(1, -1, 1) and reshape to (N, C_out, H-k+1, W-k+1).",
)


# --- exercise 3: conv_output_size ------------------------------------------------------------------


def reference_output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    return (n + 2 * padding - k) // stride + 1


def _int_result(value, what: str) -> int:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    expect(isinstance(value, numbers.Number) and not isinstance(value, bool), f"{what} should return a number, got {type(value).__name__}.")
    if not isinstance(value, numbers.Integral):
        raise CheckFailed(f"{what} returned the float {value}: a size is a whole number of pixels. "
                          "Use // (integer division), which also rounds down when the stride does not divide evenly.")
    return int(value)


def _compare_size(answer, n: int, k: int, padding: int = 0, stride: int = 1) -> None:
    __tracebackhide__ = True
    what = f"conv_output_size({n}, {k}" + (f", padding={padding}" if padding else "") + (f", stride={stride}" if stride != 1 else "") + ")"
    value = _int_result(call(answer, n, k, padding=padding, stride=stride, what=what), what)
    expected = reference_output_size(n, k, padding, stride)
    if value == expected:
        return
    formula = f"(n + 2p - k) // s + 1 = ({n} + {2 * padding} - {k}) // {stride} + 1 = {expected}"
    span = n + 2 * padding - k
    if padding and value == (n + padding - k) // stride + 1:
        why = "padding is added on BOTH sides, so it counts twice: 2p"
    elif value in (expected - 1, expected + 1) and stride == 1:
        why = f"off by one: a {k}-wide window fits in n + 2p - k + 1 positions"
    elif value == -(-span // stride) + 1:
        why = "rounded up; when the stride does not divide n + 2p - k, the last incomplete step is dropped: round down with //"
    elif value == (span + 1) // stride or value == (n + 2 * padding - k + 1) // stride:
        why = "the + 1 comes after the division by the stride"
    elif value == span + 1:
        why = "the stride is ignored: divide n + 2p - k by s"
    elif value == (n - k) // stride + 1:
        why = "the padding is ignored: it adds p pixels on each side"
    else:
        why = "use the formula"
    raise CheckFailed(f"{what} returned {value}; expected {formula}: {why}.")


def _size_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_size(answer, 28, 3)
    _compare_size(answer, 26, 3)
    _compare_size(answer, 28, 3, padding=1)
    _compare_size(answer, 7, 3, stride=2)
    _compare_size(answer, 8, 3, stride=2)
    return "28 -> 26 -> 24 for conv1 and conv2; padding=1 keeps 28; stride 2 rounds down."


def _size_strict(answer) -> None:
    __tracebackhide__ = True
    for n in (1, 4, 5, 12, 24, 28, 31, 32):
        for k in (1, 2, 3, 5):
            for padding in (0, 1, 2):
                for stride in (1, 2, 3):
                    if n + 2 * padding >= k:
                        _compare_size(answer, n, k, padding=padding, stride=stride)


conv_output_size = Exercise(
    title="conv_output_size",
    visible=_size_visible,
    strict=_size_strict,
    hint_text="(n + 2 * padding - kernel) // stride + 1: the window's first position is 0, its last is n + 2p - k, "
              "and it moves s pixels at a time. Use // so that the result is an int.",
)


# --- exercise 4: conv_parameters -------------------------------------------------------------------


def reference_parameters(c_in: int, c_out: int, k: int) -> int:
    return sum(p.numel() for p in nn.Conv2d(c_in, c_out, k).parameters())


def _compare_parameters(answer, c_in: int, c_out: int, k: int) -> None:
    __tracebackhide__ = True
    what = f"conv_parameters({c_in}, {c_out}, {k})"
    value = _int_result(call(answer, c_in, c_out, k, what=what), what)
    expected = (k * k * c_in + 1) * c_out
    if value == expected:
        return
    formula = f"(k*k*c_in + 1) * c_out = ({k}*{k}*{c_in} + 1) * {c_out} = {expected:,}"
    if value == k * k * c_in * c_out:
        why = "the biases are missing: each output channel has one bias"
    elif value == k * k * c_in * c_out + c_in and c_in == 1:
        why = ("there must be one bias per OUTPUT channel, not one in all (nor one per input channel, nor are c_in and "
               "c_out swapped): each output channel has one kernel of k*k*c_in weights and one bias")
    elif value == k * k * c_in * c_out + c_in:
        why = ("there is one bias per INPUT channel (or c_in and c_out are swapped): each OUTPUT channel has one "
               "kernel of k*k*c_in weights and one bias")
    elif value == k * k * c_in * c_out + 1:
        why = "there is one bias per output channel, not one in all"
    elif value == (c_in + 1) * c_out:
        why = "each weight is a k x k kernel: multiply by k*k"
    elif value == (k * c_in + 1) * c_out:
        why = "a k x k kernel has k*k weights, not k"
    elif value == (k * k + 1) * c_out:
        why = "each output channel has a kernel for EVERY input channel: k*k*c_in weights"
    elif value == (k * k + 1) * c_in * c_out:
        why = "there is one bias per output channel, not one per (input, output) pair"
    else:
        why = "each of the c_out output channels has k*k*c_in weights and 1 bias"
    raise CheckFailed(f"{what} returned {value:,}; expected {formula}: {why}.")


def _parameters_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_parameters(answer, 1, 32, 3)
    _compare_parameters(answer, 32, 64, 3)
    return "conv1 has 320 parameters, conv2 18,496."


def _parameters_strict(answer) -> None:
    __tracebackhide__ = True
    for c_in, c_out, k in [(64, 128, 3), (128, 256, 3), (3, 16, 5), (16, 3, 5), (1, 1, 1), (7, 2, 1), (2, 7, 7)]:
        _compare_parameters(answer, c_in, c_out, k)
        expect(reference_parameters(c_in, c_out, k) == (k * k * c_in + 1) * c_out, "internal: nn.Conv2d count")


conv_parameters = Exercise(
    title="conv_parameters",
    visible=_parameters_visible,
    strict=_parameters_strict,
    hint_text="Each output channel has one kernel per input channel (k*k*c_in weights in all) and one bias.",
)
