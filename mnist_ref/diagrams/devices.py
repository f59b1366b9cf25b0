"""Pictures of lesson 06: where tensors live on a GPU machine and the copies a batch makes, and how
float32, bfloat16 and float16 store a number.

Every number written into a figure is computed from its arguments (shapes, ``torch.finfo``), never
typed in, so the pictures stay true when the course changes.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from ..plots import _figure
from .training import RATE, TRAIN, TRAIN_IMAGES


def byte_counts(batch_size: int = 64, parameters: int = 593_200, images: int = TRAIN_IMAGES) -> dict[str, int]:
    """The bytes each copy of lesson 06 moves: a batch, its targets, the model, an epoch of ``images``."""
    image = 1 * 28 * 28 * 4  # float32
    return {
        "data": batch_size * image,
        "target": batch_size * 8,  # int64
        "model": parameters * 4,
        "epoch": images * (image + 8),
    }


def _box(ax, x, y, w, h, title, colour):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", facecolor=colour, alpha=0.25))
    ax.text(x + 0.02, y + h - 0.05, title, fontsize=10, fontweight="bold", va="top")


def _arrow(ax, start, end, text, offset=(0, 0.04)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.5))
    middle = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
    ax.text(*middle, text, ha="center", va="bottom", fontsize=8)


def where_tensors_live(batch_size: int = 64, parameters: int = 593_200) -> Figure:
    """CPU memory (pageable and pinned) and GPU memory as boxes, with the copies one training run
    makes between them: the model once, every batch every step; the bytes of each written in."""
    counts = byte_counts(batch_size, parameters)
    fig = _figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    _box(ax, 0.0, 0.05, 0.44, 0.9, "CPU memory (RAM)", "tab:blue")
    _box(ax, 0.62, 0.05, 0.38, 0.9, "GPU memory", "tab:green")
    batch = (
        f"data ({batch_size}, 1, 28, 28) float32: {counts['data']:,} B\n"
        f"target ({batch_size},) int64: {counts['target']:,} B"
    )
    ax.text(0.03, 0.68, "pageable: the batch the loader made\n" + batch, fontsize=8, va="center")
    ax.text(0.03, 0.33, "pinned (page-locked) copy\n(pin_memory=True)", fontsize=8, va="center")
    _arrow(ax, (0.12, 0.56), (0.12, 0.42), "", offset=(0, 0))
    ax.text(0.14, 0.49, "staging copy", fontsize=8, va="center")
    ax.text(0.03, 0.14, f"model: {parameters:,} float32 parameters = {counts['model']:,} B", fontsize=8)
    ax.text(0.65, 0.68, "the batch, on the GPU\n(a new tensor: data = data.to(device))", fontsize=8, va="center")
    ax.text(0.65, 0.33, "the model's parameters, moved in place\n(before the optimizer is made)", fontsize=8)
    ax.text(0.65, 0.14, "forward, backward, optimizer.step():\nall here, no copy back", fontsize=8)
    per_step = counts["data"] + counts["target"]
    _arrow(ax, (0.36, 0.36), (0.64, 0.62), f"every step: {per_step:,} B\nnon_blocking=True over PCIe")
    _arrow(ax, (0.36, 0.16), (0.64, 0.36), f"once: model.to(device)\n{counts['model']:,} B", offset=(0, -0.1))
    fig.suptitle(
        f"One epoch of {TRAIN_IMAGES:,} training images copies {counts['epoch'] / 1e6:.1f} MB to the GPU; "
        "the model goes once",
        fontsize=11,
    )
    return fig


FORMATS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
PARTS = ("sign", "exponent", "mantissa")


def format_bits(dtype: torch.dtype) -> tuple[int, int, int]:
    """(sign, exponent, mantissa) bits of a floating-point type, from ``torch.finfo``."""
    info = torch.finfo(dtype)
    mantissa = round(-torch.log2(torch.tensor(info.eps)).item())
    return 1, info.bits - 1 - mantissa, mantissa


def format_range(dtype: torch.dtype) -> tuple[float, float, float]:
    """(smallest subnormal, smallest normal, largest) positive number of a floating-point type."""
    info = torch.finfo(dtype)
    return info.smallest_normal * info.eps, info.smallest_normal, info.max


def number_formats(gradients=(1e-10, 1e-3)) -> Figure:
    """Left: the bits of float32, bfloat16 and float16 (sign, exponent, mantissa). Right: the range of
    positive numbers each stores, on a log scale, against the band where gradients live."""
    fig = _figure(figsize=(10, 3.2), layout="constrained")
    bits, ranges = fig.subplots(1, 2)
    for row, dtype in enumerate(FORMATS.values()):
        left = 0
        for size, part, colour in zip(format_bits(dtype), PARTS, ("gray", "tab:red", RATE)):
            label = part if row == 0 else None  # one legend entry per part
            bits.add_patch(
                Rectangle((left, row - 0.35), size, 0.7, facecolor=colour, edgecolor="black", alpha=0.7, label=label)
            )
            bits.text(left + size / 2, row, str(size), ha="center", va="center")
            left += size
        subnormal, normal, largest = format_range(dtype)
        ranges.plot([subnormal, normal], [row, row], color=TRAIN, linewidth=3, alpha=0.4)
        ranges.plot([normal, largest], [row, row], color=TRAIN, linewidth=6)
        ranges.text(subnormal, row, f"{subnormal:.1e} ", ha="right", va="center", fontsize=8)
        ranges.text(largest, row, f" {largest:.1e}", ha="left", va="center", fontsize=8)
        ranges.text(normal, row - 0.3, f"eps {torch.finfo(dtype).eps:.1e}", ha="left", fontsize=8)
    for ax in (bits, ranges):
        ax.set_yticks(range(len(FORMATS)), list(FORMATS))
        ax.set_ylim(len(FORMATS) - 0.4, -0.6)
    bits.set_xlim(0, 32)
    bits.legend(loc="lower right", fontsize=8)
    bits.set_xlabel("bits")
    bits.set_title("how the bits are spent")
    ranges.axvspan(*gradients, color="tab:orange", alpha=0.2, label="typical gradients")
    ranges.set_xscale("log")
    ranges.set_xlim(1e-60, 1e55)
    ranges.set_xlabel("positive numbers it can store (thin: subnormal, fewer digits)")
    ranges.set_title("range: float16 loses the small gradients")
    ranges.legend(loc="lower left", fontsize=8)
    return fig
