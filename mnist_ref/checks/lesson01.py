"""Checks of lesson 01 · MNIST data.

Exercises: ``class_counts`` (how many examples of each digit), ``pixel_mean_std`` (the
normalization statistics of a set of uint8 images), ``make_transform`` (ToTensor + Normalize)
and ``batch_sizes`` (what a DataLoader yields in one epoch).

The ``reference_*`` functions are the course's own answers. The lesson's provided cells use
them, so a learner who is stuck on one exercise can still run the rest of the notebook.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import torch
from PIL import Image
from torch.utils.data import BatchSampler, SequentialSampler
from torchvision import transforms

from mnist_ref.data import MNIST_MEAN, MNIST_STD

from . import CheckFailed, Exercise, call, expect, expect_tensor

NUM_CLASSES = 10

# --- reference answers --------------------------------------------------------------------------


def reference_class_counts(targets: torch.Tensor) -> torch.Tensor:
    """Number of examples of each digit 0-9: a tensor of 10 counts (int64)."""
    return torch.bincount(torch.as_tensor(targets).long().flatten(), minlength=NUM_CLASSES)


def reference_pixel_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of all pixels of uint8 ``images``, scaled to [0, 1]."""
    pixels = images.float() / 255  # float32 sums are accurate enough here (torch sums pairwise)
    return pixels.mean().item(), pixels.std().item()


def reference_transform(mean: float, std: float) -> transforms.Compose:
    """PIL image -> float tensor (1, H, W) in [0, 1] -> normalized with ``mean`` and ``std``."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])


def reference_batch_sizes(n_examples: int, batch_size: int, drop_last: bool = False) -> list[int]:
    """Sizes of the batches a DataLoader (without a sampler of its own) yields in one epoch."""
    return [len(b) for b in BatchSampler(SequentialSampler(range(n_examples)), batch_size, drop_last)]


def _seeded_uint8(seed: int, *shape, dark_fraction=None) -> torch.Tensor:
    """Random uint8 images; with ``dark_fraction`` per image, that share of pixels is 0 (like MNIST's background)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, shape, generator=generator)
    if dark_fraction is not None:
        keep = torch.rand(shape, generator=generator) >= torch.tensor(dark_fraction).view(-1, *[1] * (len(shape) - 1))
        images = images * keep
    return images.to(torch.uint8)


# --- exercise 1: class_counts -------------------------------------------------------------------


def _as_counts(value, what: str) -> torch.Tensor:
    __tracebackhide__ = True
    if isinstance(value, Mapping):
        raise CheckFailed(f"{what} returned a {type(value).__name__} ({{digit: count}}); return a tensor of 10 counts "
                          "in which position d holds the number of examples of digit d.")
    if isinstance(value, (list, tuple)):
        try:
            value = torch.tensor(value)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"{what} returned a {type(value).__name__} that is not a list of numbers; return a tensor of 10 counts.") from None
    value = expect_tensor(value, what)
    expect(value.dim() == 1, f"{what} has shape {tuple(value.shape)}; expected (10,): one count per digit.")
    return value


def _compare_counts(answer, targets: torch.Tensor) -> None:
    __tracebackhide__ = True
    shown = targets.tolist() if len(targets) <= 12 else f"<{len(targets)} labels>"
    what = f"class_counts({shown})"
    original = targets.clone()
    counts = _as_counts(call(answer, targets, what=what), what)
    expect(torch.equal(targets, original), "class_counts changed the targets it was given; count without modifying them.")
    expected = reference_class_counts(targets)
    present = int(targets.unique().numel())
    if len(counts) != NUM_CLASSES:
        largest = int(targets.max()) if len(targets) else None
        if largest is not None and len(counts) == largest + 1:
            why = (f"the largest label here is {largest}, so the digits above it got no entry (torch.bincount without "
                   "minlength does that). Use torch.bincount(targets, minlength=10)")
        elif len(counts) == present:
            why = f"that is one entry per digit that occurs ({present} of them); digits that never occur need a 0"
        else:
            why = "there are 10 classes, the digits 0 to 9"
        raise CheckFailed(f"{what} has {len(counts)} entries; expected 10: {why}.")
    if counts.is_floating_point():
        expect(bool((counts == counts.round()).all()), f"{what} contains fractions, {counts.tolist()}; counts are whole numbers.")
    if torch.equal(counts.long(), expected):
        return
    if len(targets) and torch.allclose(counts.double(), expected.double() / len(targets)):
        raise CheckFailed(f"{what} returns fractions (count / number of examples); return the counts themselves.")
    if torch.equal(counts.long().sort().values, expected.sort().values):
        raise CheckFailed(f"{what} = {counts.tolist()} has the right numbers in the wrong order; expected {expected.tolist()}: "
                          "position d must hold the count of digit d (don't sort them).")
    if int(counts.sum()) != len(targets):
        raise CheckFailed(f"{what} = {counts.tolist()} adds up to {int(counts.sum())}, but there are {len(targets)} labels; "
                          f"expected {expected.tolist()}. Every label must be counted exactly once.")
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
    if isinstance(value, torch.Tensor) or isinstance(value, np.ndarray):
        expect(value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1,
               f"{what} should be one number, but it has shape {tuple(value.shape)}: average over ALL pixels of all images.")
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
            raise CheckFailed(f"{failure} — the images are uint8 (integers 0..255); convert them to float first, "
                              "e.g. images.float() / 255.") from None
        raise
    expect(torch.equal(images, original), "pixel_mean_std changed the images it was given (an in-place operation?); compute new tensors instead.")
    expect(isinstance(value, (tuple, list)) and len(value) == 2,
           f"{what} should return a pair (mean, std), got {type(value).__name__}" + (f" of length {len(value)}" if hasattr(value, "__len__") else "") + ".")
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
        raise CheckFailed(f"{what} = {got} looks like it was computed on pixel values 0..255; expected {expected}. "
                          "Scale the pixels to [0, 1] first (divide by 255), as ToTensor does.")
    if _close(mean, ref_std) and _close(std, ref_mean):
        raise CheckFailed(f"{what} = {got}: mean and std are swapped; return (mean, std) in that order.")
    if _close(mean, ref_mean) and any(_close(std, s**2) for s in stds):
        raise CheckFailed(f"{what} = {got}: the second number is the variance; the std is its square root ({expected}).")
    if len(images) > 1 and images.dim() >= 3:
        dims = tuple(range(1, images.dim()))
        per_image_means = pixels.mean(dim=dims)
        if _close(mean, ref_mean) and any(_close(std, per_image_means.std(correction=c).item()) for c in (0, 1)):
            raise CheckFailed(f"{what} = {got}: the std is the spread of the per-image MEANS (how much images differ in "
                              f"average brightness); expected {expected}. Normalize needs the spread of all pixels: take the std over every pixel of every image at once.")
        if _close(mean, ref_mean) and any(_close(std, pixels.std(dim=dims, correction=c).mean().item()) for c in (0, 1)):
            raise CheckFailed(f"{what} = {got}: the std is the average of the per-image stds; expected {expected}. "
                              "Take one std over every pixel of every image at once (images.float().div(255).std()).")
    if _close(mean, ref_mean):
        raise CheckFailed(f"{what} = {got}: the mean is right but the std is not; expected {expected} "
                          "(the standard deviation of all pixels, scaled to [0, 1]).")
    raise CheckFailed(f"{what} = {got}; expected {expected}: the mean and the std of all pixels after dividing by 255.")


def visible_images() -> torch.Tensor:
    """The small uint8 set of the visible check: 3 images of 4x4, mostly dark like MNIST, of different brightness."""
    return _seeded_uint8(0, 3, 4, 4, dark_fraction=[0.8, 0.5, 0.2])


def _pixel_stats_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_stats(answer, visible_images(), "3 images of 4x4")
    return "the mean and std of all pixels, scaled to [0, 1]."


def _pixel_stats_strict(answer) -> None:
    __tracebackhide__ = True
    _compare_stats(answer, _seeded_uint8(1, 50, 28, 28, dark_fraction=[0.8] * 50), "50 random 28x28 images")
    _compare_stats(answer, _seeded_uint8(2, 1, 28, 28), "1 image")
    _compare_stats(answer, _seeded_uint8(3, 4, 7, 5, dark_fraction=[0.1, 0.9, 0.5, 0.3]), "4 images of 7x5")
    _compare_stats(answer, torch.full((2, 3, 3), 255, dtype=torch.uint8), "2 white images")  # mean 1, std 0


def check_mnist_statistics(answer, images: torch.Tensor) -> None:
    """The grader's check on the real training images: rounded to 4 digits, (0.1307, 0.3081)."""
    __tracebackhide__ = True
    mean, std = _stats(answer, images, "pixel_mean_std(train_data.data)")
    expect((round(mean, 4), round(std, 4)) == (MNIST_MEAN, MNIST_STD),
           f"pixel_mean_std on the 60,000 training images gives ({mean:.4f}, {std:.4f}); expected ({MNIST_MEAN}, {MNIST_STD}).")


pixel_mean_std = Exercise(
    title="pixel_mean_std",
    visible=_pixel_stats_visible,
    strict=_pixel_stats_strict,
    hint_text="pixels = images.float() / 255 turns the uint8 images into floats in [0, 1]; then pixels.mean() and "
              "pixels.std() reduce over ALL dimensions at once. Return them as a pair: (mean, std) — .item() makes floats.",
)


# --- exercise 3: make_transform -----------------------------------------------------------------


def pil_image(pixels: torch.Tensor) -> Image.Image:
    """A grayscale ('L') PIL image from a (H, W) uint8 tensor, like the ones torchvision's MNIST hands to its transform."""
    return Image.fromarray(pixels.numpy())


def _transform_of(answer, mean: float, std: float):
    __tracebackhide__ = True
    what = f"make_transform({mean}, {std})"
    transform = call(answer, mean, std, what=what)
    expect(not isinstance(transform, torch.Tensor),
           f"{what} returned a tensor; it should return the transform itself (e.g. transforms.Compose([...])), which torchvision then applies to every image.")
    expect(callable(transform), f"{what} returned a {type(transform).__name__}; it should return a transform, e.g. transforms.Compose([...]).")
    return transform


def _apply(transform, pixels: torch.Tensor, what: str) -> torch.Tensor:
    __tracebackhide__ = True
    try:
        out = call(transform, pil_image(pixels), what=what)
    except CheckFailed as failure:
        text = str(failure.__cause__ or "")
        if "Tensor Image" in text or ("PIL" in text and "Tensor" in text):
            raise CheckFailed(f"{what} fails on a PIL image: {text}. Normalize only works on tensors, so "
                              "transforms.ToTensor() must come BEFORE transforms.Normalize(...) in the Compose list.") from None
        if "float tensor" in text:
            raise CheckFailed(f"{what} fails: {text}. PILToTensor keeps the uint8 values 0..255; use transforms.ToTensor(), "
                              "which also converts to float and scales to [0, 1].") from None
        raise
    out = expect_tensor(out, f"{what}'s result")
    h, w = pixels.shape
    if tuple(out.shape) == (h, w):
        raise CheckFailed(f"{what} gives shape {(h, w)}; expected (1, {h}, {w}): keep the channel dimension (ToTensor adds it).")
    if tuple(out.shape) == (h, w, 1):
        raise CheckFailed(f"{what} gives shape {(h, w, 1)} (channels last); expected (1, {h}, {w}), as ToTensor gives.")
    expect(tuple(out.shape) == (1, h, w), f"{what} gives shape {tuple(out.shape)}; expected (1, {h}, {w}): one channel, then height and width.")
    expect(out.dtype == torch.float32, f"{what} gives dtype {out.dtype}; expected torch.float32 (ToTensor's dtype, which the model's weights use too).")
    return out


def _compare_transform(answer, mean: float, std: float, pixels: torch.Tensor, label: str) -> torch.Tensor:
    __tracebackhide__ = True
    transform = _transform_of(answer, mean, std)
    what = f"make_transform({mean}, {std}) applied to {label}"
    out = _apply(transform, pixels, what).double()
    x = pixels.double().unsqueeze(0)
    expected = (x / 255 - mean) / std
    if torch.allclose(out, expected, atol=1e-5):
        return out
    stories = [
        (x / 255, "gives values in [0, 1]: Normalize is missing (add transforms.Normalize((mean,), (std,)) after ToTensor)"),
        ((x / 255 - std) / mean, "mean and std are swapped: transforms.Normalize takes (mean,) first, then (std,)"),
        ((x - mean) / std, "normalizes pixel values 0..255: scale them to [0, 1] first with ToTensor"),
        (x / 255 - mean, "subtracts the mean but does not divide by the std"),
        (x / 255 * std + mean, "multiplies by std and adds the mean: that is the inverse of Normalize"),
        ((x / 255 - MNIST_MEAN) / MNIST_STD, f"uses MNIST's numbers ({MNIST_MEAN}, {MNIST_STD}) instead of the mean and std arguments"),
        (((x / 255 - mean) / std - mean) / std, "normalizes twice"),
    ]
    for values, story in stories:
        if torch.allclose(out, values, atol=1e-5):
            raise CheckFailed(f"{what} {story}.")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(f"{what}: the values differ from (pixel / 255 - mean) / std by up to {worst:.3g}. "
                      "The transform is transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))]).")


def digit_like(seed: int, h: int = 28, w: int = 28) -> torch.Tensor:
    """A (h, w) uint8 image: a bright random blob on black, vaguely like a digit."""
    image = _seeded_uint8(seed, 1, h, w, dark_fraction=[0.7])[0]
    image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = 255
    return image


def _transform_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_transform(answer, MNIST_MEAN, MNIST_STD, digit_like(0), "a 28x28 image")
    _compare_transform(answer, 0.5, 0.25, digit_like(1), "a 28x28 image")
    return f"PIL image -> (1, 28, 28) float tensor; black becomes {(0 - MNIST_MEAN) / MNIST_STD:.4f}, white {(1 - MNIST_MEAN) / MNIST_STD:.4f}."


def _transform_strict(answer) -> None:
    __tracebackhide__ = True
    black, white = torch.zeros(28, 28, dtype=torch.uint8), torch.full((28, 28), 255, dtype=torch.uint8)
    _compare_transform(answer, MNIST_MEAN, MNIST_STD, black, "a black image")
    _compare_transform(answer, MNIST_MEAN, MNIST_STD, white, "a white image")
    _compare_transform(answer, 0.2, 0.7, digit_like(2, 10, 6), "a 10x6 image")
    _compare_transform(answer, 0.0, 1.0, digit_like(3), "a 28x28 image")
    # Same as the course's transform, bit for bit close.
    out = _apply(_transform_of(answer, MNIST_MEAN, MNIST_STD), digit_like(4), "make_transform(0.1307, 0.3081)")
    expect(torch.allclose(out, reference_transform(MNIST_MEAN, MNIST_STD)(pil_image(digit_like(4))), atol=1e-6),
           "make_transform(0.1307, 0.3081) differs from ToTensor + Normalize((0.1307,), (0.3081,)).")


make_transform = Exercise(
    title="make_transform",
    visible=_transform_visible,
    strict=_transform_strict,
    hint_text="transforms.Compose([...]) chains transforms in list order: first transforms.ToTensor() (PIL -> float "
              "tensor in [0, 1]), then transforms.Normalize((mean,), (std,)).",
)


# --- exercise 4: batch_sizes --------------------------------------------------------------------


def _as_int_list(value, what: str) -> list[int]:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    expect(isinstance(value, (list, tuple)), f"{what} should return a list of batch sizes, got {type(value).__name__}.")
    for v in value:
        expect(isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()),
               f"{what} contains {v!r}; every batch size is a whole number of examples (use // for division).")
    return [int(v) for v in value]


def _compare_batches(answer, n: int, batch_size: int, drop_last: bool) -> None:
    __tracebackhide__ = True
    what = f"batch_sizes({n}, {batch_size}" + (", drop_last=True)" if drop_last else ")")
    got = _as_int_list(call(answer, n, batch_size, drop_last=drop_last, what=what), what)
    expected = reference_batch_sizes(n, batch_size, drop_last)
    if got == expected:
        return
    shown = f"{got}" if len(got) <= 12 else f"{len(got)} batches ending in {got[-3:]}"
    wanted = f"{expected}" if len(expected) <= 12 else f"{len(expected)} batches ending in {expected[-3:]}"
    full, rest = divmod(n, batch_size)
    if not drop_last and rest and got == expected[:-1]:
        raise CheckFailed(f"{what} = {shown}: the last, smaller batch is missing; expected {wanted}. "
                          f"{n} = {full} x {batch_size} + {rest}: the DataLoader still yields the {rest} left over (unless drop_last=True).")
    if drop_last and rest and got == expected + [rest]:
        raise CheckFailed(f"{what} = {shown}: with drop_last=True the incomplete last batch of {rest} is dropped; expected {wanted}.")
    if rest and len(got) == len(expected) and got[-1] == batch_size:
        raise CheckFailed(f"{what} = {shown}: the last batch can't be full; it holds the {rest} examples left over; expected {wanted}.")
    if got and got[-1] == 0:
        raise CheckFailed(f"{what} = {shown}: there is no empty batch at the end; expected {wanted}.")
    if sum(got) != (n if not drop_last else full * batch_size):
        raise CheckFailed(f"{what} = {shown} holds {sum(got)} examples; expected {wanted}, which holds "
                          f"{sum(expected)}: each example appears in exactly one batch" + (" (the incomplete last batch is dropped)." if drop_last else "."))
    raise CheckFailed(f"{what} = {shown}; expected {wanted}.")


def _batch_sizes_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_batches(answer, 10, 4, False)
    _compare_batches(answer, 10, 4, True)
    _compare_batches(answer, 8, 4, False)
    return "10 examples in batches of 4 give [4, 4, 2], or [4, 4] with drop_last=True."


def _batch_sizes_strict(answer) -> None:
    __tracebackhide__ = True
    for n, batch_size, drop_last in [(60_000, 64, False), (60_000, 64, True), (10_000, 1000, False), (10_000, 1000, True),
                                     (5, 10, False), (5, 10, True), (1, 1, False), (7, 1, True), (65, 64, False)]:
        _compare_batches(answer, n, batch_size, drop_last)


batch_sizes = Exercise(
    title="batch_sizes",
    visible=_batch_sizes_visible,
    strict=_batch_sizes_strict,
    hint_text="divmod(n_examples, batch_size) gives the number of full batches and the number left over; the "
              "left-over examples form one more, smaller batch unless drop_last is True (or nothing is left over).",
)
