"""Lesson 02's checks of the convolution computed by hand: ``conv2d_loops`` and ``conv2d_unfold``.

Both are compared with ``F.conv2d`` and accept any way of computing the result (loops,
``unfold``, ``einsum``, strides tricks), except calling the library convolution itself:
``F.conv2d`` / ``nn.Conv2d`` raise inside the learner's function. The grader's cases live on
the instructor's side (``mnist_course.checks.lesson02``), which reuses the comparisons and
messages below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..fixtures import seeded
from ..framework import CheckFailed, Exercise, UsedLibraryFunction, call, expect, expect_tensor, forbid

# --- blocking the library convolution ------------------------------------------------------------


def _no_library_conv():
    """F.conv2d / torch.conv2d / torch.convolution (and so nn.Conv2d) raise inside the learner's code."""
    return forbid((F, "conv2d"), (torch, "conv2d"), (torch, "convolution"), (torch, "_convolution"))


def _call_own_conv(answer, *args, what: str, on_error=None):
    """Call the learner's convolution with the library one switched off; check the inputs stay unchanged.

    ``on_error(message)`` may return an extra hint for an exception raised by the learner's code."""
    __tracebackhide__ = True
    refused = CheckFailed(
        f"{what} calls F.conv2d (or nn.Conv2d): compute the convolution yourself (loops, or "
        "unfold and a matrix product). F.conv2d is what we compare your result with."
    )
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


def compare_loops(answer, image: torch.Tensor, kernel: torch.Tensor) -> None:
    """``answer(image, kernel)`` must equal F.conv2d's result; names the usual slips."""
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
            raise CheckFailed(
                f"{what} returned shape {got}; return the 2-D result {want} (no batch or channel dimensions)."
            )
        if got == (h - kh, w - kw):
            why = (
                f"off by one: a {kh}-row kernel fits in {h} - {kh} + 1 = {h - kh + 1} positions (use range(H - kh + 1))"
            )
        elif got == (h, w):
            why = (
                "the output has the size of the input, which needs padding; here there is none, "
                "so it shrinks to (H - kh + 1, W - kw + 1)"
            )
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
        raise CheckFailed(
            f"{what}: your result is the true convolution, with the kernel flipped. PyTorch's conv2d computes "
            "cross-correlation: out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b], without flipping."
        )
    if kh == kw and torch.allclose(out, _reference_2d(image, kernel.T), atol=1e-4, rtol=1e-4):
        raise CheckFailed(
            f"{what}: your result uses the transposed kernel: kernel[a, b] must multiply image[i + a, j + b] "
            "(a: rows, b: columns)."
        )
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"{what}: values differ from F.conv2d by up to {worst:.3g}. Each output pixel is "
        "out[i, j] = sum over a, b of image[i + a, j + b] * kernel[a, b]."
    )


def loops_visible(answer) -> str:
    __tracebackhide__ = True
    compare_loops(answer, seeded(0, 5, 6, integers=True), seeded(1, 3, 3, integers=True))
    compare_loops(answer, torch.arange(16.0).reshape(4, 4), torch.tensor([[1.0, 2.0], [0.0, -1.0]]))
    return "a 5x6 image and a 3x3 kernel give the same 3x4 result as F.conv2d."


conv2d_loops = Exercise(
    title="conv2d_loops",
    visible=loops_visible,
    key="lesson02.conv2d_loops",
    hint_text="kh, kw = kernel.shape; out = torch.zeros(H - kh + 1, W - kw + 1); for every (i, j): "
    "out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum(). No flipping.",
)


# --- exercise 2: conv2d_unfold ---------------------------------------------------------------------


def compare_unfold(answer, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """``answer(x, weight, bias)`` must equal ``F.conv2d(x, weight, bias)``; names the usual slips."""
    __tracebackhide__ = True
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    what = f"conv2d_unfold(x {tuple(x.shape)}, weight {tuple(weight.shape)}, bias {tuple(bias.shape)})"

    def on_error(message: str) -> str | None:
        hints = []
        if "size of tensor" in message:
            hints.append(
                "If this happens when adding the bias: reshape it to (1, C_out, 1, 1) (bias.view(1, -1, 1, 1)) "
                "so that each output channel gets its own bias."
            )
        if h != w or kh != kw:
            hints.append(
                f"Note that the input here is {h}x{w} and the kernels {kh}x{kw}: compute the output height and width "
                "separately."
            )
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
            why = (
                "there is one output map per INPUT channel: sum over the input channels and make C_out output channels"
            )
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
        raise CheckFailed(
            f"{what}: the kernels are flipped (true convolution). conv2d computes cross-correlation: no flip."
        )
    if torch.allclose(out, without_bias + bias.sum(), atol=1e-4, rtol=1e-4):
        raise CheckFailed(
            f"{what}: every output channel got the sum of all biases; output channel o gets bias[o] only."
        )
    if kh == kw and torch.allclose(out, F.conv2d(x, weight.transpose(2, 3), bias), atol=1e-4, rtol=1e-4):
        raise CheckFailed(f"{what}: the kernels are transposed: weight[o, c, a, b] multiplies x[n, c, i + a, j + b].")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"{what}: values differ from F.conv2d by up to {worst:.3g}. F.unfold(x, k) gives columns ordered "
        "(C_in, kh, kw), the same order as weight.view(C_out, -1); multiply those, then reshape."
    )


def unfold_visible(answer) -> str:
    __tracebackhide__ = True
    compare_unfold(answer, seeded(0, 2, 3, 6, 7), seeded(1, 4, 3, 3, 3), seeded(2, 4))
    compare_unfold(answer, seeded(3, 2, 1, 12, 12), seeded(4, 32, 1, 3, 3), seeded(5, 32))  # conv1's kernels
    return (
        "(2, 3, 6, 7) -> (2, 4, 4, 5), and with conv1's 32 kernels (2, 1, 12, 12) -> (2, 32, 10, 10): the same "
        "values as F.conv2d."
    )


conv2d_unfold = Exercise(
    title="conv2d_unfold",
    visible=unfold_visible,
    key="lesson02.conv2d_unfold",
    hint_text="cols = F.unfold(x, k) is (N, C_in*k*k, L) with L = (H-k+1)*(W-k+1); weight.view(C_out, -1) @ cols is "
    "(N, C_out, L); add bias.view(1, -1, 1) and reshape to (N, C_out, H-k+1, W-k+1).",
)
