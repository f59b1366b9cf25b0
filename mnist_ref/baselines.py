"""Baselines for "why convolution" (lesson 04): what a model without convolutions reaches on the same data.

* :class:`NearestClassMean` — fastbook's "pixel similarity": the mean image of every digit, and a digit
  is classified as the class whose mean is closest, pixel by pixel. Nothing is trained: one pass to average.
* :class:`FullyConnectedNet` — a multilayer perceptron with about as many parameters as the course ``Net``
  (784 -> 710 -> 50 -> 10: 593,410 against 593,200), trained exactly like it.
* :func:`shift_images` and :func:`shifted_loader` — the same digits moved by a few pixels, to see what
  weight sharing and pooling buy: a shifted stroke meets the same 3x3 kernels, but other fully connected weights.

Both models return log-probabilities like ``Net``, so ``engine.train`` / ``engine.test`` work on them unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from .data import MNIST_MEAN, MNIST_STD, TensorLoader
from .model import NUM_CLASSES
from .plots import _figure

# A black pixel after normalization: what a shift moves into the frame (0 would be grey, not background).
BACKGROUND = -MNIST_MEAN / MNIST_STD
FC_HIDDEN = (710, 50)  # 785 * 710 + 711 * 50 + 51 * 10 = 593,410 parameters, the CNN has 593,200


def class_means(loader, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """The mean image of every class over all batches of ``loader``: shape (num_classes, 1, 28, 28)."""
    sums, counts = None, torch.zeros(num_classes)
    for images, targets in loader:
        images, targets = images.float().cpu(), targets.cpu()
        if sums is None:
            sums = torch.zeros(num_classes, *images.shape[1:])
        sums.index_add_(0, targets, images)
        counts += torch.bincount(targets, minlength=num_classes).float()
    if sums is None or (counts == 0).any():
        missing = [] if sums is None else (counts == 0).nonzero().flatten().tolist()
        raise ValueError(f"every class needs at least one image to have a mean; none of class(es) {missing}")
    return sums / counts.view(-1, *[1] * (sums.dim() - 1))


class NearestClassMean(nn.Module):
    """Classify a digit as the class whose mean image is nearest (squared pixel distance).

    ``forward`` returns ``log_softmax(-distance)``: the nearest mean gets the largest log-probability, so
    accuracy through ``engine.test`` is the nearest-mean accuracy (the loss means little: nothing was trained).
    """

    def __init__(self, means: torch.Tensor):
        super().__init__()
        self.register_buffer("means", means.flatten(1).float())  # (classes, 784): no parameters to learn

    @classmethod
    def fit(cls, loader) -> NearestClassMean:
        """The model of ``loader``'s class means: one pass over the data, no gradient."""
        return cls(class_means(loader))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distances = torch.cdist(x.flatten(1).float(), self.means.to(x.device)) ** 2
        return F.log_softmax(-distances, dim=1)


class FullyConnectedNet(nn.Module):
    """784 pixels -> hidden layers with ReLU -> 10 log-probabilities; every weight belongs to one pixel position."""

    def __init__(self, hidden=FC_HIDDEN, inputs: int = 28 * 28, classes: int = NUM_CLASSES):
        super().__init__()
        sizes = [inputs, *hidden, classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(x, 1)
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return F.log_softmax(self.layers[-1](x), dim=1)


def shift_images(images: torch.Tensor, dx: int, dy: int, fill: float = BACKGROUND) -> torch.Tensor:
    """``images`` (..., H, W) moved ``dx`` pixels right and ``dy`` down (negative: left, up); what leaves
    the frame is lost, what enters it is ``fill`` (the normalized black background by default)."""
    height, width = images.shape[-2:]
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError(f"a shift of ({dx}, {dy}) moves a {height}x{width} image out of its frame")
    shifted = torch.full_like(images, fill)
    rows_to, rows_from = slice(max(dy, 0), height + min(dy, 0)), slice(max(-dy, 0), height - max(dy, 0))
    cols_to, cols_from = slice(max(dx, 0), width + min(dx, 0)), slice(max(-dx, 0), width - max(dx, 0))
    shifted[..., rows_to, cols_to] = images[..., rows_from, cols_from]
    return shifted


def shifted_loader(loader, pixels: int, seed: int = 0, batch_size: int | None = None) -> TensorLoader:
    """Every image of ``loader`` moved by ``pixels`` in a random one of 8 directions (right, down-left, ...),
    the same directions for the same ``seed``; targets unchanged, not shuffled."""
    images, targets = map(torch.cat, zip(*((x.cpu(), y.cpu()) for x, y in loader)))
    directions = torch.tensor([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy])
    picked = directions[torch.randint(len(directions), (len(targets),), generator=torch.Generator().manual_seed(seed))]
    shifted = torch.empty_like(images)
    for direction in directions:
        chosen = (picked == direction).all(dim=1)
        dx, dy = (pixels * direction).tolist()
        shifted[chosen] = shift_images(images[chosen], dx, dy)
    device = next(iter(loader))[0].device
    return TensorLoader(shifted.to(device), targets.to(device), batch_size or getattr(loader, "batch_size", 500))


def plot_shift_experiment(accuracies: dict[str, tuple[float, float]], pixels: int) -> Figure:
    """Bars of validation accuracy per model, on the plain digits and on digits shifted by ``pixels``;
    ``accuracies``: {model name: (plain %, shifted %)}. The numbers are written on the bars."""
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    names = list(accuracies)
    for offset, label, column, colour in ((-0.2, "plain", 0, "steelblue"), (0.2, f"shifted {pixels} px", 1, "orange")):
        values = [accuracies[name][column] for name in names]
        bars = ax.bar([i + offset for i in range(len(names))], values, width=0.4, label=label, color=colour)
        ax.bar_label(bars, labels=[f"{v:.1f}" for v in values], fontsize=9)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 105)
    ax.set_ylabel("validation accuracy (%)")
    ax.set_title(f"What a shift of {pixels} pixels costs each model")
    ax.legend(loc="lower left")
    return fig
