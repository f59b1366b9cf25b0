"""Lesson 01's checks of dataset statistics: ``class_counts`` and ``pixel_mean_std``.

The visible checks compare with expected values written out here; the grader's checks (on the
instructor's side) compute theirs for other inputs and judge them with the same messages.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from mnist_ref.model import NUM_CLASSES

from ..fixtures import seeded_uint8
from ..framework import CheckFailed, Exercise, call, expect, expect_tensor

# --- exercise 1: class_counts -------------------------------------------------------------------


def _as_counts(value, what: str) -> torch.Tensor:
    __tracebackhide__ = True
    if isinstance(value, Mapping):
        raise CheckFailed(
            f"{what} returned a {type(value).__name__} ({{digit: count}}); return a tensor of 10 counts "
            "in which position d holds the number of examples of digit d."
        )
    if isinstance(value, (list, tuple)):
        try:
            value = torch.tensor(value)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(
                f"{what} returned a {type(value).__name__} that is not a list of numbers; return a tensor of 10 counts."
            ) from None
    value = expect_tensor(value, what)
    expect(value.dim() == 1, f"{what} has shape {tuple(value.shape)}; expected (10,): one count per digit.")
    return value


def _compare_counts(answer, targets: torch.Tensor, expected: list[int]) -> None:
    """``answer(targets)`` must be ``expected``, the 10 counts; a wrong answer's message names its mistake."""
    __tracebackhide__ = True
    shown = targets.tolist() if len(targets) <= 12 else f"<{len(targets)} labels>"
    what = f"class_counts({shown})"
    original = targets.clone()
    counts = _as_counts(call(answer, targets, what=what), what)
    expect(
        torch.equal(targets, original), "class_counts changed the targets it was given; count without modifying them."
    )
    expected = torch.tensor(expected, dtype=torch.long)
    present = int(targets.unique().numel())
    if len(counts) != NUM_CLASSES:
        largest = int(targets.max()) if len(targets) else None
        if largest is not None and len(counts) == largest + 1:
            why = (
                f"the largest label here is {largest}, so the digits above it got no entry (torch.bincount without "
                "minlength does that). Use torch.bincount(targets, minlength=10)"
            )
        elif len(counts) == present:
            why = f"that is one entry per digit that occurs ({present} of them); digits that never occur need a 0"
        else:
            why = "there are 10 classes, the digits 0 to 9"
        raise CheckFailed(f"{what} has {len(counts)} entries; expected 10: {why}.")
    if counts.is_floating_point():
        expect(
            bool((counts == counts.round()).all()),
            f"{what} contains fractions, {counts.tolist()}; counts are whole numbers.",
        )
    if torch.equal(counts.long(), expected):
        return
    if len(targets) and torch.allclose(counts.double(), expected.double() / len(targets)):
        raise CheckFailed(f"{what} returns fractions (count / number of examples); return the counts themselves.")
    if torch.equal(counts.long().sort().values, expected.sort().values):
        raise CheckFailed(
            f"{what} = {counts.tolist()} has the right numbers in the wrong order; expected {expected.tolist()}: "
            "position d must hold the count of digit d (don't sort them)."
        )
    if int(counts.sum()) != len(targets):
        raise CheckFailed(
            f"{what} = {counts.tolist()} adds up to {int(counts.sum())}, but there are {len(targets)} labels; "
            f"expected {expected.tolist()}. Every label must be counted exactly once."
        )
    raise CheckFailed(f"{what} = {counts.tolist()}; expected {expected.tolist()}.")


VISIBLE_COUNTS = [  # (labels, their counts)
    ([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], [0, 2, 1, 2, 1, 3, 1, 0, 1, 1]),
    ([2, 7, 1, 8, 2, 8, 1, 8, 2, 8], [0, 2, 3, 0, 0, 0, 0, 1, 4, 0]),  # no 9: counts must still have 10 entries
]


def _class_counts_visible(answer) -> str:
    __tracebackhide__ = True
    for labels, counts in VISIBLE_COUNTS:
        _compare_counts(answer, torch.tensor(labels), counts)
    return "10 counts, zeros included for the digits that never occur."


class_counts = Exercise(
    title="class_counts",
    visible=_class_counts_visible,
    key="lesson01.class_counts",
    hint_text="torch.bincount(targets, minlength=10) counts how often each value occurs; minlength=10 keeps "
    "an entry (0) for digits that never occur. A loop `for d in range(10): (targets == d).sum()` works too.",
)


# --- exercise 2: pixel_mean_std -----------------------------------------------------------------


@dataclass(frozen=True)
class PixelStats:
    """What a set of images is judged by: its mean and std in [0, 1], and the numbers of typical mistakes."""

    mean: float
    stds: tuple[float, ...]  # the sample std (shown as expected) and the population std: both are accepted
    std_of_image_means: tuple[float, ...] = ()  # mistake: the spread of the per-image means (correction 0 and 1)
    mean_of_image_stds: tuple[float, ...] = ()  # mistake: the average of the per-image stds (correction 0 and 1)


def _as_number(value, what: str) -> float:
    __tracebackhide__ = True
    if isinstance(value, (torch.Tensor, np.ndarray)):
        expect(
            value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1,
            f"{what} should be one number, but it has shape {tuple(value.shape)}: "
            "average over ALL pixels of all images.",
        )
        return float(value.item())
    expect(isinstance(value, numbers.Real), f"{what} should be a number, got {type(value).__name__}.")
    return float(value)


def _stats(answer, images: torch.Tensor, what: str) -> tuple[float, float]:
    __tracebackhide__ = True
    original = images.clone()
    try:
        value = call(answer, images, what=what)
    except CheckFailed as failure:
        if isinstance(failure.__cause__, RuntimeError) and "dtype" in str(failure.__cause__):
            raise CheckFailed(
                f"{failure} — the images are uint8 (integers 0..255); convert them to float first, "
                "e.g. images.float() / 255."
            ) from None
        raise
    expect(
        torch.equal(images, original),
        "pixel_mean_std changed the images it was given (an in-place operation?); compute new tensors instead.",
    )
    expect(
        isinstance(value, (tuple, list)) and len(value) == 2,
        f"{what} should return a pair (mean, std), got {type(value).__name__}"
        + (f" of length {len(value)}" if hasattr(value, "__len__") else "")
        + ".",
    )
    return _as_number(value[0], "the mean"), _as_number(value[1], "the std")


def _close(a: float, b: float, tol: float = 2e-5) -> bool:
    return math.isfinite(a) and abs(a - b) <= tol + 1e-4 * abs(b)


def _compare_stats(answer, images: torch.Tensor, label: str, stats: PixelStats) -> None:
    """``answer(images)`` must give ``stats``' mean and one of its stds; a wrong answer's message names its mistake."""
    __tracebackhide__ = True
    what = f"pixel_mean_std({label})"
    mean, std = _stats(answer, images, what)
    got = f"({mean:.6g}, {std:.6g})"
    if _close(mean, stats.mean) and any(_close(std, s) for s in stats.stds):
        return
    expected = f"({stats.mean:.6g}, {stats.stds[0]:.6g})"
    if _close(mean, stats.mean * 255, 1e-3) or any(_close(std, s * 255, 1e-3) for s in stats.stds):
        raise CheckFailed(
            f"{what} = {got} looks like it was computed on pixel values 0..255; expected {expected}. "
            "Scale the pixels to [0, 1] first (divide by 255), as ToTensor does."
        )
    if _close(mean, stats.stds[0]) and _close(std, stats.mean):
        raise CheckFailed(f"{what} = {got}: mean and std are swapped; return (mean, std) in that order.")
    if _close(mean, stats.mean) and any(_close(std, s**2) for s in stats.stds):
        raise CheckFailed(
            f"{what} = {got}: the second number is the variance; the std is its square root ({expected})."
        )
    if _close(mean, stats.mean) and any(_close(std, s) for s in stats.std_of_image_means):
        raise CheckFailed(
            f"{what} = {got}: the std is the spread of the per-image MEANS (how much images differ in "
            f"average brightness); expected {expected}. Normalize needs the spread of all pixels: take the std "
            "over every pixel of every image at once."
        )
    if _close(mean, stats.mean) and any(_close(std, s) for s in stats.mean_of_image_stds):
        raise CheckFailed(
            f"{what} = {got}: the std is the average of the per-image stds; expected {expected}. "
            "Take one std over every pixel of every image at once (images.float().div(255).std())."
        )
    if _close(mean, stats.mean):
        raise CheckFailed(
            f"{what} = {got}: the mean is right but the std is not; expected {expected} "
            "(the standard deviation of all pixels, scaled to [0, 1])."
        )
    raise CheckFailed(f"{what} = {got}; expected {expected}: the mean and the std of all pixels after dividing by 255.")


def visible_images() -> torch.Tensor:
    """The small uint8 set of the visible check: 3 images of 4x4, mostly dark like MNIST, of different brightness."""
    return seeded_uint8(0, 3, 4, 4, dark_fraction=[0.8, 0.5, 0.2])


VISIBLE_STATS = PixelStats(  # of visible_images(), scaled to [0, 1]
    mean=0.290359477124183,
    stds=(0.348573501734501, 0.344923416839347),
    std_of_image_means=(0.151123607555412, 0.185087863299686),
    mean_of_image_stds=(0.306236025440109, 0.316279207076878),
)


def _pixel_stats_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_stats(answer, visible_images(), "3 images of 4x4", VISIBLE_STATS)
    return "the mean and std of all pixels, scaled to [0, 1]."


pixel_mean_std = Exercise(
    title="pixel_mean_std",
    visible=_pixel_stats_visible,
    key="lesson01.pixel_mean_std",
    hint_text="pixels = images.float() / 255 turns the uint8 images into floats in [0, 1]; then pixels.mean() and "
    "pixels.std() reduce over ALL dimensions at once. Return them as a pair: (mean, std) — .item() makes floats.",
)
