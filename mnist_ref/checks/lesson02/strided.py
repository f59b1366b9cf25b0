"""Lesson 02's check of a convolution with padding and stride: ``conv2d_strided``.

Compared with ``F.conv2d(..., padding=p, stride=s)``, which the learner's function may not call
(it is switched off while it runs); the grader's cases live on the instructor's side
(``mnist_course.checks.lesson02``), which reuses the comparison and messages below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..fixtures import seeded
from ..framework import CheckFailed, Exercise
from .convolution import _call_own_conv


def _library(image: torch.Tensor, kernel: torch.Tensor, padding: int, stride: int) -> torch.Tensor:
    return F.conv2d(image[None, None], kernel[None, None], padding=padding, stride=stride)[0, 0]


def _side_slip(got: int, n: int, k: int, padding: int, stride: int) -> str | None:
    """Why one side of the output has the wrong length, in the learner's terms (None: no known slip)."""
    span = n + 2 * padding - k
    if padding and got == (n + padding - k) // stride + 1:
        return f"padding is added on BOTH sides: the padded input is n + 2p = {n + 2 * padding} pixels wide"
    if padding and got == (n - k) // stride + 1:
        return f"the padding is ignored: pad the input with {padding} row(s)/column(s) of zeros on each side first"
    if stride > 1 and got == span + 1:
        return f"the stride is ignored: the window moves {stride} pixels at a time, not 1"
    if stride > 1 and got == -(-span // stride) + 1:
        return "a last incomplete step was kept: the window must fit entirely, so the count rounds down"
    if stride > 1 and got == span // stride:
        return "the window's first position (0) is missing: there are (n + 2p - k) // s + 1 positions"
    return None


def compare_strided(answer, image: torch.Tensor, kernel: torch.Tensor, padding: int, stride: int) -> None:
    """``answer(image, kernel, padding=padding, stride=stride)`` must equal F.conv2d's result; names the slips."""
    __tracebackhide__ = True
    h, w = image.shape
    kh, kw = kernel.shape
    what = f"conv2d_strided on a {h}x{w} image, {kh}x{kw} kernel, padding={padding}, stride={stride}"
    out = _call_own_conv(lambda i, k: answer(i, k, padding=padding, stride=stride), image, kernel, what=what)
    expected = _library(image, kernel, padding, stride)
    got, want = tuple(out.shape), tuple(expected.shape)
    if got != want:
        if len(got) != 2:
            raise CheckFailed(f"{what} returned shape {got}; return the 2-D result {want}.")
        why = [
            f"{side}: {slip}"
            for side, length, n, k in (("rows", got[0], h, kh), ("columns", got[1], w, kw))
            if length != (n + 2 * padding - k) // stride + 1 and (slip := _side_slip(length, n, k, padding, stride))
        ]
        rule = "each side is (n + 2 * padding - k) // stride + 1, as in conv_output_size"
        raise CheckFailed(f"{what} returned shape {got}; expected {want}: " + ("; ".join(why) or rule) + ".")
    out = out.to(expected.dtype)

    def same(other: torch.Tensor) -> bool:
        return other.shape == out.shape and torch.allclose(out, other, atol=1e-4, rtol=1e-4)

    if same(expected):
        return
    if padding and same(_library(F.pad(image[None], (padding,) * 4, mode="replicate")[0], kernel, 0, stride)):
        raise CheckFailed(f"{what}: the border was padded with copies of the edge pixels; padding adds ZEROS.")
    if padding and stride == 1 and same(F.pad(_library(image, kernel, 0, 1), (padding,) * 4)):
        raise CheckFailed(
            f"{what}: the zeros were added around the OUTPUT; padding surrounds the INPUT with zeros, then the "
            "window slides over the padded image."
        )
    if same(_library(image, kernel.flip(0, 1), padding, stride)):
        raise CheckFailed(f"{what}: the kernel is flipped (true convolution); conv2d is cross-correlation, no flip.")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"{what}: values differ from F.conv2d by up to {worst:.3g}. Pad with zeros first; output pixel (i, j) is "
        "the window whose top-left corner is at (i * stride, j * stride) of the padded image."
    )


VISIBLE_STRIDED = [(1, 1), (0, 2), (1, 2)]  # (padding, stride) on a 5x5 image with a 3x3 kernel: 5x5, 2x2, 3x3


def strided_visible(answer) -> str:
    __tracebackhide__ = True
    image, kernel = seeded(0, 5, 5, integers=True), seeded(1, 3, 3, integers=True)
    for padding, stride in VISIBLE_STRIDED:
        compare_strided(answer, image, kernel, padding, stride)
    compare_strided(answer, seeded(2, 6, 7), seeded(3, 2, 3), 2, 3)
    return "a 5x5 image with padding 1 / stride 2 and the rest give F.conv2d's results, and sizes."


conv2d_strided = Exercise(
    title="conv2d_strided",
    visible=strided_visible,
    key="lesson02.conv2d_strided",
    hint_text="Pad with zeros, then take the windows whose corner is at (i * stride, j * stride).",
)
