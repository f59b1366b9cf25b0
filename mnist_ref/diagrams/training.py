"""Pictures of training (lessons 05 and 07): the StepLR staircase against a real loss curve, what
momentum does, and what ``conv1`` learned.

Every number written into a figure is computed from its arguments (a History, a model, shapes,
``torch.finfo``), never typed in, so the pictures stay true when the course changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ..data import VALIDATION_SIZE
from ..plots import _figure, as_pixels

TRAIN, VALIDATION, RATE = "tab:blue", "tab:orange", "tab:green"
TRAIN_IMAGES = 60_000 - VALIDATION_SIZE  # what an epoch trains on once the validation set is held out


# --- lesson 05: the schedule against the loss ----------------------------------------------------


def rate_drops(lrs) -> list[int]:
    """The epochs (counted from 1) that train with a smaller rate than the epoch before."""
    return [epoch for epoch in range(2, len(lrs) + 1) if lrs[epoch - 1] < lrs[epoch - 2]]


def best_epoch(losses) -> int:
    """The epoch (from 1) with the lowest loss; the first of equal ones."""
    return min(range(len(losses)), key=lambda i: (losses[i], i)) + 1


def schedule_against_loss(history, title: str = "the shipped 20-epoch classic run") -> Figure:
    """Top: the learning rate of every epoch (the StepLR staircase). Bottom: the train and validation
    loss of the same epochs, the rate drops marked, the best epoch by validation loss written in."""
    epochs = list(range(1, len(history.lr) + 1))
    drops = rate_drops(history.lr)
    fig = _figure(figsize=(8, 5.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1, 2])
    top.step(epochs, history.lr, where="mid", marker="o", color=RATE)
    top.set_yscale("log")
    top.set_ylabel("learning rate")
    top.set_title(f"StepLR against the loss: {title}")
    for epoch in drops:
        before, after = history.lr[epoch - 2], history.lr[epoch - 1]
        top.annotate(
            f"×{after / before:g} before epoch {epoch}: {before:g} → {after:g}",
            (epoch - 0.5, after),
            xytext=(-8, 4),
            textcoords="offset points",
            ha="right",
            fontsize=9,
        )
    bottom.plot(epochs, history.train_loss, marker="o", color=TRAIN, label="train loss (mean over the epoch)")
    if history.val_loss:
        bottom.plot(epochs, history.val_loss, marker="s", color=VALIDATION, label="validation loss (after the epoch)")
        best = best_epoch(history.val_loss)
        low = history.val_loss[best - 1]
        bottom.annotate(
            f"best epoch by validation loss: {best} ({low:.4f})",
            (best, low),
            xytext=(0, -28),
            textcoords="offset points",
            ha="center",
            fontsize=9,
            arrowprops={"arrowstyle": "->"},
        )
    for epoch in drops:
        for ax in (top, bottom):
            ax.axvline(epoch - 0.5, color="gray", linestyle="--", linewidth=1)
    bottom.set_yscale("log")
    bottom.set_xlabel("epoch")
    bottom.set_ylabel("loss (log scale)")
    bottom.set_xticks(epochs)
    bottom.legend(loc="upper right", fontsize=9)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return fig


# --- lesson 05: momentum ----------------------------------------------------------------------------

RAVINE = (1.0, 20.0)  # curvatures of the loss 0.5 * (a x^2 + b y^2) along x and y: a long, narrow valley


def ravine_loss(point: torch.Tensor, curvature=RAVINE) -> torch.Tensor:
    return 0.5 * (curvature[0] * point[..., 0] ** 2 + curvature[1] * point[..., 1] ** 2)


def descent_path(momentum: float, lr: float = 0.04, steps: int = 40, start=(-10.0, 1.0)) -> torch.Tensor:
    """(steps + 1, 2): the points torch.optim.SGD visits on :func:`ravine_loss` from ``start``."""
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([point], lr=lr, momentum=momentum)
    path = [point.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        ravine_loss(point).backward()
        optimizer.step()
        path.append(point.detach().clone())
    return torch.stack(path)


def momentum_paths(lr: float = 0.04, momentum: float = 0.9, steps: int = 40) -> Figure:
    """Left: plain SGD and SGD with momentum, same learning rate and steps, on a narrow valley.
    Right: their loss per step. The final distance to the minimum of each is written in the legend."""
    paths = {"plain SGD": descent_path(0.0, lr, steps), f"momentum {momentum:g}": descent_path(momentum, lr, steps)}
    fig = _figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    x, y = torch.meshgrid(torch.linspace(-11, 2, 200), torch.linspace(-2.2, 2.2, 120), indexing="xy")
    left.contour(x.numpy(), y.numpy(), ravine_loss(torch.stack([x, y], dim=-1)).numpy(), levels=12, cmap="Greys")
    for (name, path), colour in zip(paths.items(), (TRAIN, VALIDATION)):
        distance = float(path[-1].norm())
        left.plot(path[:, 0], path[:, 1], marker=".", color=colour, label=f"{name}: {distance:.2f} from the minimum")
        right.semilogy(ravine_loss(path).numpy(), color=colour, label=name)
    left.plot([0], [0], marker="*", markersize=12, color="black")
    left.set_title(f"loss ½(x² + 20y²), lr {lr:g}, {steps} steps from (-10, 1)")
    left.set_xlabel("x (a gentle slope)")
    left.set_ylabel("y (a steep wall)")
    left.legend(loc="lower right", fontsize=8)
    right.set_title("loss at each step")
    right.set_xlabel("step")
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    return fig


# --- lesson 07: what conv1 learned -------------------------------------------------------------------


def filter_mosaic(weight: torch.Tensor, columns: int = 8) -> torch.Tensor:
    """(C, 1, k, k) filters tiled into one image, ``columns`` per row, 1 pixel of NaN between them;
    each filter scaled to [-1, 1] by its largest absolute weight (so its pattern shows, not its size)."""
    weight = weight.detach().float().cpu()[:, 0]
    count, k, _ = weight.shape
    rows = -(-count // columns)
    mosaic = torch.full((rows * (k + 1) - 1, columns * (k + 1) - 1), float("nan"))
    scale = weight.flatten(1).abs().amax(dim=1).clamp(min=1e-12)
    for i, kernel in enumerate(weight / scale.view(-1, 1, 1)):
        r, c = divmod(i, columns)
        mosaic[r * (k + 1) : r * (k + 1) + k, c * (k + 1) : c * (k + 1) + k] = kernel
    return mosaic


def conv1_filters(before, after, labels=("fresh init", "after training")) -> Figure:
    """The 3x3 kernels of ``conv1`` of two models side by side (each scaled to its own largest weight)."""
    fig = _figure(figsize=(10, 3.0), layout="constrained")
    for ax, model, label in zip(fig.subplots(1, 2), (before, after), labels):
        weight = model.conv1.weight.detach()
        ax.imshow(filter_mosaic(weight).numpy(), cmap="coolwarm", vmin=-1, vmax=1)
        c, _, k, _ = weight.shape
        ax.set_title(
            f"conv1, {label}: {c} filters {k}×{k}\nweights {float(weight.min()):.2f} to {float(weight.max()):.2f}"
        )
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def conv1_maps(model, image: torch.Tensor) -> torch.Tensor:
    """(C, 26, 26): ``conv1``'s output for one normalized digit (1, 28, 28), after its ReLU."""
    weight, bias = model.conv1.weight.detach().float().cpu(), model.conv1.bias.detach().float().cpu()
    return F.relu(F.conv2d(image.detach().float().cpu().unsqueeze(0), weight, bias))[0]


def conv1_feature_maps(
    before, after, image: torch.Tensor, channels: int = 8, labels=("fresh init", "trained")
) -> Figure:
    """The digit, then the first ``channels`` feature maps conv1 (+ ReLU) makes of it, one row per model."""
    fig = _figure(figsize=(1.3 * (channels + 1), 3.2), layout="constrained")
    axes = fig.subplots(2, channels + 1)
    for row, model, label in zip(axes, (before, after), labels):
        maps = conv1_maps(model, image)
        row[0].imshow(as_pixels(image), cmap="gray")
        row[0].set_title(label, fontsize=9)
        for channel, ax in enumerate(row[1:]):
            ax.imshow(maps[channel].numpy(), cmap="viridis")
            ax.set_title(f"ch {channel}", fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"conv1 + ReLU on one digit: 1×28×28 in, {len(maps)}×{maps.shape[1]}×{maps.shape[2]} out", fontsize=10)
    return fig
