"""Pictures of the network's ideas: 2x2 max-pool with its numbers, the whole ``Net`` with its shapes and
parameters (lesson 03), and why convolution beats a fully connected layer on a shifted digit (lesson 04).

Every number drawn is computed here from the tensors or the model given, never typed in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle
from torch import nn

from ..baselines import shift_images
from ..model import INPUT_SHAPE, Net, count_parameters, layer_outputs
from ..plots import _figure, as_pixels

WINNER = "crimson"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _grid_of_numbers(ax, values: torch.Tensor, title: str) -> None:
    ax.imshow(values.numpy(), cmap="Greys", vmin=float(values.min()), vmax=float(values.max()) * 1.6 or 1)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def max_pool_windows(patch: torch.Tensor) -> Figure:
    """A 2x2 max-pool with stride 2 of ``patch`` (H, W even), every number written: on the left the input
    cut into its 2x2 windows, the winner of each window boxed in red; on the right the pooled output."""
    patch = patch.detach().float().cpu()
    height, width = patch.shape
    if height % 2 or width % 2:
        raise ValueError(f"the patch must have even sides to be cut into 2x2 windows, got {height}x{width}")
    pooled = F.max_pool2d(patch[None, None], 2)[0, 0]
    fig = _figure(figsize=(2.0 + 0.75 * width * 1.5, 0.75 * height + 1.0), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    _grid_of_numbers(left, patch, f"input {height} x {width}: 2x2 windows")
    _grid_of_numbers(right, pooled, f"max-pool: {height // 2} x {width // 2}")
    for i in range(height // 2):
        for j in range(width // 2):
            window = patch[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            a, b = divmod(int(window.flatten().argmax()), 2)  # the first maximum wins a tie, as in PyTorch
            left.add_patch(Rectangle((2 * j - 0.5, 2 * i - 0.5), 2, 2, fill=False, edgecolor="black", linewidth=2))
            left.add_patch(Rectangle((2 * j + b - 0.45, 2 * i + a - 0.45), 0.9, 0.9, fill=False, edgecolor=WINNER))
            for r in range(2):
                for c in range(2):
                    style = {"color": WINNER, "fontweight": "bold"} if (r, c) == (a, b) else {"color": "black"}
                    left.text(2 * j + c, 2 * i + r, _number(window[r, c]), ha="center", va="center", **style)
            right.text(j, i, _number(pooled[i, j]), ha="center", va="center", color=WINNER, fontweight="bold")
    return fig


def _shape_text(shape) -> str:
    return " x ".join(str(s) for s in shape)


def network_stages(model: nn.Module | None = None) -> list[tuple[str, str, str, int]]:
    """(name, what it does, output shape for one image, parameters) of every stage of ``model`` (default
    a fresh ``Net``), from a real forward pass: the input, each layer, and the flatten ``forward`` does."""
    model = Net() if model is None else model
    names = {id(module): name for name, module in model.named_modules()}
    device = next(model.parameters()).device
    stages = [("input", "a digit", _shape_text(INPUT_SHAPE), 0)]
    for _, module, output in layer_outputs(model, torch.zeros(1, *INPUT_SHAPE, device=device)):
        shape = tuple(output.shape[1:])
        if isinstance(module, nn.Linear) and len(stages[-1][2].split(" x ")) > 1:
            stages.append(("flatten", "torch.flatten", str(module.in_features), 0))
        if isinstance(module, nn.Conv2d):
            what = f"{module.kernel_size[0]}x{module.kernel_size[1]} conv + ReLU"
        elif isinstance(module, nn.MaxPool2d):
            what = "2x2 max-pool"
        elif isinstance(module, nn.Linear):
            what = f"linear {module.in_features} -> {module.out_features}"
        else:
            what = type(module).__name__
        name = names.get(id(module), type(module).__name__)
        stages.append((name, what, _shape_text(shape), count_parameters(module)))
    return stages


_COLOURS = {"conv": "#cfe2f3", "pool": "#fce5cd", "linear": "#d9ead3"}


def net_diagram(model: nn.Module | None = None) -> Figure:
    """The whole network as a row of blocks: name, operation, output shape for one image, and the parameters
    of every layer written below it; the total in the title. Computed from ``model`` (default a fresh ``Net``)."""
    model = Net() if model is None else model
    stages = network_stages(model)
    total = count_parameters(model)
    fig = _figure(figsize=(1.55 * len(stages), 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.1, len(stages) - 0.1)
    ax.set_ylim(-0.9, 1.15)
    ax.axis("off")
    for k, (name, what, shape, params) in enumerate(stages):
        kind = next((key for key in _COLOURS if key in what), None)
        ax.add_patch(
            FancyBboxPatch((k + 0.05, 0.0), 0.72, 1.0, boxstyle="round,pad=0.02", facecolor=_COLOURS.get(kind, "#eee"))
        )
        ax.text(k + 0.41, 0.8, name, ha="center", va="center", fontweight="bold", fontsize=10)
        ax.text(k + 0.41, 0.55, what.replace(" + ", "\n+ "), ha="center", va="center", fontsize=7.5)
        ax.text(k + 0.41, 0.2, shape, ha="center", va="center", fontsize=9, color="navy")
        ax.text(k + 0.41, -0.25, f"{params:,}" if params else "-", ha="center", va="center", fontsize=9)
        if k:
            ax.annotate("", (k + 0.05, 0.5), (k - 0.21, 0.5), arrowprops={"arrowstyle": "->"})
    ax.text(-0.05, -0.6, "parameters per layer (shapes: channels x height x width for one image)", fontsize=8)
    largest = max(stages, key=lambda stage: stage[3])
    ax.set_title(
        f"{type(model).__name__}: {total:,} parameters in all; the largest layer, {largest[0]}, "
        f"holds {largest[3]:,} ({100 * largest[3] / total:.0f} %)"
    )
    return fig


def class_mean_templates(means: torch.Tensor) -> Figure:
    """The mean image of every digit class (``means``: (10, 1, 28, 28), normalized): what "pixel similarity"
    compares a digit with. Each panel is titled with its class."""
    fig = _figure(figsize=(1.3 * len(means), 1.7), layout="constrained")
    for digit, (ax, mean) in enumerate(zip(fig.subplots(1, len(means)), means)):
        ax.imshow(as_pixels(mean), cmap="gray")
        ax.set_title(str(digit))
        ax.axis("off")
    fig.suptitle("the mean image of each class: a digit is given the class of the nearest mean", fontsize=10)
    return fig


def weight_sharing(image: torch.Tensor, kernel: torch.Tensor, template: torch.Tensor, shift: int = 3) -> Figure:
    """Why a convolution does not mind a shift and a fully connected unit does, on one digit and the digit moved
    ``shift`` pixels right and down (rows). Columns: the digit with the 3x3 window where ``kernel`` responds most;
    the kernel's feature map and its maximum (the same 9 weights at every position: the maximum moves but keeps
    its value); the digit over ``template``, the 784 weights of one fully connected unit, and their score
    (each weight belongs to one pixel position: the score changes)."""
    image = image.detach().float().cpu().reshape(1, 1, 28, 28)
    kernel, template = kernel.detach().float().cpu().reshape(1, 1, 3, 3), template.detach().float().cpu()
    fig = _figure(figsize=(8.5, 5.6), layout="constrained")
    axes = fig.subplots(2, 3)
    versions = (("the digit", image), (f"shifted {shift} px", shift_images(image, shift, shift)))
    for row, (label, digit) in enumerate(versions):
        feature_map = F.conv2d(digit, kernel)[0, 0]
        top, left = divmod(int(feature_map.argmax()), feature_map.shape[1])
        score = float((digit[0, 0] * template.reshape(28, 28)).sum())
        axes[row, 0].imshow(as_pixels(digit), cmap="gray")
        axes[row, 0].add_patch(Rectangle((left - 0.5, top - 0.5), 3, 3, fill=False, edgecolor=WINNER, linewidth=2))
        axes[row, 0].set_title(f"{label}: window at ({top}, {left})")
        axes[row, 1].imshow(feature_map.numpy(), cmap="viridis")
        axes[row, 1].set_title(f"same 3x3 kernel: max {feature_map.max():.2f}")
        axes[row, 2].imshow(template.reshape(28, 28).numpy(), cmap="RdBu_r")
        axes[row, 2].imshow(as_pixels(digit), cmap="gray", alpha=0.35)
        axes[row, 2].set_title(f"fixed 784 weights: score {score:.1f}")
        for ax in axes[row]:
            ax.set_xticks([])
            ax.set_yticks([])
    return fig


def busiest_patch(image: torch.Tensor, size: int = 6) -> tuple[torch.Tensor, int, int]:
    """The ``size`` x ``size`` patch of a 2-D ``image``, at even rows and columns (so its 2x2 windows are the
    pool's), whose values vary most: ``(patch, top, left)``. A patch of plain background shows nothing."""
    windows = image.unfold(0, size, 2).unfold(1, size, 2)  # (rows, columns, size, size)
    row, column = divmod(int(windows.flatten(2).float().std(dim=2).argmax()), windows.shape[1])
    top, left = 2 * row, 2 * column
    return image[top : top + size, left : left + size], top, left
