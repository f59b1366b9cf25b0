"""What a network really receives (lesson 01): a digit as a grid of numbers, and what Normalize does to them."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..plots import _figure


def digit_as_numbers(image: torch.Tensor, top: int = 4, left: int = 6, size: int = 12) -> Figure:
    """Left: a raw ``uint8`` digit (28 x 28) as a picture, with a box; right: the pixels in the box as the
    numbers 0..255 that the file stores."""
    image = torch.as_tensor(image).detach().cpu().squeeze()
    crop = image[top : top + size, left : left + size]
    fig = _figure(figsize=(10, 4.6), layout="constrained")
    picture = fig.add_subplot(1, 2, 1)
    picture.imshow(image.numpy(), cmap="gray", vmin=0, vmax=255)
    picture.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, edgecolor="tab:red", lw=2))
    picture.set_title(f"the picture: {image.shape[0]} x {image.shape[1]} pixels", fontsize=10)
    numbers = fig.add_subplot(1, 2, 2)
    numbers.imshow(crop.numpy(), cmap="gray", vmin=0, vmax=255)
    for (row, col), value in zip(torch.cartesian_prod(torch.arange(size), torch.arange(size)).tolist(), crop.flatten()):
        value = int(value)
        numbers.text(
            col, row, str(value), ha="center", va="center", fontsize=6.5, color="black" if value > 127 else "white"
        )
    numbers.set_title(
        f"what the file holds: rows {top}-{top + size - 1}, columns {left}-{left + size - 1} (0 black, 255 white)",
        fontsize=10,
    )
    for ax in (picture, numbers):
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def normalization(images: torch.Tensor, mean: float, std: float) -> Figure:
    """Histograms of the pixels of ``images`` (raw ``uint8``) scaled to [0, 1], then normalized with
    ``(x - mean) / std``: the same shape, moved and stretched so that mean 0 and std 1 are marked."""
    before = torch.as_tensor(images).flatten().float() / 255
    after = (before - mean) / std
    fig = _figure(figsize=(11, 3.2), layout="constrained")
    panels = [
        (before, mean, std, "ToTensor: x = pixel / 255", "x"),
        (after, 0.0, 1.0, f"Normalize: (x - {mean}) / {std}", "(x - mean) / std"),
    ]
    for k, (values, centre, spread, title, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, k + 1)
        counts, edges = torch.histogram(values, bins=64)  # counted by torch: far faster than ax.hist
        ax.stairs(counts.numpy(), edges.numpy(), fill=True, color="tab:blue")
        ax.set_yscale("log")
        ax.axvline(centre, color="tab:red", lw=2, label=f"mean {centre:g}")
        for side in (-1, 1):
            ax.axvline(
                centre + side * spread, color="tab:orange", ls="--", lw=1.5, label="mean ± std" if side < 0 else None
            )
        low, high = float(values.min()), float(values.max())
        ax.set_title(f"{title}\nmeasured: mean {values.mean():.4f}, std {values.std():.4f}", fontsize=10)
        ax.set_xlabel(f"{label}: from {low:.4f} (black) to {high:.4f} (white)")
        ax.set_ylabel("pixels (log)")
        ax.legend(fontsize=8, loc="upper center")
    return fig
