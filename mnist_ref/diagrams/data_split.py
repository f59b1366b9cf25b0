"""The train / validation / test split of lesson 01, drawn from the real split.

The sizes are not typed in: they come from :func:`mnist_ref.data.validation_split` applied to the
labels given, so the picture changes if ``VALIDATION_SIZE`` or the split ever does.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..data import VALIDATION_SEED, VALIDATION_SIZE, validation_split
from ..plots import _figure

TRAIN, VALIDATION, TEST = "tab:blue", "tab:orange", "tab:gray"


def split_sizes(
    train_targets: torch.Tensor, test_size: int, validation: int = VALIDATION_SIZE, seed: int = VALIDATION_SEED
):
    """``{"train": n, "validation": n, "test": n, "held_out_per_digit": [10 counts]}`` of the course's split."""
    train_indices, validation_indices = validation_split(train_targets, validation, seed=seed)
    per_digit = torch.bincount(torch.as_tensor(train_targets)[validation_indices], minlength=10)
    return {
        "train": len(train_indices),
        "validation": len(validation_indices),
        "test": test_size,
        "held_out_per_digit": per_digit.tolist(),
    }


def _bar(ax, left: float, width: float, row: float, colour: str, label: str) -> None:
    ax.add_patch(Rectangle((left, row - 0.35), width, 0.7, facecolor=colour, edgecolor="black", alpha=0.8))
    ax.text(left + width / 2, row, label, ha="center", va="center", fontsize=9, color="white", fontweight="bold")


def train_validation_test(
    train_targets: torch.Tensor, test_size: int, validation: int = VALIDATION_SIZE, seed: int = VALIDATION_SEED
) -> Figure:
    """Left: the 60,000 training images cut into train + validation, the test images set apart, each with
    its job; right: how many images of each digit the validation set holds."""
    sizes = split_sizes(train_targets, test_size, validation, seed)
    n_train, n_validation = sizes["train"], sizes["validation"]
    fig = _figure(figsize=(11, 3.2), layout="constrained")
    grid = fig.add_gridspec(1, 3)
    ax = fig.add_subplot(grid[0, :2])
    total = n_train + n_validation
    _bar(ax, 0, total, 2, "tab:purple", f"MNIST training file: {total:,} images")
    _bar(ax, 0, n_train, 1, TRAIN, f"train {n_train:,}: fits the weights")
    _bar(ax, n_train, n_validation, 1, VALIDATION, "")
    ax.text(
        total,
        0.5,
        f"validation {n_validation:,}: makes every choice\n(epochs, learning rate, model)",
        ha="right",
        va="top",
        fontsize=9,
    )
    _bar(ax, 0, test_size, -0.6, TEST, f"test {test_size:,}")
    ax.text(
        test_size + 1_000,
        -0.6,
        "MNIST test file: set apart, used once, at the end of lesson 07",
        va="center",
        fontsize=9,
    )
    ax.set_xlim(0, total * 1.02)
    ax.set_ylim(-1.1, 2.5)
    ax.set_yticks([])
    ax.set_xlabel("images")
    ax.set_title(f"{total:,} = {n_train:,} train + {n_validation:,} validation (seeded, balanced); test apart")
    counts = sizes["held_out_per_digit"]
    bars = fig.add_subplot(grid[0, 2])
    bars.bar(range(10), counts, color=VALIDATION)
    for digit, count in enumerate(counts):
        bars.text(digit, count, str(count), ha="center", va="bottom", fontsize=7)
    bars.set_xticks(range(10))
    bars.set_ylim(0, max(counts) * 1.25)
    bars.set_xlabel("digit")
    bars.set_title("validation images per digit", fontsize=10)
    return fig
