"""Lesson 01's graded checks: the visible cases, then larger, seeded and edge-case inputs.

The learner's kernel no longer checks anything on the real MNIST files: ``class_counts`` and
``batch_sizes`` on the training set's size are covered by the seeded cases here, and the
statistics of the real images by the synthetic sets (the real 47 MB would not fit a request).
"""

from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler
from torchvision import transforms

from mnist_ref.checks.fixtures import seeded_uint8
from mnist_ref.checks.framework import CheckFailed, expect
from mnist_ref.checks.lesson01.dataset_statistics import (
    PixelStats,
    _class_counts_visible,
    _compare_counts,
    _compare_stats,
    _pixel_stats_visible,
)
from mnist_ref.checks.lesson01.input_pipeline import (
    _batch_sizes_visible,
    _check_output,
    _compare_batches,
    _judge_values,
    pil_image,
    transform_cases,
)
from mnist_ref.data import TensorLoader, mnist_transform
from mnist_ref.model import NUM_CLASSES

from .graded import Asked, Replayed

# --- class_counts -------------------------------------------------------------------------------


def reference_class_counts(targets: torch.Tensor) -> torch.Tensor:
    """Number of examples of each digit 0-9: a tensor of 10 counts (int64)."""
    return torch.bincount(torch.as_tensor(targets).long().flatten(), minlength=NUM_CLASSES)


def check_class_counts(answer, seed: int) -> None:
    __tracebackhide__ = True
    _class_counts_visible(answer)
    generator = torch.Generator().manual_seed(seed)
    some_digits = torch.randperm(NUM_CLASSES, generator=generator)[: 1 + seed % 9]  # the others must count 0
    for targets in [
        torch.randint(0, NUM_CLASSES, (20_000,), generator=generator),
        some_digits[torch.randint(0, len(some_digits), (500,), generator=generator)],
        torch.zeros(7, dtype=torch.long),  # one class only
        torch.full((5,), 9),
        torch.tensor([0, 0, 1], dtype=torch.uint8),  # targets may be stored as uint8
        torch.tensor([], dtype=torch.long),  # an empty set has 10 zero counts
    ]:
        _compare_counts(answer, targets, reference_class_counts(targets).tolist())


# --- pixel_mean_std -----------------------------------------------------------------------------


def reference_pixel_mean_std(images: torch.Tensor) -> tuple[float, float]:
    """Mean and standard deviation of all pixels of uint8 ``images``, scaled to [0, 1]."""
    pixels = images.double() / 255
    return pixels.mean().item(), pixels.std().item()


def pixel_stats(images: torch.Tensor) -> PixelStats:
    """The numbers ``pixel_mean_std(images)`` is judged by (computed in float64)."""
    pixels = images.double() / 255
    mean, sample_std = reference_pixel_mean_std(images)
    if pixels.numel() <= 1:
        return PixelStats(mean, (0.0,))
    stds = (sample_std, pixels.std(correction=0).item())
    if len(images) <= 1 or images.dim() < 3:
        return PixelStats(mean, stds)
    dims = tuple(range(1, images.dim()))
    image_means = pixels.mean(dim=dims)
    return PixelStats(
        mean,
        stds,
        std_of_image_means=tuple(image_means.std(correction=c).item() for c in (0, 1)),
        mean_of_image_stds=tuple(pixels.std(dim=dims, correction=c).mean().item() for c in (0, 1)),
    )


def check_pixel_mean_std(answer, seed: int) -> None:
    __tracebackhide__ = True
    _pixel_stats_visible(answer)
    for images, label in [
        (seeded_uint8(seed + 1, 50, 28, 28, dark_fraction=[0.8] * 50), "50 random 28x28 images"),
        (seeded_uint8(seed + 2, 1, 28, 28), "1 image"),
        (seeded_uint8(seed + 3, 4, 7, 5, dark_fraction=[0.1, 0.9, 0.5, 0.3]), "4 images of 7x5"),
        (torch.full((2, 3, 3), 255, dtype=torch.uint8), "2 white images"),  # mean 1, std 0
    ]:
        _compare_stats(answer, images, label, pixel_stats(images))


# --- make_transform -----------------------------------------------------------------------------


def reference_transform(mean: float, std: float) -> transforms.Compose:
    """PIL image -> float tensor (1, H, W) in [0, 1] -> normalized with ``mean`` and ``std``."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])


def judge_make_transform(data, seed: int) -> None:
    """``data`` is what :func:`mnist_ref.checks.lesson01.input_pipeline._ask_transform` reported."""
    __tracebackhide__ = True
    cases = transform_cases(seed)
    outcomes = data.get("cases") if type(data) is dict else None
    expect(
        type(outcomes) is list and len(outcomes) == len(cases) and all(type(o) is dict for o in outcomes),
        "make_transform was not applied to the grader's images.",
    )
    for case, outcome in zip(cases, outcomes, strict=True):
        if "failure" in outcome:  # the learner's side says what went wrong; it can only fail the answer
            raise CheckFailed(str(outcome["failure"])[:2000])
        out = _check_output(outcome.get("output"), case.pixels, case.what)
        expected = reference_transform(case.mean, case.std)(pil_image(case.pixels))
        _judge_values(out, case, expected)
        expect(
            not case.exact or torch.allclose(out, expected, atol=1e-6),
            f"make_transform({case.mean}, {case.std}) differs from ToTensor + Normalize(({case.mean},), "
            f"({case.std},)).",
        )


# --- batch_sizes --------------------------------------------------------------------------------


def reference_batch_sizes(n_examples: int, batch_size: int, drop_last: bool = False) -> list[int]:
    """Sizes of the batches a DataLoader (without a sampler of its own) yields in one epoch."""
    return [len(b) for b in BatchSampler(SequentialSampler(range(n_examples)), batch_size, drop_last)]


def check_batch_sizes(answer, seed: int) -> None:
    __tracebackhide__ = True
    _batch_sizes_visible(answer)
    generator = torch.Generator().manual_seed(seed)
    large, size = (int(v) for v in torch.randint(1, 5000, (2,), generator=generator))
    small = int(torch.randint(1, 50, (), generator=generator))
    for n, batch_size, drop_last in [
        (60_000, 64, False),  # MNIST's training set: 938 batches, the last of 32
        (60_000, 64, True),
        (10_000, 1000, False),
        (10_000, 1000, True),
        (5, 10, False),
        (5, 10, True),
        (1, 1, False),
        (7, 1, True),
        (65, 64, False),
        (large, 1 + size % 300, seed % 2 == 0),
        (small, 1 + small // 3, seed % 2 == 1),
    ]:
        _compare_batches(answer, n, batch_size, drop_last, reference_batch_sizes(n, batch_size, drop_last))


GRADED = {
    "lesson01.class_counts": Replayed(check_class_counts, reference=reference_class_counts),
    "lesson01.pixel_mean_std": Replayed(check_pixel_mean_std, reference=reference_pixel_mean_std),
    # mnist_ref.mnist_transform is this transform with MNIST's numbers.
    "lesson01.make_transform": Asked(judge_make_transform, library=(mnist_transform,)),
    # The exercise asks for arithmetic: a loader that makes the batches answers it for you.
    "lesson01.batch_sizes": Replayed(
        check_batch_sizes, reference=reference_batch_sizes, library=(DataLoader, BatchSampler, TensorLoader)
    ),
}
