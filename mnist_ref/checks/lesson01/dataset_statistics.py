"""Lesson 01's checks of dataset statistics: ``class_counts`` and ``pixel_mean_std``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch

from mnist_ref.data import MNIST_MEAN, MNIST_STD
from mnist_ref.model import NUM_CLASSES

from ..fixtures import seeded_uint8
from ..framework import CheckFailed, Exercise, call, expect, expect_tensor

# --- reference answers --------------------------------------------------------------------------


def reference_class_counts(targets: torch.Tensor) -> torch.Tensor:
    """Number of examples of each digit 0-9: a tensor of 10 counts (int64)."""
    return torch.bincount(torch.as_tensor(targets).long().flatten(), minlength=NUM_CLASSES)


def reference_pixel_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of all pixels of uint8 ``images``, scaled to [0, 1]."""
    pixels = images.float() / 255  # float32 sums are accurate enough here (torch sums pairwise)
    return pixels.mean().item(), pixels.std().item()


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


def _compare_counts(answer, targets: torch.Tensor) -> None:
    __tracebackhide__ = True
    shown = targets.tolist() if len(targets) <= 12 else f"<{len(targets)} labels>"
    what = f"class_counts({shown})"
    original = targets.clone()
    counts = _as_counts(call(answer, targets, what=what), what)
    expect(
        torch.equal(targets, original), "class_counts changed the targets it was given; count without modifying them."
    )
    expected = reference_class_counts(targets)
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


def _class_counts_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_counts(answer, torch.tensor([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]))
    _compare_counts(answer, torch.tensor([2, 7, 1, 8, 2, 8, 1, 8, 2, 8]))  # no 9: counts must still have 10 entries
    return "10 counts, zeros included for the digits that never occur."


def _class_counts_strict(answer) -> None:
    __tracebackhide__ = True
    generator = torch.Generator().manual_seed(1)
    _compare_counts(answer, torch.randint(0, 10, (20_000,), generator=generator))
    _compare_counts(answer, torch.zeros(7, dtype=torch.long))  # one class only
    _compare_counts(answer, torch.full((5,), 9))
    _compare_counts(answer, torch.tensor([0, 0, 1], dtype=torch.uint8))  # targets may be stored as uint8
    _compare_counts(answer, torch.tensor([], dtype=torch.long))  # an empty set has 10 zero counts


class_counts = Exercise(
    title="class_counts",
    visible=_class_counts_visible,
    strict=_class_counts_strict,
    hint_text="torch.bincount(targets, minlength=10) counts how often each value occurs; minlength=10 keeps "
    "an entry (0) for digits that never occur. A loop `for d in range(10): (targets == d).sum()` works too.",
)


# --- exercise 2: pixel_mean_std -----------------------------------------------------------------


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


def _compare_stats(answer, images: torch.Tensor, label: str) -> None:
    __tracebackhide__ = True
    what = f"pixel_mean_std({label})"
    mean, std = _stats(answer, images, what)
    pixels = images.double() / 255
    ref_mean = pixels.mean().item()
    stds = {pixels.std(correction=0).item(), pixels.std(correction=1).item()} if pixels.numel() > 1 else {0.0}
    got = f"({mean:.6g}, {std:.6g})"
    if _close(mean, ref_mean) and any(_close(std, s) for s in stds):
        return
    ref_std = pixels.std().item()
    expected = f"({ref_mean:.6g}, {ref_std:.6g})"
    if _close(mean, ref_mean * 255, 1e-3) or any(_close(std, s * 255, 1e-3) for s in stds):
        raise CheckFailed(
            f"{what} = {got} looks like it was computed on pixel values 0..255; expected {expected}. "
            "Scale the pixels to [0, 1] first (divide by 255), as ToTensor does."
        )
    if _close(mean, ref_std) and _close(std, ref_mean):
        raise CheckFailed(f"{what} = {got}: mean and std are swapped; return (mean, std) in that order.")
    if _close(mean, ref_mean) and any(_close(std, s**2) for s in stds):
        raise CheckFailed(
            f"{what} = {got}: the second number is the variance; the std is its square root ({expected})."
        )
    if len(images) > 1 and images.dim() >= 3:
        dims = tuple(range(1, images.dim()))
        per_image_means = pixels.mean(dim=dims)
        if _close(mean, ref_mean) and any(_close(std, per_image_means.std(correction=c).item()) for c in (0, 1)):
            raise CheckFailed(
                f"{what} = {got}: the std is the spread of the per-image MEANS (how much images differ in "
                f"average brightness); expected {expected}. Normalize needs the spread of all pixels: take the std "
                "over every pixel of every image at once."
            )
        if _close(mean, ref_mean) and any(
            _close(std, pixels.std(dim=dims, correction=c).mean().item()) for c in (0, 1)
        ):
            raise CheckFailed(
                f"{what} = {got}: the std is the average of the per-image stds; expected {expected}. "
                "Take one std over every pixel of every image at once (images.float().div(255).std())."
            )
    if _close(mean, ref_mean):
        raise CheckFailed(
            f"{what} = {got}: the mean is right but the std is not; expected {expected} "
            "(the standard deviation of all pixels, scaled to [0, 1])."
        )
    raise CheckFailed(f"{what} = {got}; expected {expected}: the mean and the std of all pixels after dividing by 255.")


def visible_images() -> torch.Tensor:
    """The small uint8 set of the visible check: 3 images of 4x4, mostly dark like MNIST, of different brightness."""
    return seeded_uint8(0, 3, 4, 4, dark_fraction=[0.8, 0.5, 0.2])


def _pixel_stats_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_stats(answer, visible_images(), "3 images of 4x4")
    return "the mean and std of all pixels, scaled to [0, 1]."


def _pixel_stats_strict(answer) -> None:
    __tracebackhide__ = True
    _compare_stats(answer, seeded_uint8(1, 50, 28, 28, dark_fraction=[0.8] * 50), "50 random 28x28 images")
    _compare_stats(answer, seeded_uint8(2, 1, 28, 28), "1 image")
    _compare_stats(answer, seeded_uint8(3, 4, 7, 5, dark_fraction=[0.1, 0.9, 0.5, 0.3]), "4 images of 7x5")
    _compare_stats(answer, torch.full((2, 3, 3), 255, dtype=torch.uint8), "2 white images")  # mean 1, std 0


def check_mnist_statistics(answer, images: torch.Tensor) -> None:
    """The grader's check on the real training images: rounded to 4 digits, (0.1307, 0.3081)."""
    __tracebackhide__ = True
    mean, std = _stats(answer, images, "pixel_mean_std(train_data.data)")
    expect(
        (round(mean, 4), round(std, 4)) == (MNIST_MEAN, MNIST_STD),
        f"pixel_mean_std on the 60,000 training images gives ({mean:.4f}, {std:.4f}); "
        f"expected ({MNIST_MEAN}, {MNIST_STD}).",
    )


pixel_mean_std = Exercise(
    title="pixel_mean_std",
    visible=_pixel_stats_visible,
    strict=_pixel_stats_strict,
    hint_text="pixels = images.float() / 255 turns the uint8 images into floats in [0, 1]; then pixels.mean() and "
    "pixels.std() reduce over ALL dimensions at once. Return them as a pair: (mean, std) — .item() makes floats.",
)
